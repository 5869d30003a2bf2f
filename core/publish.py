"""The publish path (投稿): compose → gate → ledger → X, used by the CLI and the TUI alike.

Guarantees (SPEC §6):
- the intent is written to the ledger (``queued``, then ``sending``) before a request leaves;
- a timeout or dropped connection after the request left is ``unknown`` and is never
  retried here: :func:`reconcile` looks for the text on the account's timeline first, and
  only a post that is not there may be sent again (:func:`resend`);
- 5xx, 429 and refused connections are ``failed``, kept in the outbox, retryable by the
  operator; 401/403 carry a Japanese explanation of what to do.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable, Mapping

from dutypost.core.context import DutyContext
from dutypost.core.errors import DutypostError, GateBlocked, InputError, OutcomeUnknown, PublishFailed
from dutypost.core.gate import Approval, GateDecision, Override, evaluate, validate_override
from dutypost.core.length import extract_urls, split_thread, weighted_length
from dutypost.core.models import Finding
from dutypost.core.templates import Template, municipality_variables, render

if TYPE_CHECKING:
    from dutypost.core.ledger import DraftPurpose

SAME_TEMPLATE_RULE = "same-template"


@dataclass(frozen=True)
class Composition:
    """A post ready for the gate: its final text and, when long, its thread parts."""

    text: str
    parts: tuple[str, ...]
    template_id: str | None
    emergency: bool
    threads_allowed: bool
    values: Mapping[str, str] = field(default_factory=dict)
    expects: frozenset[str] = frozenset()  # the template's expected gate rules (``expects``)
    drill_only: bool = False  # the template is 訓練専用 (``drill_only``)
    category: str | None = None  # the template's category (None: free text), for the account's limits

    @property
    def weighted_length(self) -> int:
        return weighted_length(self.text)


def compose(ctx: DutyContext, template: Template, values: Mapping[str, str], *, now: datetime | None = None) -> Composition:
    """Render ``template`` with the municipality's variables and mark it 【訓練】 in drill mode."""
    text = render(template, values, now=now or ctx.now(), variables=municipality_variables(ctx.settings))
    return compose_text(ctx, text, template_id=template.id, emergency=template.emergency,
                        threads_allowed=template.threads, values=values, expects=template.expects,
                        drill_only=template.drill_only, category=template.category)


def compose_text(ctx: DutyContext, text: str, *, template_id: str | None, emergency: bool,
                 threads_allowed: bool, values: Mapping[str, str] | None = None,
                 expects: Iterable[str] = (), drill_only: bool = False,
                 category: str | None = None) -> Composition:
    marker = ctx.settings.drill.marker
    if ctx.drill and marker not in text:
        text = marker + text
    limit = ctx.settings.x.max_weighted_length
    parts = split_thread(text, limit) if threads_allowed else [text]
    return Composition(text=text, parts=tuple(parts), template_id=template_id, emergency=emergency,
                       threads_allowed=threads_allowed, values=dict(values or {}),
                       expects=frozenset(expects), drill_only=drill_only, category=category)


@dataclass(frozen=True)
class Review:
    """The gate's decision plus what only the ledger knows (another operator's recent post)."""

    decision: GateDecision
    same_template: Finding | None
    acks: frozenset[str]

    @property
    def unacknowledged(self) -> tuple[Finding, ...]:
        extra = (self.same_template,) if self.same_template and SAME_TEMPLATE_RULE not in self.acks else ()
        return self.decision.unacknowledged + extra

    @property
    def warnings(self) -> tuple[Finding, ...]:
        found = tuple(f for f in self.decision.findings if f.severity == "warn")
        return found + ((self.same_template,) if self.same_template else ())

    @property
    def allowed(self) -> bool:
        return not self.decision.blocking and not self.unacknowledged

    def explain(self, *, for_cli: bool = True) -> str:
        text = self.decision.explain(for_cli=for_cli)
        if self.same_template and SAME_TEMPLATE_RULE not in self.acks:
            how = f"確認したら --ack {SAME_TEMPLATE_RULE} を付けてください。" if for_cli else "確認してから進んでください。"
            text = f"{text}\n{self.same_template.message} {how}".strip()
        return text


