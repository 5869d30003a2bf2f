"""Record a verbal approval (承認 (決裁) を記録): who approved, and how (電話・対面).

The approvers are those of the issuing department (情報配信部署, 別表第1,
``settings.approvers_for``): the poster's own unless the template names another.
The approval time is now: the officer records it right after the call. An in-app
approval request (承認依頼) is made from the review screen (F9); the dialog says where.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core.publish import make_approval
from dutypost.tui.widgets.typeahead import TypeAhead
from dutypost.tui.duty_screen import DutyModal
from dutypost.tui.keys import bind
from dutypost.tui.words import APPROVAL_METHOD_LABELS

VERBAL_METHODS = ("phone", "in-person")


class ApproverList(TypeAhead, OptionList):
    """Approver and method; Enter records the highlighted one and closes the dialog at once,
    so keys typed right behind it (F10) reach the review screen."""

    def action_select(self) -> None:
        option = self.highlighted_option
        if option is not None:
            approver_id, method = option.id.split("|")
            self.screen.dismiss(make_approval(self.screen.ctx, approver_id, method))


class ApprovalModal(DutyModal):
    HELP = (
        "承認を記録します。承認者から電話か対面で承認を得たら、上下の矢印キーで「承認者・方法」を選んで Enter を押します。\n"
        "承認の時刻は今の時刻で記録されます。\n"
        "承認者に自分の画面で承認してもらうときは、Esc で確認画面に戻り F9 (Ctrl+U) で承認を依頼します。\n"
        "Esc で記録せずに戻ります。"
    )

    BINDINGS = [bind("escape", "cancel", "戻る", "back")]

    def __init__(self, department: str | None = None) -> None:
        super().__init__()
        self.department = department

    def compose(self) -> ComposeResult:
        department = self.department or self.ctx.operator.department
        approvers = self.ctx.settings.approvers_for(department)
        with Vertical(id="dialog"):
            yield Static("承認を記録 (電話・対面)", classes="dialog-title", markup=False)
            yield Static(f"{department} の承認者から承認を得たら、承認者と方法を選んで Enter。", markup=False)
            options = [
                Option(f"{a.name} ({a.id}) / {APPROVAL_METHOD_LABELS[m]}", id=f"{a.id}|{m}")
                for a in approvers for m in VERBAL_METHODS
            ]
            if options:
                yield ApproverList(*options, id="approvers", markup=False)
            else:
                yield Static(f"{department} に承認者が設定されていません。運用管理者に連絡するか、"
                             "緊急の情報なら緊急オーバーライドを使ってください。", classes="error", markup=False)
            yield Static("承認者に自分の画面で承認してもらうときは、Esc で戻り F9 (Ctrl+U) で承認を依頼します。",
                         classes="note", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def action_cancel(self) -> None:
        self.dismiss(None)
