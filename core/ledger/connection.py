"""The ledger's connection (記録ファイルへの接続): open, WAL, busy timeout, transactions, schema.

Several processes (one per SSH session) open the same file. The database runs in WAL mode
with a 15 s busy timeout, and every write is one short ``BEGIN IMMEDIATE`` transaction, so
writers queue instead of failing with "database is locked". Within one process the
connection is shared between threads (``check_same_thread=False``) and every use of it is
serialised with a lock. Reads that need more than one statement run in a read transaction
so that they see one snapshot.

Every table of the ledger is created here, by :data:`MIGRATIONS`, and nowhere else.

The file is created 0600 (0640 with a ``group``), and so are its ``-wal`` and ``-shm``.
A write that fails because the disk is full, the file is read-only or the disk answers an
I/O error raises :class:`LedgerError`, a :class:`~dutypost.core.errors.StorageFault` (exit 2),
naming the file; so does a damaged file, a folder, a lock held by another program and a file
from a newer version.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Self

from dutypost.core.errors import InputError, StorageFault

SCHEMA_VERSION = 10
BUSY_TIMEOUT_SECONDS = 15.0
AUDIT_HEAD_KEY = "audit_head"
"""The ``meta`` key that holds the audit chain's head (see :mod:`dutypost.core.ledger.audit`)."""
ROWS_FROM_KEY = "audit_rows_from"
"""The ``meta`` key with, per table, the last id written before the audit trail carried row
images (rows up to it predate the check; see :meth:`~dutypost.core.ledger.audit.AuditLog.verify`)."""
RESERVED_META_KEYS = (AUDIT_HEAD_KEY, ROWS_FROM_KEY)

