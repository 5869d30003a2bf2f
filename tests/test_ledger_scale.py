"""The ledger at scale and under faults (issue 14): query plans, the override's columns,
the change token, streaming verify, paging, faults in words, backup and restore, and the
migration of a large file written by the previous release (schema 2).

Real SQLite files in tmp dirs; the full disk and the read-only folder are real small
tmpfs mounts (skipped where the tests cannot mount, i.e. not as root)."""

from __future__ import annotations

import gc
import getpass
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import threading
import tracemalloc
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from clock import START, Clock

from dutypost.core.cli import main
from dutypost.core.errors import TamperingDetected
from dutypost.core.ledger import _MIGRATIONS, GENESIS_HASH, SCHEMA_VERSION, Ledger, LedgerError, canonical_json, event_hash
from dutypost.core.ledger.audit import AuditLog, RowPrints
from dutypost.core.ledger.backup import backup, check_copy, restore
from dutypost.core.standby import needs_recovery, restored_marker

REPO = Path(__file__).resolve().parent.parent
TEXT = "【避難所開設】3時00分現在、中央公民館を開設しました。"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "ledger.sqlite3"


def new_post(ledger: Ledger, *, sent: bool = True, text: str = TEXT, **fields) -> int:
    values = dict(operator="tanaka", department="防災危機管理課", template_id="shelter-open", text=text,
                  parts=[text], drill=False)
    values.update(fields)
    post_id = ledger.create_post(**values)
    if sent:
        ledger.set_state(post_id, "sending")
        ledger.set_state(post_id, "sent", x_post_ids=[str(1000 + post_id)])
    return post_id


@contextmanager
def traced(ledger: Ledger):
    """Every statement the ledger's connection runs, with its values (Python 3.11 traces
    the expanded SQL)."""
    seen: list[str] = []
    ledger._conn.set_trace_callback(seen.append)
    try:
        yield seen
    finally:
        ledger._conn.set_trace_callback(None)


def plan(path: Path, sql: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]


# -- cost that does not grow with the years ------------------------------------------------


def test_every_query_of_the_poll_a_publish_and_history_uses_an_index(path: Path, clock: Clock) -> None:
    with Ledger(path, now=clock) as ledger:
        for _ in range(3):
            new_post(ledger)
        with traced(ledger) as seen:
            # a publish: the duplicate and same-template checks, the intent, the override, the send
            ledger.recent_sent_texts(clock() - timedelta(hours=24), False)
            ledger.last_post_of_template("shelter-open", clock() - timedelta(minutes=10), False)
            post_id = new_post(ledger, text="別の本文")
            ledger.record_override(post_id, operator="tanaka", category="緊急", reason="土砂災害の危険が迫るため",
                                   lifted=["hours", "approval"])
            # the poll, and the history's pages
            ledger.change_token()
            ledger.list_posts(limit=8)
            ledger.outbox(limit=200)
            ledger.count_posts(["queued", "sending", "failed", "unknown"])
            ledger.awaiting_post_hoc_approval()
            ledger.awaiting_post_hoc_count()
            ledger.pending_approval_requests("防災危機管理課")
            ledger.open_drafts("tanaka")
            ledger.list_posts(limit=101, before_id=post_id)
            ledger.list_posts(limit=101, states=["sent"], before_id=post_id)
            ledger.list_posts(limit=101, operator="tanaka")
            ledger.events(post_id)
            ledger.sign_off(post_id, approver="suzuki")
    statements = [s for s in seen if s.lstrip().split(" ", 1)[0].upper() in ("SELECT", "UPDATE", "DELETE")]
    assert len(statements) > 20
    plans = {sql: plan(path, sql) for sql in statements}
    for sql, steps in plans.items():
        for step in steps:
            if step.startswith("SCAN") and "USING" not in step:
                # Only the newest rows by id, read backwards and cut by LIMIT.
                assert step == "SCAN posts" and "ORDER BY id DESC LIMIT" in sql and "WHERE" not in sql, (sql, steps)
    [duplicates] = [steps for sql, steps in plans.items() if sql.startswith("SELECT text, sent_at FROM posts")]
    assert any("USING INDEX posts_sent_by_mode" in s for s in duplicates), duplicates
    assert not any("TEMP B-TREE" in s for s in duplicates), duplicates  # read in order, not sorted
    awaiting = [steps for sql, steps in plans.items() if "lifts_approval = 1" in sql]
    assert len(awaiting) == 2 and all(any("overrides_awaiting" in s for s in steps) for steps in awaiting), awaiting
    assert not any("json_each" in sql for sql in seen)