def review(
    ctx: DutyContext,
    composition: Composition,
    *,
    approval: Approval | None = None,
    override: Override | None = None,
    acks: Iterable[str] = (),
    now: datetime | None = None,
) -> Review:
    now = now or ctx.now()
    gate = ctx.settings.gate
    recent = ctx.ledger.recent_sent_texts(now - timedelta(hours=gate.duplicate_window_hours), ctx.drill)
    acks = frozenset(acks)
    decision = evaluate(
        text=composition.text,
        settings=ctx.settings,
        poster=ctx.operator,
        now=now,
        drill=ctx.drill,
        emergency=composition.emergency,
        approval=approval,
        override=override,
        acks=acks,
        threads_allowed=composition.threads_allowed,
        recent_texts=tuple(recent),
        expected_rules=composition.expects,
        drill_only=composition.drill_only,
        account=ctx.account,
        category=composition.category,
    )
    return Review(decision=decision, same_template=_same_template_warning(ctx, composition, now), acks=acks)


def _same_template_warning(ctx: DutyContext, composition: Composition, now: datetime) -> Finding | None:
    minutes = ctx.settings.gate.same_template_warn_minutes
    if not composition.template_id or minutes <= 0:
        return None
    last = ctx.ledger.last_post_of_template(composition.template_id, now - timedelta(minutes=minutes), ctx.drill)
    if last is None or last.operator == ctx.operator.id:
        return None
    who = ctx.settings.operator(last.operator)
    name = who.name if who else last.operator
    from dutypost.core.templates import format_jst_time

    return Finding(
        SAME_TEMPLATE_RULE,
        "warn",
        f"{name} さんが {format_jst_time(last.created_at)} に同じテンプレートで投稿しています"
        f" (状態: {last.state})。重複していないか確かめてください。",
    )


def make_override(ctx: DutyContext, category: str, reason: str, *, now: datetime | None = None) -> Override:
    validate_override(ctx.settings, category, reason)
    return Override(category=category, reason=reason.strip(), operator_id=ctx.operator.id, at=now or ctx.now())


def make_approval(ctx: DutyContext, approver_id: str, method: str, *, now: datetime | None = None) -> Approval:
    return Approval(approver_id=approver_id, method=method, at=now or ctx.now())


@dataclass(frozen=True)
class PublishResult:
    post_id: int
    url: str | None
    x_post_ids: tuple[str, ...]
    reply_fallback: bool = False
    #: For a checklist item's post: its record on the checklist, in words (or why it failed).
    checklist_note: str = ""