# Migrations: MIGRATIONS[n] takes the schema from version n to n + 1. To change the
# schema, append a tuple of statements and bump SCHEMA_VERSION; never edit an old one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
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
    # 3: the checklists (チェックリスト). The previous release created these two tables on first
    # use, with these same definitions, so a schema 2 file may already have them.
    (
        """CREATE TABLE IF NOT EXISTS checklists (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            post_id INTEGER REFERENCES posts (id),
            operator TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'finished')),
            started_at TEXT,
            audit_id INTEGER,
            finished_by TEXT,
            finished_at TEXT
        )""",
        "CREATE INDEX IF NOT EXISTS checklists_open ON checklists (status, post_id)",
        """CREATE TABLE IF NOT EXISTS checklist_items (
            checklist_id INTEGER NOT NULL REFERENCES checklists (id),
            item_key TEXT NOT NULL,
            value TEXT NOT NULL,
            operator TEXT NOT NULL,
            at TEXT NOT NULL,
            audit_id INTEGER NOT NULL,
            PRIMARY KEY (checklist_id, item_key)
        )""",
    ),
    # 4 (issue 17 item 3): every audit event that writes a row of posts, approvals or
    # overrides carries the row as written (``rows``, hashed with the event), so that
    # ``audit verify`` can compare each row History and 様式第1号 show with the trail. Rows
    # written before this version are noted in meta and predate the check. Rows of
    # approvals and overrides are never changed and posts never deleted: triggers say so.
    (
        "ALTER TABLE audit ADD COLUMN rows TEXT",
        f"""INSERT INTO meta (key, value) SELECT '{ROWS_FROM_KEY}', json_object(
            'posts', (SELECT COALESCE(MAX(id), 0) FROM posts),
            'approvals', (SELECT COALESCE(MAX(id), 0) FROM approvals),
            'overrides', (SELECT COALESCE(MAX(id), 0) FROM overrides)) WHERE true
           ON CONFLICT (key) DO NOTHING""",
        """CREATE TRIGGER posts_no_delete BEFORE DELETE ON posts
           BEGIN SELECT RAISE(ABORT, '投稿の記録は削除できません (posts are never deleted)'); END""",
        """CREATE TRIGGER approvals_no_update BEFORE UPDATE ON approvals
           BEGIN SELECT RAISE(ABORT, '承認の記録は書き換えられません (approvals are append-only)'); END""",
        """CREATE TRIGGER approvals_no_delete BEFORE DELETE ON approvals
           BEGIN SELECT RAISE(ABORT, '承認の記録は削除できません (approvals are append-only)'); END""",
        """CREATE TRIGGER overrides_no_update BEFORE UPDATE ON overrides
           BEGIN SELECT RAISE(ABORT, '緊急オーバーライドの記録は書き換えられません (overrides are append-only)'); END""",
        """CREATE TRIGGER overrides_no_delete BEFORE DELETE ON overrides
           BEGIN SELECT RAISE(ABORT, '緊急オーバーライドの記録は削除できません (overrides are append-only)'); END""",
    ),
    # 5: a post's template values (what the board of what is in force, 発令中, reads: the
    # area, the shelter, the road), and the follow-up on other channels after an emergency
    # post (他の媒体への連絡: HP, メール配信, Lアラート, 防災行政無線), one row per channel.
    (
        "ALTER TABLE posts ADD COLUMN field_values TEXT NOT NULL DEFAULT '{}'",
        """CREATE TABLE followups (
            post_id INTEGER NOT NULL REFERENCES posts (id),
            channel TEXT NOT NULL,
            result TEXT NOT NULL CHECK (result IN ('done', 'na')),
            note TEXT NOT NULL DEFAULT '',
            operator TEXT NOT NULL,
            at TEXT NOT NULL,
            audit_id INTEGER NOT NULL,
            PRIMARY KEY (post_id, channel)
        )""",
    ),
    # 6: a post's images (画像) with their alt text, as JSON [{path, alt}] (issue 11 item 5).
    ("ALTER TABLE posts ADD COLUMN images TEXT NOT NULL DEFAULT '[]'",),
    # 7: time-boxed override sessions (緊急オーバーライドの時間枠, issue 12 item 7): one category
    # and justification cover the operator's posts from starts_at until ends_at (at most 12 h),
    # or until ended_at when ended early, in one mode (drill or live). Each post's override row
    # links to its session.
    (
        """CREATE TABLE override_sessions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            operator TEXT NOT NULL,
            category TEXT NOT NULL,
            reason TEXT NOT NULL,
            starts_at TEXT NOT NULL,
            ends_at TEXT NOT NULL,
            ended_at TEXT,
            ended_by TEXT,
            drill INTEGER NOT NULL,
            CHECK (ends_at > starts_at)
        )""",
        "CREATE INDEX override_sessions_operator ON override_sessions (operator, ends_at)",
        "ALTER TABLE overrides ADD COLUMN session_id INTEGER REFERENCES override_sessions (id)",
    ),
    # 8: the account (アカウント, [[accounts]] id) each post went out on; '' for posts recorded
    # before there were several accounts (they went out on the one account there was).
    ("ALTER TABLE posts ADD COLUMN account TEXT NOT NULL DEFAULT ''",),
    # 9: cost that does not grow with the years (issue 14). The duplicate check reads sent
    # posts of one mode by time; an override says in columns whether it lifted the approval
    # check and which approval settled it, so 事後承認待ち is one partial index, not a scan
    # through JSON. Filled from the JSON and the approvals already recorded (the audit trail
    # compares only the columns its images have, so older images still match). An override
    # stays append-only except that its approval_id is set once, by the approval that
    # settles it (that approval's audit event carries the override's row).
    (
        "CREATE INDEX posts_sent_by_mode ON posts (state, drill, sent_at)",
        "CREATE INDEX posts_operator ON posts (operator)",
        "ALTER TABLE overrides ADD COLUMN lifts_approval INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE overrides ADD COLUMN approval_id INTEGER REFERENCES approvals (id)",
        "DROP TRIGGER IF EXISTS overrides_no_update",
        """UPDATE overrides SET lifts_approval = EXISTS (
               SELECT 1 FROM json_each(overrides.lifted) WHERE json_each.value = 'approval')""",
        """UPDATE overrides SET approval_id = (
               SELECT min(a.id) FROM approvals a WHERE a.post_id = overrides.post_id)""",
        """CREATE TRIGGER overrides_no_update BEFORE UPDATE ON overrides
           WHEN NOT (OLD.approval_id IS NULL AND NEW.approval_id IS NOT NULL AND NEW.id IS OLD.id
                     AND NEW.post_id IS OLD.post_id AND NEW.operator IS OLD.operator
                     AND NEW.category IS OLD.category AND NEW.reason IS OLD.reason AND NEW.lifted IS OLD.lifted
                     AND NEW.lifts_approval IS OLD.lifts_approval AND NEW.at IS OLD.at
                     AND NEW.session_id IS OLD.session_id)
           BEGIN SELECT RAISE(ABORT, '緊急オーバーライドの記録は書き換えられません (overrides are append-only)'); END""",
        "CREATE INDEX overrides_awaiting ON overrides (post_id) WHERE lifts_approval = 1 AND approval_id IS NULL",
    ),
    # 10: a draft remembers that the template's versions (やさしい日本語・English) were added
    # to the post (issue 12 item 4); 0 for drafts saved before.
    ("ALTER TABLE drafts ADD COLUMN with_versions INTEGER NOT NULL DEFAULT 0",),
)

