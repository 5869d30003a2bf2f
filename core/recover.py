"""Recovery after a failover (復旧後の取り込み): nothing lost, nothing doubled (issue 16).

A post may have reached X in the last seconds before the primary died, after the last
frame Litestream replicated. The restored ledger then lacks it, and an officer who does
not know would post it again. :func:`recover` reads the account's timeline and:

1. reconciles the posts whose outcome is unknown (``unknown``/``sending``) with
   :func:`core.publish.reconcile`, as ``dutypost outbox resolve`` does;
2. records every post X has whose id the ledger does not know as a new post in state
   ``sent``, with the audit event ``post.recovered`` (X 上で見つかった投稿 (復旧後)).

Ids decide, not texts: a timeline post whose id is in no post of the ledger is recovered.
Its text is stored with X's HTML entities undone (``&amp;`` → ``&``); the text exactly as
X returned it stays in the audit event. Running it twice records nothing the second time.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from dutypost.core.context import DutyContext
from dutypost.core.errors import InputError
from dutypost.core.standby import LEDGER_RECOVERED, RECOVERED_META_KEY, restored_marker

#: How far before the replica's newest event the timeline is read when no --since is given
#: (X's clock and this host's may differ, and X's created_at is whole seconds).
MARGIN = timedelta(minutes=10)
DEFAULT_WINDOW = timedelta(hours=24)
MAX_PAGES = 20
JST = timezone(timedelta(hours=9))


@dataclass(frozen=True)
class RecoveredPost:
    post_id: int
    x_post_id: str
    text: str
    url: str


@dataclass
class RecoveryReport:
    since: datetime
    timeline_count: int
    recovered: list[RecoveredPost] = field(default_factory=list)
    reconciled: list[str] = field(default_factory=list)  # the messages of reconcile()
    skipped: list[str] = field(default_factory=list)     # unknown posts that could not be reconciled yet

    def as_json(self) -> dict:
        return {
            "since": self.since.isoformat(),
            "timeline_count": self.timeline_count,
            "recovered": [{"post_id": r.post_id, "x_post_id": r.x_post_id, "text": r.text, "url": r.url}
                          for r in self.recovered],
            "reconciled": self.reconciled,
            "skipped": self.skipped,
        }

    def describe(self) -> str:
        from dutypost.core.templates import format_jst_datetime

        lines = [f"{format_jst_datetime(self.since)} 以降のタイムライン {self.timeline_count} 件を記録と照らし合わせました。"]
        lines += self.reconciled
        lines += [f"未確認のまま: {message}" for message in self.skipped]
        for r in self.recovered:
            first = r.text.splitlines()[0] if r.text else ""
            lines.append(f"投稿 #{r.post_id} として記録しました (X 上で見つかった投稿 (復旧後)): {r.url}\n    {first}")
        if not self.recovered:
            lines.append("X にあって記録にない投稿はありませんでした。")
        return "\n".join(lines)


def parse_since(text: str, *, now: datetime) -> datetime:
    """``--since``: an ISO 8601 time (without an offset it is JST) or a span back from now
    (``90m``, ``2h``, ``1d``)."""
    value = text.strip()
    span = re.fullmatch(r"(\d+)\s*([mhd])", value)
    if span:
        unit = {"m": "minutes", "h": "hours", "d": "days"}[span[2]]
        return now - timedelta(**{unit: int(span[1])})
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--since {text!r} を時刻として読めません。",
                         hint="例: --since 2026-09-01T03:00 (日本時間)、--since 2h (2 時間前から)、--since 90m") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=JST)


def default_since(ctx: DutyContext) -> datetime:
    """Just before the newest event the replica held (from the restore's marker), else a day back."""
    marker = restored_marker(ctx.ledger)
    head = (marker or {}).get("replica_head")
    if head:
        return datetime.fromisoformat(head["at"]) - MARGIN
    return ctx.now() - DEFAULT_WINDOW


def recover(ctx: DutyContext, since: datetime | None = None) -> RecoveryReport:
    from dutypost.core.publish import reconcile
    from dutypost.core.xapi import XApiError

    ledger = ctx.ledger
    report = RecoveryReport(since=since or default_since(ctx), timeline_count=0)
    for post in ledger.outbox():
        if post.state not in ("unknown", "sending"):
            continue
        try:
            report.reconciled.append(reconcile(ctx, post.id).message)
        except InputError as exc:  # e.g. still sending in another session: left for later
            report.skipped.append(f"投稿 #{post.id}: {exc.message}")
    me = ctx.account_user()
    try:
        timeline = ctx.x_client().user_posts(me["id"], start_time=report.since, max_pages=MAX_PAGES)
    except XApiError as exc:
        raise InputError(f"タイムラインを読めませんでした: {exc.message}",
                         hint="X に届くようになってから、もう一度 dutypost recover を実行してください。"
                              "それまでは同じ内容を投稿し直さないでください (二重投稿のおそれ)。") from None
    report.timeline_count = len(timeline)
    known = {x_id for post in ledger.list_posts() for x_id in post.x_post_ids}
    web = ctx.settings.web_base_url(ctx.drill)
    for item in reversed(timeline):  # oldest first, so the new rows keep X's order
        x_id = str(item["id"])
        if x_id in known:
            continue
        created = item.get("created_at")
        x_created_at = datetime.fromisoformat(created.replace("Z", "+00:00")) if created else None
        text = html.unescape(item.get("text", ""))
        url = f"{web}/i/web/status/{x_id}"
        post_id = ledger.record_recovered_post(
            operator=ctx.operator.id, department=ctx.operator.department, text=text, x_post_id=x_id, url=url,
            drill=ctx.drill, x_text=item.get("text", ""), x_created_at=x_created_at,
        )
        known.add(x_id)
        report.recovered.append(RecoveredPost(post_id, x_id, text, url))
    marker = restored_marker(ledger)
    event_id = ledger.append_event(operator=ctx.operator.id, kind=LEDGER_RECOVERED, payload={
        "since": report.since.isoformat(), "timeline_count": report.timeline_count,
        "recovered": [{"post_id": r.post_id, "x_post_id": r.x_post_id} for r in report.recovered],
        "reconciled": report.reconciled, "skipped": report.skipped,
    })
    ledger.set_meta(RECOVERED_META_KEY, json.dumps({
        "event_id": event_id, "at": ctx.now().isoformat(),
        "restored_event_id": marker["event_id"] if marker else None,
    }, ensure_ascii=False))
    return report
