"""The ledger (記録・台帳): one SQLite file shared by every session on the host (SPEC §2, §6).

It holds drafts (下書き), posts (投稿) and their states, approvals (承認), emergency
overrides (緊急オーバーライド), in-app approval requests, a small key/value cache, and the
audit trail (監査記録): append-only and hash-chained.

Sharing:
- Several processes (one per SSH session) open the same file. The database runs in WAL
  mode with a 15 s busy timeout, and every write is one short ``BEGIN IMMEDIATE``
  transaction, so writers queue instead of failing with "database is locked", and two
  sessions appending audit events at once never fork the hash chain.
- Within one process, a :class:`Ledger` may be used from several threads (the TUI's
  workers): it holds a single connection (``check_same_thread=False``) and serialises
  every use of it with a lock. Reads that need more than one statement run in a read
  transaction so that they see one snapshot.

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

Times are stored as UTC ISO 8601 strings with an offset (``2026-09-01T03:00:00+00:00``)
and returned as aware datetimes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dutypost.core.errors import InputError

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
    "failed": ("sending", "cancelled"),
    # "sending" again only after reconciliation found nothing: the caller decides.
    "unknown": ("sent", "sending", "failed", "cancelled"),
    "sent": ("deleted",),
    "cancelled": (),
    "deleted": (),
}

DRAFT_CLOSED_STATES = ("discarded", "published")

APPROVAL_METHODS = ("phone", "in-person", "in-app")
"""電話, 対面, and アプリ内 (the approver approved from their own session)."""

GENESIS_HASH = "0" * 64
SCHEMA_VERSION = 2
BUSY_TIMEOUT_SECONDS = 15.0
_AUDIT_HEAD_KEY = "audit_head"

# Migrations: _MIGRATIONS[n] takes the schema from version n to n + 1. To change the
# schema, append a tuple of statements and bump SCHEMA_VERSION; never edit an old one.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        """CREATE TABLE drafts (
            id TEXT PRIMARY KEY,
            operator TEXT NOT NULL,
            template_id TEXT NOT NULL,
            field_values TEXT NOT NULL,
            text TEXT NOT NULL,
            drill INTEGER NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'discarded', 'published')),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )""",
        "CREATE INDEX drafts_open ON drafts (status, operator)",
        """CREATE TABLE posts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            state TEXT NOT NULL,
            kind TEXT NOT NULL,
            template_id TEXT,
            text TEXT NOT NULL,
            parts TEXT NOT NULL,
            operator TEXT NOT NULL,
            department TEXT NOT NULL,
            drill INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            sent_at TEXT,
            x_post_ids TEXT NOT NULL DEFAULT '[]',
            url TEXT,
            error TEXT,
            reply_to_post_id INTEGER REFERENCES posts (id),
            draft_id TEXT REFERENCES drafts (id),
            acks TEXT NOT NULL DEFAULT '[]',
            findings TEXT NOT NULL DEFAULT '[]'
        )""",
        "CREATE INDEX posts_state ON posts (state)",
        "CREATE INDEX posts_template ON posts (template_id, created_at)",
        "CREATE INDEX posts_sent ON posts (sent_at)",
        """CREATE TABLE approvals (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            post_id INTEGER REFERENCES posts (id),
            approver TEXT NOT NULL,
            method TEXT NOT NULL,
            at TEXT NOT NULL,
            recorded_by TEXT NOT NULL,
            post_hoc INTEGER NOT NULL,
            note TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX approvals_post ON approvals (post_id)",
        """CREATE TABLE approval_requests (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            draft_id TEXT REFERENCES drafts (id),
            post_id INTEGER REFERENCES posts (id),
            requested_by TEXT NOT NULL,
            department TEXT NOT NULL,
            text TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'rejected')),
            requested_at TEXT NOT NULL,
            decided_by TEXT,
            decided_at TEXT,
            note TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX approval_requests_pending ON approval_requests (status, department)",
        """CREATE TABLE overrides (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            post_id INTEGER NOT NULL UNIQUE REFERENCES posts (id),
            operator TEXT NOT NULL,
            category TEXT NOT NULL,
            reason TEXT NOT NULL,
            lifted TEXT NOT NULL,
            at TEXT NOT NULL
        )""",
        """CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            operator TEXT NOT NULL,
            kind TEXT NOT NULL,
            post_id INTEGER,
            payload TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        "CREATE INDEX audit_post ON audit (post_id)",
        """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
           BEGIN SELECT RAISE(ABORT, '監査記録は書き換えられません (audit events are append-only)'); END""",
        """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
           BEGIN SELECT RAISE(ABORT, '監査記録は削除できません (audit events are append-only)'); END""",
    ),
    # 2: what a draft is written for (DraftPurpose as JSON), so that it survives a crash.
    ("ALTER TABLE drafts ADD COLUMN purpose TEXT",),
)
_AUDIT_TRIGGERS = ("audit_no_update", "audit_no_delete")


