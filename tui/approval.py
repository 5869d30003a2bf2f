"""Record a verbal approval (承認 (決裁) を記録): who approved, and how (電話・対面).

The approvers are those of the poster's department (別表第1, ``settings.approvers_for``).
The approval time is now: the officer records it right after the call. An in-app
approval request (承認依頼) comes with a later version; the dialog says so instead of
pretending.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from core.publish import make_approval
from tui.duty_screen import DutyModal
from tui.keys import bind
from tui.labels import APPROVAL_METHOD_LABELS

VERBAL_METHODS = ("phone", "in-person")


class ApprovalModal(DutyModal):
    HELP = (
        "承認を記録します。承認者から電話か対面で承認を得たら、上下の矢印キーで「承認者・方法」を選んで Enter を押します。\n"
        "承認の時刻は今の時刻で記録されます。アプリ内の承認依頼は今後の版で使えるようになります。\n"
        "Esc で記録せずに戻ります。"
    )

    BINDINGS = [bind("escape", "cancel", "戻る", "back")]

    def compose(self) -> ComposeResult:
        department = self.ctx.operator.department
        approvers = self.ctx.settings.approvers_for(department)
        with Vertical(id="dialog"):
            yield Static("承認を記録 (電話・対面)", classes="dialog-title", markup=False)
            yield Static(f"{department} の承認者から承認を得たら、承認者と方法を選んで Enter。", markup=False)
            options = [
                Option(f"{a.name} ({a.id}) / {APPROVAL_METHOD_LABELS[m]}", id=f"{a.id}|{m}")
                for a in approvers for m in VERBAL_METHODS
            ]
            if options:
                yield OptionList(*options, id="approvers", markup=False)
            else:
                yield Static(f"{department} に承認者が設定されていません。運用管理者に連絡するか、"
                             "緊急の情報なら緊急オーバーライドを使ってください。", classes="error", markup=False)
            yield Static("アプリ内の承認依頼 (承認者が自分の画面で承認) は、まだ使えません (今後の版で対応)。",
                         classes="note", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    @on(OptionList.OptionSelected, "#approvers")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        approver_id, method = event.option.id.split("|")
        self.dismiss(make_approval(self.ctx, approver_id, method))

    def action_cancel(self) -> None:
        self.dismiss(None)