def publish(
    ctx: DutyContext,
    composition: Composition,
    *,
    approval: Approval | None = None,
    override: Override | None = None,
    acks: Iterable[str] = (),
    kind: str = "post",
    reply_to_post_id: int | None = None,
    fallback_text: str | None = None,
    purpose: DraftPurpose | None = None,
    draft_id: str | None = None,
    now: datetime | None = None,
) -> PublishResult:
    """Pass the gate, record the intent, then send. Raises GateBlocked/PublishFailed/OutcomeUnknown.

    With ``reply_to_post_id`` (a correction), the first part is sent as a reply to that
    post; if X refuses the reply (SPEC §5), ``fallback_text`` goes out as a standalone post.

    With ``purpose`` (a checklist item's post, チェックリストの投稿: 訂正・お詫び, 炎上, なりすまし,
    運用停止), the post's kind and reply target are the purpose's, the standalone text is
    worked out here (:func:`core.checklists.standalone_fallback_text`: the original's date
    and subject), and once the post is recorded it is recorded on its checklist item too —
    sent, failed or unknown alike, so the checklist shows it and the outbox resends it by
    the same rules. ``PublishResult.checklist_note`` (or the raised error's) says so in words.
    """
    now = now or ctx.now()
    result = review(ctx, composition, approval=approval, override=override, acks=acks, now=now)
    if not result.allowed:
        headline, _, details = result.explain(for_cli=True).partition("\n")
        raise GateBlocked(headline, hint=details)
    ledger = ctx.ledger
    ctx.x_client()  # credentials are checked before anything is recorded
    if purpose is not None:
        kind, reply_to_post_id = purpose.kind, purpose.reply_to_post_id
    reply_x_id = _reply_target(ctx, reply_to_post_id)
    if purpose is not None and reply_to_post_id is not None and fallback_text is None:
        from dutypost.core.checklists import standalone_fallback_text

        fallback_text = standalone_fallback_text(ledger, reply_to_post_id, composition.parts[0],
                                                 templates=ctx.templates)
    post_id = ledger.create_post(
        operator=ctx.operator.id,
        department=ctx.operator.department,
        template_id=composition.template_id,
        text=composition.text,
        parts=list(composition.parts),
        drill=ctx.drill,
        kind=kind,
        reply_to_post_id=reply_to_post_id,
        draft_id=draft_id,
        acks=sorted(result.acks),
        findings=[f.as_json() for f in result.decision.findings],
        account=ctx.account.id,
    )
    if approval is not None and result.decision.approval_problem is None:
        ledger.record_approval(post_id, approver=approval.approver_id, method=approval.method,
                               at=approval.at, recorded_by=ctx.operator.id)
    if override is not None and result.decision.lifted:
        ledger.record_override(post_id, operator=ctx.operator.id, category=override.category,
                               reason=override.reason, lifted=list(result.decision.lifted))
    if draft_id:
        ledger.close_draft(draft_id, "published")
    if purpose is None:
        return _send(ctx, post_id, list(composition.parts), sent=[], reply_to=reply_x_id, fallback_text=fallback_text)
    try:
        result = _send(ctx, post_id, list(composition.parts), sent=[], reply_to=reply_x_id,
                       fallback_text=fallback_text)
    except Exception as exc:  # failed or unknown: the item still records the post, to be resolved
        exc.checklist_note = _record_on_checklist(ctx, purpose, post_id)
        raise
    return replace(result, checklist_note=_record_on_checklist(ctx, purpose, post_id))


def _record_on_checklist(ctx: DutyContext, purpose: DraftPurpose, post_id: int) -> str:
    """Record ``post_id`` on its checklist item; the outcome in words (never raises a
    DutypostError: the post itself is recorded already)."""
    from dutypost.core import checklists

    try:
        if purpose.item_key == "correction_post":
            checklists.link_correction(ctx.ledger, purpose.checklist_id, correction_post_id=post_id,
                                       operator=ctx.operator.id)
        else:
            checklists.record(ctx.ledger, purpose.checklist_id, purpose.item_key, operator=ctx.operator.id,
                              value=post_id)
    except DutypostError as exc:
        return f"チェックリストに記録できませんでした: {exc.message}"
    return f"チェックリスト #{purpose.checklist_id} に投稿 #{post_id} を記録しました。"


def _reply_target(ctx: DutyContext, reply_to_post_id: int | None) -> str | None:
    """The X id a correction replies to: the first part of the original, which must be out."""
    if reply_to_post_id is None:
        return None
    original = ctx.ledger.get_post(reply_to_post_id)
    if original is None or not original.x_post_ids:
        raise InputError(f"訂正の元になる投稿 #{reply_to_post_id} が送信済みではありません。",
                         hint="履歴で元の投稿の状態を確かめてください。")
    return original.x_post_ids[0]


