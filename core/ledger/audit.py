"""The audit trail (監査記録): append-only and hash-chained, and :meth:`AuditLog.verify`.

Audit chain: each event stores ``hash = sha256(canonical JSON of {id, at, operator, kind,
post_id, payload, prev_hash})``, where ``prev_hash`` is the previous event's hash (64 zeros
for the first) and canonical JSON is ``json.dumps(sort_keys=True, ensure_ascii=False,
separators=(",", ":"))`` encoded as UTF-8. Because ``id`` is hashed, reordering rows is
detected; a missing id is a deleted row. A chain alone cannot show that its *last* rows
were deleted, so the head (last id and hash) is also kept in the ``meta`` table, written in
the same transaction as the event. That only raises the bar: someone who can write the
file can rewrite the head too, and triggers that refuse UPDATE/DELETE on the audit table
can be dropped — :meth:`Ledger.verify` then reports what was changed. Secrets never enter
the ledger: nothing in this API takes them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dutypost.core.ledger.connection import AUDIT_HEAD_KEY, LedgerConnection, parse_time

GENESIS_HASH = "0" * 64
VERIFY_BATCH = 5000
AUDIT_TRIGGERS = ("audit_no_update", "audit_no_delete")


@dataclass(frozen=True)
class AuditEvent:
    """One audit event (監査記録)."""

    id: int
    at: datetime
    operator: str
    kind: str
    post_id: int | None
    payload: dict
    prev_hash: str
    hash: str

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "operator": self.operator,
            "kind": self.kind,
            "post_id": self.post_id,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking the audit chain; ``reason`` is Japanese.

    ``checked`` counts the events found intact before the first bad one (all of them when
    ``ok``).
    """

    ok: bool
    checked: int
    first_bad_id: int | None
    reason: str


