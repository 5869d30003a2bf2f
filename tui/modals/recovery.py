"""After a restore (復旧後の取り込み): offered first when the ledger was restored on the
standby or from a backup (``dutypost ledger restore``).

A post may have reached X in the last seconds before the primary died, after the last
replicated frame. ``core.recover.recover`` reads the account's timeline and records each
post X has and this ledger lacks, and reconciles the posts left 結果不明 (issue 16). This
dialog only asks; the work runs in the app's worker and its result is shown as a notice.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, Static

from dutypost.tui.duty_screen import DutyModal
from dutypost.tui.keys import bind


class RecoveryModal(DutyModal):
    HELP = (
        "この記録は予備機の複製か、バックアップ (dutypost ledger restore) から復元されたものです。\n"
        "元の機械が止まる直前 (バックアップなら、バックアップより後) に X へ届いた投稿が、"
        "復元した記録にない場合があります。"
        "F10 (Ctrl+O) で X のタイムラインを読み、記録にない投稿を「送信済み (復旧後に X で確認)」として"
        "監査記録とともに取り込みます。結果不明の投稿もあわせて照合します。\n"
        "Esc であとにします (次に起動したときにも尋ねます)。コマンドでは dutypost recover です。"
    )

    BINDINGS = [
        bind("f10,ctrl+o", "recover", "取り込む", "recovery.run"),
        bind("escape", "later", "あとで", "back"),
    ]

    def __init__(self, restored_at: str, backup: str = "") -> None:
        super().__init__()
        self.restored_at = restored_at
        self.backup = backup  # the backup file (dutypost ledger restore); "" for the standby's replica

    def compose(self) -> ComposeResult:
        if self.backup:
            what = (f"この記録はバックアップ {self.backup} から復元されました ({self.restored_at})。"
                    "バックアップより後に X へ届き、記録に残っていない投稿があるかもしれません。")
        else:
            what = (f"この記録は予備機で復元されました ({self.restored_at})。停止の直前に X へ届き、"
                    "記録に残っていない投稿があるかもしれません。")
        with Vertical(id="dialog"):
            yield Static("復元した記録です: X の投稿を取り込みます", classes="dialog-title", markup=False)
            yield Static(
                what + "二重投稿を防ぐため、投稿の前に取り込んでください。\n"
                "F10 (Ctrl+O): タイムラインを読んで取り込む   Esc: あとで",
                markup=False,
            )
        yield Footer(compact=True, show_command_palette=False)

    def action_recover(self) -> None:
        self.dismiss(True)

    def action_later(self) -> None:
        self.dismiss(False)