def _send(ctx: DutyContext, post_id: int, parts: list[str], *, sent: list[str],
          reply_to: str | None, fallback_text: str | None = None) -> PublishResult:
    """Send the unsent parts of ``post_id``, each replying to the previous one."""
    from dutypost.core.xapi import XApiError, XReplyNotAllowed

    ledger = ctx.ledger
    client = ctx.x_client()
    ledger.set_state(post_id, "sending", operator=ctx.operator.id)
    ids = list(sent)
    url = None
    fallback_used = False
    try:
        for index in range(len(ids), len(parts)):
            text = parts[index]
            parent = ids[-1] if ids else reply_to
            try:
                created = client.create_post(text, reply_to=parent)
            except XReplyNotAllowed:
                if index != 0 or not fallback_text:
                    raise
                # X refused the reply: the correction goes out standalone, naming the original,
                # recorded first (an unknown outcome is then looked for by the text that was sent).
                ledger.use_standalone_text(post_id, fallback_text, operator=ctx.operator.id)
                created = client.create_post(fallback_text)
                fallback_used = True
            ids.append(created.id)
            url = url or created.url
    except XApiError as exc:
        state = "unknown" if exc.outcome == "unknown" else "failed"
        ledger.set_state(post_id, state, x_post_ids=ids, error=exc.message, operator=ctx.operator.id)
        details = f"\n{exc.hint}" if exc.hint else ""
        if state == "unknown":
            raise OutcomeUnknown(
                f"投稿 #{post_id} が X に届いたかどうか分かりません: {exc.message}",
                hint=f"再送はしないでください。dutypost outbox resolve {post_id} でタイムラインを確かめます。{details}",
                post_id=post_id, cause=exc,
            ) from None
        raise PublishFailed(
            f"投稿 #{post_id} は送信できませんでした: {exc.message}",
            hint=f"投稿は送信待ち (outbox) に残っています。状況が直ったら dutypost outbox resend {post_id} で再送できます。"
                 f"スマートフォンなど別の手段で投稿したときは dutypost outbox cancel {post_id} --reason 理由 で取り消します。{details}",
            post_id=post_id, cause=exc,
        ) from None
    post = ledger.get_post(post_id)
    if url is None and post and post.url:
        url = post.url
    ledger.set_state(post_id, "sent", x_post_ids=ids, url=url, operator=ctx.operator.id)
    return PublishResult(post_id=post_id, url=url, x_post_ids=tuple(ids), reply_fallback=fallback_used)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    spans = extract_urls(text)
    for start, end, _ in reversed(spans):
        text = text[:start] + "<URL>" + text[end:]
    return re.sub(r"\s+", " ", text).strip()


@dataclass(frozen=True)
class Reconciliation:
    post_id: int
    found: bool
    x_post_ids: tuple[str, ...]
    message: str


def reconcile(ctx: DutyContext, post_id: int) -> Reconciliation:
    """Look for an uncertain post on the account's timeline (SPEC §6) — never resend here."""
    ledger = ctx.ledger
    post = ledger.get_post(post_id)
    if post is None:
        raise InputError(f"投稿 #{post_id} は記録にありません。", hint="dutypost outbox で番号を確かめてください。")
    if post.state not in ("unknown", "sending"):
        raise InputError(
            f"投稿 #{post_id} は確認の必要がありません (状態: {post.state})。",
            hint="確認が必要なのは状態が unknown (不明) か sending (送信中) の投稿です。",
        )
    if post.state == "sending" and post.updated_at > ctx.now() - timedelta(seconds=2 * ctx.settings.x.timeout_seconds):
        raise InputError(
            f"投稿 #{post_id} はいま送信中です。",
            hint=f"{int(2 * ctx.settings.x.timeout_seconds)} 秒ほど待ってから、もう一度確かめてください。",
        )
    _require_same_account(ctx, post, "resolve")
    client = ctx.x_client()
    me = ctx.account_user()
    try:
        timeline = client.user_posts(me["id"], start_time=post.created_at - timedelta(minutes=5))
    except Exception as exc:  # XApiError: reconciliation itself could not reach X
        from dutypost.core.xapi import XApiError

        if isinstance(exc, XApiError):
            raise PublishFailed(f"タイムラインを確かめられませんでした: {exc.message}",
                                hint=f"状態は不明のままです。後でもう一度 dutypost outbox resolve {post_id} を実行してください。",
                                post_id=post_id, cause=exc) from None
        raise
    ids = list(post.x_post_ids)
    by_text: dict[str, list[str]] = {}
    for item in reversed(timeline):  # oldest first, so a thread's parts line up
        by_text.setdefault(_normalise(item["text"]), []).append(item["id"])
    for part in post.parts[len(ids):]:
        matches = [i for i in by_text.get(_normalise(part), []) if i not in ids]
        if not matches:
            break
        ids.append(matches[0])
    if len(ids) == len(post.parts):
        url = post.url or f"{ctx.settings.web_base_url(ctx.drill, ctx.account)}/i/web/status/{ids[0]}"
        ledger.set_state(post_id, "sent", x_post_ids=ids, url=url, operator=ctx.operator.id)
        return Reconciliation(post_id, True, tuple(ids), f"投稿 #{post_id} はタイムラインにありました。送信済みにしました: {url}")
    ledger.set_state(post_id, "failed", x_post_ids=ids,
                     error="タイムラインに見つかりませんでした (X に届いていません)。", operator=ctx.operator.id)
    return Reconciliation(
        post_id, False, tuple(ids),
        f"投稿 #{post_id} はタイムラインにありませんでした。届いていないので、再送できます: dutypost outbox resend {post_id}",
    )


