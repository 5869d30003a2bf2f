"""Deciding as an approver (承認者): an in-app approval request (承認 / 差し戻し) and the
sign-off of an overridden post (事後承認), each with an optional note. Opened by
``app.open_decision`` and ``app.open_sign_off`` from the approvals inbox."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Input, Static

from dutypost.core.ledger import ApprovalRequest, Post
from dutypost.tui.duty_screen import DutyModal
from dutypost.tui.keys import bind
from dutypost.tui.widgets.typeahead import PastedInput
from dutypost.tui.words import short_time


class _DecisionBase(DutyModal):
    """A request or a post to decide on, with a note (メモ); the decision runs in a worker."""

    class Done(Message):
        def __init__(self, said: str, error: str) -> None:
            super().__init__()
            self.said = said
            self.error = error

    def note_row(self, placeholder: str) -> ComposeResult:
        with Horizontal(classes="dialog-row"):
            yield Static("メモ:", classes="dialog-label", markup=False)
            note = PastedInput(placeholder=placeholder, compact=True, id="decision-note")
            note.cursor_blink = False
            yield note

    def on_mount(self) -> None:
        self.query_one("#decision-note", Input).focus()

    @property
    def note(self) -> str:
        return self.query_one("#decision-note", Input).value.strip()

    @on(Done)
    def _done(self, message: Done) -> None:
        if message.error:
            self.query_one("#decision-error", Static).update(Text(message.error, style="bold red"))
            return
        self.dismiss(message.said)

    def action_cancel(self) -> None:
        self.dismiss(None)


class DecisionModal(_DecisionBase):
    HELP = ("承認依頼です。本文を確かめ、F10 (Ctrl+O) で承認、F8 (Ctrl+R) で差し戻します。"
            "メモは任意です (差し戻すときは理由を書きます)。Esc で何もせずに戻ります。")
    BINDINGS = [
        bind("f10,ctrl+o", "approve", "承認する", "approvals.approve"),
        bind("f8,ctrl+r", "reject", "差し戻す", "approvals.reject"),
        bind("escape", "cancel", "戻る", "back"),
    ]

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__()
        self.request = request

    @property
    def own(self) -> bool:
        """The approver's own request, which four eyes refuse (``[gate] allow_self_approval``)."""
        return self.request.requested_by == self.ctx.operator.id and not self.ctx.settings.gate.allow_self_approval

    def compose(self) -> ComposeResult:
        request = self.request
        with VerticalScroll(id="dialog"):
            yield Static(f"承認依頼 #{request.id}: {self.app.operator_name(request.requested_by)}さん"
                         f" ({short_time(request.requested_at, self.ctx.now())})", classes="dialog-title", markup=False)
            yield Static(Text(request.text), id="decision-text", markup=False)
            yield from self.note_row("任意 (差し戻すときは理由を)")
            if self.own:
                yield Static("自分の依頼は承認できません。所属のほかの承認者に頼んでください。", classes="error", markup=False)
            yield Static("F10 (Ctrl+O): 承認する   F8 (Ctrl+R): 差し戻す   Esc: 戻る", classes="note", markup=False)
            yield Static("", id="decision-error", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "approve" and self.own:
            return None
        return True

    def action_approve(self) -> None:
        if not self.own:
            self._decide(True, self.note)

    def action_reject(self) -> None:
        self._decide(False, self.note)

    @work(thread=True, exclusive=True, exit_on_error=False, group="decision")
    def _decide(self, approved: bool, note: str) -> None:
        try:
            self.ctx.ledger.decide_approval_request(self.request.id, approver=self.ctx.operator.id,
                                                    approved=approved, note=note,
                                                    allow_self_approval=self.ctx.settings.gate.allow_self_approval)
        except ValueError as exc:  # decided meanwhile by another approver
            self.post_message(self.Done("", str(exc)))
            return
        who = self.app.operator_name(self.request.requested_by)
        self.post_message(self.Done(f"{who}さんの依頼を{'承認しました' if approved else '差し戻しました'}。", ""))


class SignOffModal(_DecisionBase):
    HELP = ("緊急オーバーライドで出された投稿です。区分と理由、本文を確かめて F10 (Ctrl+O) で事後承認します。"
            "メモは任意です。Esc で何もせずに戻ります。")
    BINDINGS = [
        bind("f10,ctrl+o", "sign_off", "事後承認する", "approvals.sign-off"),
        bind("escape", "cancel", "戻る", "back"),
    ]

    def __init__(self, post: Post) -> None:
        super().__init__()
        self.post = post

    @property
    def own(self) -> bool:
        """The approver's own post, which four eyes refuse (``[gate] allow_self_approval``)."""
        return self.post.operator == self.ctx.operator.id and not self.ctx.settings.gate.allow_self_approval

    def compose(self) -> ComposeResult:
        post = self.post
        override = post.override or {}
        with VerticalScroll(id="dialog"):
            yield Static(f"事後承認: 投稿 #{post.id} {self.app.operator_name(post.operator)}さん"
                         f" ({short_time(post.sent_at or post.created_at, self.ctx.now())})",
                         classes="dialog-title", markup=False)
            yield Static(Text(f"区分: {override.get('category', '')}\n理由: {override.get('reason', '')}",
                              style="bold"), markup=False)
            yield Static(Text(post.text), id="decision-text", markup=False)
            if post.url:
                yield Static(f"URL: {post.url}", markup=False)
            yield from self.note_row("任意")
            if self.own:
                yield Static("自分の投稿は事後承認できません。所属のほかの承認者に頼んでください。", classes="error",
                             markup=False)
            yield Static("F10 (Ctrl+O): 事後承認する   Esc: 戻る", classes="note", markup=False)
            yield Static("", id="decision-error", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sign_off" and self.own:
            return None
        return True

    def action_sign_off(self) -> None:
        if not self.own:
            self._sign_off(self.note)

    @work(thread=True, exclusive=True, exit_on_error=False, group="decision")
    def _sign_off(self, note: str) -> None:
        try:
            self.ctx.ledger.sign_off(self.post.id, approver=self.ctx.operator.id, note=note,
                                     allow_self_approval=self.ctx.settings.gate.allow_self_approval)
        except ValueError as exc:  # signed off meanwhile by another approver
            self.post_message(self.Done("", str(exc)))
            return
        self.post_message(self.Done(f"投稿 #{self.post.id} を事後承認しました。", ""))
