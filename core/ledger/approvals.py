"""Approvals (承認), in-app approval requests (承認依頼), emergency overrides
(緊急オーバーライド) and post-hoc approval (事後承認)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from dutypost.core.ledger.audit import canonical_json
from dutypost.core.ledger.connection import parse_time, utc_text
from dutypost.core.ledger.posts import Post, PostStore

APPROVAL_METHODS = ("phone", "in-person", "in-app")
"""電話, 対面, and アプリ内 (the approver approved from their own session)."""


@dataclass(frozen=True)
class ApprovalRequest:
    """An in-app approval request (承認依頼): the approver decides from their own session."""

    id: int
    draft_id: str | None
    post_id: int | None
    requested_by: str
    department: str
    text: str
    status: str  # pending | approved | rejected
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    note: str


AWAITING_POST_HOC = (
    "WHERE id IN (SELECT post_id FROM overrides WHERE lifts_approval = 1 AND approval_id IS NULL)"
    " AND state IN ('sent', 'deleted')"
)
"""Posts sent under an override that lifted the approval check, not yet approved: read
through the partial index ``overrides_awaiting``, so its cost does not grow with the years."""


class ApprovalStore(PostStore):
    """Approvals and overrides of posts (they are read with the post, see :class:`PostStore`)."""

    def record_approval(self, post_id: int | None, *, approver: str, method: str, at: datetime | None = None,
                        recorded_by: str, post_hoc: bool = False) -> int:
        """Record an approval (承認): in-app, or verbal (電話/対面) noted by ``recorded_by``.

        ``at`` is when the approver gave it (default: now). With ``post_hoc`` it is a
        事後承認 and signs off an overridden post.
        """
        with self._write() as conn:
            return self._insert_approval(conn, post_id, approver=approver, method=method,
                                         at=utc_text(at) if at else self._stamp(), recorded_by=recorded_by,
                                         post_hoc=post_hoc)

    def _insert_approval(self, conn: sqlite3.Connection, post_id: int | None, *, approver: str, method: str,
                         at: str, recorded_by: str, post_hoc: bool, note: str = "") -> int:
        if method not in APPROVAL_METHODS:
            raise ValueError(f"承認の方法 {method!r} は使えません ({', '.join(APPROVAL_METHODS)})。")
        if post_id is not None:
            self._require_post(conn, post_id)
        approval_id = conn.execute(
            "INSERT INTO approvals (post_id, approver, method, at, recorded_by, post_hoc, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (post_id, approver, method, at, recorded_by, int(post_hoc), note),
        ).lastrowid
        rows = [("approvals", approval_id)]
        if post_id is not None:  # an override of this post no longer awaits approval
            settled = conn.execute("SELECT id FROM overrides WHERE post_id = ? AND approval_id IS NULL",
                                   (post_id,)).fetchone()
            if settled is not None:
                conn.execute("UPDATE overrides SET approval_id = ? WHERE id = ?", (approval_id, settled["id"]))
                rows.append(("overrides", settled["id"]))
        payload = {"approver": approver, "method": method, "at": at, "recorded_by": recorded_by,
                   "post_hoc": post_hoc}
        if note:
            payload["note"] = note
        self._append(conn, operator=recorded_by, kind="approval.post_hoc" if post_hoc else "approval.recorded",
                     post_id=post_id, payload=payload, rows=rows)
        return approval_id

    def request_approval(self, *, draft_id: str | None, post_id: int | None, requested_by: str,
                         department: str, text: str) -> int:
        """Ask the department's approvers to approve ``text`` from their own sessions (承認依頼)."""
        stamp = self._stamp()
        with self._write() as conn:
            request_id = conn.execute(
                "INSERT INTO approval_requests (draft_id, post_id, requested_by, department, text, requested_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (draft_id, post_id, requested_by, department, text, stamp),
            ).lastrowid
            self._append(conn, operator=requested_by, kind="approval.requested", post_id=post_id, at=stamp,
                         payload={"request_id": request_id, "draft_id": draft_id, "department": department,
                                  "text": text})
        return request_id

    def pending_approval_requests(self, department: str | None = None) -> list[ApprovalRequest]:
        """Undecided requests, oldest first (the approvals inbox)."""
        sql = "SELECT * FROM approval_requests WHERE status = 'pending'"
        params: tuple = ()
        if department is not None:
            sql += " AND department = ?"
            params = (department,)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY id", params).fetchall()
        return [self._request_from_row(r) for r in rows]

    def get_approval_request(self, request_id: int) -> ApprovalRequest | None:
        """One request, so the requester's session can see whether it was decided."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM approval_requests WHERE id = ?", (request_id,)).fetchone()
        return self._request_from_row(row) if row else None

    def decide_approval_request(self, request_id: int, *, approver: str, approved: bool, note: str = "",
                                allow_self_approval: bool = False) -> None:
        """Approve or reject a pending request. An approved request for a recorded post also
        records the approval on that post (method ``in-app``); for a draft, the publish path
        records it when it creates the post. Whether ``approver`` may approve for the
        department is the caller's check; approving one's own request is refused here unless
        ``allow_self_approval`` (``[gate] allow_self_approval``)."""
        stamp = self._stamp()
        with self._write() as conn:
            row = conn.execute("SELECT * FROM approval_requests WHERE id = ?", (request_id,)).fetchone()
            if row is None:
                raise ValueError(f"承認依頼 #{request_id} は記録にありません。")
            if row["status"] != "pending":
                raise ValueError(f"承認依頼 #{request_id} はもう判断済みです ({row['status']})。")
            if approved and row["requested_by"] == approver and not allow_self_approval:
                raise ValueError(f"承認依頼 #{request_id} はご自分の依頼なので承認できません。ほかの承認者に頼んでください。")
            status = "approved" if approved else "rejected"
            conn.execute(
                "UPDATE approval_requests SET status = ?, decided_by = ?, decided_at = ?, note = ? WHERE id = ?",
                (status, approver, stamp, note, request_id),
            )
            self._append(conn, operator=approver, kind="approval.decided", post_id=row["post_id"], at=stamp,
                         payload={"request_id": request_id, "approved": approved, "note": note,
                                  "draft_id": row["draft_id"]})
            if approved and row["post_id"] is not None:
                self._insert_approval(conn, row["post_id"], approver=approver, method="in-app", at=stamp,
                                      recorded_by=approver, post_hoc=False)

    @staticmethod
    def _request_from_row(row: sqlite3.Row) -> ApprovalRequest:
        return ApprovalRequest(
            id=row["id"], draft_id=row["draft_id"], post_id=row["post_id"], requested_by=row["requested_by"],
            department=row["department"], text=row["text"], status=row["status"],
            requested_at=parse_time(row["requested_at"]), decided_by=row["decided_by"],
            decided_at=parse_time(row["decided_at"]), note=row["note"],
        )

    def record_override(self, post_id: int, *, operator: str, category: str, reason: str,
                        lifted: list[str], session_id: int | None = None) -> int:
        """Record an emergency override (緊急オーバーライド) for one post.

        ``lifted`` names the gate checks it lifted (e.g. ``hours``, ``approval``); the
        justification (理由) is stored verbatim. One override per post. ``session_id`` links
        it to the time-boxed session (緊急オーバーライドの時間枠) it came from, if any.
        """
        if not reason.strip():
            raise ValueError("緊急オーバーライドには理由が必要です。")
        stamp = self._stamp()
        lifted = list(lifted)
        with self._write() as conn:
            self._require_post(conn, post_id)
            if conn.execute("SELECT 1 FROM overrides WHERE post_id = ?", (post_id,)).fetchone():
                raise ValueError(f"投稿 #{post_id} の緊急オーバーライドはもう記録されています。")
            if session_id is not None and not conn.execute(
                    "SELECT 1 FROM override_sessions WHERE id = ?", (session_id,)).fetchone():
                raise ValueError(f"緊急オーバーライドの時間枠 #{session_id} は記録にありません。")
            approved = conn.execute("SELECT min(id) FROM approvals WHERE post_id = ?", (post_id,)).fetchone()[0]
            override_id = conn.execute(
                "INSERT INTO overrides (post_id, operator, category, reason, lifted, lifts_approval, approval_id, at,"
                " session_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (post_id, operator, category, reason, canonical_json(lifted), int("approval" in lifted), approved,
                 stamp, session_id),
            ).lastrowid
            payload = {"category": category, "reason": reason, "lifted": lifted}
            if session_id is not None:
                payload["session_id"] = session_id
            self._append(conn, operator=operator, kind="override.used", post_id=post_id, at=stamp,
                         payload=payload, rows=[("overrides", override_id)])
        return override_id

    def awaiting_post_hoc_approval(self) -> list[Post]:
        """Posts that went out (sent, or sent and later deleted) under an override that lifted
        the approval check, and that no approver has approved yet (事後承認待ち)."""
        return self._select_posts(AWAITING_POST_HOC, ())

    def awaiting_post_hoc_count(self) -> int:
        """How many posts await 事後承認 (see :meth:`awaiting_post_hoc_approval`)."""
        with self._read() as conn:
            return conn.execute(f"SELECT count(*) FROM posts {AWAITING_POST_HOC}").fetchone()[0]

    def sign_off(self, post_id: int, *, approver: str, note: str = "", allow_self_approval: bool = False) -> None:
        """Post-hoc approval (事後承認) of an overridden post, from the approver's own session;
        not of one's own post unless ``allow_self_approval``."""
        with self._write() as conn:
            post = self._require_post(conn, post_id)
            if post["operator"] == approver and not allow_self_approval:
                raise ValueError(f"投稿 #{post_id} はご自分の投稿なので事後承認できません。ほかの承認者に頼んでください。")
            if not conn.execute("SELECT 1 FROM overrides WHERE post_id = ?", (post_id,)).fetchone():
                raise ValueError(f"投稿 #{post_id} は緊急オーバーライドで出されていません。")
            if conn.execute("SELECT 1 FROM approvals WHERE post_id = ?", (post_id,)).fetchone():
                raise ValueError(f"投稿 #{post_id} はもう承認されています。")
            self._insert_approval(conn, post_id, approver=approver, method="in-app", at=self._stamp(),
                                  recorded_by=approver, post_hoc=True, note=note)