#: SQLite's words for a write the disk refused (full, read-only, I/O error, cannot open).
_STORAGE_WORDS = ("disk is full", "readonly", "read-only", "disk i/o error", "unable to open", "unable to write",
                  "no space")


def storage_fault(exc: BaseException, path: Path) -> StorageFault | None:
    """The :class:`StorageFault` (a :class:`LedgerError`) for ``exc`` when the disk refused
    to store ``path`` or the file cannot be used, else None (see :func:`ledger_fault`)."""
    if not isinstance(exc, (sqlite3.Error, OSError)):
        return None
    fault = ledger_fault(path, exc)
    if fault is not None:
        return fault
    if isinstance(exc, sqlite3.OperationalError) and any(w in str(exc).lower() for w in _STORAGE_WORDS):
        return LedgerError(
            f"記録ファイル {path} に書き込めません ({exc})。",
            hint=("ディスクの空き容量と、ファイルとフォルダの権限を確かめてください (df -h、ls -l)。"
                  "空きを作るか権限を直してから、もう一度実行してください。\n"
                  f"(admin) Cannot write the ledger {path}: {exc}."),
            path=path,
        )
    return None


def create_private_file(path: Path, group: str | None = None) -> None:
    """Create ``path`` empty if it does not exist: mode 0600, or 0640 owned by ``group``.
    An existing file keeps its mode (an administrator may have chosen it)."""
    mode = 0o640 if group else 0o600
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return
    try:
        if group:
            os.fchown(fd, -1, group_id(group))
        os.fchmod(fd, mode)  # the umask may have taken bits away; never adds any beyond mode
    finally:
        os.close(fd)


def group_id(group: str) -> int:
    import grp  # POSIX only, and only when a group is configured

    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise InputError(f"設定の [ledger] group にあるグループ {group!r} がこのホストにありません。",
                         hint="getent group で名前を確かめるか、group を消してください (記録は 0600 で作られます)。") from None


class LedgerError(StorageFault):
    """The ledger file cannot be used (exit 2): damaged, a folder, unwritable, the disk is
    full, locked by another program, or from a newer version. The message names the file;
    the hint says what to do next (restore the backup, free space, ...). A
    :class:`~dutypost.core.errors.StorageFault`, so the publish path tells a write refused
    before sending (exit 2) from one after the request left (exit 5)."""

    def __init__(self, message: str, *, hint: str = "", path: Path | None = None) -> None:
        super().__init__(message, hint=hint, path=path)


