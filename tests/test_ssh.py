"""The SSH deployment (SSH 運用, SPEC §9 and issue 6) against a real sshd on loopback.

Each operator's key forces ``dutypost --config CFG --operator tanaka`` with
``restrict,pty``: the key is the identity, nobody gets a shell or a tunnel, and an SSH
drop during a publish does not lose the post (SPEC §6).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dutypost.core.credentials import write_secrets
from dutypost.core.ledger import Ledger
from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.core.templates import format_jst_time
from sshd_harness import DUTYPOST, dutypost_command, service_user, wait_until

REASON = "土砂災害の危険が高まったため"
CATEGORY = "生命・身体・財産の保護に必要な緊急情報"
JUSTIFICATION = "台風で土砂災害の危険が高まったため"
EVAC_L4 = [  # 警戒レベル4 避難指示 発令, out of hours and unapproved: with an override
    "post", "evac-l4",
    "--set", f"time={format_jst_time(datetime.now(timezone.utc))}",  # the time of posting (stale-time)
    "--set", f"reason={REASON}",
    "--set", "area=本郷地区",
    "--set", "shelter=本郷小学校",
    "--override", CATEGORY,
    "--reason", JUSTIFICATION,
]
OPERATOR_REFUSED = "--operator はサービスアカウント"


def practice_config(service_config, practice_server, tmp_path: Path, *, timeout: float = 15) -> Path:
    """The sshd's config pointed at the practice server, live and drill alike.

    sshd passes no client environment, so the demo credentials go in a secrets file (0600).
    """
    secrets = tmp_path / "secrets.toml"
    write_secrets(secrets, dataclasses.asdict(DEMO_CREDENTIALS))
    return service_config(replace={
        "x": f'api_base_url = "{practice_server.url}"\ntimeout_seconds = {timeout}\nsecrets_file = "{secrets}"',
        "drill": f'api_base_url = "{practice_server.url}"',
    })


def ledger_posts(config_dir: Path):
    with Ledger(config_dir / "ledger.sqlite3") as ledger:
        return ledger.list_posts()


# -- the key can do one thing only --------------------------------------------

ATTEMPTS = [
    pytest.param((), ("cat", "/etc/passwd"), "root:x:0:0", id="remote-command"),
    pytest.param(("-T",), ("/bin/sh", "-c", "id"), "uid=", id="shell-without-tty"),
]


@pytest.mark.parametrize("options, remote, leak", ATTEMPTS)
def test_the_key_runs_only_the_forced_command(sshd, options, remote, leak):
    result = sshd.run(*options, remote=remote, timeout=10)

    assert leak not in result.stdout + result.stderr
    assert f"forced-command (key-option) '{DUTYPOST}" in sshd.log()
    # With no terminal the forced dutypost says so and ends, instead of waiting forever.
    assert "画面を表示する端末がありません" in result.stderr
    assert result.returncode == 2


@pytest.mark.parametrize("options, remote, leak", ATTEMPTS)
def test_without_the_key_options_the_same_attempt_would_get_through(sshd, options, remote, leak):
    """The control: the assertions above catch a key line that lost its options."""
    sshd.authorize(None, options="")

    result = sshd.run(*options, remote=remote)

    assert leak in result.stdout


@pytest.fixture
def tunnel_target():
    """A TCP service on loopback that greets whoever connects; records the connections."""
    server = socket.create_server(("127.0.0.1", 0))
    connections: list[str] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            connections.append("connected")
            with conn:
                conn.sendall(b"hello-through-the-tunnel\n")

    threading.Thread(target=serve, daemon=True).start()
    yield server.getsockname()[1], connections
    server.close()


def test_stdio_forwarding_is_refused(sshd, tunnel_target):
    port, connections = tunnel_target

    result = sshd.run("-W", f"127.0.0.1:{port}", timeout=20)

    assert result.returncode != 0
    assert "hello-through-the-tunnel" not in result.stdout
    assert "stdio forwarding failed" in result.stderr
    assert connections == []


def test_stdio_forwarding_control_without_restrict(sshd, tunnel_target):
    port, connections = tunnel_target
    sshd.authorize(dutypost_command(sshd.config), options="pty")

    result = sshd.run("-W", f"127.0.0.1:{port}", timeout=20)

    assert "hello-through-the-tunnel" in result.stdout
    assert connections == ["connected"]


def test_remote_port_forwarding_is_refused(sshd, tunnel_target):
    port, _ = tunnel_target

    result = sshd.run("-N", "-o", "ExitOnForwardFailure=yes", "-R", f"0:127.0.0.1:{port}", timeout=20)

    assert result.returncode == 255
    assert "remote port forwarding failed" in result.stderr


# -- --operator is honoured only as the service account ---------------------------


def run_dutypost(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(DUTYPOST), *args], capture_output=True, text=True, encoding="utf-8",
                          stdin=subprocess.DEVNULL, timeout=60)


def test_operator_flag_refused_for_anyone_but_the_service_user(service_config):
    config = service_config(replace={"ssh": 'service_user = "dutypost-svc"'})

    result = run_dutypost("--config", str(config), "--operator", "tanaka", "history")

    assert result.returncode == 2
    assert f"{OPERATOR_REFUSED} (dutypost-svc) で動かすときだけ使えます" in result.stderr
    assert f"いまの OS ユーザーは {service_user()} です" in result.stderr


def test_operator_flag_honoured_for_the_service_user(service_config):
    config = service_config()

    result = run_dutypost("--config", str(config), "--operator", "tanaka", "history", "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_operator_over_ssh_needs_the_service_user(sshd, service_config):
    sshd.authorize(dutypost_command(sshd.config, "tanaka", "history", "--json"))
    honoured = sshd.run()
    service_config(replace={"ssh": 'service_user = "dutypost-svc"'})  # same path as sshd.config
    refused = sshd.run()

    assert honoured.returncode == 0, honoured.stderr
    assert json.loads(honoured.stdout) == []
    assert refused.returncode == 2
    assert OPERATOR_REFUSED in refused.stderr


def test_a_key_for_an_unknown_operator_is_refused(sshd):
    sshd.authorize(dutypost_command(sshd.config, "nobody", "history"))

    result = sshd.run()

    assert result.returncode == 2
    assert "職員 ID 'nobody' は設定の [[operators]] にありません" in result.stderr


def test_a_post_over_ssh_is_recorded_under_the_keys_operator(sshd, service_config, practice_server, tmp_path):
    config = practice_config(service_config, practice_server, tmp_path)
    sshd.authorize(dutypost_command(config, "tanaka", *EVAC_L4))

    result = sshd.run(timeout=60)

    assert result.returncode == 0, result.stderr
    [sent] = practice_server.posts()
    assert "避難指示" in sent["text"]
    [post] = ledger_posts(tmp_path)
    assert (post.operator, post.state) == ("tanaka", "sent")


# -- an SSH drop (SIGHUP) during a publish loses nothing ---------------------------

HANGUPS = [  # the practice server's fault, [x] timeout_seconds, the state the post must end in
    pytest.param({"kind": "slow", "delay": 3}, 15, "sent", id="slow-answer"),
    pytest.param({"kind": "timeout_after_store", "delay": 6}, 2, "unknown", id="answer-never-comes"),
]


@pytest.mark.parametrize("fault, timeout, expected", HANGUPS)
def test_hangup_during_a_publish_leaves_it_sent_or_unknown(sshd, service_config, practice_server, tmp_path,
                                                          tmux_terminal, fault, timeout, expected):
    config = practice_config(service_config, practice_server, tmp_path, timeout=timeout)
    sshd.authorize(dutypost_command(config, "tanaka", *EVAC_L4))
    practice_server.inject(fault)
    terminal = tmux_terminal()

    terminal.start(sshd.ssh_argv("-tt"))
    wait_until(lambda: [p for p in ledger_posts(tmp_path) if p.state == "sending"], what="the publish to start")
    terminal.kill()  # the officer's terminal goes away: ssh dies, sshd hangs up the session

    [post] = wait_until(lambda: [p for p in ledger_posts(tmp_path) if p.state not in ("queued", "sending")],
                        what="the publish to finish")
    assert (post.state, post.operator) == (expected, "tanaka"), post.error
    if post.state == "unknown":
        resolved = run_dutypost("--config", str(config), "--operator", "tanaka", "outbox", "resolve", str(post.id))
        assert resolved.returncode == 0, resolved.stderr
        assert "タイムラインにありました" in resolved.stdout
        [post] = ledger_posts(tmp_path)
        assert post.state == "sent"
    assert [p["text"] for p in practice_server.posts()] == [post.text]


# -- the whole program over SSH, as an officer runs it (needs the TUI) -------------

# TYPE_AHEAD: keys that reach the app together (as over a slow link) are dispatched before
# a focus change made by an earlier Tab or Enter has happened, so text typed right after
# them can land in the field being left. The tests wait for a visible sign of the focus
# (a field's help line, an error message) before typing on.


def open_evacuation_order(terminal) -> None:
    """Home → compose 警戒レベル4 避難指示 発令, with the reason and the area typed in.

    Each step waits for the screen to show the last one took (a person waits for the echo).
    """
    terminal.wait_for("検索/番号")
    terminal.type_text("避難指示 発令")
    terminal.wait_for(lambda s: "警戒レベル4 避難指示 発令" in s and "警戒レベル3" not in s)
    terminal.send_keys("Enter")
    terminal.wait_for("作成: 警戒レベル4 避難指示 発令")
    terminal.type_text(REASON)  # the first empty required field has the focus
    terminal.wait_for(lambda s: "文字数" in s and "{理由}" not in s, what="the reason in the preview")
    terminal.send_keys("Tab")
    terminal.wait_for("候補:", what="the area field's help: the focus has moved")  # see TYPE_AHEAD
    terminal.type_text("本郷地区")
    terminal.wait_for(lambda s: "文字数" in s and "{" not in s, what="the preview with both values")


def override_and_publish(terminal) -> None:
    """On the review screen: F8, the first category (CATEGORY), the justification, F10."""
    terminal.wait_for("確認: 警戒レベル4 避難指示 発令")
    terminal.send_keys("F8")
    terminal.wait_for("1. 区分")
    # Keep the first category. F10 without a reason says so and puts the focus in the
    # reason field, visibly; Tab would move it too, but nothing on screen tells when
    # (see TYPE_AHEAD).
    terminal.send_keys("F10")
    terminal.wait_for("理由が短すぎます")
    terminal.type_text(JUSTIFICATION)
    terminal.wait_for(f"{len(JUSTIFICATION)}/10 文字 (OK)")
    terminal.send_keys("F10")


def test_publish_an_evacuation_order_over_ssh(sshd, service_config, practice_server, tmp_path, tmux_terminal):
    practice_config(service_config, practice_server, tmp_path)  # rewrites sshd.config
    terminal = tmux_terminal(80, 24)
    terminal.start(sshd.ssh_argv("-tt"))

    terminal.wait_for(lambda s: "田中 一郎" in s and "本番" in s, what="the key's operator, in live mode")
    open_evacuation_order(terminal)
    terminal.send_keys("F2")
    override_and_publish(terminal)
    terminal.wait_for("本番アカウントに投稿しました")

    [sent] = practice_server.posts()
    assert "本郷地区に避難指示を発令しました" in sent["text"]
    post = ledger_posts(tmp_path)[0]
    assert (post.operator, post.state) == ("tanaka", "sent")
    assert post.override["category"] == CATEGORY
    assert post.override["reason"] == JUSTIFICATION


def test_hangup_during_a_publish_from_the_screen(sshd, service_config, practice_server, tmp_path, tmux_terminal):
    practice_config(service_config, practice_server, tmp_path)
    practice_server.inject({"kind": "slow", "delay": 3})
    terminal = tmux_terminal(80, 24)
    terminal.start(sshd.ssh_argv("-tt"))
    open_evacuation_order(terminal)
    terminal.send_keys("F2")
    override_and_publish(terminal)

    wait_until(lambda: [p for p in ledger_posts(tmp_path) if p.state == "sending"], what="the publish to start")
    terminal.kill()

    [post] = wait_until(lambda: [p for p in ledger_posts(tmp_path) if p.state not in ("queued", "sending")],
                        what="the publish to finish")
    assert (post.state, post.operator) == ("sent", "tanaka"), post.error
    assert [p["text"] for p in practice_server.posts()] == [post.text]


def dutypost_pids(sshd) -> list[int]:
    """The dutypost processes running in the server's sessions."""
    pids = []
    for pid in sshd.session_pids():
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(b"/dutypost") for arg in argv) and b"--operator" in argv:
            pids.append(pid)
    return pids