def test_an_override_keeps_what_it_lifted_in_columns_and_approval_settles_it(path: Path, clock: Clock) -> None:
    with Ledger(path, now=clock) as ledger:
        hours_only, approval_lifted, approved_first = new_post(ledger), new_post(ledger), new_post(ledger)
        ledger.record_override(hours_only, operator="tanaka", category="緊急", reason="夜間の緊急情報のため",
                               lifted=["hours"])
        ledger.record_override(approval_lifted, operator="tanaka", category="緊急", reason="課長に連絡がつかないため",
                               lifted=["hours", "approval"])
        ledger.record_approval(approved_first, approver="suzuki", method="phone", recorded_by="tanaka")
        ledger.record_override(approved_first, operator="tanaka", category="緊急", reason="夜間の緊急情報のため",
                               lifted=["approval"])
        assert [p.id for p in ledger.awaiting_post_hoc_approval()] == [approval_lifted]
        assert ledger.awaiting_post_hoc_count() == 1
        ledger.sign_off(approval_lifted, approver="suzuki")
        assert ledger.awaiting_post_hoc_approval() == [] and ledger.awaiting_post_hoc_count() == 0
        assert ledger.get_post(approval_lifted).override["lifted"] == ["hours", "approval"]
        result = ledger.verify()  # the approval's event carries the override it settled
        assert result.ok, result.reason
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT post_id, lifts_approval, approval_id IS NOT NULL FROM overrides ORDER BY post_id")
        assert rows.fetchall() == [(hours_only, 0, 0), (approval_lifted, 1, 1), (approved_first, 1, 1)]
    # Append-only but for settling approval_id once: the trigger refuses anything else.
    with sqlite3.connect(path, isolation_level=None) as conn:
        for sql in ("UPDATE overrides SET reason = 'x' WHERE post_id = ?",
                    "UPDATE overrides SET approval_id = NULL WHERE post_id = ?"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql, (approval_lifted,))
        conn.execute("UPDATE overrides SET approval_id = 1 WHERE post_id = ?", (hours_only,))  # by hand, no event
    with Ledger(path, now=clock) as ledger:
        result = ledger.verify()
        assert not result.ok and result.table == "overrides" and result.field == "approval_id", result


def test_the_change_token_moves_with_every_commit_of_any_process(path: Path, clock: Clock) -> None:
    with Ledger(path, now=clock) as mine, Ledger(path, now=clock) as theirs:
        token = mine.change_token()
        mine.list_posts(limit=8)
        assert mine.change_token() == token  # reading changes nothing
        new_post(theirs)
        assert mine.change_token() != token
        token = mine.change_token()
        new_post(mine)
        assert mine.change_token() != token
    script = f"from dutypost.core.ledger import Ledger\nLedger({str(path)!r}).set_meta('k', 'v')"
    with Ledger(path, now=clock) as mine:
        token = mine.change_token()
        subprocess.run([sys.executable, "-c", script], check=True, cwd=REPO)
        assert mine.change_token() != token


def test_history_pages_through_the_ledger_newest_first(path: Path, clock: Clock) -> None:
    with Ledger(path, now=clock) as ledger:
        ids = [new_post(ledger, sent=i % 3 != 0, operator="tanaka" if i % 2 else "sato") for i in range(250)]
        seen: list[int] = []
        page = ledger.list_posts(limit=100)
        while page:
            seen += [p.id for p in page]
            page = ledger.list_posts(limit=100, before_id=page[-1].id)
        assert seen == sorted(ids, reverse=True)
        first = ledger.list_posts(limit=40, operator="sato", states=["sent"])
        second = ledger.list_posts(limit=40, operator="sato", states=["sent"], before_id=first[-1].id)
        both = first + second
        assert all(p.operator == "sato" and p.state == "sent" for p in both)
        assert [p.id for p in both] == sorted({p.id for p in both}, reverse=True) and len(both) == 80


