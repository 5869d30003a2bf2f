"""The checklists menu (チェックリスト) from home: resume an open checklist, or start one.
Opened by ``app.open_checklists``; it opens the checklist through ``app.open_checklist``."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core import checklists
from dutypost.core.checklists import TITLES, Checklist
from dutypost.tui.duty_screen import DutyModal
from dutypost.tui.keys import bind
from dutypost.tui.words import short_time


class ChecklistMenuModal(DutyModal):
    """Resume an open checklist, or start one (訂正・お詫び starts from a post in the history)."""

    HELP = ("チェックリストを選びます。上下の矢印キーで選び、Enter で開きます。\n"
            "・「続き」は、まだ完了していないチェックリストです (全職員)。\n"
            "・訂正・お詫びは、履歴で誤りのあった投稿を選んでから始めます (履歴で F6)。\n"
            "Esc で戻ります。")
    BINDINGS = [bind("escape", "cancel", "戻る", "back")]

    class Found(Message):
        def __init__(self, open_lists: list[Checklist]) -> None:
            super().__init__()
            self.open_lists = open_lists

    class Started(Message):
        def __init__(self, checklist_id: int) -> None:
            super().__init__()
            self.checklist_id = checklist_id

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("チェックリスト", classes="dialog-title", markup=False)
            yield OptionList(Option("読み込んでいます...", disabled=True), id="checklists", markup=False)
            yield Static("Enter: 開く   Esc: 戻る", classes="note", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#checklists", OptionList).focus()
        self._find()

    @work(thread=True, exclusive=True, exit_on_error=False, group="checklist-menu")
    def _find(self) -> None:
        self.post_message(self.Found(checklists.open_checklists(self.ctx.ledger)))

    @on(Found)
    def _show(self, message: Found) -> None:
        now = self.ctx.now()
        options: list[Option] = []
        for checklist in message.open_lists:
            about = f" 投稿 #{checklist.post_id}" if checklist.post_id is not None else ""
            who = self.app.operator_name(checklist.operator).split()[0]
            when = short_time(checklist.started_at, now) if checklist.started_at else ""
            options.append(Option(f"続き: {checklist.title} #{checklist.id}{about} ({who} {when}, "
                                  f"まだ {len(checklist.missing)} 件)", id=f"open:{checklist.id}"))
        for kind in ("flaming", "impersonation", "suspension"):
            options.append(Option(f"新しく始める: {TITLES[kind]}", id=f"new:{kind}"))
        options.append(Option(f"新しく始める: {TITLES['correction']} (履歴で元の投稿を選ぶ)", id="new:correction"))
        listing = self.query_one("#checklists", OptionList)
        listing.set_options(options)
        listing.highlighted = 0

    @on(OptionList.OptionSelected, "#checklists")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        what, _, arg = (event.option.id or "").partition(":")
        if what == "open":
            self._open(int(arg))
        elif arg == "correction":
            self.dismiss(None)
            self.app.open_history()
            self.app.notify("誤りのあった投稿を選んで Enter、詳細の画面で F6 (Ctrl+F) を押します。",
                            title="訂正・お詫び", timeout=10, markup=False)
        else:
            self._start(arg)

    @work(thread=True, exclusive=True, exit_on_error=False, group="checklist-menu")
    def _start(self, kind: str) -> None:
        checklist_id = checklists.start(self.ctx.ledger, kind=kind, operator=self.ctx.operator.id, post_id=None)
        self.post_message(self.Started(checklist_id))

    @on(Started)
    def _started(self, message: Started) -> None:
        self._open(message.checklist_id)

    def _open(self, checklist_id: int) -> None:
        self.dismiss(None)
        self.app.open_checklist(checklist_id)

    def action_cancel(self) -> None:
        self.dismiss(None)
