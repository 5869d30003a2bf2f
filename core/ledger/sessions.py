"""Override sessions (緊急オーバーライドの時間枠): one category and justification (理由)
cover an operator's posts for a chosen period of at most :data:`MAX_SESSION_HOURS` hours
(SPEC §2 "or a time-boxed session"; issue 12 item 7).

A session lifts nothing by itself: the publish path (:mod:`dutypost.core.publish`) applies
the operator's active session to each post, and each post records its own override row
linked to the session (``overrides.session_id``) and awaits 事後承認 like a single override.
Starting and ending a session are each one transaction with their audit event
(``override_session.started`` / ``override_session.ended``).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from dutypost.core.ledger.audit import AuditLog
from dutypost.core.ledger.connection import parse_time, utc_text

MAX_SESSION_HOURS = 12
"""The longest override session (一晩: at most 12 hours)."""


@dataclass(frozen=True)
class OverrideSession:
    """An operator's time-boxed emergency override (緊急オーバーライドの時間枠).

    ``ended_at`` is set when it was ended early (``override end``); it then no longer
    applies from that moment.
    """

    id: int
    operator: str
    category: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    drill: bool = False

    @property
    def until(self) -> datetime:
        """When it stops applying: the end, or the moment it was ended early."""
        return min(self.ends_at, self.ended_at) if self.ended_at else self.ends_at

    def active_at(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.until

    def as_json(self) -> dict:
        return {
            "id": self.id, "operator": self.operator, "category": self.category, "reason": self.reason,
            "starts_at": self.starts_at.isoformat(), "ends_at": self.ends_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None, "ended_by": self.ended_by, "drill": self.drill,
        }


class OverrideSessionStore(AuditLog):
    """The ``override_sessions`` table. Whether the category and justification are
    acceptable is the caller's check (:func:`dutypost.core.gate.validate_override`)."""

    def start_override_session(self, *, operator: str, category: str, reason: str, starts_at: datetime,
                               ends_at: datetime, drill: bool) -> int:
        """Record a session from ``starts_at`` to ``ends_at`` (at most 12 h, after the start).
        It covers posts of one mode: a drill's session never covers a live post.

        Raises ValueError for a bad period, an empty justification, or when the operator
        already has a session running at ``starts_at`` (end it first)."""
        if not reason.strip():
            raise ValueError("緊急オーバーライドには理由が必要です。")
        if ends_at <= starts_at:
            raise ValueError("緊急オーバーライドの終わりは始まりより後にしてください。")
        if ends_at - starts_at > timedelta(hours=MAX_SESSION_HOURS):
            raise ValueError(f"緊急オーバーライドの時間枠は {MAX_SESSION_HOURS} 時間までです。")
        start, end = utc_text(starts_at), utc_text(ends_at)
        with self._write() as conn:
            running = self._active_row(conn, operator, start, drill)
            if running is not None:
                raise ValueError(f"{operator} さんの緊急オーバーライドの時間枠 #{running['id']} がまだ続いています。")
            session_id = conn.execute(
                "INSERT INTO override_sessions (operator, category, reason, starts_at, ends_at, drill)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (operator, category, reason, start, end, int(drill)),
            ).lastrowid
            self._append(conn, operator=operator, kind="override_session.started", post_id=None, payload={
                "session_id": session_id, "category": category, "reason": reason, "starts_at": start,
                "ends_at": end, "drill": drill,
            })
        return session_id

    def end_override_session(self, session_id: int, *, ended_by: str, at: datetime | None = None) -> None:
        """End a running session early (from ``at``, default now)."""
        stamp = utc_text(at) if at else self._stamp()
        with self._write() as conn:
            row = conn.execute("SELECT * FROM override_sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                raise ValueError(f"緊急オーバーライドの時間枠 #{session_id} は記録にありません。")
            session = self._session_from_row(row)
            if not session.active_at(parse_time(stamp)):
                raise ValueError(f"緊急オーバーライドの時間枠 #{session_id} はもう終わっています。")
            conn.execute("UPDATE override_sessions SET ended_at = ?, ended_by = ? WHERE id = ?",
                         (stamp, ended_by, session_id))
            self._append(conn, operator=ended_by, kind="override_session.ended", post_id=None, at=stamp,
                         payload={"session_id": session_id, "ends_at": row["ends_at"], "ended_at": stamp})

    def active_override_session(self, operator: str, at: datetime, drill: bool) -> OverrideSession | None:
        """The operator's session of this mode that applies at ``at``, if any."""
        with self._read() as conn:
            row = self._active_row(conn, operator, utc_text(at), drill)
        return self._session_from_row(row) if row else None

    def get_override_session(self, session_id: int) -> OverrideSession | None:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM override_sessions WHERE id = ?", (session_id,)).fetchone()
        return self._session_from_row(row) if row else None

    def list_override_sessions(self, operator: str | None = None) -> list[OverrideSession]:
        """Sessions, newest first."""
        sql, params = "SELECT * FROM override_sessions", ()
        if operator is not None:
            sql, params = sql + " WHERE operator = ?", (operator,)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY id DESC", params).fetchall()
        return [self._session_from_row(r) for r in rows]

    @staticmethod
    def _active_row(conn: sqlite3.Connection, operator: str, at: str, drill: bool) -> sqlite3.Row | None:
        # Times are utc_text strings of one format, so they compare as text.
        return conn.execute(
            "SELECT * FROM override_sessions WHERE operator = ? AND drill = ? AND starts_at <= ? AND ends_at > ?"
            " AND (ended_at IS NULL OR ended_at > ?) ORDER BY id DESC LIMIT 1",
            (operator, int(drill), at, at, at),
        ).fetchone()

    @staticmethod
    def _session_from_row(row: sqlite3.Row) -> OverrideSession:
        return OverrideSession(
            id=row["id"], operator=row["operator"], category=row["category"], reason=row["reason"],
            starts_at=parse_time(row["starts_at"]), ends_at=parse_time(row["ends_at"]),
            ended_at=parse_time(row["ended_at"]), ended_by=row["ended_by"], drill=bool(row["drill"]),
        )