def test_verify_streams_the_trail_with_progress_and_reads_the_stored_canonical_text(path: Path, clock: Clock) -> None:
    with Ledger(path, now=clock) as ledger:
        for _ in range(40):
            new_post(ledger)  # 3 events each
        calls: list[tuple[int, int]] = []
        result = ledger.verify(progress=lambda done, total: calls.append((done, total)))
        assert result.ok and result.checked == 120
        assert calls and calls[-1] == (120, 120) and all(total == 120 for _, total in calls)
        assert ledger.integrity_problems() == []
    # A payload spelled differently but meaning the same (an older writer) still verifies;
    # one that means something else does not.
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        payload = conn.execute("SELECT payload FROM audit WHERE id = 5").fetchone()[0]
        conn.execute("UPDATE audit SET payload = ? WHERE id = 5", (json.dumps(json.loads(payload), indent=1),))
        conn.execute("""CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
           BEGIN SELECT RAISE(ABORT, '監査記録は書き換えられません (audit events are append-only)'); END""")
    with Ledger(path, now=clock) as ledger:
        assert ledger.verify().ok
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET payload = replace(payload, '中央公民館', '本郷小学校') WHERE id = 7")
    with Ledger(path, now=clock) as ledger:
        result = ledger.verify()
        assert not result.ok and result.first_bad_id == 7


def test_the_board_folds_narrow_rows_and_builds_a_post_only_for_what_is_in_force(path: Path, clock: Clock) -> None:
    """発令中 over years of posts: one narrow row per post (id, template, the place field,
    read by SQLite), and the whole post only for the lines left on the board. Building a
    Post for each of 90k sent posts took 5.8 s per refresh; the narrow fold takes ~0.1 s."""
    from dutypost.core.config import BUNDLED_TEMPLATES
    from dutypost.core.in_force import in_force
    from dutypost.core.templates import load_templates

    templates = load_templates([BUNDLED_TEMPLATES])
    with Ledger(path, now=clock) as ledger:
        for n in range(30):
            new_post(ledger, template_id="shelter-open", values={"time": "3時00分", "shelter": f"第{n}避難所"})
        for n in range(5, 30):
            new_post(ledger, template_id="shelter-close", values={"time": "9時00分", "shelter": f"第{n}避難所"})
        new_post(ledger, template_id="shelter-open", values={"shelter": "第1避難所、第2避難所"})  # again: since the first
        with traced(ledger) as seen:
            board = in_force(ledger, templates, drill=False)
    assert [(line.template_id, line.place, line.post_id) for line in board] == [
        ("shelter-open", f"第{n}避難所", n + 1) for n in range(5)]
    whole = [sql for sql in seen if sql.startswith("SELECT * FROM posts")]
    assert len(whole) == 1 and "WHERE id IN (1, 2, 3, 4, 5)" in whole[0], whole


def test_verify_keeps_a_fixed_size_record_per_row_not_an_object(path: Path, clock: Clock) -> None:
    """What the chain walk keeps for the row check grows by a few dozen bytes per row (an
    event id, a 16-byte digest and a column set in flat arrays): 200k rows in about 5 MB.
    A Python object per row (a tuple, a bytes, an int and a dict slot) cost about 200.
    Not a timing: tracemalloc counts the bytes Python allocated."""
    rows = 3000
    with Ledger(path, now=clock) as ledger:
        for _ in range(rows):
            new_post(ledger)
    with sqlite3.connect(path) as conn:
        total = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        cursor = conn.execute("SELECT id, at, operator, kind, post_id, payload, prev_hash, hash, rows FROM audit"
                              " ORDER BY id")
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            walked = AuditLog._walk_chain(cursor, total, None, set())
            cursor.close()
            gc.collect()
            kept = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    count, _, _, prints = walked
    assert count == total == 3 * rows
    assert kept / rows < 60, f"{kept / rows:.0f} bytes kept per row"
    assert prints["posts"].pop(rows) is not None and prints["posts"].pop(rows + 1) is None
    # The whole of verify, at its peak: the trail and the rows are read a few hundred at a
    # time (5000 audit rows at once, with their images, peaked at 17 MB here).
    with Ledger(path, now=clock) as ledger:
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            assert ledger.verify().ok
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
    assert peak < 4_000_000, f"verify peaked at {peak / 1e6:.1f} MB"


