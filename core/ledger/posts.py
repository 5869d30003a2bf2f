"""Posts (投稿) and their states (状態): SPEC §6's outbox and history."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dutypost.core.ledger.audit import AuditLog, canonical_json
from dutypost.core.ledger.connection import parse_time, utc_text

POST_STATES = ("draft", "queued", "sending", "sent", "failed", "unknown", "cancelled", "deleted")
"""SPEC §6's states, plus ``cancelled`` (the operator dropped an outbox entry) and
``deleted`` (removed from X after it was sent). ``draft`` lives in the drafts table."""

OUTBOX_STATES = ("queued", "sending", "failed", "unknown")
#: The word every screen and command shows for a post's state (状態), never colour alone.
POST_STATE_LABELS = {
    "queued": "送信待ち",
    "sending": "送信中",
    "sent": "送信済み",
    "failed": "失敗",
    "unknown": "結果不明",
    "cancelled": "取消",
    "deleted": "削除済み",
}

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "queued": ("sending", "cancelled"),
    "sending": ("sent", "failed", "unknown"),
    # "sent" when reconciliation finds a failed post on the timeline after all.
    "failed": ("sending", "sent", "cancelled"),
    # "sending" again only after reconciliation found nothing: the caller decides.
    "unknown": ("sent", "sending", "failed", "cancelled"),
    "sent": ("deleted",),
    "cancelled": (),
    "deleted": (),
}


class SameTemplateTaken(Exception):
    """Another operator's post of the same template was recorded within the window (SPEC §6);
    raised by :meth:`PostStore.create_post` instead of recording. ``post_id`` is that post."""

    def __init__(self, post_id: int) -> None:
        super().__init__(f"投稿 #{post_id} が同じテンプレートで記録されています。")
        self.post_id = post_id


@dataclass(frozen=True)
class Post:
    """A post (投稿) and everything recorded about it.

    ``override`` is ``{category, reason, operator, at, lifted, session_id}`` (緊急オーバーライド;
    ``session_id`` is the time-boxed session it came from, or None);
    ``approval`` is ``{approver, method, at, post_hoc}`` — the approval given before
    publishing if there was one, else the post-hoc one (事後承認); ``post_hoc_signed_off``
    is ``{approver, method, at, note}`` once an approver has signed off after the fact.
    """

    id: int
    state: str
    kind: str
    template_id: str | None
    text: str
    parts: list[str]
    operator: str
    department: str
    drill: bool
    created_at: datetime
    updated_at: datetime
    x_post_ids: list[str]
    url: str | None
    error: str | None
    reply_to_post_id: int | None
    override: dict | None
    approval: dict | None
    acks: list[str]
    post_hoc_signed_off: dict | None
    sent_at: datetime | None = None
    draft_id: str | None = None
    findings: list[dict] = field(default_factory=list)
    #: The template's field values the post was made from (empty for free text).
    values: dict[str, str] = field(default_factory=dict)
    #: The images (画像) with their alt text: ``[{path, alt}]``.
    images: list[dict] = field(default_factory=list)
    #: The account (アカウント) it went out on, an ``[[accounts]]`` id; '' before there were several.
    account: str = ""

    def as_json(self) -> dict:
        """SPEC §10's shape for ``history --json`` and ``outbox --json``, then extras."""
        return {
            "id": self.id,
            "state": self.state,
            "template": self.template_id,
            "text": self.text,
            "operator": self.operator,
            "created_at": self.created_at.isoformat(),
            "x_post_id": self.x_post_ids[0] if self.x_post_ids else None,
            "url": self.url,
            "override": (
                {"category": self.override["category"], "reason": self.override["reason"]} if self.override else None
            ),
            "approval": (
                {"approver": self.approval["approver"], "method": self.approval["method"]} if self.approval else None
            ),
            "kind": self.kind,
            "drill": self.drill,
            "department": self.department,
            "parts": list(self.parts),
            "x_post_ids": list(self.x_post_ids),
            "error": self.error,
            "sent_at": self.sent_at.isoformat() if self.sent_at else None,
            "reply_to_post_id": self.reply_to_post_id,
            "override_session_id": self.override["session_id"] if self.override else None,
            "images": [dict(i) for i in self.images],
            "account": self.account,
        }


