"""Follow-up storage (他の媒体への連絡の記録): the ``followups`` table, and the posts the
board of what is in force (発令中) is derived from.

After an emergency post the other channels (HP, メール配信, Lアラート, 防災行政無線) are
updated too (阿見町ポリシー 第6条・第7条(3)); each channel's result is one row, written
with its audit event (``followup.recorded``) in one transaction. What the channels are
and which posts need them is :mod:`dutypost.core.followups`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dutypost.core.ledger.connection import parse_time, utc_text
from dutypost.core.ledger.posts import Post, PostStore

EVENT_FOLLOWUP = "followup.recorded"
FOLLOWUP_RESULTS = ("done", "na")
"""``done`` (更新した) or ``na`` (対象外: not needed, with a note saying why)."""


@dataclass(frozen=True)
class FollowupRecord:
    """One channel's result for one post: who recorded it, when, and the audit event."""

    post_id: int
    channel: str
    result: str
    note: str
    operator: str
    at: datetime
    audit_id: int


class FollowupStore(PostStore):
    """The follow-up rows, and the sent posts of given templates (for the board)."""

    def record_followup(self, post_id: int, channel: str, *, result: str, note: str, operator: str) -> None:
        """Store (or replace) ``channel``'s result for ``post_id`` and its audit event, in one transaction."""
        if result not in FOLLOWUP_RESULTS:
            raise ValueError(f"連絡の結果 {result!r} はありません (done / na)。")
        stamp = self._stamp()
        with self._write() as conn:
            self._require_post(conn, post_id)
            audit_id = self._append(conn, operator=operator, kind=EVENT_FOLLOWUP, post_id=post_id, at=stamp,
                                    payload={"channel": channel, "result": result, "note": note})
            conn.execute(
                "INSERT INTO followups (post_id, channel, result, note, operator, at, audit_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (post_id, channel) DO UPDATE SET"
                " result = excluded.result, note = excluded.note, operator = excluded.operator,"
                " at = excluded.at, audit_id = excluded.audit_id",
                (post_id, channel, result, note, operator, stamp, audit_id),
            )

    def followups_of(self, post_ids: Iterable[int]) -> dict[int, dict[str, FollowupRecord]]:
        """The recorded channels of each post, by post id then channel."""
        ids = list(post_ids)
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        with self._read() as conn:
            rows = conn.execute(f"SELECT * FROM followups WHERE post_id IN ({marks})", ids).fetchall()
        found: dict[int, dict[str, FollowupRecord]] = {}
        for r in rows:
            found.setdefault(r["post_id"], {})[r["channel"]] = FollowupRecord(
                post_id=r["post_id"], channel=r["channel"], result=r["result"], note=r["note"],
                operator=r["operator"], at=parse_time(r["at"]), audit_id=r["audit_id"])
        return found

    def sent_posts_of_templates(self, template_ids: Iterable[str], *, drill: bool,
                                since: datetime | None = None) -> list[Post]:
        """Sent posts of these templates in this mode, oldest first (``since``: sent since)."""
        ids = sorted(set(template_ids))
        if not ids:
            return []
        where = f"WHERE state = 'sent' AND drill = ? AND template_id IN ({', '.join('?' * len(ids))})"
        params: tuple = (int(drill), *ids)
        if since is not None:
            where += " AND sent_at >= ?"
            params += (utc_text(since),)
        return list(reversed(self._select_posts(where, params)))

    def sent_board_values(self, board_keys: Mapping[str, str | None], *, drill: bool) -> list[tuple[int, str, Any]]:
        """``(post id, template id, the value of the template's board field)`` of every sent
        post of these templates (template id → its ``board_key``, None for none) in this mode,
        oldest first: what the board (発令中) folds. SQLite reads the one field out of each
        post's values, so no Post is built per row: years of posts cost one narrow scan
        (90k posts: about 60 ms, not 6 s)."""
        ids = sorted(board_keys)
        if not ids:
            return []
        cases = " ".join("WHEN ? THEN json_extract(field_values, ?)" for _ in ids)
        params: list = []
        for template_id in ids:
            key = board_keys[template_id]
            params += [template_id, None if not key else '$."' + key.replace('\\', '\\\\').replace('"', '\\"') + '"']
        sql = (f"SELECT id, template_id, CASE template_id {cases} END FROM posts"
               f" WHERE state = 'sent' AND drill = ? AND template_id IN ({', '.join('?' * len(ids))}) ORDER BY id")
        with self._read() as conn:
            return [tuple(row) for row in conn.execute(sql, (*params, int(drill), *ids))]

    def posts_with_ids(self, post_ids: Iterable[int]) -> dict[int, Post]:
        """The posts with these ids (those that exist), by id."""
        ids = sorted(set(post_ids))
        if not ids:
            return {}
        return {post.id: post for post in self._select_posts(f"WHERE id IN ({', '.join('?' * len(ids))})", tuple(ids))}