def test_row_prints_keep_far_and_odd_row_ids_aside_and_give_back_what_is_left_in_order() -> None:
    prints = RowPrints([None], {})
    prints.put(2, 5, {"id": 2, "text": "a"})
    prints.put(10**15, 6, {"id": 10**15, "text": "b"})  # a forged id far out: one dict entry, not 8 PB of arrays
    prints.put(0, 7, {"id": 0})
    prints.put(3, 8, None)  # recorded as gone
    prints.put(2, 9, {"id": 2, "text": "c"})  # the last image wins
    assert len(prints._events) < 10_000
    assert prints.pop(1) is None and prints.pop(-4) is None and prints.pop(10**16) is None
    found = prints.pop(2)
    assert found is not None and found.event_id == 9 and found.columns == ("id", "text")
    assert prints.pop(2) is None  # taken out
    assert [(row_id, p.event_id, p.digest is None) for row_id, p in prints.left()] == [
        (0, 7, False), (3, 8, True), (10**15, 6, False)]
    assert prints.left() == []


def test_a_row_with_a_far_id_and_no_event_is_found(path: Path, clock: Clock) -> None:
    with Ledger(path, now=clock) as ledger:
        new_post(ledger)
    with sqlite3.connect(path, isolation_level=None) as conn:
        conn.execute("INSERT INTO posts (id, state, kind, template_id, text, parts, operator, department, drill,"
                     " created_at, updated_at) VALUES (1000000000000, 'sent', 'post', 'shelter-open', '偽の投稿',"
                     " '[\"偽の投稿\"]', 'tanaka', '防災危機管理課', 0, '2026-09-01T03:00:00+00:00',"
                     " '2026-09-01T03:00:00+00:00')")
    with Ledger(path, now=clock) as ledger:
        result = ledger.verify()
    assert (result.ok, result.table, result.row_id) == (False, "posts", 10**12)
    assert "投稿 #1000000000000 は監査記録にありません" in result.reason


# -- a large ledger written by the previous release ---------------------------------------


def write_schema_2_ledger(path: Path, posts: int) -> int:
    """A ledger as the previous release (schema 2) left it, with ``posts`` posts sent
    (every 50th under an override that lifted approval, every 100th of those signed off)
    and their audit events; returns the number of events."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN")
    for statements in _MIGRATIONS[:2]:
        for statement in statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    prev, event_id = GENESIS_HASH, 0
    events, post_rows, overrides, approvals = [], [], [], []

    def event(at: str, kind: str, post_id: int, payload: dict) -> None:
        nonlocal prev, event_id
        event_id += 1
        digest = event_hash(id=event_id, at=at, operator="tanaka", kind=kind, post_id=post_id, payload=payload,
                            prev_hash=prev)
        events.append((event_id, at, "tanaka", kind, post_id, canonical_json(payload), prev, digest))
        prev = digest

    base = START - timedelta(days=3 * 365)
    for post_id in range(1, posts + 1):
        at = (base + timedelta(minutes=50 * post_id)).isoformat()
        text = f"{TEXT} ({post_id})"
        post_rows.append(("sent", "post", "shelter-open", text, canonical_json([text]), "tanaka", "防災危機管理課", 0,
                          at, at, at, canonical_json([str(post_id)])))
        event(at, "post.queued", post_id, {"text": text})
        event(at, "post.sent", post_id, {"from": "sending", "to": "sent"})
        if post_id % 50 == 0:
            lifted = ["hours", "approval"]
            overrides.append((post_id, "tanaka", "生命・身体・財産の保護に必要な緊急情報", "土砂災害の危険が迫るため",
                              canonical_json(lifted), at))
            event(at, "override.used", post_id, {"lifted": lifted})
            if post_id % 100 == 0:
                approvals.append((post_id, "suzuki", "in-app", at, "suzuki", 1))
                event(at, "approval.post_hoc", post_id, {"approver": "suzuki"})
    conn.executemany("INSERT INTO posts (state, kind, template_id, text, parts, operator, department, drill,"
                     " created_at, updated_at, sent_at, x_post_ids) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     post_rows)
    conn.executemany("INSERT INTO overrides (post_id, operator, category, reason, lifted, at)"
                     " VALUES (?, ?, ?, ?, ?, ?)", overrides)
    conn.executemany("INSERT INTO approvals (post_id, approver, method, at, recorded_by, post_hoc)"
                     " VALUES (?, ?, ?, ?, ?, ?)", approvals)
    conn.executemany("INSERT INTO audit (id, at, operator, kind, post_id, payload, prev_hash, hash)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", events)
    conn.execute("INSERT INTO meta (key, value) VALUES ('audit_head', ?)",
                 (canonical_json({"id": event_id, "hash": prev}),))
    conn.execute("COMMIT")
    conn.close()
    return event_id


def town_config(config_file) -> Path:
    """The example town's config, its ledger in tmp_path, run as this OS user."""
    cfg = config_file()
    cfg.write_text(cfg.read_text(encoding="utf-8").replace('os_user = "tanaka"', f'os_user = "{getpass.getuser()}"'),
                   encoding="utf-8")
    return cfg


