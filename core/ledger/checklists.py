"""Checklist storage (チェックリストの記録): the ``checklists`` and ``checklist_items`` tables.

What the items are and which values they take is :mod:`dutypost.core.checklists`; this
module only stores them. Every change writes its row(s) and its audit event(s) in one
write transaction, so a recorded value always has its event and an event always its value.
Each item row keeps the id and the time of its audit event (``checklist.tick``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from dutypost.core.errors import InputError
from dutypost.core.ledger.connection import parse_time
from dutypost.core.ledger.posts import PostStore

# Audit event kinds of checklists.
EVENT_STARTED = "checklist.started"
EVENT_TICK = "checklist.tick"
EVENT_FINISHED = "checklist.finished"
EVENT_DELETION_REQUESTED = "checklist.deletion_requested"
EVENT_DELETION_CONFIRMED = "checklist.deletion_confirmed"
EVENT_DELETION_FAILED = "checklist.deletion_failed"
EVENT_CORRECTION_LINKED = "post.correction_linked"


@dataclass(frozen=True)
class StoredItem:
    """One recorded item value: who recorded it, and the audit event (id and time) that did."""

    key: str
    value: dict
    operator: str
    at: datetime
    audit_id: int


@dataclass(frozen=True)
class StoredChecklist:
    """A checklist as stored, with its recorded items by key. ``started_at`` and
    ``audit_id`` are those of its ``checklist.started`` event."""

    id: int
    kind: str
    post_id: int | None
    operator: str
    status: str  # open | finished
    started_at: datetime | None
    audit_id: int | None
    finished_by: str | None
    finished_at: datetime | None
    items: dict[str, StoredItem]


@dataclass(frozen=True)
class ChecklistEvent:
    """An audit event written with a checklist change, before its ``checklist.tick``."""

    kind: str
    post_id: int | None
    payload: dict


class ChecklistStore(PostStore):
    """The checklists' rows. Checks that a checklist exists and is still open run inside the
    write transaction that changes it."""

    def start_checklist(self, *, kind: str, operator: str, post_id: int | None) -> int:
        """Store a new open checklist and its ``checklist.started`` event; returns its id."""
        stamp = self._stamp()
        with self._write() as conn:
            if post_id is not None:
                self._require_post(conn, post_id)
            checklist_id = conn.execute(
                "INSERT INTO checklists (kind, post_id, operator) VALUES (?, ?, ?)", (kind, post_id, operator)
            ).lastrowid
            audit_id = self._append(conn, operator=operator, kind=EVENT_STARTED, post_id=post_id, at=stamp,
                                    payload={"checklist_id": checklist_id, "checklist_kind": kind})
            conn.execute("UPDATE checklists SET started_at = ?, audit_id = ? WHERE id = ?",
                         (stamp, audit_id, checklist_id))
        return checklist_id

    def get_checklist(self, checklist_id: int) -> StoredChecklist:
        """One checklist with its items; InputError when there is none with this id."""
        with self._read() as conn:
            return self._checklist(conn, _checklist_row(conn, checklist_id))

    def open_checklist_records(self, post_id: int | None = None) -> list[StoredChecklist]:
        """Checklists not finished yet, newest first; only those about ``post_id`` when given.

        A row without its started event (left by the previous release after a crash) is not one."""
        sql, params = "SELECT * FROM checklists WHERE status = 'open' AND audit_id IS NOT NULL", ()
        if post_id is not None:
            sql, params = sql + " AND post_id = ?", (post_id,)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY id DESC", params).fetchall()
            return [self._checklist(conn, row) for row in rows]

    def record_checklist_item(self, checklist_id: int, item_key: str, value: dict, *, operator: str,
                              events: Iterable[ChecklistEvent] = ()) -> None:
        """Store ``value`` for one item of an open checklist (replacing what was there), after
        ``events``, and its ``checklist.tick`` event — all in one transaction."""
        stamp = self._stamp()
        with self._write() as conn:
            row = _open_checklist_row(conn, checklist_id)
            for event in events:
                self._append(conn, operator=operator, kind=event.kind, post_id=event.post_id, at=stamp,
                             payload=event.payload)
            self._store_item(conn, row, item_key, value, operator=operator, stamp=stamp)

    def record_post_deleted(self, checklist_id: int, item_key: str, value: dict, *, operator: str) -> None:
        """The checklist's post was deleted from X: its state becomes ``deleted``
        (``post.deleted``) and ``value`` is stored for the item, in one transaction."""
        stamp = self._stamp()
        with self._write() as conn:
            row = _open_checklist_row(conn, checklist_id)
            if row["post_id"] is None:
                raise InputError(f"チェックリスト #{checklist_id} には元の投稿がありません。")
            self._move_state(conn, row["post_id"], "deleted", stamp=stamp, operator=operator)
            self._store_item(conn, row, item_key, value, operator=operator, stamp=stamp)

    def finish_checklist(self, checklist_id: int, *, operator: str) -> None:
        """Close an open checklist with its ``checklist.finished`` event. Whether every
        required item is done is the caller's check."""
        stamp = self._stamp()
        with self._write() as conn:
            row = _open_checklist_row(conn, checklist_id)
            self._append(conn, operator=operator, kind=EVENT_FINISHED, post_id=row["post_id"], at=stamp,
                         payload={"checklist_id": checklist_id, "checklist_kind": row["kind"]})
            conn.execute(
                "UPDATE checklists SET status = 'finished', finished_by = ?, finished_at = ? WHERE id = ?",
                (operator, stamp, checklist_id),
            )

    def _store_item(self, conn: sqlite3.Connection, row: sqlite3.Row, item_key: str, value: dict, *,
                    operator: str, stamp: str) -> None:
        audit_id = self._append(
            conn, operator=operator, kind=EVENT_TICK, post_id=row["post_id"], at=stamp,
            payload={"checklist_id": row["id"], "checklist_kind": row["kind"], "item": item_key, "value": value},
        )
        conn.execute(
            "INSERT INTO checklist_items (checklist_id, item_key, value, operator, at, audit_id)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (checklist_id, item_key) DO UPDATE SET"
            " value = excluded.value, operator = excluded.operator, at = excluded.at, audit_id = excluded.audit_id",
            (row["id"], item_key, json.dumps(value, ensure_ascii=False), operator, stamp, audit_id),
        )

    @staticmethod
    def _checklist(conn: sqlite3.Connection, row: sqlite3.Row) -> StoredChecklist:
        items = {
            r["item_key"]: StoredItem(key=r["item_key"], value=json.loads(r["value"]), operator=r["operator"],
                                      at=datetime.fromisoformat(r["at"]), audit_id=r["audit_id"])
            for r in conn.execute("SELECT * FROM checklist_items WHERE checklist_id = ?", (row["id"],))
        }
        return StoredChecklist(
            id=row["id"], kind=row["kind"], post_id=row["post_id"], operator=row["operator"], status=row["status"],
            started_at=parse_time(row["started_at"]), audit_id=row["audit_id"], finished_by=row["finished_by"],
            finished_at=parse_time(row["finished_at"]), items=items,
        )


def _checklist_row(conn: sqlite3.Connection, checklist_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM checklists WHERE id = ?", (checklist_id,)).fetchone()
    if row is None:
        raise InputError(f"チェックリスト #{checklist_id} は記録にありません。",
                         hint="続きのあるチェックリストはチェックリスト画面の一覧から選べます。")
    return row


def _open_checklist_row(conn: sqlite3.Connection, checklist_id: int) -> sqlite3.Row:
    row = _checklist_row(conn, checklist_id)
    if row["status"] != "open":
        raise InputError(f"チェックリスト #{checklist_id} はもう完了しています。",
                         hint="追加の対応があるときは、新しいチェックリストを始めてください。")
    return row
