"""The follow-up on other channels after an emergency post (他の媒体への連絡).

阿見町ポリシー 第6条 ties emergency posts to the mail service, and the correction
checklist already names HP, メール配信, Lアラート and 防災行政無線: after any emergency
post (``emergency = true`` template) that went out, each configured channel
(``[followup] channels``, :meth:`Settings.followup_channels`) is recorded as updated
(``done``) or not applicable (``na``, with a note saying why). Each record is an audit
event (``followup.recorded``) written with its row. A post whose channels are not all
recorded is open; Home shows the open ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dutypost.core.errors import InputError
from dutypost.core.ledger.followups import FollowupRecord

if TYPE_CHECKING:
    from dutypost.core.config import Settings
    from dutypost.core.ledger import Ledger, Post
    from dutypost.core.templates import TemplateSet

OPEN_WINDOW = timedelta(days=3)
"""How far back Home and the handover look for emergency posts whose follow-up is open."""
RESULT_LABELS = {"done": "済", "na": "対象外"}


@dataclass(frozen=True)
class Followup:
    """One post's follow-up: every channel with its record (None: not yet)."""

    post: Post
    channels: tuple[tuple[str, FollowupRecord | None], ...]

    @property
    def missing(self) -> list[str]:
        return [channel for channel, record in self.channels if record is None]

    @property
    def complete(self) -> bool:
        return not self.missing


def needs_followup(post: Post, templates: TemplateSet) -> bool:
    """A sent post made from an emergency template."""
    template = templates.get(post.template_id) if post.template_id else None
    return post.state == "sent" and template is not None and template.emergency


def followup(ledger: Ledger, settings: Settings, post: Post) -> Followup:
    recorded = ledger.followups_of([post.id]).get(post.id, {})
    return Followup(post, tuple((c, recorded.get(c)) for c in settings.followup_channels()))


def open_followups(ledger: Ledger, settings: Settings, templates: TemplateSet, *, drill: bool,
                   now: datetime) -> list[Followup]:
    """Emergency posts of this mode sent in the last :data:`OPEN_WINDOW` with a channel not
    recorded yet, oldest first."""
    ids = [t.id for t in templates.templates if t.emergency]
    posts = ledger.sent_posts_of_templates(ids, drill=drill, since=now - OPEN_WINDOW)
    recorded = ledger.followups_of(p.id for p in posts)
    channels = settings.followup_channels()
    found = [Followup(p, tuple((c, recorded.get(p.id, {}).get(c)) for c in channels)) for p in posts]
    return [f for f in found if not f.complete]


def record(ledger: Ledger, settings: Settings, post_id: int, channel: str, *, result: str, operator: str,
           note: str = "") -> None:
    """Record one channel of a post: ``done`` (更新した) or ``na`` (対象外, a note is required)."""
    channels = settings.followup_channels()
    if channel not in channels:
        raise InputError(f"連絡先 {channel!r} は設定にありません。",
                         hint="設定ファイルの [followup] channels にある名前を使ってください: " + "、".join(channels))
    if result not in RESULT_LABELS:
        raise InputError(f"結果 {result!r} はありません。", hint="done (済) か na (対象外) を指定してください。")
    note = note.strip()
    if result == "na" and not note:
        raise InputError(f"「{channel}」を対象外にするときは、理由を書いてください。",
                         hint="例: 「この地区はメール配信の対象外」")
    post = ledger.get_post(post_id)
    if post is None:
        raise InputError(f"投稿 #{post_id} は記録にありません。", hint="dutypost history で番号を確かめてください。")
    ledger.record_followup(post_id, channel, result=result, note=note, operator=operator)