def test_a_schema_2_ledger_with_30k_posts_migrates_and_passes_audit_verify(config_file, capsys, clock) -> None:
    cfg = town_config(config_file)
    path = cfg.parent / "ledger.sqlite3"
    events = write_schema_2_ledger(path, 30_000)
    assert main(["--config", str(cfg), "audit", "verify"]) == 0
    assert f"{events} 件" in capsys.readouterr().out
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        counts = conn.execute("SELECT count(*), sum(lifts_approval), count(approval_id) FROM overrides").fetchone()
        assert counts == (600, 600, 300)
    with Ledger(path, now=clock) as ledger:
        awaiting = ledger.awaiting_post_hoc_approval()
        assert len(awaiting) == ledger.awaiting_post_hoc_count() == 300
        assert all(p.id % 50 == 0 and p.id % 100 != 0 for p in awaiting)
        assert [p.id for p in ledger.list_posts(limit=3)] == [30_000, 29_999, 29_998]
        new_post(ledger)  # the migrated chain goes on
        assert ledger.verify().ok and ledger.verify().checked == events + 3


# -- faults get an answer -------------------------------------------------------------------


def damage(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a ledger " * 500)


def test_faults_of_the_file_raise_a_ledger_error_naming_it(path: Path, tmp_path: Path, clock: Clock) -> None:
    damage(path)
    with pytest.raises(LedgerError) as caught:
        Ledger(path, now=clock)
    assert str(path) in caught.value.message and "壊れて" in caught.value.message
    assert "dutypost ledger restore" in caught.value.hint and caught.value.exit_code == 2

    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(LedgerError) as caught:
        Ledger(folder, now=clock)
    assert str(folder) in caught.value.message and "フォルダー" in caught.value.message

    locked = tmp_path / "locked.sqlite3"
    Ledger(locked, now=clock).close()
    other = sqlite3.connect(locked, isolation_level=None)  # another program holding the file
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(LedgerError) as caught:
            Ledger(locked, now=clock, busy_timeout=0.2)
        assert str(locked) in caught.value.message and "使用中" in caught.value.message
    finally:
        other.execute("COMMIT")
        other.close()


@pytest.fixture
def small_disk(tmp_path: Path):
    """``small_disk(size)``: a real tmpfs of that size, mounted in tmp_path (root only)."""
    mounted: list[Path] = []

    def mount(size: str = "1m", name: str = "disk") -> Path:
        where = tmp_path / name
        where.mkdir()
        if os.geteuid() != 0:
            pytest.skip("mounting a small filesystem needs root")
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.decode(errors='replace')}")
        mounted.append(where)
        return where

    yield mount
    for where in mounted:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> None:
    """Fill the filesystem of ``folder`` to the last byte."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        for chunk in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)


def test_a_full_disk_refuses_the_write_in_words_and_keeps_the_ledger_whole(small_disk, clock: Clock) -> None:
    disk = small_disk("1m")
    path = disk / "ledger.sqlite3"
    with Ledger(path, now=clock) as ledger:
        first = new_post(ledger)
        fill(disk)
        with pytest.raises(LedgerError) as caught:
            for i in range(50):  # the WAL may hold a few more pages; the disk fills within these
                new_post(ledger, sent=False, text=f"{TEXT} {'長い本文' * 200} {i}")
        assert str(path) in caught.value.message and "ディスクがいっぱい" in caught.value.message
        written = len(ledger.list_posts())
        (disk / "filler").unlink()
        assert ledger.verify().ok
    with Ledger(path, now=clock) as ledger:
        assert ledger.get_post(first).state == "sent" and len(ledger.list_posts()) == written
        assert ledger.verify().ok and ledger.integrity_problems() == []


def test_a_ledger_in_a_read_only_folder_is_refused_in_words(small_disk, clock: Clock) -> None:
    disk = small_disk("1m")
    path = disk / "ledger.sqlite3"
    with Ledger(path, now=clock) as ledger:
        new_post(ledger)
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    with pytest.raises(LedgerError) as caught:
        with Ledger(path, now=clock) as ledger:
            new_post(ledger)
    assert str(path) in caught.value.message and "書き込" in caught.value.message
    assert str(disk) in caught.value.hint


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dutypost.core.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("fault", ["damaged", "folder", "newer"])
def test_each_fault_exits_2_from_the_command_line_naming_the_file(config_file, fault: str) -> None:
    cfg = town_config(config_file)
    path = cfg.parent / "ledger.sqlite3"
    if fault == "damaged":
        damage(path)
    elif fault == "folder":
        path.mkdir()
    else:
        Ledger(path).close()
        with sqlite3.connect(path) as conn:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    for command in (["history"], ["audit", "verify"], ["outbox"]):
        proc = cli("--config", str(cfg), *command)
        assert proc.returncode == 2, (command, proc.stderr)
        assert str(path) in proc.stderr and "Traceback" not in proc.stderr and "予期しない" not in proc.stderr


def test_audit_verify_runs_the_integrity_check(config_file, clock) -> None:
    cfg = town_config(config_file)
    path = cfg.parent / "ledger.sqlite3"
    with Ledger(path, now=clock) as ledger:
        for i in range(300):
            new_post(ledger, text=f"{TEXT} {'本文' * 100} {i}")
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'posts_state'").fetchone()[0]
    with open(path, "r+b") as fh:  # an index page overwritten: the tables still read
        fh.seek((root - 1) * page_size + 8)
        fh.write(b"\xff" * 64)
    proc = cli("--config", str(cfg), "audit", "verify")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert str(path) in proc.stderr and "壊れて" in proc.stderr and "ledger restore" in proc.stderr


def test_a_publish_whose_ledger_write_fails_never_reaches_x(small_disk, config_file, practice_server,
                                                            monkeypatch) -> None:
    from dutypost.core.context import build_context
    from dutypost.core.demo_account import DEMO_CREDENTIALS
    from dutypost.core.publish import compose, make_approval, publish
    from dutypost.core.templates import format_jst_time

    disk = small_disk("1m")
    cfg = config_file(replace={"x": f'api_base_url = "{practice_server.url}"\ntimeout_seconds = 5'})
    cfg.write_text(cfg.read_text(encoding="utf-8").replace(str(cfg.parent / "ledger.sqlite3"),
                                                           str(disk / "ledger.sqlite3")), encoding="utf-8")
    for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret"):
        monkeypatch.setenv(f"DUTYPOST_X__{name.upper()}", getattr(DEMO_CREDENTIALS, name))
    ctx = build_context(cfg, os_user="tanaka", clock=lambda: START)
    try:
        assert ctx.ledger.path == disk / "ledger.sqlite3"
        fill(disk)
        template = ctx.templates.get("shelter-open")
        composition = compose(ctx, template, {"time": format_jst_time(START), "shelter": "中央公民館"})
        with pytest.raises(LedgerError) as caught:
            publish(ctx, composition, approval=make_approval(ctx, "suzuki", "phone"))
        assert str(disk / "ledger.sqlite3") in caught.value.message
        assert practice_server.posts() == []  # the intent could not be recorded: nothing went out
        (disk / "filler").unlink()
        assert ctx.ledger.list_posts() == [] and ctx.ledger.verify().ok
    finally:
        ctx.close()


# -- backups --------------------------------------------------------------------------------


WRITER = """
import sys
from dutypost.core.ledger import Ledger
with Ledger(sys.argv[1]) as ledger:
    for i in range(100000):
        ledger.create_post(operator="sato", department="d", template_id="t", text=f"w{i}", parts=[f"w{i}"],
                           drill=False)
        if i == 0:
            print("ready", flush=True)
