"""The emergency override (緊急オーバーライド): category, justification (理由), confirmation.

Offered only when the gate says one is needed (out of hours, or no valid approval). It
lifts those two checks for this one post, never a content problem; who, when, which
checks, the category and the justification go into the ledger, and the approval becomes
事後承認待ち. The confirmation is the publish itself, and it reads differently by mode:
本番 「本番アカウントに投稿します。住民に届きます。」, 訓練 「訓練として練習サーバーに投稿します。」
Only F10 (Ctrl+O) confirms — never Enter, which is easy to press by habit. The twin is not
Ctrl+X (publish on the review screen): the justification field takes Ctrl+X for cut.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core.errors import InputError
from dutypost.core.publish import make_override
from dutypost.tui.widgets.typeahead import TypeAhead, TypedInput
from dutypost.tui.duty_screen import DutyModal
from dutypost.tui.keys import bind
from dutypost.tui.words import publish_confirmation


class CategoryList(TypeAhead, OptionList):
    """The override categories; Enter keeps the highlighted one and moves on to the
    justification at once, so what is typed right behind it lands there."""

    def action_select(self) -> None:
        self.screen.set_focus(self.screen.query_one("#reason", Input))


class OverrideModal(DutyModal):
    HELP = (
        "緊急オーバーライドです。勤務時間外や承認がなくても、住民の生命・身体・財産を守るための緊急情報などを"
        "投稿するための手続きです。\n"
        "1. 区分を上下の矢印キーで選んで Enter。\n"
        "2. 理由を書きます (何が緊急なのか。決められた文字数以上)。\n"
        "3. 確認の文を読み、F10 (Ctrl+O) で投稿します。Enter では投稿しません。\n"
        "記録には、だれが・いつ・どの確認を外したか・区分・理由が残り、承認者の事後承認が必要になります。\n"
        "Esc でやめて確認画面に戻ります。"
    )

    BINDINGS = [
        bind("f10,ctrl+o", "confirm", "オーバーライドして投稿", "override.confirm"),
        bind("escape", "cancel", "やめる", "back"),
    ]

    def __init__(self, *, category: str | None = None) -> None:
        super().__init__()
        #: The category highlighted first (for a correction: 誤った投稿への対応), if configured.
        self.first_category = category

    def compose(self) -> ComposeResult:
        settings = self.ctx.settings
        minimum = settings.gate.min_justification_chars
        with Vertical(id="dialog"):
            yield Static("緊急オーバーライド", classes="dialog-title", markup=False)
            yield Static("時間外・承認なしの確認を、この投稿に限って外します。記録に残り、事後承認が必要です。", markup=False)
            yield Static("1. 区分 (上下の矢印キーで選んで Enter)", markup=False)
            yield CategoryList(*(Option(c, id=str(i)) for i, c in enumerate(settings.gate.override_categories)),
                               id="categories", markup=False)
            yield Static("", id="category-chosen", markup=False)
            yield Static(f"2. 理由 ({minimum} 文字以上)", markup=False)
            reason = TypedInput(placeholder="例: 土砂災害の危険が迫っており、住民の避難が必要なため", compact=True, id="reason")
            reason.cursor_blink = False
            yield reason
            yield Static(self._count_text(""), id="reason-count", markup=False)
            yield Static("3. 確認", markup=False)
            yield Static(Text(publish_confirmation(self.ctx.drill), style="bold"), id="confirm-text", markup=False)
            yield Static("F10 (Ctrl+O) で緊急オーバーライドして投稿します。Esc でやめます。", id="confirm-keys", markup=False)
            yield Static("", id="override-error", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        categories = self.query_one("#categories", CategoryList)
        categories.highlighted = 0
        configured = list(self.ctx.settings.gate.override_categories)
        if self.first_category in configured:
            categories.highlighted = configured.index(self.first_category)
        self.set_focus(categories)

    @on(OptionList.OptionHighlighted, "#categories")
    def _category_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """The choice in words too: the highlight alone is only a colour."""
        self.query_one("#category-chosen", Static).update(f"   区分: {event.option.prompt}")

    def _count_text(self, reason: str) -> str:
        minimum = self.ctx.settings.gate.min_justification_chars
        count = len(reason.strip())
        rest = f"あと {minimum - count} 文字" if count < minimum else "OK"
        return f"   {count}/{minimum} 文字 ({rest})"

    @on(Input.Changed, "#reason")
    def _reason_changed(self, event: Input.Changed) -> None:
        self.query_one("#reason-count", Static).update(self._count_text(event.value))

    @on(Input.Submitted, "#reason")
    def _reason_submitted(self) -> None:
        self.query_one("#override-error", Static).update("投稿するには F10 (Ctrl+O) を押してください。")

    def action_confirm(self) -> None:
        categories = self.query_one("#categories", CategoryList)
        option = categories.highlighted_option
        category = str(option.prompt) if option is not None else ""
        reason = self.query_one("#reason", Input).value
        try:
            override = make_override(self.ctx, category, reason)
        except InputError as exc:
            self.query_one("#override-error", Static).update(Text(exc.message, style="bold red"))
            self.set_focus(self.query_one("#reason", Input))
            return
        self.dismiss(override)

    def action_cancel(self) -> None:
        self.dismiss(None)