RESTORE_HINT = ("バックアップから戻してください: dutypost ledger restore バックアップのファイル"
                " (バックアップがなければ運用管理者に連絡してください)。")


def ledger_fault(path: Path, exc: BaseException) -> LedgerError | None:
    """The words for an SQLite or OS failure on the ledger file ``path``; None when the
    failure is not about the file (a bug, which stays an unexpected error)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if isinstance(exc, OSError):
        name = "SQLITE_FULL" if exc.errno == errno.ENOSPC else "SQLITE_CANTOPEN"
    if name.startswith("SQLITE_CORRUPT") or name == "SQLITE_NOTADB" or "malformed" in text or "not a database" in text:
        return LedgerError(f"記録ファイル {path} が壊れています ({text})。", hint=RESTORE_HINT, path=path)
    if name == "SQLITE_FULL" or "disk is full" in text:
        return LedgerError(f"記録ファイル {path} に書き込めません: ディスクがいっぱいです。",
                           hint="ディスクの空きを作ってからやり直してください (df -h で確かめ、古いバックアップやログを削除するなど)。"
                                "この操作は記録されていません。", path=path)
    if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED") or "locked" in text:
        return LedgerError(f"記録ファイル {path} は別のプログラムが使用中 (ロック中) です。",
                           hint="そのファイルを開いているプログラム (sqlite3 やバックアップソフトなど) を終了してから"
                                "やり直してください。", path=path)
    if name.startswith("SQLITE_READONLY") or name.startswith("SQLITE_CANTOPEN") or name == "SQLITE_PERM" \
            or name.startswith("SQLITE_IOERR"):
        if path.is_dir():
            return LedgerError(f"記録ファイル {path} はフォルダーです。",
                               hint="設定の [ledger] path にファイルの場所を指定してください "
                                    "(例: path = \"/var/lib/dutypost/ledger.sqlite3\")。", path=path)
        return LedgerError(f"記録ファイル {path} に書き込めません (開けないか、書き込みを拒まれました: {text})。",
                           hint=f"フォルダー {path.parent} とファイルに、dutypost を動かすユーザーの書き込み権限が"
                                "あるか、読み取り専用でマウントされていないかを確かめてください (ls -l、df -h)。", path=path)
    return None


def utc_text(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("日時にタイムゾーンがありません (naive datetime)")
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def system_now() -> datetime:
    return datetime.now(timezone.utc)


class LedgerConnection:
    """The ledger's one connection: open, WAL, migrations, and the write and read transactions.

    The stores of :mod:`dutypost.core.ledger` build on it; :class:`~dutypost.core.ledger.Ledger`
    is them all in one object."""

    def __init__(self, path: Path, *, now: Callable[[], datetime] | None = None,
                 busy_timeout: float = BUSY_TIMEOUT_SECONDS, anchor_file: Path | None = None,
                 group: str | None = None) -> None:
        self.path = Path(path)
        self._now = now or system_now
        self._lock = threading.Lock()
        self._busy_timeout = busy_timeout
        #: Commits made through this connection (``PRAGMA data_version`` counts only the others').
        self._commits = 0
        self.anchor_file = Path(anchor_file).expanduser() if anchor_file else None
        self.group = group or None
        if self.path.is_dir():
            raise ledger_fault(self.path, IsADirectoryError(str(self.path)))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            create_private_file(self.path, self.group)
            self._conn = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None,
                                         check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise self._fault(exc) from exc
        try:
            self._conn.row_factory = sqlite3.Row
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._use_wal()
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            self._protect_sidecars()
        except BaseException as exc:
            self._conn.close()
            fault = storage_fault(exc, self.path)
            if fault is not None:
                raise fault from None
            raise

    def _fault(self, exc: BaseException) -> BaseException:
        """``exc`` in words when it is about the file (:func:`ledger_fault`), else itself."""
        return ledger_fault(self.path, exc) or exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------

    def _use_wal(self) -> None:
        """Switch a new file to WAL. Switching needs an exclusive lock and SQLite answers
        "database is locked" at once, without the busy timeout, while another process
        (several SSH sessions starting together) is creating the same file: wait it out."""
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                if self._conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self._conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _protect_sidecars(self) -> None:
        """Give ``-wal`` and ``-shm`` the file's own mode and group (SQLite copies the mode,
        but the group only when it runs as root)."""
        mode = self.path.stat().st_mode & 0o777
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            try:
                info = side.stat()
                if info.st_uid != os.geteuid():
                    continue
                if self.group and info.st_gid != group_id(self.group):
                    os.chown(side, -1, group_id(self.group))
                if info.st_mode & 0o777 != mode:
                    os.chmod(side, mode)
            except FileNotFoundError:
                continue

    def _migrate(self) -> None:
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise LedgerError(
                    f"記録ファイル {self.path} は新しい版の dutypost で作られています"
                    f" (schema {version}、この版は {SCHEMA_VERSION} まで)。",
                    hint="dutypost を新しい版に更新してください。古い版に戻す必要があるときは、"
                         "更新前のバックアップを dutypost ledger restore で戻してください。",
                    path=self.path,
                )
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; BEGIN IMMEDIATE takes the write lock up front.

        A write the disk refuses raises :class:`StorageFault`; after the commit, the hook
        :meth:`_after_commit` runs (the audit trail writes its anchor line there)."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
                self._commits += 1
            except BaseException as exc:
                self._discard_pending()
                if self._conn.in_transaction:
                    try:
                        self._conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                fault = storage_fault(exc, self.path)
                if fault is not None:
                    raise fault from exc
                raise
            self._after_commit()

    def _after_commit(self) -> None:
        """Run after each committed write transaction, under the lock."""

    def _discard_pending(self) -> None:
        """Forget what a rolled-back write transaction would have done after its commit."""

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every statement inside sees the same snapshot."""
        with self._lock:
            try:
                self._conn.execute("BEGIN")
            except sqlite3.Error as exc:
                raise self._fault(exc) from exc
            try:
                yield self._conn
            except BaseException as exc:
                if self._conn.in_transaction:
                    try:
                        self._conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                fault = storage_fault(exc, self.path) if isinstance(exc, sqlite3.Error) else None
                if fault is not None:
                    raise fault from exc
                raise
            if self._conn.in_transaction:
                try:
                    self._conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    raise self._fault(exc) from exc

    def backup_into(self, target: sqlite3.Connection) -> None:
        """Copy the whole ledger into ``target`` with SQLite's online backup API: one
        consistent snapshot, while other processes go on writing. Errors are the caller's
        to word: they may be about ``target``."""
        with self._lock:
            self._conn.backup(target)

    def change_token(self) -> tuple[int, int]:
        """Changes whenever the ledger changed, by any process: ``PRAGMA data_version``
        (commits by other connections) and this connection's own commits. One cheap
        statement, so a poll can do nothing while nothing changed."""
        with self._lock:
            try:
                version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error as exc:
                raise self._fault(exc) from exc
            return version, self._commits

    def _stamp(self) -> str:
        return utc_text(self._now())

    # -- cache ----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A cached value (e.g. the account's ``users/me`` record)."""
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def delete_meta(self, prefix: str) -> int:
        """Forget every cached value whose key starts with ``prefix``; how many were dropped."""
        if AUDIT_HEAD_KEY.startswith(prefix):
            raise ValueError(f"{AUDIT_HEAD_KEY} は監査記録が使うキーです。")
        with self._write() as conn:
            return conn.execute("DELETE FROM meta WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)).rowcount

    def set_meta(self, key: str, value: str) -> None:
        if key in RESERVED_META_KEYS:
            raise ValueError(f"{key} は監査記録が使うキーです。")
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
