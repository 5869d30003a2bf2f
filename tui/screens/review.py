"""Review (確認): the final text, the gate's verdict in plain Japanese, and the way on.

Per check — 時間 (hours), 承認 (approval), 内容 (content) — the screen says OK, NG or
外す (lifted by an override) in words. Warnings are acknowledged one by one (確認済み;
the acknowledgement is the rule id, recorded with the post). A verbal approval (電話・
対面) is recorded here; the emergency override (緊急オーバーライド) is offered only when
the gate says one is needed. Every decision is ``core.publish``'s: this screen adds none.

In-app approval (アプリ内承認): 「承認を依頼」 records an approval request (承認依頼) for
exactly this text; the department's approvers see it in their own sessions. This screen
asks the ledger about the request every second (a thread worker, no redraw until the
answer comes) and, once approved, publishes with that in-app approval. An approval of
another text does not count.

A post made for a checklist item (訂正・お詫び, 炎上, なりすまし, 運用停止; see
tui/screens/checklist.py) comes with its purpose (``DraftPurpose``) and goes out the same
way: ``core.publish.publish(purpose=…)`` sends a correction or apology as a reply to the
original post, standalone with the original's date and subject if X refuses the reply,
and records it on its checklist. Out of hours, the override category for erroneous posts
(誤った投稿への対応) is offered first for it.

Entering this screen opens the connection to X (X drops it after two idle minutes), so
the publish is one round trip. Publishing runs in a thread worker; its key is disabled
until the outcome is known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core.errors import DutypostError, GateBlocked, OutcomeUnknown, PublishFailed
from dutypost.core.gate import RULES, Approval, Override
from dutypost.core.ledger import ApprovalRequest
from dutypost.core.publish import Composition, Review, make_approval, publish, review
from dutypost.core.templates import Template, format_jst_time
from dutypost.tui.duty_screen import DutyScreen
from dutypost.tui.keys import bind
from dutypost.tui.widgets.preview import WrappedText
from dutypost.tui.widgets.status import StatusBar
from dutypost.tui.widgets.typeahead import TypeAhead
from dutypost.tui.words import (APPROVAL_METHOD_LABELS, GATE_ONLY_RULES, composition_text, count_text,
                                failure_hint, publish_confirmation, x_problem_text)

if TYPE_CHECKING:
    from dutypost.core.ledger import DraftPurpose


@dataclass(frozen=True)
class PublishOutcome:
    """What a publish attempt came to. ``post_id`` is None when nothing was recorded."""

    post_id: int | None
    state: str  # sent | failed | unknown | blocked | error
    message: str
    hint: str = ""
    detail: str = ""  # what else happened: the reply fallback, the checklist record
    x_problem: str = ""  # why X cannot be used at all, in a few words (see words.x_problem_text)


#: How often a pending approval request is looked up (seconds): the answer shows within 2 s.
REQUEST_POLL_SECONDS = 1.0
#: The override category offered first for a correction or apology (SPEC §3).
CORRECTION_CATEGORY = "誤った投稿への対応"


class WarningList(TypeAhead, OptionList):
    """The warnings to acknowledge (要確認); Space or Enter toggles [x]. Keys typed behind
    Tab go on to where the focus went (see :class:`TypeAhead`)."""

    BINDINGS = [bind("space", "toggle", "確認済みにする", "review.ack")]

    def action_toggle(self) -> None:
        self.action_select()


class ReviewScreen(DutyScreen):
    HELP = (
        "確認画面です。投稿する本文と、投稿前チェック (時間・承認・内容) の結果を確かめます。\n"
        "・要確認の警告は、内容を確かめてから Space か Enter で確認済み [x] にします。\n"
        "・承認者から電話・対面で承認を得たら F7 (Ctrl+K) で記録します。\n"
        "・F9 (Ctrl+U) で所属の承認者にアプリ内で承認を依頼します。承認者が自分の画面で承認すると、"
        "この画面が自動で更新されます (この本文に対する承認です。本文を直したら依頼し直します)。\n"
        "・勤務時間外や承認がないときで、緊急の情報なら F8 (Ctrl+E) で緊急オーバーライドを使えます"
        " (区分と理由を記録し、承認者の事後承認が必要になります)。\n"
        "・すべて OK になると F10 (Ctrl+X) で投稿できます。投稿中は F10 は効きません。\n"
        "・Esc で作成画面に戻って本文を直します。"
    )

    BINDINGS = [
        bind("f10,ctrl+x", "publish", "投稿", "review.publish"),
        bind("f7,ctrl+k", "approval", "承認記録", "review.approval"),
        bind("f9,ctrl+u", "request_approval", "承認依頼", "review.request-approval"),
        bind("f8,ctrl+e", "override", "緊急", "review.override"),
        bind("escape", "back", "戻る", "back"),
    ]

    class ReviewReady(Message):
        def __init__(self, version: int, result: Review) -> None:
            super().__init__()
            self.version = version
            self.result = result

    class PublishDone(Message):
        def __init__(self, outcome: PublishOutcome) -> None:
            super().__init__()
            self.outcome = outcome

    class RequestChanged(Message):
        """The approval request was made, or an approver decided it."""

        def __init__(self, request: ApprovalRequest) -> None:
            super().__init__()
            self.request = request

    def __init__(self, template: Template, composition: Composition, *, draft_id: str,
                 purpose: DraftPurpose | None = None, images: tuple = ()) -> None:
        super().__init__()
        self.template = template
        #: The images (画像, ``core.media.PostImage``) that go with the first part.
        self.images = tuple(images)
        #: The checklist item this post is made for (下書きの目的), if any.
        self.purpose = purpose
        self.composition = composition
        self.draft_id = draft_id
        self.approval: Approval | None = None
        self.override: Override | None = None
        self.acks: set[str] = set()
        self.result: Review | None = None
        self.request: ApprovalRequest | None = None
        self._request_timer = None
        self.publishing = False
        self._version = 0
        self._shown_version = -1
        self._publish_when_allowed = False

    def compose(self) -> ComposeResult:
        yield StatusBar()
        mark = "【訓練】" if self.ctx.drill else "本番"
        purpose = self.purpose
        about = f" (投稿 #{purpose.reply_to_post_id} への返信)" if purpose and purpose.reply_to_post_id else ""
        yield Static(f" {mark} 確認: {self.template.title}{about}", id="screen-title", markup=False)
        with VerticalScroll(id="review-body"):
            yield WrappedText(Text(composition_text(self.composition)), id="final-text")
            if self.images:
                yield Static("\n".join(f"画像 {n}: {image.label}" for n, image in enumerate(self.images, 1)),
                             id="review-images", markup=False)
            yield Static("要確認の警告 (内容を確かめて Space/Enter で [x] にする)", id="warnings-title", markup=False)
            yield WarningList(id="warnings", markup=False)
            yield WrappedText("", id="explain")
            yield Static("", id="publish-error", markup=False)
        # The verdict stays in sight below the text, however long the text is (80×24).
        yield WrappedText("投稿前チェック: 確認中...", id="checks")
        yield Static("", id="publish-hint", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        limit = self.ctx.settings.x.max_weighted_length
        self.query_one("#final-text", Static).border_title = f"投稿する本文 ({count_text(self.composition, limit)})"
        self.query_one("#warnings-title").display = False
        self.query_one("#warnings").display = False
        self.set_focus(self.query_one("#review-body"))
        # Notices from the screens before (some stay 30 s) would sit over the verdict.
        self.app.clear_notifications()
        self.app.warm_x()
        self._recheck()

    # -- the gate ---------------------------------------------------------------------

    def _recheck(self) -> None:
        self._version += 1
        self.refresh_bindings()
        self._review(self._version, self.approval, self.override, frozenset(self.acks))

    @property
    def department(self) -> str:
        """The issuing department (情報配信部署) whose approvers approve this post."""
        if self.result is not None and self.result.department:
            return self.result.department
        return self.ctx.operator.department

    @work(thread=True, exclusive=True, exit_on_error=False, group="review")
    def _review(self, version: int, approval: Approval | None, override: Override | None,
                acks: frozenset[str]) -> None:
        try:
            result = review(self.ctx, self.composition, approval=approval, override=override, acks=acks)
        except DutypostError as exc:  # e.g. the template names a department 別表第1 does not have
            self.app.call_from_thread(self.notify, f"{exc.message} {exc.hint or ''}".strip(), title="投稿前チェック",
                                      severity="error", timeout=30, markup=False)
            return
        self.post_message(self.ReviewReady(version, result))

    @on(ReviewReady)
    def _show_review(self, message: ReviewReady) -> None:
        if message.version != self._version:
            return
        self.result = message.result
        self._shown_version = message.version
        self.query_one("#checks", Static).update(self._check_rows(message.result))
        self._show_warnings(message.result)
        # The gate's explanation (``result.explain``) is not shown here: the check rows say
        # each finding and the hint line says the way on, each once.
        self.query_one("#explain", Static).update("")
        self._show_publish_hint()
        self.refresh_bindings()
        if self._publish_when_allowed:
            self._publish_when_allowed = False
            if message.result.allowed:
                self.action_publish()

    def _show_publish_hint(self) -> None:
        """One line above the footer: what F10 will do now, or what is still in the way."""
        result = self.result
        if self.publishing:
            hint = "投稿しています。結果が出るまでお待ちください。"
        elif result is None:
            hint = "投稿前チェックを確かめています..."
        elif result.allowed:
            hint = f"F10 (Ctrl+X): {publish_confirmation(self.ctx.drill)}"
        elif any(f.rule not in GATE_ONLY_RULES for f in result.decision.blocking):
            hint = "本文に止める問題があります (緊急でも外せません)。Esc で戻って直します。"
        elif result.unacknowledged:
            hint = "要確認の警告を確かめて、Space で [x] にしてください。"
        elif not result.decision.hours.in_hours and "hours" not in result.decision.lifted:
            hint = "勤務時間外です。緊急の情報なら F8 (Ctrl+E) で緊急オーバーライドを使います。"
        elif self.request is not None and self.request.status == "pending":
            hint = "承認者の判断を待っています。承認されると、この画面が自動で更新されます。"
        else:
            hint = "承認: F7 電話・対面を記録 / F9 アプリ内で依頼。緊急なら F8 オーバーライド。"
        self.query_one("#publish-hint", Static).update(f" {hint}")

    def _check_rows(self, result: Review) -> Text:
        d = result.decision
        rows = Text()

        def row(verdict: str, check: str, detail: str) -> None:
            style = {"OK": "green", "NG": "bold red", "外す": "yellow", "要確認": "yellow", "待ち": "yellow",
                     "参考": "dim"}[verdict]
            rows.append(f"[{verdict}]", style=style)
            rows.append(f" {check}  {detail}\n")

        if d.hours.in_hours:
            row("OK", "時間", d.hours.reason)
        elif "hours" in d.lifted:
            row("外す", "時間", f"{d.hours.reason} (緊急オーバーライド)")
        else:
            row("NG", "時間", d.hours.reason)
        if d.approval_problem is None and self.approval is not None:
            approver = self.ctx.settings.operator(self.approval.approver_id)
            method = APPROVAL_METHOD_LABELS.get(self.approval.method, self.approval.method)
            row("OK", "承認", f"{approver.name if approver else self.approval.approver_id}"
                              f" ({method}, {format_jst_time(self.approval.at)})")
        elif d.approval_problem is None:
            row("OK", "承認", "承認の問題はありません")
        elif "approval" in d.lifted:
            row("外す", "承認", "緊急オーバーライド (投稿後に事後承認待ちになります)")
        elif self.request is not None and self.request.status == "pending":
            row("待ち", "承認", f"アプリ内で依頼中 ({format_jst_time(self.request.requested_at)})。承認者の判断待ち")
        elif self.request is not None and self.request.status == "rejected":
            note = f": {self.request.note}" if self.request.note else ""
            row("NG", "承認", f"{self.app.operator_name(self.request.decided_by or '')}さんが差し戻しました{note}")
        else:
            row("NG", "承認", d.approval_problem)
        blocks = [f for f in d.blocking if f.rule not in GATE_ONLY_RULES]
        warnings = result.warnings
        if blocks:
            row("NG", "内容", f"止める問題が {len(blocks)} 件あります (本文を直してください)")
            for f in blocks:
                rows.append(f"       {RULES.get(f.rule, f.rule)}: {f.message}\n")
        elif result.unacknowledged:
            row("要確認", "内容", f"警告 {len(warnings)} 件のうち {len(result.unacknowledged)} 件が未確認です")
        else:
            row("OK", "内容", f"問題なし (警告 {len(warnings)} 件は確認済み)" if warnings else "問題なし")
        for f in d.findings:
            if f.severity == "info":
                row("参考", RULES.get(f.rule, f.rule), f.message)
        if self.override is not None:
            row("外す", "緊急", f"{self.override.category} / 理由: {self.override.reason}")
        rows.rstrip()
        return rows

    def _show_warnings(self, result: Review) -> None:
        warnings = result.warnings
        listing = self.query_one("#warnings", WarningList)
        self.query_one("#warnings-title").display = bool(warnings)
        listing.display = bool(warnings)
        if not warnings:
            return
        # One row per rule: an acknowledgement is per rule, and two findings of one rule (two
        # names that are not configured, two phone numbers) would give two options one id.
        by_rule: dict[str, list[str]] = {}
        for f in warnings:
            by_rule.setdefault(f.rule, []).append(f.message)
        highlighted = listing.highlighted
        listing.set_options(
            Option(Text.assemble(
                ("[x] " if rule in self.acks else "[ ] "),
                (f"{RULES.get(rule, '同じテンプレート' if rule == 'same-template' else rule)}: ", "bold"),
                " / ".join(messages),
            ), id=rule)
            for rule, messages in by_rule.items()
        )
        listing.highlighted = highlighted if highlighted is not None and highlighted < len(by_rule) else 0
        if self.focused is self.query_one("#review-body"):
            self.set_focus(listing)

    @on(OptionList.OptionSelected, "#warnings")
    def _toggle_ack(self, event: OptionList.OptionSelected) -> None:
        rule = event.option.id
        if rule in self.acks:
            self.acks.discard(rule)
        else:
            self.acks.add(rule)
        self._recheck()

    # -- approval and override -------------------------------------------------------------

    def action_approval(self) -> None:
        def recorded(approval: Approval | None) -> None:
            if approval is not None:
                self.approval = approval
                self._recheck()

        self.app.open_approval(recorded, department=self.department)

    def action_request_approval(self) -> None:
        if self.check_action("request_approval", ()) is not True:
            self.app.bell()
            return
        department = self.ctx.approval_departments_for(self.department)[0]
        if not self.ctx.settings.approvers_for(department):
            self.notify(f"{department} に承認者が設定されていません。運用管理者に連絡してください。",
                        title="承認を依頼", severity="error", markup=False)
            return
        self._request_approval()

    @work(thread=True, exclusive=True, exit_on_error=False, group="approval-request")
    def _request_approval(self) -> None:
        ctx = self.ctx
        request_id = ctx.ledger.request_approval(draft_id=self.draft_id, post_id=None, requested_by=ctx.operator.id,
                                                 department=self.ctx.approval_departments_for(self.department)[0], text=self.composition.text)
        self.post_message(self.RequestChanged(ctx.ledger.get_approval_request(request_id)))

    def _poll_request(self) -> None:
        if self.request is not None:
            self._fetch_request(self.request.id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="approval-request")
    def _fetch_request(self, request_id: int) -> None:
        """Ask the ledger; say something only when the approver has decided."""
        request = self.ctx.ledger.get_approval_request(request_id)
        if request is not None and request.status != "pending":
            self.post_message(self.RequestChanged(request))

    @on(RequestChanged)
    def _request_changed(self, message: RequestChanged) -> None:
        request = self.request = message.request
        if request.status == "pending":
            if self._request_timer is None:
                self._request_timer = self.set_interval(REQUEST_POLL_SECONDS, self._poll_request)
            self.notify("所属の承認者にアプリ内で承認を依頼しました。", title="承認を依頼", markup=False)
        else:
            if self._request_timer is not None:
                self._request_timer.stop()
                self._request_timer = None
            who = self.app.operator_name(request.decided_by or "")
            if request.status == "approved" and request.text == self.composition.text:
                self.approval = make_approval(self.ctx, request.decided_by, "in-app", now=request.decided_at)
                self.notify(f"{who}さんが承認しました。", title="承認", markup=False)
            elif request.status == "approved":
                self.notify("承認された本文がこの本文と違うため、承認として使えません。依頼し直してください。",
                            title="承認", severity="error", markup=False)
            else:
                note = f" ({request.note})" if request.note else ""
                self.notify(f"{who}さんが差し戻しました{note}。", title="承認", severity="warning", markup=False)
        self._recheck()

    async def action_override(self) -> None:
        def confirmed(override: Override | None) -> None:
            if override is not None:
                self.override = override
                self._publish_when_allowed = True
                self._recheck()

        purpose = self.purpose
        first = CORRECTION_CATEGORY if purpose is not None and purpose.reply_to_post_id is not None else None
        await self.app.open_override(confirmed, category=first)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        result = self.result
        current = result is not None and self._shown_version == self._version
        if action == "publish":
            return True if (current and result.allowed and not self.publishing) else None
        if action == "override":
            return bool(result is not None and result.decision.needs_override and not self.publishing)
        if action == "approval":
            return None if self.publishing else True
        if action == "request_approval":
            waiting = self.request is not None and self.request.status == "pending"
            return None if (self.publishing or waiting or self.approval is not None) else True
        return True

    # -- publish -------------------------------------------------------------------------

    def action_publish(self) -> None:
        if self.check_action("publish", ()) is not True:
            self.app.bell()
            return
        self.publishing = True
        self.refresh_bindings()
        self._show_publish_hint()
        self.query_one("#publish-error", Static).update("")
        self.query_one("#explain", Static).update(Text("投稿しています... (結果が出るまで F10 は効きません)", style="bold"))
        self._publish(self.approval, self.override, frozenset(self.acks))

    @work(thread=True, exclusive=True, exit_on_error=False, group="publish")
    def _publish(self, approval: Approval | None, override: Override | None, acks: frozenset[str]) -> None:
        ctx = self.ctx
        draft_id: str | None = self.draft_id
        purpose = self.purpose
        try:
            ctx.ledger.save_draft(operator=ctx.operator.id, template_id=self.template.id,
                                  values=dict(self.composition.values), text=self.composition.text,
                                  drill=ctx.drill, draft_id=draft_id)
        except ValueError:
            draft_id = None  # closed meanwhile; the post is recorded without it
        try:
            with self.app.sending:
                result = publish(ctx, self.composition, approval=approval, override=override, acks=acks,
                                 purpose=purpose, draft_id=draft_id, images=self.images)
        except GateBlocked as exc:
            outcome = PublishOutcome(None, "blocked", exc.message, exc.hint)
        except (PublishFailed, OutcomeUnknown) as exc:
            state = "unknown" if isinstance(exc, OutcomeUnknown) else "failed"
            outcome = PublishOutcome(exc.post_id, state, exc.message, failure_hint(exc), exc.checklist_note,
                                     x_problem=x_problem_text(exc.cause))
        except DutypostError as exc:  # e.g. another account's token (WrongAccount): nothing recorded
            outcome = PublishOutcome(None, "error", exc.message, exc.hint, x_problem=x_problem_text(exc))
        except Exception as exc:  # never leave the officer waiting on a worker that died
            outcome = PublishOutcome(self._post_of_draft(draft_id), "error",
                                     f"予期しないエラーで投稿が止まりました ({type(exc).__name__})。",
                                     "送信待ち (F3) で投稿の状態を確かめ、運用管理者に連絡してください。",
                                     getattr(exc, "checklist_note", ""))
        else:
            fallback = ("X が返信を受け付けなかったため、元の投稿の日時と件名を書いた単独の投稿にしました。"
                        if result.reply_fallback else "")
            detail = "\n".join(filter(None, (fallback, result.checklist_note)))
            outcome = PublishOutcome(result.post_id, "sent", "投稿しました。", result.url or "", detail)
        self.post_message(self.PublishDone(outcome))

    def _post_of_draft(self, draft_id: str | None) -> int | None:
        """The post recorded for the draft, when an unexpected error left no other trace."""
        if draft_id is None:
            return None
        posts = self.ctx.ledger.list_posts(operator=self.ctx.operator.id, limit=20)
        return next((p.id for p in posts if p.draft_id == draft_id), None)

    @on(PublishDone)
    def _published(self, message: PublishDone) -> None:
        outcome = message.outcome
        self.app.note_x_problem(outcome.x_problem, sent=outcome.state == "sent")
        if outcome.post_id is None:
            # Nothing was recorded: the gate stopped it (another session posted meanwhile)
            # or the credentials are missing. Say why and show the gate afresh.
            self.publishing = False
            text = Text(outcome.message, style="bold red")
            if outcome.state == "error" and outcome.hint:
                text.append("\n" + outcome.hint)
            self.query_one("#publish-error", Static).update(text)
            self.notify(outcome.message, title="投稿できませんでした", severity="error", markup=False)
            self._recheck()
            return
        self.app.show_outcome(outcome, purpose=self.purpose)

    def action_back(self) -> None:
        if self.publishing:
            self.notify("投稿の結果を待っています。結果が出てから戻れます。", title="投稿中", markup=False)
            return
        self.app.pop_screen()