def canonical_json(value: Any) -> str:
    """The one serialisation that hashes are computed over."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(*, id: int, at: str, operator: str, kind: str, post_id: int | None, payload: dict, prev_hash: str) -> str:
    """The hash of one audit event, as stored and as :meth:`Ledger.verify` recomputes it."""
    body = {"id": id, "at": at, "operator": operator, "kind": kind, "post_id": post_id,
            "payload": payload, "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _stored_intact(row: tuple) -> bool:
    """Whether an audit row (as :meth:`AuditLog.verify` selects it) matches its hash.

    The hash is taken over the stored text: the payload is stored as canonical JSON, so
    the canonical body is assembled around it without parsing it. A payload stored in
    another spelling (by hand, or by an older writer) is parsed and checked as before."""
    event_id, at, operator, kind, post_id, payload, prev_hash, digest = row
    if isinstance(at, str) and isinstance(operator, str) and isinstance(kind, str) and isinstance(payload, str) \
            and isinstance(prev_hash, str) and (post_id is None or type(post_id) is int) and type(event_id) is int:
        body = (f'{{"at":{_dumps(at)},"id":{event_id},"kind":{_dumps(kind)},"operator":{_dumps(operator)},'
                f'"payload":{payload},"post_id":{"null" if post_id is None else post_id},'
                f'"prev_hash":{_dumps(prev_hash)}}}')
        if hashlib.sha256(body.encode("utf-8")).hexdigest() == digest:
            return True
    try:
        parsed = json.loads(payload)
    except (TypeError, ValueError):
        return False
    return digest == event_hash(id=event_id, at=at, operator=operator, kind=kind, post_id=post_id, payload=parsed,
                                prev_hash=prev_hash)


_dumps = json.JSONEncoder(ensure_ascii=False).encode
"""A string as canonical JSON spells it (one encoder: ``json.dumps`` with options builds one per call)."""


class AuditLog(LedgerConnection):
    """The audit trail of the ledger; every store appends its events through :meth:`_append`."""

    def _append(self, conn: sqlite3.Connection, *, operator: str, kind: str, payload: dict,
                post_id: int | None, at: str | None = None) -> int:
        """Append one audit event inside the caller's write transaction."""
        at = at or self._stamp()
        head = conn.execute("SELECT value FROM meta WHERE key = ?", (AUDIT_HEAD_KEY,)).fetchone()
        if head is not None:
            last = json.loads(head["value"])
            last_id, prev_hash = last["id"], last["hash"]
        else:
            row = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
            last_id, prev_hash = (row["id"], row["hash"]) if row else (0, GENESIS_HASH)
        event_id = last_id + 1
        payload = json.loads(canonical_json(payload))  # what is hashed is what reads back
        digest = event_hash(id=event_id, at=at, operator=operator, kind=kind, post_id=post_id,
                            payload=payload, prev_hash=prev_hash)
        conn.execute(
            "INSERT INTO audit (id, at, operator, kind, post_id, payload, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (event_id, at, operator, kind, post_id, canonical_json(payload), prev_hash, digest),
        )
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (AUDIT_HEAD_KEY, canonical_json({"id": event_id, "hash": digest})),
        )
        return event_id

    # -- audit trail (監査記録) ----------------------------------------------------------

    def append_event(self, *, operator: str, kind: str, payload: dict, post_id: int | None = None) -> int:
        """Append an audit event (e.g. a checklist step); returns its id."""
        with self._write() as conn:
            return self._append(conn, operator=operator, kind=kind, payload=payload, post_id=post_id)

    def events(self, post_id: int | None = None) -> list[AuditEvent]:
        """Audit events in order; only those about ``post_id`` when given."""
        sql, params = "SELECT * FROM audit", ()
        if post_id is not None:
            sql, params = sql + " WHERE post_id = ?", (post_id,)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY id", params).fetchall()
        return [
            AuditEvent(id=r["id"], at=parse_time(r["at"]), operator=r["operator"], kind=r["kind"],
                       post_id=r["post_id"], payload=json.loads(r["payload"]), prev_hash=r["prev_hash"],
                       hash=r["hash"])
            for r in rows
        ]

    def export(self) -> list[dict]:
        """Every audit event as JSON-ready dicts, enough to re-verify the chain elsewhere."""
        return [event.as_json() for event in self.events()]

    def verify(self, progress: Callable[[int, int], None] | None = None) -> VerifyResult:
        """Walk the audit chain and report the first event that was changed, removed or moved.

        The trail is streamed in one read snapshot and each event is hashed over its stored
        canonical text (:func:`_stored_intact`), so memory stays bounded at any size.
        ``progress(done, total)`` is called now and then (for a progress line on a terminal).
        """
        with self._read() as conn:
            head_row = conn.execute("SELECT value FROM meta WHERE key = ?", (AUDIT_HEAD_KEY,)).fetchone()
            triggers = {r["name"] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
            total = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
            cursor = conn.cursor()
            cursor.row_factory = None  # plain tuples: (id, at, operator, kind, post_id, payload, prev_hash, hash)
            cursor.execute("SELECT id, at, operator, kind, post_id, payload, prev_hash, hash FROM audit ORDER BY id")
            try:
                found = self._walk_chain(cursor, total, progress)
            finally:
                cursor.close()
        if isinstance(found, VerifyResult):
            return found
        count, prev_hash = found
        if head_row is None:
            if count:
                return VerifyResult(False, count, None, "監査記録の末尾の控え (head) が消されています。")
        else:
            head = json.loads(head_row["value"])
            if head["id"] > count:
                return VerifyResult(False, count, count + 1, f"監査記録 #{count + 1} 以降が削除されています。")
            if head["id"] < count:
                return VerifyResult(False, head["id"], head["id"] + 1,
                                    f"監査記録 #{head['id'] + 1} 以降は dutypost を通さずに追加されています。")
            if head["hash"] != prev_hash:
                return VerifyResult(False, count - 1, count, f"監査記録 #{count} が差し替えられています。")
        missing = [name for name in AUDIT_TRIGGERS if name not in triggers]
        if missing:
            return VerifyResult(False, count, None,
                                "監査記録を保護するトリガーが削除されています (記録の内容は一致しています)。")
        if not count:
            return VerifyResult(True, 0, None, "監査記録はまだありません。")
        return VerifyResult(True, count, None, f"監査記録 {count} 件を確認しました。改ざんは見つかりませんでした。")

    @staticmethod
    def _walk_chain(cursor: sqlite3.Cursor, total: int,
                    progress: Callable[[int, int], None] | None) -> VerifyResult | tuple[int, str]:
        """The chain walk of :meth:`verify`: the first bad event, or (count, last hash)."""
        prev_hash = GENESIS_HASH
        checked = 0
        while rows := cursor.fetchmany(VERIFY_BATCH):
            for row in rows:
                event_id = row[0]
                expected_id = checked + 1
                if event_id != expected_id:
                    return VerifyResult(False, checked, expected_id, f"監査記録 #{expected_id} が削除されています。")
                if not _stored_intact(row):
                    return VerifyResult(False, checked, event_id, f"監査記録 #{event_id} の内容が書き換えられています。")
                if row[6] != prev_hash:
                    return VerifyResult(False, checked, event_id,
                                        f"監査記録 #{event_id} と直前の記録のつながりが切れています (順序の入れ替えや差し替え)。")
                prev_hash = row[7]
                checked += 1
            if progress is not None:
                progress(checked, total)
        return checked, prev_hash

    def integrity_problems(self) -> list[str]:
        """``PRAGMA integrity_check`` of the whole file: empty when SQLite finds it sound."""
        with self._read() as conn:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        return [] if rows == ["ok"] else rows