"""


def test_a_backup_is_consistent_while_another_session_writes(path: Path, tmp_path: Path, clock: Clock) -> None:
    with Ledger(path, now=clock) as ledger:
        for _ in range(20):
            new_post(ledger)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "ready"
        copies = [backup(path, tmp_path / "backups" / f"copy-{i}.sqlite3") for i in range(3)]
        assert writer.poll() is None, "the writer finished before the backups: nothing was tested"
    finally:
        writer.kill()
        writer.wait()
    counts = []
    for copy in copies:
        assert check_copy(copy) > 60  # integrity and the whole chain, with the writer's events
        with sqlite3.connect(copy) as conn:
            counts.append(conn.execute("SELECT count(*) FROM posts").fetchone()[0])
    assert counts == sorted(counts) and counts[-1] > 20
    (tmp_path / "backups" / "folder").mkdir()
    into_folder = backup(path, tmp_path / "backups" / "folder")
    assert into_folder.parent == tmp_path / "backups" / "folder" and into_folder.name.startswith("ledger-")


def test_restore_checks_the_copy_keeps_the_old_file_and_records_itself(path: Path, tmp_path: Path,
                                                                       clock: Clock) -> None:
    with Ledger(path, now=clock) as ledger:
        kept_id = new_post(ledger)
    copy = backup(path, tmp_path / "copy.sqlite3")
    copy_bytes = hashlib.sha256(copy.read_bytes()).hexdigest()
    with Ledger(path, now=clock) as ledger:
        new_post(ledger)  # after the backup
    damaged_bytes = b"not a ledger " * 500
    path.write_bytes(damaged_bytes)

    # A damaged or tampered copy is refused, and the ledger is left as it was.
    bad = tmp_path / "bad.sqlite3"
    damage(bad)
    with pytest.raises(LedgerError) as caught:
        restore(path, bad)
    assert str(bad) in caught.value.message
    tampered = tmp_path / "tampered.sqlite3"
    tampered.write_bytes(copy.read_bytes())
    with sqlite3.connect(tampered, isolation_level=None) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET payload = replace(payload, '中央公民館', '本郷小学校')")
    with pytest.raises(TamperingDetected) as caught:  # exit 6, as standby restore and audit verify
        restore(path, tampered)
    assert str(tampered) in caught.value.message and "監査記録" in caught.value.message
    assert caught.value.exit_code == 6
    assert path.read_bytes() == damaged_bytes
    assert not list(path.parent.glob("*.restoring-*"))

    result = restore(path, copy, operator="kanri")
    assert result.kept is not None and result.kept.read_bytes() == damaged_bytes
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == copy_bytes  # the backup itself is untouched
    with Ledger(path, now=clock) as ledger:
        assert [p.id for p in ledger.list_posts()] == [kept_id]
        assert ledger.verify().ok
        last = ledger.events()[-1]
        assert (last.kind, last.operator, last.payload["from"]) == ("ledger.restored", "kanri", str(copy))
        # Marked as a restore on the standby is: posts after the backup may be on X only, so
        # the TUI offers recover first, reading the timeline from just before the copy's head.
        assert needs_recovery(ledger)
        marker = restored_marker(ledger)
        assert (marker["source"], marker["from"], marker["event_id"]) == ("backup", str(copy), last.id)
        assert marker["replica_head"]["id"] == last.id - 1


def test_ledger_backup_and_restore_from_the_command_line(config_file, tmp_path: Path, capsys, clock) -> None:
    cfg = town_config(config_file)
    path = cfg.parent / "ledger.sqlite3"
    with Ledger(path, now=clock) as ledger:
        new_post(ledger)
    folder = tmp_path / "backups"
    folder.mkdir()
    assert main(["--config", str(cfg), "ledger", "backup", str(folder)]) == 0
    [copy] = folder.iterdir()
    assert str(copy) in capsys.readouterr().out
    damage(path)
    assert main(["--config", str(cfg), "history"]) == 2
    assert str(path) in capsys.readouterr().err
    assert main(["--config", str(cfg), "ledger", "restore", str(copy)]) == 0
    out, err = capsys.readouterr()
    assert str(copy) in out and "before-restore" in out
    assert "dutypost recover" in err  # posts after the backup: where to get them back
    assert main(["--config", str(cfg), "audit", "verify"]) == 0
    assert main(["--config", str(cfg), "ledger", "restore", str(tmp_path / "missing.sqlite3")]) == 2
    assert "missing.sqlite3" in capsys.readouterr().err


def test_a_backup_is_consistent_while_this_process_writes(path: Path, tmp_path: Path, clock: Clock) -> None:
    """A backup taken while this process goes on writing through its own connection."""
    with Ledger(path, now=clock) as ledger:
        stop = threading.Event()

        def write() -> None:
            while not stop.is_set():
                new_post(ledger, sent=False)

        thread = threading.Thread(target=write)
        thread.start()
        try:
            copy = backup(path, tmp_path / "copy.sqlite3")
        finally:
            stop.set()
            thread.join()
        assert check_copy(copy) >= 0


def test_a_backup_restored_under_an_anchor_file_verifies_after_new_writes(config_file, tmp_path: Path, capsys,
                                                                          clock) -> None:
    """The anchor file (監査記録の控え) holds the events written after the backup. After the
    restore, new events take those numbers: the old anchors are set aside, a new file
    begins, restore says how many were written since, and audit verify passes."""
    anchors = tmp_path / "anchors.txt"
    cfg = config_file(extra="")
    text = cfg.read_text(encoding="utf-8").replace('os_user = "tanaka"', f'os_user = "{getpass.getuser()}"')
    cfg.write_text(text.replace('# anchor_file = "/mnt/standby/dutypost/anchors.txt"', f'anchor_file = "{anchors}"'),
                   encoding="utf-8")
    path = cfg.parent / "ledger.sqlite3"
    with Ledger(path, now=clock, anchor_file=anchors) as ledger:
        new_post(ledger)
    copy = tmp_path / "copy.sqlite3"
    assert main(["--config", str(cfg), "ledger", "backup", str(copy)]) == 0
    with Ledger(path, now=clock, anchor_file=anchors) as ledger:
        new_post(ledger)  # after the backup: anchored, then lost with the restore
    capsys.readouterr()
    assert main(["--config", str(cfg), "ledger", "restore", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "控えには、このバックアップより後の監査記録が" in out and "改ざんとしては扱いません" in out
    [aside] = tmp_path.glob("anchors.txt.before-restore-*")
    assert aside.read_text(encoding="utf-8").strip()
    with Ledger(path, now=clock, anchor_file=anchors) as ledger:
        new_post(ledger)  # new events take the lost events' numbers
    assert main(["--config", str(cfg), "audit", "verify"]) == 0, capsys.readouterr()


def test_a_backup_that_disagrees_with_the_anchors_is_refused(config_file, tmp_path: Path, capsys, clock) -> None:
    """A copy whose trail differs from an anchored event at or below its head was not
    taken from this ledger's history: it is refused and the ledger is left as it was."""
    anchors = tmp_path / "anchors.txt"
    cfg = config_file()
    text = cfg.read_text(encoding="utf-8").replace('os_user = "tanaka"', f'os_user = "{getpass.getuser()}"')
    cfg.write_text(text.replace('# anchor_file = "/mnt/standby/dutypost/anchors.txt"', f'anchor_file = "{anchors}"'),
                   encoding="utf-8")
    path = cfg.parent / "ledger.sqlite3"
    other = tmp_path / "other.sqlite3"
    with Ledger(other, now=clock) as ledger:  # another history, same numbers
        new_post(ledger, text="別の町の記録です。")
    with Ledger(path, now=clock, anchor_file=anchors) as ledger:
        new_post(ledger)
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["--config", str(cfg), "ledger", "restore", str(other)]) == 6  # tampering, as audit verify says it
    err = capsys.readouterr().err
    assert str(other) in err and "控え" in err
    assert path.read_bytes() == before