def test_a_crash_while_composing_keeps_the_draft(sshd, service_config, practice_server, tmp_path, tmux_terminal):
    practice_config(service_config, practice_server, tmp_path)
    first = tmux_terminal(80, 24)
    first.start(sshd.ssh_argv("-tt"))
    open_evacuation_order(first)

    def saved():
        with Ledger(tmp_path / "ledger.sqlite3") as ledger:
            return [d for d in ledger.open_drafts("tanaka") if d.values.get("area") == "本郷地区"]

    wait_until(saved, timeout=10, what="the draft saved (at most a second behind the typing)")
    [pid] = dutypost_pids(sshd)
    os.kill(pid, signal.SIGKILL)
    first.wait_for(lambda s: first.pane_dead(), what="the session to end")

    second = tmux_terminal(80, 24)
    second.start(sshd.ssh_argv("-tt"))
    second.wait_for("下書きがあります")
    second.send_keys("Enter")
    screen = second.wait_for(lambda s: "作成: 警戒レベル4 避難指示 発令" in s and "文字数" in s and "{" not in s,
                             what="compose and its preview with the restored values")
    assert "高まったため" in screen, screen
    assert practice_server.posts() == []


# -- issue 15's night, end to end: paste, board, lift, follow-ups, handover --------------

PASTED_REASON = "台風で\n川の水位が\x1b[2J上がって\nいるため"  # three lines and an escape sequence