def _require_same_account(ctx: DutyContext, post, command: str) -> None:
    """A post is looked for and resent on the account it was written for, never another."""
    if post.account and post.account != ctx.account.id:
        raise InputError(
            f"投稿 #{post.id} はアカウント {post.account} の投稿です (いま選んでいるのは {ctx.account.id})。",
            hint=f"dutypost --account {post.account} outbox {command} {post.id} を実行してください。",
        )


def resend(ctx: DutyContext, post_id: int) -> PublishResult:
    """Send a ``failed`` post again (only failed: an ``unknown`` one must be reconciled first)."""
    post = ctx.ledger.get_post(post_id)
    if post is None:
        raise InputError(f"投稿 #{post_id} は記録にありません。", hint="dutypost outbox で番号を確かめてください。")
    if post.state in ("unknown", "sending"):
        raise InputError(
            f"投稿 #{post_id} は X に届いたかどうか分かりません。再送すると二重投稿になるおそれがあります。",
            hint=f"先に dutypost outbox resolve {post_id} でタイムラインを確かめてください。",
        )
    if post.state != "failed":
        raise InputError(f"投稿 #{post_id} は再送できません (状態: {post.state})。")
    _require_same_account(ctx, post, "resend")
    reply_to = fallback_text = None
    if post.reply_to_post_id is not None and not post.x_post_ids:
        from dutypost.core.checklists import standalone_fallback_text

        reply_to = _reply_target(ctx, post.reply_to_post_id)
        fallback_text = standalone_fallback_text(ctx.ledger, post.reply_to_post_id, post.parts[0], templates=ctx.templates)
    return _send(ctx, post_id, list(post.parts), sent=list(post.x_post_ids), reply_to=reply_to,
                 fallback_text=fallback_text)


def cancel(ctx: DutyContext, post_id: int, reason: str) -> None:
    """Take a ``failed`` or ``queued`` post out of the outbox (取消), e.g. after the officer
    posted it from a phone while X could not be reached. The reason is recorded."""
    post = ctx.ledger.get_post(post_id)
    if post is None:
        raise InputError(f"投稿 #{post_id} は記録にありません。", hint="dutypost outbox で番号を確かめてください。")
    if post.state in ("unknown", "sending"):
        raise InputError(
            f"投稿 #{post_id} は X に届いたかどうか分かりません。取り消す前に確かめてください。",
            hint=f"dutypost outbox resolve {post_id} でタイムラインを確かめてください。",
        )
    if post.state not in ("failed", "queued"):
        raise InputError(f"投稿 #{post_id} は取り消せません (状態: {post.state})。")
    if len(reason.strip()) < 4:
        raise InputError("取り消す理由を書いてください (例: 「スマートフォンから投稿したため」)。")
    ctx.ledger.set_state(post_id, "cancelled", error=f"取消: {reason.strip()}", operator=ctx.operator.id)
