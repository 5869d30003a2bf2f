"""The ledger fault screen (記録ファイルの障害): the ledger cannot be used, so nothing can be
recorded or published. It names the file and what to do (restore the backup, free space,
...), and Enter or q leaves with exit code 2 (SPEC §10: bad input or config)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from dutypost.core.errors import DutypostError
from dutypost.tui.keys import bind

EXIT_LEDGER_FAULT = 2


class LedgerFaultScreen(Screen):
    """Shown instead of every other screen once the ledger failed; only leaving is possible."""

    BINDINGS = [
        bind("enter,q", "leave", "終了", "fault.quit"),
        bind("escape", "leave", "終了", "back"),
    ]

    def __init__(self, error: DutypostError) -> None:
        super().__init__()
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(id="fault"):
            yield Static(" 記録ファイルを使えません。投稿も記録もできません。", id="screen-title", markup=False)
            yield Static(self.error.message, id="fault-message", markup=False)
            yield Static(self.error.hint, id="fault-hint", markup=False)
            yield Static("Enter か q で終了します (終了コード 2)。", id="fault-keys", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def action_leave(self) -> None:
        self.app.exit(return_code=EXIT_LEDGER_FAULT)