class PostStore(AuditLog):
    """Posts and their states. A post's overrides and approvals are read with it."""

    @staticmethod
    def _require_post(conn: sqlite3.Connection, post_id: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM posts WHERE id = ?", (post_id,)).fetchone()
        if row is None:
            raise ValueError(f"投稿 #{post_id} は記録にありません。")
        return row

    # -- posts (投稿) -------------------------------------------------------------------

    def create_post(self, *, operator: str, department: str, template_id: str | None, text: str,
                    parts: list[str], drill: bool, kind: str = "post", reply_to_post_id: int | None = None,
                    draft_id: str | None = None, acks: Iterable[str] = (),
                    findings: Iterable[dict] = (), same_template_since: datetime | None = None,
                    values: dict[str, str] | None = None, images: Iterable[dict] = (), account: str = "") -> int:
        """Record the intent to publish (state ``queued``) before any request leaves.

        With ``same_template_since`` (SPEC §6), the newest post of the same template and mode
        by another operator since then is looked for in the same write transaction, and
        :class:`SameTemplateTaken` is raised instead of recording when there is one: two
        operators publishing the same template at the same moment cannot both miss it.
        ``images``: ``[{path, alt}]``, the images (画像) the post carries, with their alt text.
        ``account`` is the ``[[accounts]]`` id it goes out on (the audit event records it too).
        """
        parts, acks, findings, values = list(parts), list(acks), list(findings), dict(values or {})
        images = [dict(i) for i in images]
        if not parts:
            raise ValueError("投稿の本文 (parts) が空です。")
        stamp = self._stamp()
        with self._write() as conn:
            if same_template_since is not None and template_id:
                row = conn.execute(
                    "SELECT id FROM posts WHERE template_id = ? AND drill = ? AND created_at >= ?"
                    " AND state != 'cancelled' AND operator != ? ORDER BY id DESC LIMIT 1",
                    (template_id, int(drill), utc_text(same_template_since), operator),
                ).fetchone()
                if row is not None:
                    raise SameTemplateTaken(row["id"])
            post_id = conn.execute(
                "INSERT INTO posts (state, kind, template_id, text, parts, operator, department, drill,"
                " created_at, updated_at, reply_to_post_id, draft_id, acks, findings, field_values, images, account)"
                " VALUES ('queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, template_id, text, canonical_json(parts), operator, department, int(drill), stamp, stamp,
                 reply_to_post_id, draft_id, canonical_json(acks), canonical_json(findings), canonical_json(values),
                 canonical_json(images), account),
            ).lastrowid
            payload: dict[str, Any] = {
                "kind": kind, "template_id": template_id, "department": department, "drill": drill,
                "text": text, "parts": parts, "acks": acks, "findings": findings,
                "reply_to_post_id": reply_to_post_id, "draft_id": draft_id, "values": values,
            }
            if images:  # only then, so that the events of posts without images read as before
                payload["images"] = images
            if account:
                payload["account"] = account
            self._append(conn, operator=operator, kind="post.queued", post_id=post_id, at=stamp, payload=payload,
                         rows=[("posts", post_id)])
        return post_id

    def set_state(self, post_id: int, state: str, *, x_post_ids: list[str] | None = None, url: str | None = None,
                  error: str | None = None, operator: str | None = None) -> None:
        """Move a post to ``state`` (see TRANSITIONS); raises ValueError on an illegal move.

        ``x_post_ids`` and ``url`` are kept unless given; ``error`` is replaced on every
        move (None clears it), so it always explains the current state.
        """
        if state not in POST_STATES:
            raise ValueError(f"投稿の状態 {state!r} はありません。")
        stamp = self._stamp()
        with self._write() as conn:
            self._move_state(conn, post_id, state, stamp=stamp, x_post_ids=x_post_ids, url=url, error=error,
                             operator=operator)

    def _move_state(self, conn: sqlite3.Connection, post_id: int, state: str, *, stamp: str,
                    x_post_ids: list[str] | None = None, url: str | None = None, error: str | None = None,
                    operator: str | None = None) -> None:
        """:meth:`set_state` inside the caller's write transaction."""
        row = self._require_post(conn, post_id)
        current = row["state"]
        if state not in TRANSITIONS.get(current, ()):
            raise ValueError(f"投稿 #{post_id} は {current} から {state} には変えられません。")
        ids_json = canonical_json(list(x_post_ids)) if x_post_ids is not None else row["x_post_ids"]
        conn.execute(
            "UPDATE posts SET state = ?, updated_at = ?, x_post_ids = ?, url = ?, error = ?,"
            " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
            (state, stamp, ids_json, url if url is not None else row["url"], error, state, stamp, post_id),
        )
        payload: dict[str, Any] = {"from": current, "to": state}
        if x_post_ids is not None:
            payload["x_post_ids"] = list(x_post_ids)
        if url is not None:
            payload["url"] = url
        if error is not None:
            payload["error"] = error
        self._append(conn, operator=operator or row["operator"], kind=f"post.{state}", post_id=post_id,
                     at=stamp, payload=payload, rows=[("posts", post_id)])

    def record_recovered_post(self, *, operator: str, department: str, text: str, x_post_id: str, url: str,
                              drill: bool, x_text: str, x_created_at: datetime | None) -> int:
        """A post that X has and this (restored) ledger lacked: recorded as ``sent``, with the
        audit event ``post.recovered`` (X 上で見つかった投稿 (復旧後)), in one transaction.
        ``x_text`` is the text as X returned it (``&amp;``, t.co links)."""
        stamp = self._stamp()
        sent_at = utc_text(x_created_at) if x_created_at else stamp
        with self._write() as conn:
            post_id = conn.execute(
                "INSERT INTO posts (state, kind, template_id, text, parts, operator, department, drill,"
                " created_at, updated_at, sent_at, x_post_ids, url)"
                " VALUES ('sent', 'post', NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (text, canonical_json([text]), operator, department, int(drill), sent_at, stamp, sent_at,
                 canonical_json([x_post_id]), url),
            ).lastrowid
            self._append(conn, operator=operator, kind="post.recovered", post_id=post_id, at=stamp, payload={
                "note": "X 上で見つかった投稿 (復旧後)", "x_post_id": x_post_id, "url": url, "text": text,
                "x_text": x_text, "x_created_at": sent_at, "drill": drill,
            }, rows=[("posts", post_id)])
        return post_id

    def use_standalone_text(self, post_id: int, text: str, *, operator: str) -> None:
        """X refused a correction's reply (SPEC §5): its first part goes out standalone as
        ``text``, which is recorded as the post's text before it is sent, so the record,
        reconciliation and 様式第1号 all see what went out (for a thread, its parts as sent,
        a blank line apart). The reply's text stays in the audit event ``post.reply_refused``."""
        with self._write() as conn:
            row = self._require_post(conn, post_id)
            parts = json.loads(row["parts"])
            reply_text, parts[0] = parts[0], text
            conn.execute("UPDATE posts SET text = ?, parts = ?, updated_at = ? WHERE id = ?",
                         ("\n\n".join(parts) if len(parts) > 1 else text, canonical_json(parts), self._stamp(),
                          post_id))
            self._append(conn, operator=operator, kind="post.reply_refused", post_id=post_id,
                         payload={"reply_text": reply_text, "fallback_text": text}, rows=[("posts", post_id)])

    def get_post(self, post_id: int) -> Post | None:
        posts = self._select_posts("WHERE id = ?", (post_id,))
        return posts[0] if posts else None

    def list_posts(self, *, states: Iterable[str] | None = None, operator: str | None = None,
                   template_id: str | None = None, since: datetime | None = None,
                   limit: int | None = None, before_id: int | None = None) -> list[Post]:
        """Posts, newest first. ``since`` compares with the creation time.

        Paging (keyset): ``before_id`` starts after the post with that id, so the next page
        of a listing is ``list_posts(..., limit=n, before_id=page[-1].id)``; a page costs
        the same at any age of the ledger."""
        clauses: list[str] = []
        params: list[Any] = []
        if before_id is not None:
            clauses.append("id < ?")
            params.append(int(before_id))
        if states is not None:
            states = list(states)
            clauses.append(f"state IN ({', '.join('?' * len(states))})")
            params += states
        if operator is not None:
            clauses.append("operator = ?")
            params.append(operator)
        if template_id is not None:
            clauses.append("template_id = ?")
            params.append(template_id)
        if since is not None:
            clauses.append("created_at >= ?")
            params.append(utc_text(since))
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._select_posts(where, tuple(params), limit=limit)

    def outbox(self, limit: int | None = None) -> list[Post]:
        """The outbox (送信待ち): posts not yet known to be out, newest first."""
        return self.list_posts(states=OUTBOX_STATES, limit=limit)

    def count_posts(self, states: Iterable[str]) -> int:
        """How many posts are in one of ``states`` (e.g. :data:`OUTBOX_STATES`)."""
        states = list(states)
        with self._read() as conn:
            return conn.execute(f"SELECT count(*) FROM posts WHERE state IN ({', '.join('?' * len(states))})",
                                states).fetchone()[0]

    def recent_sent_texts(self, since: datetime, drill: bool) -> list[tuple[str, datetime]]:
        """Texts of posts sent since ``since`` in this mode, with when they were sent."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT text, sent_at FROM posts"
                " WHERE state = 'sent' AND drill = ? AND sent_at >= ? ORDER BY sent_at DESC",
                (int(drill), utc_text(since)),
            ).fetchall()
        return [(r["text"], parse_time(r["sent_at"])) for r in rows]

    def last_post_of_template(self, template_id: str, since: datetime, drill: bool) -> Post | None:
        """The newest post of ``template_id`` created since ``since`` that was not cancelled.

        For SPEC §6's warning when two operators post the same template within minutes;
        call it before recording the new post, or it finds that one.
        """
        posts = self._select_posts(
            "WHERE template_id = ? AND drill = ? AND created_at >= ? AND state != 'cancelled'",
            (template_id, int(drill), utc_text(since)),
            limit=1,
        )
        return posts[0] if posts else None

    def _select_posts(self, where: str, params: tuple, *, limit: int | None = None) -> list[Post]:
        """Posts matching ``where``, newest first, with their overrides and approvals."""
        sql = f"SELECT * FROM posts {where} ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params += (int(limit),)
        with self._read() as conn:
            rows = conn.execute(sql, params).fetchall()
            if not rows:
                return []
            ids = [r["id"] for r in rows]
            marks = ", ".join("?" * len(ids))
            overrides = {
                o["post_id"]: {"category": o["category"], "reason": o["reason"], "operator": o["operator"],
                               "at": parse_time(o["at"]), "lifted": json.loads(o["lifted"]),
                               "session_id": o["session_id"]}
                for o in conn.execute(f"SELECT * FROM overrides WHERE post_id IN ({marks})", ids)
            }
            approvals: dict[int, list[sqlite3.Row]] = {}
            for a in conn.execute(f"SELECT * FROM approvals WHERE post_id IN ({marks}) ORDER BY id", ids):
                approvals.setdefault(a["post_id"], []).append(a)
        return [self._post_from_row(r, overrides.get(r["id"]), approvals.get(r["id"], [])) for r in rows]

    @staticmethod
    def _post_from_row(row: sqlite3.Row, override: dict | None, approvals: list[sqlite3.Row]) -> Post:
        before = [a for a in approvals if not a["post_hoc"]]
        after = [a for a in approvals if a["post_hoc"]]
        chosen = (before or after or [None])[0]
        approval = (
            {"approver": chosen["approver"], "method": chosen["method"], "at": parse_time(chosen["at"]),
             "post_hoc": bool(chosen["post_hoc"])}
            if chosen is not None else None
        )
        signed_off = (
            {"approver": after[0]["approver"], "method": after[0]["method"], "at": parse_time(after[0]["at"]),
             "note": after[0]["note"]}
            if after else None
        )
        return Post(
            id=row["id"], state=row["state"], kind=row["kind"], template_id=row["template_id"], text=row["text"],
            parts=json.loads(row["parts"]), operator=row["operator"], department=row["department"],
            drill=bool(row["drill"]), created_at=parse_time(row["created_at"]),
            updated_at=parse_time(row["updated_at"]), x_post_ids=json.loads(row["x_post_ids"]), url=row["url"],
            error=row["error"], reply_to_post_id=row["reply_to_post_id"], override=override, approval=approval,
            acks=json.loads(row["acks"]), post_hoc_signed_off=signed_off, sent_at=parse_time(row["sent_at"]),
            draft_id=row["draft_id"], findings=json.loads(row["findings"]),
            values=json.loads(row["field_values"]),
            images=json.loads(row["images"]) if "images" in row.keys() else [],
            account=row["account"] if "account" in row.keys() else "",
        )

