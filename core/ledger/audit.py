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

Rows (issue 17 item 3): an event that writes a row of ``posts``, ``approvals`` or
``overrides`` carries that row as written, all its columns, in its ``rows`` column
(``{"posts:12": {...}}``), hashed with the event (``rows`` joins the hashed body only when
present, so older events hash as before). :meth:`AuditLog.verify` folds the images in
order and compares each row of those tables with the last image of it: an edited field, a
deleted row or a row with no event is reported with its table, id and field. Every write to
those tables must therefore go through :meth:`AuditLog._append` with ``rows=``.

Anchors (控え): someone who can write the file can recompute the whole chain and its head.
The head (``ID:HASH``, :meth:`AuditLog.head`) copied elsewhere is an anchor:
``verify(anchors=…)`` checks that event ``ID`` still has ``HASH``. With an ``anchor_file``
the ledger appends ``ID:HASH TIME`` to it after every committed write that added events
(opened append-only, created 0600), and ``verify(anchor_file=…)`` checks every line and
that no event came after the last one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from dutypost.core.ledger.connection import (
    AUDIT_HEAD_KEY,
    ROWS_FROM_KEY,
    LedgerConnection,
    create_private_file,
    parse_time,
)

GENESIS_HASH = "0" * 64
VERIFY_BATCH = 500
"""Rows fetched at a time by verify: 5000 audit rows held at once cost about 20 MB more at the peak."""
PROGRESS_EVERY = 5000
"""Events between two calls of verify's ``progress`` (and one when the walk ends)."""
AUDIT_TRIGGERS = ("audit_no_update", "audit_no_delete")
ROW_TRIGGERS = ("posts_no_delete", "approvals_no_update", "approvals_no_delete", "overrides_no_update",
                "overrides_no_delete")
ROW_TABLES = ("posts", "approvals", "overrides")
"""The tables whose rows History and 様式第1号 show, each row checked against the trail."""
TABLE_LABELS = {"posts": "投稿", "approvals": "承認", "overrides": "緊急オーバーライド"}
FIELD_LABELS = {
    "state": "状態", "text": "本文", "parts": "本文 (分割)", "x_post_ids": "X の投稿ID", "url": "URL",
    "operator": "投稿者", "department": "所属", "template_id": "テンプレート", "created_at": "作成日時",
    "updated_at": "更新日時", "sent_at": "送信日時", "error": "エラー", "acks": "確認済みの警告",
    "findings": "チェック結果", "drill": "訓練", "kind": "種類", "reply_to_post_id": "訂正元の投稿",
    "draft_id": "下書き", "approver": "承認者", "method": "承認の方法", "at": "日時", "recorded_by": "記録した人",
    "post_hoc": "事後承認", "note": "メモ", "post_id": "投稿番号", "category": "区分", "reason": "理由",
    "lifted": "外した確認", "session_id": "緊急オーバーライドの時間枠", "account": "アカウント",
    "lifts_approval": "承認の確認を外した", "approval_id": "承認",
}
_ANCHOR = re.compile(r"(\d+):([0-9a-f]{64})")


class Anchor(NamedTuple):
    """An anchor (控え) of the audit chain: event ``id`` had ``hash``."""

    id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.id}:{self.hash}"


def parse_anchor(text: str) -> Anchor:
    """``ID:HASH`` (as ``dutypost audit head`` prints it); ValueError in Japanese otherwise."""
    match = _ANCHOR.fullmatch(text.strip().lower())
    if not match or int(match[1]) < 1:
        raise ValueError(f"控え {text!r} は「番号:ハッシュ (64桁の16進数)」の形ではありません (例: 12:3fa9…)。")
    return Anchor(int(match[1]), match[2])


def read_anchor_file(path: Path) -> list[tuple[int, Anchor]]:
    """The anchors of an anchor file, with their line numbers; ValueError names a bad line."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    anchors = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            anchors.append((number, parse_anchor(line.split()[0])))
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
    return anchors


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
    rows: dict | None = None  # the rows this event wrote, ``{"posts:12": {column: value}}``

    def as_json(self) -> dict:
        data = {
            "id": self.id,
            "at": self.at.isoformat(),
            "operator": self.operator,
            "kind": self.kind,
            "post_id": self.post_id,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }
        if self.rows is not None:
            data["rows"] = self.rows
        return data


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking the audit chain; ``reason`` is Japanese.

    ``checked`` counts the events found intact before the first bad one (all of them when
    ``ok``). A bad row names its ``table``, ``row_id`` and ``field`` (None: the whole row).
    ``rows_checked`` counts the rows found as the trail has them; ``rows_before_check``
    those written before the trail carried rows.
    """

    ok: bool
    checked: int
    first_bad_id: int | None
    reason: str
    table: str | None = None
    row_id: int | None = None
    field: str | None = None
    rows_checked: int = 0
    rows_before_check: int = 0
    anchors_checked: int = 0


