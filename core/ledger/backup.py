"""Backups of the ledger (記録のバックアップ) and restoring one (復元).

:func:`backup` copies the ledger with SQLite's online backup API: one consistent snapshot,
taken while other sessions go on writing (WAL lets them). The copy is written next to its
destination and renamed into place, so a backup interrupted half-way never replaces a good
one. :func:`restore` checks a copy (``PRAGMA integrity_check`` and the audit chain) before
it replaces the ledger, keeps the replaced file (``<name>.before-restore-<time>``), and
records the restore as ``standby restore`` does (:func:`core.standby.mark_restored`: the
audit event ``ledger.restored`` and the marker), so the TUI offers 復旧後の取り込み
(``dutypost recover``, from just before the backup's newest event) before anything is posted.
"""

from __future__ import annotations

import getpass
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from dutypost.core.errors import DutypostError, TamperingDetected
from dutypost.core.ledger.connection import RESTORE_HINT, LedgerError, ledger_fault

if TYPE_CHECKING:
    from dutypost.core.standby import AnchorsBeyond

SIDE_FILES = ("-wal", "-shm")


@dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    kept: Path | None  # the replaced ledger, renamed; None when there was none
    events: int  # audit events found intact in the copy
    anchors_checked: int = 0  # anchor lines the copy agreed with (those up to its head)
    #: Anchored events newer than the backup (written since it was taken), and where the anchor file went.
    beyond: AnchorsBeyond | None = None


def backup(ledger_path: Path, destination: Path) -> Path:
    """Copy the ledger at ``ledger_path`` to ``destination`` (a file, or a folder to put
    ``ledger-<UTC time>.sqlite3`` in); returns the copy's path."""
    from dutypost.core.ledger import Ledger

    destination = Path(destination)
    if destination.is_dir():
        destination = destination / f"ledger-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.sqlite3"
    if Path(ledger_path).resolve() == destination.resolve():
        raise LedgerError(f"バックアップ先 {destination} は記録ファイルそのものです。",
                          hint="別のフォルダーか別のファイル名を指定してください。", path=destination)
    partial = destination.with_name(destination.name + ".partial")
    with Ledger(Path(ledger_path)) as ledger:  # opens (and migrates) the source as every session does
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            partial.unlink(missing_ok=True)
            target = sqlite3.connect(partial)
            try:
                ledger.backup_into(target)
                target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            finally:
                target.close()
            os.replace(partial, destination)
        except (OSError, sqlite3.Error) as exc:
            partial.unlink(missing_ok=True)
            fault = ledger_fault(destination, exc)
            if fault is None:
                raise
            raise LedgerError(f"バックアップ {destination} を作れませんでした: {fault.message}", hint=fault.hint,
                              path=destination) from exc
    return destination


def check_copy(path: Path, anchors=()) -> int:
    """Raise LedgerError unless the ledger file ``path`` is sound (integrity, audit chain,
    and ``anchors``); returns the number of audit events. The file is opened as a ledger,
    so a copy from an older release is migrated."""
    from dutypost.core.ledger import Ledger

    with Ledger(path) as ledger:
        problems = ledger.integrity_problems()
        if problems:
            raise LedgerError(f"{path} は壊れています ({problems[0]})。", hint="別のバックアップを指定してください。",
                              path=path)
        result = ledger.verify(anchors=anchors)
        if not result.ok:  # exit 6, as audit verify and standby restore say it
            raise TamperingDetected(f"{path} の監査記録が一致しません: {result.reason}",
                                    hint="改ざんされた可能性があります。別のバックアップを指定してください。")
        return result.checked


def restore(ledger_path: Path, source: Path, *, operator: str | None = None,
            anchor_file: Path | None = None, group: str | None = None) -> RestoreResult:
    """Replace the ledger with the backup ``source`` once the copy has passed
    :func:`check_copy`, against ``anchor_file``'s anchors up to the copy's head. Anchors
    past it are events written since the backup: the file is set aside and a new one
    begins. The backup itself is not changed. Stop every session first: one still running
    would go on writing to the replaced file."""
    from dutypost.core.ledger import Ledger
    from dutypost.core.standby import audit_head, mark_restored, set_anchors_aside, split_anchors

    ledger_path, source = Path(ledger_path), Path(source)
    if not source.is_file():
        raise LedgerError(f"バックアップ {source} がありません (またはファイルではありません)。",
                          hint="dutypost ledger backup で作ったファイルを指定してください。", path=source)
    if ledger_path.is_dir():
        raise ledger_fault(ledger_path, IsADirectoryError(str(ledger_path)))  # type: ignore[misc]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    candidate = ledger_path.with_name(ledger_path.name + f".restoring-{stamp}")
    try:
        ledger_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, candidate)
        if Path(f"{source}-wal").exists():  # a copy taken by hand may have its WAL beside it
            shutil.copyfile(f"{source}-wal", f"{candidate}-wal")
    except OSError as exc:
        _remove(candidate)
        raise LedgerError(f"バックアップ {source} を {ledger_path.parent} に写せませんでした ({exc.strerror})。",
                          hint="空き容量と書き込み権限を確かめてください。", path=source) from exc
    try:
        head = audit_head(candidate)
        within, beyond = split_anchors(anchor_file, head)
        events = check_copy(candidate, within)
    except TamperingDetected as exc:
        _remove(candidate)
        raise TamperingDetected(f"バックアップ {source} は使えません: {exc.message}",
                                hint=f"{exc.hint} 今の記録 {ledger_path} はそのままです。") from exc
    except DutypostError as exc:  # LedgerError, or an anchor file that cannot be read
        _remove(candidate)
        raise LedgerError(f"バックアップ {source} は使えません: {exc.message}", hint=exc.hint, path=source) from exc
    kept = None
    if ledger_path.exists():
        kept = ledger_path.with_name(ledger_path.name + f".before-restore-{stamp}")
        os.replace(ledger_path, kept)
        for side in SIDE_FILES:
            if Path(str(ledger_path) + side).exists():
                os.replace(str(ledger_path) + side, str(kept) + side)
    lost = set_anchors_aside(anchor_file, beyond, stamp)
    os.replace(candidate, ledger_path)
    with Ledger(ledger_path, anchor_file=anchor_file, group=group) as ledger:
        # The same marker as a restore on the standby: the TUI offers 復旧後の取り込み first,
        # since posts that reached X after the backup was taken are not in this ledger.
        mark_restored(ledger, operator=operator or _os_user(), at=datetime.now(timezone.utc), payload={
            "source": "backup", "from": str(source), "kept": str(kept) if kept else None, "events": events,
            "replica_head": head.as_json() if head else None,
            **({"anchored_beyond_replica": lost.payload()} if lost else {}),
        })
    return RestoreResult(restored_from=source, kept=kept, events=events, anchors_checked=len(within), beyond=lost)


def _remove(path: Path) -> None:
    for name in (str(path), *(str(path) + side for side in SIDE_FILES)):
        Path(name).unlink(missing_ok=True)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


__all__ = ["RESTORE_HINT", "RestoreResult", "backup", "check_copy", "restore"]