def no_line_begins_with_a_comma_or_stop(screen: str) -> None:
    """行頭禁則, as the officer sees it: no line of the screen (inside a box too) begins
    with 、 or 。."""
    for line in screen.splitlines():
        text = line.strip().lstrip("|").strip()
        assert not text.startswith(("、", "。")), f"a line begins with {text[:1]}:\n{screen}"


def test_a_night_over_ssh_paste_order_board_lift_follow_ups_handover(sshd, service_config, practice_server,
                                                                     tmp_path, tmux_terminal):
    practice_config(service_config, practice_server, tmp_path)
    practice_server.set_mode(x_like=True)  # answers as X does: entities, t.co, media links
    terminal = tmux_terminal(80, 24)
    terminal.start(sshd.ssh_argv("-tt"))
    terminal.wait_for(lambda s: "田中 一郎" in s and "本番" in s, what="the key's operator, in live mode")

    # 1. A three-line paste with an escape sequence arrives whole and clean.
    terminal.wait_for("検索/番号")
    terminal.type_text("避難指示 発令")
    terminal.wait_for(lambda s: "警戒レベル4 避難指示 発令" in s and "警戒レベル3" not in s)
    terminal.send_keys("Enter")
    terminal.wait_for("作成: 警戒レベル4 避難指示 発令")
    terminal.paste(PASTED_REASON)
    screen = terminal.wait_for("貼り付けた文字から制御文字", what="the paste notice")
    assert "^[" not in screen and "2J" not in screen
    terminal.wait_for("町は、台風で 川の水位が上がって いるた", what="the pasted reason in the preview, in order")
    terminal.send_keys("Tab")
    terminal.wait_for("候補:", what="the area field's help: the focus has moved")
    terminal.type_text("本郷地区")
    terminal.wait_for(lambda s: "文字数" in s and "{" not in s, what="the preview with both values")
    terminal.send_keys("F2")
    no_line_begins_with_a_comma_or_stop(terminal.wait_for("確認: 警戒レベル4 避難指示 発令"))

    # 2. Published, with an override: on the board.
    terminal.send_keys("F8")
    no_line_begins_with_a_comma_or_stop(terminal.wait_for("1. 区分"))
    terminal.send_keys("F10")
    terminal.wait_for("理由が短すぎます")
    terminal.type_text(JUSTIFICATION)
    terminal.wait_for(f"{len(JUSTIFICATION)}/10 文字 (OK)")
    terminal.send_keys("F10")
    terminal.wait_for("本番アカウントに投稿しました")
    [order] = ledger_posts(tmp_path)
    assert order.state == "sent" and "台風で 川の水位が上がって いるため" in order.text
    assert "\x1b" not in practice_server.posts()[0]["text"]

    # 3. The follow-up channels, each ticked and recorded.
    terminal.wait_for("他の媒体への連絡 (残り 4 件)")
    for left in (3, 2, 1):
        terminal.send_keys("Space")
        terminal.wait_for(f"残り {left} 件")
    terminal.send_keys("Space")
    terminal.wait_for("すべて記録しました")
    terminal.send_keys("Escape")
    screen = terminal.wait_for("発令中 1 件", what="the order on home's board")
    assert "警戒レベル4 避難指示 本郷地区" in screen

    # 4. Its lift, from the board: the board clears.
    terminal.send_keys("Tab")
    terminal.wait_for(lambda s: "/ 検索" in s, what="the focus in the template list")
    terminal.send_keys("Tab")
    terminal.wait_for(lambda s: "/ 検索" not in s, what="the focus on the board")
    terminal.send_keys("k")
    terminal.wait_for("作成: 警戒レベル4 避難指示 解除")
    terminal.type_text("川の水位が下がったため")
    terminal.wait_for(lambda s: "文字数" in s and "{" not in s, what="the lift's preview")
    terminal.send_keys("F2")
    terminal.wait_for("確認: 警戒レベル4 避難指示 解除")
    terminal.send_keys("F8")
    terminal.wait_for("1. 区分")
    terminal.send_keys("F10")
    terminal.wait_for("理由が短すぎます")
    terminal.type_text(JUSTIFICATION)
    terminal.wait_for(f"{len(JUSTIFICATION)}/10 文字 (OK)")
    terminal.send_keys("F10")
    terminal.wait_for("本番アカウントに投稿しました")
    terminal.send_keys("Escape")
    terminal.wait_for("発令中なし", what="the board cleared")

    # 5. The handover page, written beside the ledger.
    terminal.send_keys("F8")
    screen = terminal.wait_for("書き出しました: handover/")
    assert "発令中 (0 件)" in screen
    [page] = (tmp_path / "handover").glob("handover-*.md")
    text = page.read_text(encoding="utf-8")
    assert "事後承認待ち (2 件)" in text
    assert [p.state for p in ledger_posts(tmp_path)] == ["sent", "sent"]