class RowPrint(NamedTuple):
    """What :meth:`AuditLog.verify` kept of a row's last image: the event, a digest of the
    image, and its columns (the image itself is read back on a mismatch)."""

    event_id: int
    digest: bytes | None  # None: the event recorded the row as gone
    columns: tuple[str, ...] | None


DIGEST_SIZE = 16
_DENSE_SLACK = 1 << 16
"""How far past the highest row id seen so far a row id may land and still be kept in the
arrays (a row id further out, or below 1, goes to a dict: a forged id of 10**15 costs one entry)."""


def _digest(image: dict) -> bytes:
    return hashlib.blake2b(canonical_json(image).encode("utf-8"), digest_size=DIGEST_SIZE).digest()


class RowPrints:
    """The last image of each row of one table, as :meth:`AuditLog.verify` keeps it: a
    fixed-size record per row id in flat arrays (event id, a 16-byte digest, which column
    set), not a Python object per row, so 200k rows cost about 5 MB rather than 60 MB.

    Row ids are dense from 1 (SQLite's rowids), so the arrays are indexed by row id; an id
    far beyond the others, or below 1, is kept in a dict instead. Column set 0 means the
    event recorded the row as gone; event id 0 means no event wrote the row."""

    def __init__(self, column_sets: list[tuple[str, ...] | None], column_index: dict[tuple[str, ...], int]) -> None:
        self._events = array("Q")
        self._columns = array("I")
        self._digests = bytearray()
        self._sparse: dict[int, RowPrint] = {}
        self._column_sets = column_sets  # shared by the tables: index -> column names; [0] is None
        self._column_index = column_index

    def put(self, row_id: int, event_id: int, image: dict | None) -> None:
        if image is None:
            digest, names = bytes(DIGEST_SIZE), 0
        else:
            columns = tuple(sorted(image))
            names = self._column_index.get(columns)
            if names is None:
                names = self._column_index[columns] = len(self._column_sets)
                self._column_sets.append(columns)
            digest = _digest(image)
        size = len(self._events)
        if row_id < 1 or row_id >= size + _DENSE_SLACK:
            self._sparse[row_id] = RowPrint(event_id, None if image is None else digest, self._column_sets[names])
            return
        if row_id >= size:
            grow = max(row_id + 1, size + size // 4 + 1024) - size
            self._events.frombytes(bytes(8 * grow))
            self._columns.frombytes(bytes(4 * grow))
            self._digests += bytes(DIGEST_SIZE * grow)
        self._sparse.pop(row_id, None)
        self._events[row_id] = event_id
        self._columns[row_id] = names
        self._digests[DIGEST_SIZE * row_id:DIGEST_SIZE * (row_id + 1)] = digest

    def pop(self, row_id: int) -> RowPrint | None:
        """The print of ``row_id`` (None: no event wrote it), taken out."""
        if row_id in self._sparse:
            return self._sparse.pop(row_id)
        if not 1 <= row_id < len(self._events) or not self._events[row_id]:
            return None
        event_id, names = self._events[row_id], self._columns[row_id]
        self._events[row_id] = 0
        if not names:
            return RowPrint(event_id, None, None)
        digest = bytes(self._digests[DIGEST_SIZE * row_id:DIGEST_SIZE * (row_id + 1)])
        return RowPrint(event_id, digest, self._column_sets[names])

    def left(self) -> list[tuple[int, RowPrint]]:
        """The prints not taken out, by row id."""
        ids = sorted([i for i, event_id in enumerate(self._events) if event_id] + list(self._sparse))
        return [(row_id, found) for row_id in ids if (found := self.pop(row_id)) is not None]


def canonical_json(value: Any) -> str:
    """The one serialisation that hashes are computed over."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(*, id: int, at: str, operator: str, kind: str, post_id: int | None, payload: dict, prev_hash: str,
               rows: dict | None = None) -> str:
    """The hash of one audit event, as stored and as :meth:`Ledger.verify` recomputes it."""
    body = {"id": id, "at": at, "operator": operator, "kind": kind, "post_id": post_id,
            "payload": payload, "prev_hash": prev_hash}
    if rows is not None:
        body["rows"] = rows
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _stored_intact(row: tuple) -> bool:
    """Whether an audit row (as :meth:`AuditLog.verify` selects it) matches its hash.

    The hash is taken over the stored text: the payload (and the rows, when present) are
    stored as canonical JSON, so the canonical body is assembled around them without
    parsing them. A payload stored in another spelling (by hand, or by an older writer) is
    parsed and checked as before."""
    event_id, at, operator, kind, post_id, payload, prev_hash, digest, rows = row
    if isinstance(at, str) and isinstance(operator, str) and isinstance(kind, str) and isinstance(payload, str) \
            and isinstance(prev_hash, str) and (post_id is None or type(post_id) is int) and type(event_id) is int \
            and (rows is None or isinstance(rows, str)):
        tail = "" if rows is None else f',"rows":{rows}'
        body = (f'{{"at":{_dumps(at)},"id":{event_id},"kind":{_dumps(kind)},"operator":{_dumps(operator)},'
                f'"payload":{payload},"post_id":{"null" if post_id is None else post_id},'
                f'"prev_hash":{_dumps(prev_hash)}{tail}}}')
        if hashlib.sha256(body.encode("utf-8")).hexdigest() == digest:
            return True
    try:
        parsed = json.loads(payload)
        parsed_rows = json.loads(rows) if rows is not None else None
    except (TypeError, ValueError):
        return False
    return digest == event_hash(id=event_id, at=at, operator=operator, kind=kind, post_id=post_id, payload=parsed,
                                prev_hash=prev_hash, rows=parsed_rows)


_dumps = json.JSONEncoder(ensure_ascii=False).encode
"""A string as canonical JSON spells it (one encoder: ``json.dumps`` with options builds one per call)."""


def _event_rows(row: sqlite3.Row) -> dict | None:
    return json.loads(row["rows"]) if row["rows"] is not None else None


def _shown(value: Any) -> str:
    text = "なし" if value is None else str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _fail(checked: int, first_bad_id: int | None, reason: str, **row: Any) -> VerifyResult:
    return VerifyResult(False, checked, first_bad_id, reason, **row)


class AuditLog(LedgerConnection):
    """The audit trail of the ledger; every store appends its events through :meth:`_append`."""

    _pending_head: Anchor | None = None
    #: Why the last anchor line could not be written (the event itself was committed), else None.
    anchor_problem: str | None = None

    def _after_commit(self) -> None:
        head, self._pending_head = self._pending_head, None
        if head is None or self.anchor_file is None:
            return
        line = f"{head} {self._stamp()}\n".encode("utf-8")
        try:
            self.anchor_file.parent.mkdir(parents=True, exist_ok=True)
            create_private_file(self.anchor_file, self.group)
            fd = os.open(self.anchor_file, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)
            self.anchor_problem = None
        except OSError as exc:
            self.anchor_problem = (f"監査記録の控えファイル {self.anchor_file} に書き込めませんでした"
                                   f" ({exc.strerror or exc})。記録そのものは保存されています。")

    def _discard_pending(self) -> None:
        self._pending_head = None

    def _append(self, conn: sqlite3.Connection, *, operator: str, kind: str, payload: dict,
                post_id: int | None, at: str | None = None, rows: Sequence[tuple[str, int]] = ()) -> int:
        """Append one audit event inside the caller's write transaction. ``rows`` names the
        rows (table, id) the transaction wrote: each is read back and hashed with the event."""
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
        images = None
        if rows:
            images = {}
            for table, row_id in rows:
                if table not in ROW_TABLES:
                    raise ValueError(f"表 {table!r} の行は監査記録に載せません。")
                row = conn.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()
                images[f"{table}:{row_id}"] = dict(row) if row is not None else None
            images = json.loads(canonical_json(images))
        digest = event_hash(id=event_id, at=at, operator=operator, kind=kind, post_id=post_id,
                            payload=payload, prev_hash=prev_hash, rows=images)
        conn.execute(
            "INSERT INTO audit (id, at, operator, kind, post_id, payload, prev_hash, hash, rows)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (event_id, at, operator, kind, post_id, canonical_json(payload), prev_hash, digest,
             canonical_json(images) if images is not None else None),
        )
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (AUDIT_HEAD_KEY, canonical_json({"id": event_id, "hash": digest})),
        )
        self._pending_head = Anchor(event_id, digest)
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
                       hash=r["hash"], rows=_event_rows(r))
            for r in rows
        ]

    def head(self) -> Anchor | None:
        """The chain's head (末尾): the last event's id and hash, to copy elsewhere as an anchor."""
        with self._read() as conn:
            row = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
        return Anchor(row["id"], row["hash"]) if row else None

    def export(self) -> list[dict]:
        """Every audit event as JSON-ready dicts, enough to re-verify the chain elsewhere."""
        return [event.as_json() for event in self.events()]

    def verify(self, *, anchors: Iterable[Anchor] = (), anchor_file: Path | None = None,
               progress: Callable[[int, int], None] | None = None) -> VerifyResult:
        """Walk the audit chain and report the first event that was changed, removed or moved;
        then check it against the anchors (``anchors`` and every line of ``anchor_file``),
        and every row of posts, approvals and overrides against the trail's images of it.

        The trail is streamed in one read snapshot and each event is hashed over its stored
        canonical text (:func:`_stored_intact`); only the anchored hashes and the last image
        of each row are kept. ``progress(done, total)`` is called now and then (for a
        progress line on a terminal).
        """
        anchor_file = Path(anchor_file) if anchor_file else None
        sources: list[tuple[str, Anchor]] = [(f"--anchor {a}", a) for a in anchors]
        if anchor_file is not None:
            try:
                lines = read_anchor_file(anchor_file)
            except ValueError as exc:
                return _fail(0, None, f"監査記録の控えファイルが壊れています: {exc}")
            sources += [(f"{anchor_file}:{number}", a) for number, a in lines]
        wanted = {a.id for _, a in sources}
        with self._read() as conn:
            head_row = conn.execute("SELECT value FROM meta WHERE key = ?", (AUDIT_HEAD_KEY,)).fetchone()
            from_row = conn.execute("SELECT value FROM meta WHERE key = ?", (ROWS_FROM_KEY,)).fetchone()
            triggers = {r["name"] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
            total = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
            cursor = conn.cursor()
            cursor.row_factory = None  # plain tuples: (id, at, operator, kind, post_id, payload, prev_hash, hash, rows)
            cursor.execute("SELECT id, at, operator, kind, post_id, payload, prev_hash, hash, rows FROM audit ORDER BY id")
            try:
                found = self._walk_chain(cursor, total, progress, wanted)
            finally:
                cursor.close()
            if isinstance(found, VerifyResult):
                return found
            count, prev_hash, hashes, images = found
            rows_from = json.loads(from_row["value"]) if from_row is not None else {}
            rows_outcome = self._check_rows(conn, images, rows_from, count)
        if head_row is None:
            if count:
                return _fail(count, None, "監査記録の末尾の控え (head) が消されています。")
        else:
            head = json.loads(head_row["value"])
            if head["id"] > count:
                return _fail(count, count + 1, f"監査記録 #{count + 1} 以降が削除されています。")
            if head["id"] < count:
                return _fail(head["id"], head["id"] + 1,
                             f"監査記録 #{head['id'] + 1} 以降は dutypost を通さずに追加されています。")
            if head["hash"] != prev_hash:
                return _fail(count - 1, count, f"監査記録 #{count} が差し替えられています。")
        problem = self._check_anchors(sources, hashes, count, anchor_file)
        if problem is not None:
            return problem
        if isinstance(rows_outcome, VerifyResult):
            return rows_outcome
        rows_checked, rows_before = rows_outcome
        missing = [name for name in AUDIT_TRIGGERS + ROW_TRIGGERS if name not in triggers]
        if missing:
            return _fail(count, None, "監査記録を保護するトリガーが削除されています (記録の内容は一致しています): "
                         + ", ".join(missing))
        counts = dict(rows_checked=rows_checked, rows_before_check=rows_before, anchors_checked=len(sources))
        if not count:
            return VerifyResult(True, 0, None, "監査記録はまだありません。", **counts)
        extra = f" 控え {len(sources)} 件と一致しました。" if sources else ""
        return VerifyResult(True, count, None,
                            f"監査記録 {count} 件を確認しました。改ざんは見つかりませんでした。"
                            f" 投稿・承認・緊急オーバーライドの行 {rows_checked} 件が監査記録と一致しました。{extra}",
                            **counts)

    @staticmethod
    def _walk_chain(cursor: sqlite3.Cursor, total: int, progress: Callable[[int, int], None] | None,
                    wanted: set[int]) -> VerifyResult | tuple[int, str, dict[int, str], dict[str, RowPrints]]:
        """The chain walk of :meth:`verify`: the first bad event, or (count, last hash, the
        hashes of the ``wanted`` (anchored) ids, a digest of the last image of each row)."""
        prev_hash = GENESIS_HASH
        checked = reported = 0
        hashes: dict[int, str] = {}
        column_sets: list[tuple[str, ...] | None] = [None]
        column_index: dict[tuple[str, ...], int] = {}
        images = {table: RowPrints(column_sets, column_index) for table in ROW_TABLES}
        while rows := cursor.fetchmany(VERIFY_BATCH):
            for row in rows:
                event_id = row[0]
                expected_id = checked + 1
                if event_id != expected_id:
                    return _fail(checked, expected_id, f"監査記録 #{expected_id} が削除されています。")
                if not _stored_intact(row):
                    return _fail(checked, event_id, f"監査記録 #{event_id} の内容が書き換えられています。")
                if row[6] != prev_hash:
                    return _fail(checked, event_id,
                                 f"監査記録 #{event_id} と直前の記録のつながりが切れています (順序の入れ替えや差し替え)。")
                prev_hash = row[7]
                if event_id in wanted:
                    hashes[event_id] = prev_hash
                if row[8] is not None:
                    for key, image in json.loads(row[8]).items():
                        table, _, row_id = key.partition(":")
                        if table in images:
                            images[table].put(int(row_id), event_id, image)
                checked += 1
            if progress is not None and checked - reported >= PROGRESS_EVERY:
                progress(checked, total)
                reported = checked
        if progress is not None and checked != reported:
            progress(checked, total)
        return checked, prev_hash, hashes, images

    def integrity_problems(self) -> list[str]:
        """``PRAGMA integrity_check`` of the whole file: empty when SQLite finds it sound."""
        with self._read() as conn:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        return [] if rows == ["ok"] else rows

    @staticmethod
    def _check_anchors(sources: list[tuple[str, Anchor]], hashes: dict[int, str], count: int,
                       anchor_file: Path | None) -> VerifyResult | None:
        for source, anchor in sorted(sources, key=lambda item: item[1].id):
            if anchor.id > count:
                return _fail(count, count + 1,
                             f"監査記録 #{count + 1} 以降が削除されています: 控え ({source}) には #{anchor.id} があります。")
            if hashes.get(anchor.id) != anchor.hash:
                return _fail(anchor.id - 1, anchor.id,
                             f"監査記録 #{anchor.id} が控え ({source}) と一致しません"
                             " (監査記録が作り直されているか、差し替えられています)。")
        in_file = [a.id for source, a in sources if anchor_file is not None and not source.startswith("--anchor")]
        if in_file and max(in_file) < count:
            last = max(in_file)
            return _fail(last, last + 1,
                         f"監査記録 #{last + 1} 以降が控えファイル {anchor_file} にありません"
                         " (dutypost を通さずに追加されたか、控えの書き込みに失敗しています)。")
        return None

    @staticmethod
    def _check_rows(conn: sqlite3.Connection, images: dict[str, RowPrints], rows_from: dict,
                    count: int) -> VerifyResult | tuple[int, int]:
        """Each row of ROW_TABLES against the digest of its last image, streamed; the full
        image is read back from its audit event only to name what differs."""
        checked = before = 0
        for table in ROW_TABLES:
            label = TABLE_LABELS[table]
            prints = images[table]  # each row seen is taken out: what is left was deleted
            cursor = conn.execute(f"SELECT * FROM {table} ORDER BY id")
            while rows := cursor.fetchmany(VERIFY_BATCH):
                for row in rows:
                    key = f"{table}:{row['id']}"
                    found = prints.pop(row["id"])
                    if found is None:
                        if row["id"] <= int(rows_from.get(table, 0)):
                            before += 1
                            continue
                        return _fail(count, None, f"{label} #{row['id']} は監査記録にありません"
                                     " (dutypost を通さずに追加されています)。", table=table, row_id=row["id"])
                    event_id, digest, columns = found
                    if digest is None:
                        return _fail(count, event_id, f"{label} #{row['id']} は監査記録 #{event_id} にありません。",
                                     table=table, row_id=row["id"])
                    current = dict(row)
                    if all(c in current for c in columns) and _digest({c: current[c] for c in columns}) == digest:
                        checked += 1
                        continue
                    image = json.loads(conn.execute("SELECT rows FROM audit WHERE id = ?",
                                                    (event_id,)).fetchone()[0])[key]
                    for column in sorted(image):
                        if column not in current or current[column] != image[column]:
                            name = FIELD_LABELS.get(column, column)
                            return _fail(count, event_id,
                                         f"{label} #{row['id']} の{name} ({column}) が書き換えられています:"
                                         f" 監査記録 #{event_id} では「{_shown(image[column])}」、"
                                         f"今は「{_shown(current.get(column))}」です。",
                                         table=table, row_id=row["id"], field=column)
                    checked += 1  # equal values in another spelling (1 and 1.0): unchanged
            for row_id, (event_id, digest, _) in prints.left():
                if digest is not None:
                    return _fail(count, event_id, f"{label} #{row_id} が削除されています"
                                 f" (監査記録 #{event_id} に記録があります)。", table=table, row_id=row_id)
        return checked, before
