"""Switch the account (アカウントの切り替え): which of the town's X accounts posts go to.

Opened from Home by ``app.open_account_switch`` (F9, Ctrl+N; binding ``home.account``).
Switching is deliberate: ↑↓ pick an account, and only F10 (Ctrl+O; binding
``account.confirm``) switches; Enter does not. A mascot account (マスコット) says so, and that
it never posts life-safety information (seed 004). Dismissed with the chosen account's id,
or None.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.tui.duty_screen import DutyModal
from dutypost.tui.keys import bind


class AccountModal(DutyModal):
    HELP = (
        "投稿するアカウントを切り替えます。\n"
        "1. 上下の矢印キーでアカウントを選びます。\n"
        "2. F10 (Ctrl+O) で切り替えます。Enter では切り替えません。\n"
        "マスコットのアカウントは PR 用です。避難情報など命や安全に関わる情報は投稿できません (はにぼんガイドライン)。\n"
        "Esc で切り替えずに戻ります。"
    )

    BINDINGS = [
        bind("f10,ctrl+o", "confirm", "切り替える", "account.confirm"),
        bind("escape", "cancel", "やめる", "back"),
    ]

    def compose(self) -> ComposeResult:
        ctx = self.ctx
        with Vertical(id="dialog"):
            yield Static("投稿するアカウントを切り替える", classes="dialog-title", markup=False)
            yield Static(f"いまのアカウント: {ctx.account_label}", id="account-current", markup=False)
            options = []
            for account in ctx.settings.accounts:
                label = account.label(ctx.drill)
                if account.id == ctx.account.id:
                    label += " (選択中)"
                options.append(Option(label, id=account.id))
            listing = OptionList(*options, id="accounts", markup=False)
            yield listing
            yield Static("", id="account-note", classes="note", markup=False)
            yield Static("↑↓ で選び、F10 (Ctrl+O) で切り替えます。Esc で戻ります。", id="account-hint", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        listing = self.query_one("#accounts", OptionList)
        ids = [a.id for a in self.ctx.settings.accounts]
        listing.highlighted = ids.index(self.ctx.account.id)
        self.set_focus(listing)
        self._show_note()

    def _chosen(self):
        option = self.query_one("#accounts", OptionList).highlighted_option
        return self.ctx.settings.account_by_id(option.id) if option is not None and option.id else None

    @on(OptionList.OptionHighlighted, "#accounts")
    def _show_note(self) -> None:
        account = self._chosen()
        note = ""
        if account is not None and account.kind == "mascot":
            note = (f"{account.name} はマスコットのアカウントです。PR 用で、避難情報など命や安全に関わる"
                    "情報は投稿できません (004 前文・4(5))。")
            if account.consult_title:
                note += f" 迷うときは {account.consult_title} に協議します。"
        if account is not None and account.categories:
            note += f" 投稿できる区分: {'・'.join(account.categories)}"
        self.query_one("#account-note", Static).update(note.strip())

    @on(OptionList.OptionSelected, "#accounts")
    def _enter(self) -> None:
        self.query_one("#account-hint", Static).update("Enter では切り替えません。切り替えるには F10 (Ctrl+O) を押してください。")

    def action_confirm(self) -> None:
        account = self._chosen()
        self.dismiss(account.id if account is not None else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