@dataclass(frozen=True)
class DraftPurpose:
    """What a draft is written for (下書きの目的): a checklist item's post (チェックリストの投稿).

    ``kind`` is the post kind it is published as (``correction`` 訂正, ``apology`` お詫び,
    ``post``); ``reply_to_post_id`` is the original post it replies to, if any.
    """

    checklist_id: int
    item_key: str
    kind: str
    reply_to_post_id: int | None

    def as_json(self) -> str:
        return canonical_json({"checklist_id": self.checklist_id, "item_key": self.item_key, "kind": self.kind,
                               "reply_to_post_id": self.reply_to_post_id})

    @classmethod
    def from_json(cls, text: str) -> DraftPurpose:
        value = json.loads(text)
        return cls(checklist_id=value["checklist_id"], item_key=value["item_key"], kind=value["kind"],
                   reply_to_post_id=value["reply_to_post_id"])


@dataclass(frozen=True)
class Draft:
    """A draft (下書き): text being composed, saved on every change. ``purpose`` is None
    for a plain post."""

    id: str
    operator: str
    template_id: str
    values: dict[str, str]
    text: str
    drill: bool
    status: str
    created_at: datetime
    updated_at: datetime
    purpose: DraftPurpose | None


@dataclass(frozen=True)
class Post:
    """A post (投稿) and everything recorded about it.

    ``override`` is ``{category, reason, operator, at, lifted}`` (緊急オーバーライド);
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
        }


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


def _event_intact(row: sqlite3.Row) -> bool:
    try:
        payload = json.loads(row["payload"])
    except ValueError:
        return False
    return row["hash"] == event_hash(id=row["id"], at=row["at"], operator=row["operator"], kind=row["kind"],
                                     post_id=row["post_id"], payload=payload, prev_hash=row["prev_hash"])


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("日時にタイムゾーンがありません (naive datetime)")
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _system_now() -> datetime:
    return datetime.now(timezone.utc)


class Ledger:
    """The ledger (記録・台帳). Safe to share between threads; many processes may open one file."""

    def __init__(self, path: Path, *, now: Callable[[], datetime] | None = None) -> None:
        self.path = Path(path)
        self._now = now or _system_now
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        self._use_wal()
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        try:
            self._migrate()
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------

    def _use_wal(self) -> None:
        """Switch a new file to WAL. Switching needs an exclusive lock and SQLite answers
        "database is locked" at once, without the busy timeout, while another process
        (several SSH sessions starting together) is creating the same file: wait it out."""
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                if self._conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _migrate(self) -> None:
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise InputError(
                    f"記録ファイル {self.path} は新しい版の dutypost で作られています (schema {version})。",
                    hint="dutypost を更新してください。",
                )
            for statements in _MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; BEGIN IMMEDIATE takes the write lock up front."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the same snapshot."""
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                yield self._conn
            finally:
                self._conn.execute("COMMIT")

    def _stamp(self) -> str:
        return _utc_text(self._now())

    def _append(self, conn: sqlite3.Connection, *, operator: str, kind: str, payload: dict,
                post_id: int | None, at: str | None = None) -> int:
        """Append one audit event inside the caller's write transaction."""
        at = at or self._stamp()
        head = conn.execute("SELECT value FROM meta WHERE key = ?", (_AUDIT_HEAD_KEY,)).fetchone()
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
            (_AUDIT_HEAD_KEY, canonical_json({"id": event_id, "hash": digest})),
        )
        return event_id

    @staticmethod
    def _require_post(conn: sqlite3.Connection, post_id: int) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM posts WHERE id = ?", (post_id,)).fetchone()
        if row is None:
            raise ValueError(f"投稿 #{post_id} は記録にありません。")
        return row

    # -- drafts (下書き) ----------------------------------------------------------------

    def save_draft(self, *, operator: str, template_id: str, values: dict[str, str], text: str,
                   drill: bool, draft_id: str | None = None, purpose: DraftPurpose | None = None) -> str:
        """Create or update a draft; returns its id. Only creation writes an audit event.

        ``purpose`` is kept by a later save that does not give it."""
        stamp = self._stamp()
        values_json = canonical_json(dict(values))
        purpose_json = purpose.as_json() if purpose is not None else None
        with self._write() as conn:
            if draft_id is not None:
                updated = conn.execute(
                    "UPDATE drafts SET template_id = ?, field_values = ?, text = ?, drill = ?, updated_at = ?,"
                    " purpose = COALESCE(?, purpose) WHERE id = ? AND status = 'open'",
                    (template_id, values_json, text, int(drill), stamp, purpose_json, draft_id),
                ).rowcount
                if updated:
                    return draft_id
                if conn.execute("SELECT 1 FROM drafts WHERE id = ?", (draft_id,)).fetchone():
                    raise ValueError(f"下書き {draft_id} はもう閉じられています。")
            draft_id = draft_id or uuid.uuid4().hex
            conn.execute(
                "INSERT INTO drafts (id, operator, template_id, field_values, text, drill, created_at, updated_at,"
                " purpose) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (draft_id, operator, template_id, values_json, text, int(drill), stamp, stamp, purpose_json),
            )
            self._append(conn, operator=operator, kind="draft.created", post_id=None, at=stamp,
                         payload={"draft_id": draft_id, "template_id": template_id, "drill": drill})
        return draft_id

    def open_drafts(self, operator: str | None = None) -> list[Draft]:
        """Open drafts, newest first; all operators' when ``operator`` is None."""
        sql = "SELECT * FROM drafts WHERE status = 'open'"
        params: tuple = ()
        if operator is not None:
            sql += " AND operator = ?"
            params = (operator,)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY updated_at DESC, rowid DESC", params).fetchall()
        return [
            Draft(id=r["id"], operator=r["operator"], template_id=r["template_id"],
                  values=json.loads(r["field_values"]), text=r["text"], drill=bool(r["drill"]),
                  status=r["status"], created_at=_parse_time(r["created_at"]),
                  updated_at=_parse_time(r["updated_at"]),
                  purpose=DraftPurpose.from_json(r["purpose"]) if r["purpose"] is not None else None)
            for r in rows
        ]

    def close_draft(self, draft_id: str, status: str = "discarded") -> None:
        """Close a draft as ``discarded`` or ``published``; closing a closed draft does nothing."""
        if status not in DRAFT_CLOSED_STATES:
            raise ValueError(f"下書きの状態 {status!r} は使えません ({', '.join(DRAFT_CLOSED_STATES)})。")
        with self._write() as conn:
            row = conn.execute("SELECT operator, status FROM drafts WHERE id = ?", (draft_id,)).fetchone()
            if row is None:
                raise ValueError(f"下書き {draft_id} は記録にありません。")
            if row["status"] != "open":
                return
            stamp = self._stamp()
            conn.execute("UPDATE drafts SET status = ?, updated_at = ? WHERE id = ?", (status, stamp, draft_id))
            self._append(conn, operator=row["operator"], kind=f"draft.{status}", post_id=None, at=stamp,
                         payload={"draft_id": draft_id})

    # -- posts (投稿) -------------------------------------------------------------------

    def create_post(self, *, operator: str, department: str, template_id: str | None, text: str,
                    parts: list[str], drill: bool, kind: str = "post", reply_to_post_id: int | None = None,
                    draft_id: str | None = None, acks: Iterable[str] = (),
                    findings: Iterable[dict] = ()) -> int:
        """Record the intent to publish (state ``queued``) before any request leaves."""
        parts, acks, findings = list(parts), list(acks), list(findings)
        if not parts:
            raise ValueError("投稿の本文 (parts) が空です。")
        stamp = self._stamp()
        with self._write() as conn:
            post_id = conn.execute(
                "INSERT INTO posts (state, kind, template_id, text, parts, operator, department, drill,"
                " created_at, updated_at, reply_to_post_id, draft_id, acks, findings)"
                " VALUES ('queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (kind, template_id, text, canonical_json(parts), operator, department, int(drill), stamp, stamp,
                 reply_to_post_id, draft_id, canonical_json(acks), canonical_json(findings)),
            ).lastrowid
            self._append(conn, operator=operator, kind="post.queued", post_id=post_id, at=stamp, payload={
                "kind": kind, "template_id": template_id, "department": department, "drill": drill,
                "text": text, "parts": parts, "acks": acks, "findings": findings,
                "reply_to_post_id": reply_to_post_id, "draft_id": draft_id,
            })
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
                         at=stamp, payload=payload)

    def record_recovered_post(self, *, operator: str, department: str, text: str, x_post_id: str, url: str,
                              drill: bool, x_text: str, x_created_at: datetime | None) -> int:
        """A post that X has and this (restored) ledger lacked: recorded as ``sent``, with the
        audit event ``post.recovered`` (X 上で見つかった投稿 (復旧後)), in one transaction.
        ``x_text`` is the text as X returned it (``&amp;``, t.co links)."""
        stamp = self._stamp()
        sent_at = _utc_text(x_created_at) if x_created_at else stamp
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
            })
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
                         payload={"reply_text": reply_text, "fallback_text": text})

    def get_post(self, post_id: int) -> Post | None:
        posts = self._select_posts("WHERE id = ?", (post_id,))
        return posts[0] if posts else None

    def list_posts(self, *, states: Iterable[str] | None = None, operator: str | None = None,
                   template_id: str | None = None, since: datetime | None = None,
                   limit: int | None = None) -> list[Post]:
        """Posts, newest first. ``since`` compares with the creation time."""
        clauses: list[str] = []
        params: list[Any] = []
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
            params.append(_utc_text(since))
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._select_posts(where, tuple(params), limit=limit)

    def outbox(self) -> list[Post]:
        """The outbox (送信待ち): posts not yet known to be out, newest first."""
        return self.list_posts(states=OUTBOX_STATES)

    def recent_sent_texts(self, since: datetime, drill: bool) -> list[tuple[str, datetime]]:
        """Texts of posts sent since ``since`` in this mode, with when they were sent."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT text, sent_at FROM posts WHERE state = 'sent' AND drill = ? AND sent_at >= ?"
                " ORDER BY sent_at DESC",
                (int(drill), _utc_text(since)),
            ).fetchall()
        return [(r["text"], _parse_time(r["sent_at"])) for r in rows]

    def last_post_of_template(self, template_id: str, since: datetime, drill: bool) -> Post | None:
        """The newest post of ``template_id`` created since ``since`` that was not cancelled.

        For SPEC §6's warning when two operators post the same template within minutes;
        call it before recording the new post, or it finds that one.
        """
        posts = self._select_posts(
            "WHERE template_id = ? AND drill = ? AND created_at >= ? AND state != 'cancelled'",
            (template_id, int(drill), _utc_text(since)),
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
                               "at": _parse_time(o["at"]), "lifted": json.loads(o["lifted"])}
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
            {"approver": chosen["approver"], "method": chosen["method"], "at": _parse_time(chosen["at"]),
             "post_hoc": bool(chosen["post_hoc"])}
            if chosen is not None else None
        )
        signed_off = (
            {"approver": after[0]["approver"], "method": after[0]["method"], "at": _parse_time(after[0]["at"]),
             "note": after[0]["note"]}
            if after else None
        )
        return Post(
            id=row["id"], state=row["state"], kind=row["kind"], template_id=row["template_id"], text=row["text"],
            parts=json.loads(row["parts"]), operator=row["operator"], department=row["department"],
            drill=bool(row["drill"]), created_at=_parse_time(row["created_at"]),
            updated_at=_parse_time(row["updated_at"]), x_post_ids=json.loads(row["x_post_ids"]), url=row["url"],
            error=row["error"], reply_to_post_id=row["reply_to_post_id"], override=override, approval=approval,
            acks=json.loads(row["acks"]), post_hoc_signed_off=signed_off, sent_at=_parse_time(row["sent_at"]),
            draft_id=row["draft_id"], findings=json.loads(row["findings"]),
        )

    # -- approvals (承認) and overrides (緊急オーバーライド) ----------------------------------

    def record_approval(self, post_id: int | None, *, approver: str, method: str, at: datetime | None = None,
                        recorded_by: str, post_hoc: bool = False) -> int:
        """Record an approval (承認): in-app, or verbal (電話/対面) noted by ``recorded_by``.

        ``at`` is when the approver gave it (default: now). With ``post_hoc`` it is a
        事後承認 and signs off an overridden post.
        """
        with self._write() as conn:
            return self._insert_approval(conn, post_id, approver=approver, method=method,
                                         at=_utc_text(at) if at else self._stamp(), recorded_by=recorded_by,
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
        payload = {"approver": approver, "method": method, "at": at, "recorded_by": recorded_by,
                   "post_hoc": post_hoc}
        if note:
            payload["note"] = note
        self._append(conn, operator=recorded_by, kind="approval.post_hoc" if post_hoc else "approval.recorded",
                     post_id=post_id, payload=payload)
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

    def decide_approval_request(self, request_id: int, *, approver: str, approved: bool, note: str = "") -> None:
        """Approve or reject a pending request. An approved request for a recorded post also
        records the approval on that post (method ``in-app``); for a draft, the publish path
        records it when it creates the post. Whether ``approver`` may approve for the
        department is the caller's check."""
        stamp = self._stamp()
        with self._write() as conn:
            row = conn.execute("SELECT * FROM approval_requests WHERE id = ?", (request_id,)).fetchone()
            if row is None:
                raise ValueError(f"承認依頼 #{request_id} は記録にありません。")
            if row["status"] != "pending":
                raise ValueError(f"承認依頼 #{request_id} はもう判断済みです ({row['status']})。")
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
            requested_at=_parse_time(row["requested_at"]), decided_by=row["decided_by"],
            decided_at=_parse_time(row["decided_at"]), note=row["note"],
        )

    def record_override(self, post_id: int, *, operator: str, category: str, reason: str,
                        lifted: list[str]) -> int:
        """Record an emergency override (緊急オーバーライド) for one post.

        ``lifted`` names the gate checks it lifted (e.g. ``hours``, ``approval``); the
        justification (理由) is stored verbatim. One override per post.
        """
        if not reason.strip():
            raise ValueError("緊急オーバーライドには理由が必要です。")
        stamp = self._stamp()
        lifted = list(lifted)
        with self._write() as conn:
            self._require_post(conn, post_id)
            if conn.execute("SELECT 1 FROM overrides WHERE post_id = ?", (post_id,)).fetchone():
                raise ValueError(f"投稿 #{post_id} の緊急オーバーライドはもう記録されています。")
            override_id = conn.execute(
                "INSERT INTO overrides (post_id, operator, category, reason, lifted, at) VALUES (?, ?, ?, ?, ?, ?)",
                (post_id, operator, category, reason, canonical_json(lifted), stamp),
            ).lastrowid
            self._append(conn, operator=operator, kind="override.used", post_id=post_id, at=stamp,
                         payload={"category": category, "reason": reason, "lifted": lifted})
        return override_id

    def awaiting_post_hoc_approval(self) -> list[Post]:
        """Posts that went out (sent, or sent and later deleted) under an override that lifted
        the approval check, and that no approver has approved yet (事後承認待ち)."""
        return self._select_posts(
            "WHERE state IN ('sent', 'deleted')"
            " AND id IN (SELECT o.post_id FROM overrides o, json_each(o.lifted) l WHERE l.value = 'approval')"
            " AND id NOT IN (SELECT post_id FROM approvals WHERE post_id IS NOT NULL)",
            (),
        )

    def sign_off(self, post_id: int, *, approver: str, note: str = "") -> None:
        """Post-hoc approval (事後承認) of an overridden post, from the approver's own session."""
        with self._write() as conn:
            self._require_post(conn, post_id)
            if not conn.execute("SELECT 1 FROM overrides WHERE post_id = ?", (post_id,)).fetchone():
                raise ValueError(f"投稿 #{post_id} は緊急オーバーライドで出されていません。")
            if conn.execute("SELECT 1 FROM approvals WHERE post_id = ?", (post_id,)).fetchone():
                raise ValueError(f"投稿 #{post_id} はもう承認されています。")
            self._insert_approval(conn, post_id, approver=approver, method="in-app", at=self._stamp(),
                                  recorded_by=approver, post_hoc=True, note=note)

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
            AuditEvent(id=r["id"], at=_parse_time(r["at"]), operator=r["operator"], kind=r["kind"],
                       post_id=r["post_id"], payload=json.loads(r["payload"]), prev_hash=r["prev_hash"],
                       hash=r["hash"])
            for r in rows
        ]

    def export(self) -> list[dict]:
        """Every audit event as JSON-ready dicts, enough to re-verify the chain elsewhere."""
        return [event.as_json() for event in self.events()]

    def verify(self) -> VerifyResult:
        """Walk the audit chain and report the first event that was changed, removed or moved."""
        with self._read() as conn:
            rows = conn.execute("SELECT * FROM audit ORDER BY id").fetchall()
            head_row = conn.execute("SELECT value FROM meta WHERE key = ?", (_AUDIT_HEAD_KEY,)).fetchone()
            triggers = {r["name"] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        prev_hash = GENESIS_HASH
        for checked, row in enumerate(rows):
            expected_id = checked + 1
            if row["id"] != expected_id:
                return VerifyResult(False, checked, expected_id, f"監査記録 #{expected_id} が削除されています。")
            if not _event_intact(row):
                return VerifyResult(False, checked, row["id"], f"監査記録 #{row['id']} の内容が書き換えられています。")
            if row["prev_hash"] != prev_hash:
                return VerifyResult(False, checked, row["id"],
                                    f"監査記録 #{row['id']} と直前の記録のつながりが切れています (順序の入れ替えや差し替え)。")
            prev_hash = row["hash"]
        count = len(rows)
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
        missing = [name for name in _AUDIT_TRIGGERS if name not in triggers]
        if missing:
            return VerifyResult(False, count, None,
                                "監査記録を保護するトリガーが削除されています (記録の内容は一致しています)。")
        if not count:
            return VerifyResult(True, 0, None, "監査記録はまだありません。")
        return VerifyResult(True, count, None, f"監査記録 {count} 件を確認しました。改ざんは見つかりませんでした。")

    # -- cache ----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A cached value (e.g. the account's ``users/me`` record)."""
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def set_meta(self, key: str, value: str) -> None:
        if key == _AUDIT_HEAD_KEY:
            raise ValueError(f"{key} は監査記録が使うキーです。")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
