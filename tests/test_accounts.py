"""Several accounts (issue 13 item 3) and credentials that age (item 4): the real config
loader, real subprocesses of the CLI against the practice server on 127.0.0.1, real ledger
files and secrets files, and the TUI through Textual's Pilot."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from dutypost.core.config_loader import load_settings
from dutypost.core.credentials import (
    ROTATION_DAYS,
    SECRET_KEYS,
    credential_age,
    load_credentials,
    rotation_notices,
    secrets_path,
    write_secrets,
)
from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.core.errors import InputError
from dutypost.core.gate import evaluate
from dutypost.core.ledger import SCHEMA_VERSION, Ledger

from test_cli import ALWAYS_OPEN, EVAC_VALUES, OVERRIDE, creds_env, dutypost, live_config, no_traceback  # noqa: F401
from test_tui import tui_context  # noqa: F401 (fixture)

DEMO = {k: getattr(DEMO_CREDENTIALS, k) for k in SECRET_KEYS}
BAD = {k: f"not-{k}" for k in SECRET_KEYS}


# -- the config ----------------------------------------------------------------------------


def test_the_example_config_has_the_official_account_first_and_a_pr_only_mascot(example_config_path):
    settings = load_settings(example_config_path, fresh=True)
    assert [(a.id, a.kind) for a in settings.accounts] == [("official", "official"), ("mascot", "mascot")]
    assert settings.account.id == "official"  # the default: the first official account
    mascot = settings.account_by_id("mascot")
    assert "PR" in mascot.categories and "避難情報" not in mascot.categories
    assert mascot.consult_title and mascot.approver_departments
    assert mascot.label() == "マスコット あみみん @amimin_town"


def test_an_old_single_account_section_loads_as_one_official_account(tmp_path):
    path = tmp_path / "old.toml"
    path.write_text('[account]\nname = "阿見町公式"\nhandle = "TownAmi"\n', encoding="utf-8")
    settings = load_settings(path, fresh=True)
    assert [(a.id, a.kind, a.handle) for a in settings.accounts] == [("official", "official", "TownAmi")]
    assert settings.account.handle == "TownAmi" and settings.municipality.name == "阿見町"


def test_account_and_accounts_together_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "both.toml"
    path.write_text('[account]\nname = "a"\n\n[[accounts]]\nid = "official"\nname = "b"\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_settings(path, fresh=True)
    assert str(path) in err.value.message and "[[accounts]]" in err.value.message


@pytest.mark.parametrize(("body", "words"), [
    ('[[accounts]]\nid = "a"\nkind = "mascot"\n', "公式アカウント"),
    ('[[accounts]]\nid = "a"\n\n[[accounts]]\nid = "a"\n', "重複"),
    ('[[accounts]]\nid = "a"\nkind = "pr"\n', "accounts.0.kind"),
    ('[[accounts]]\nid = "Official Town"\n', "アカウントID"),
    ('[[accounts]]\nid = "a"\nhandle = "@TownAmi"\n', "@ を付けず"),
])
def test_a_wrong_accounts_table_says_what_to_fix(tmp_path, body, words):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_settings(path, fresh=True)
    assert words in str(err.value), str(err.value)


# -- the gate --------------------------------------------------------------------------------


def _decide(settings, account_id, *, emergency, category, clock):
    return evaluate(text="本文です。", settings=settings, poster=settings.operator("tanaka"), now=clock(), drill=False,
                    emergency=emergency, approval=None, override=None, acks=(),
                    account=settings.account_by_id(account_id), category=category)


def test_a_mascot_never_publishes_life_safety_citing_seed_004(example_config_path, clock):
    settings = load_settings(example_config_path, fresh=True)
    decision = _decide(settings, "mascot", emergency=True, category="PR", clock=clock)
    [finding] = [f for f in decision.blocking if f.rule == "account"]
    assert "004" in finding.message and "マスコット" in finding.message and "町民活動課長" in finding.message
    assert not [f for f in _decide(settings, "official", emergency=True, category="避難情報", clock=clock).blocking
                if f.rule == "account"]


def test_a_category_the_account_may_not_publish_is_blocked(example_config_path, clock):
    settings = load_settings(example_config_path, fresh=True)
    blocked = _decide(settings, "mascot", emergency=False, category="生活", clock=clock)
    [finding] = [f for f in blocked.blocking if f.rule == "account"]
    assert "「生活」" in finding.message and "PR" in finding.message  # what it may post instead
    allowed = _decide(settings, "mascot", emergency=False, category="PR", clock=clock)
    assert not [f for f in allowed.blocking if f.rule == "account"]


# -- the command line ------------------------------------------------------------------------


def test_the_mascot_account_cannot_post_an_evacuation_order_exit_3(live_config):
    """Done when (issue 13): with the example config, the mascot cannot publish a 避難指示,
    not even with an emergency override."""
    cfg = live_config()
    proc = dutypost("--config", str(cfg), "--account", "mascot", "post", "evac-l4", *EVAC_VALUES, *OVERRIDE,
                    env=creds_env())
    no_traceback(proc)
    assert proc.returncode == 3, proc.stderr
    assert "004" in proc.stderr and "マスコット" in proc.stderr and "--account" in proc.stderr
    ledger = Ledger(load_settings(cfg).ledger.path)
    assert ledger.list_posts() == []  # nothing recorded, nothing sent


def test_an_unknown_account_is_bad_input_naming_the_ids(live_config):
    proc = dutypost("--config", str(live_config()), "--account", "nope", "history")
    no_traceback(proc)
    assert proc.returncode == 2 and "official" in proc.stderr and "mascot" in proc.stderr


def test_account_reaches_its_own_credentials_handle_and_records(live_config, practice_server):
    """--account mascot posts with the mascot's secrets file (never the town's environment
    variables), and history, 様式第1号 and the audit trail record the account."""
    cfg = live_config()
    settings = load_settings(cfg)
    write_secrets(secrets_path(settings, settings.account_by_id("mascot")), DEMO)
    write_secrets(secrets_path(settings), BAD)  # the official account's file: refused by the server
    args = ["--config", str(cfg), "post", "impersonation-warning", "--set", "fake=表示名「あみみん公式」",
            "--approver", "yamada", "--approval-method", "phone"]
    official = dutypost(*args[:6], "--approver", "suzuki", "--approval-method", "phone")
    no_traceback(official)
    assert official.returncode in (2, 4), official.stderr  # the official account's bad token: not sent
    sent = dutypost(*args[:2], "--account", "mascot", *args[2:])
    assert sent.returncode == 0, sent.stderr
    assert [p["text"] for p in practice_server.posts()][-1].startswith("【ご注意ください】")
    ledger = Ledger(settings.ledger.path)
    post = next(p for p in ledger.list_posts() if p.state == "sent")
    assert post.account == "mascot"
    form = dutypost("--config", str(cfg), "form", str(post.id))
    assert "あみみん @amimin_town" in form.stdout
    history = dutypost("--config", str(cfg), "history")
    assert "あみみん @amimin_town" in history.stdout
    assert json.loads(dutypost("--config", str(cfg), "history", "--json").stdout)[0]["account"] == "mascot"
    queued = next(e for e in ledger.export() if e["kind"] == "post.queued" and e["post_id"] == post.id)
    assert queued["payload"]["account"] == "mascot"
    # The approver route: the poster's own department does not approve the mascot's posts.
    again = dutypost(*args[:2], "--account", "mascot", *args[2:6], "--approver", "suzuki",
                     "--approval-method", "phone", "--ack", "duplicate")
    assert again.returncode == 3 and "町民活動課長" in again.stderr, again.stderr


def test_the_environment_credentials_are_the_default_accounts_only(example_config_path, monkeypatch):
    settings = load_settings(example_config_path, fresh=True)
    for name, value in creds_env().items():
        monkeypatch.setenv(name, value)
    assert load_credentials(settings) == DEMO
    assert load_credentials(settings, settings.account_by_id("mascot")) is None


def test_the_migration_adds_the_account_to_an_old_ledger(tmp_path):
    path = tmp_path / "old.sqlite3"
    with Ledger(path) as ledger:
        ledger.create_post(operator="tanaka", department="防災危機管理課", template_id=None, text="本文",
                           parts=["本文"], drill=True)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT account FROM posts").fetchone()[0] == ""


# -- credentials that age (R10) --------------------------------------------------------------


def test_credentials_91_days_old_are_due_and_config_check_says_so(live_config):
    cfg = live_config()
    settings = load_settings(cfg)
    now = datetime.now(timezone.utc)
    write_secrets(secrets_path(settings), DEMO, issued_at=now - timedelta(days=91))
    write_secrets(secrets_path(settings, settings.account_by_id("mascot")), DEMO, issued_at=now - timedelta(days=10))
    age = credential_age(settings, settings.account, now)
    assert age is not None and age.days == 91 and age.due and ROTATION_DAYS == 90
    [notice] = rotation_notices(settings, now)
    assert "91 日" in notice and "dutypost auth --account official" in notice
    proc = dutypost("--config", str(cfg), "config", "check")
    assert proc.returncode == 0, proc.stderr
    assert "認証情報の更新" in proc.stdout and "dutypost auth --account official" in proc.stdout
    assert "--account mascot" not in proc.stdout  # 10 days old: not due


def test_credentials_89_days_old_are_not_due(example_config_path, tmp_path):
    settings = load_settings(example_config_path, fresh=True)
    now = datetime.now(timezone.utc)
    write_secrets(secrets_path(settings), DEMO, issued_at=now - timedelta(days=89))
    assert rotation_notices(settings, now) == []


def test_a_secrets_file_without_issued_at_is_due(example_config_path):
    settings = load_settings(example_config_path, fresh=True)
    path = secrets_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[x]\n" + "".join(f'{k} = "{v}"\n' for k, v in DEMO.items()), encoding="utf-8")
    path.chmod(0o600)
    [notice] = rotation_notices(settings, datetime.now(timezone.utc))
    assert "発行日が記録されていません" in notice
    assert load_credentials(settings) == DEMO  # still usable: only due for renewal


class Terminal:
    """A real pseudo-terminal running the CLI (``dutypost auth`` wants one: it reads the PIN)."""

    def __init__(self, *args: str) -> None:
        import os
        import pty
        import sys

        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the CLI, with the pty as its terminal
            os.execve(sys.executable, [sys.executable, "-m", "dutypost.core.cli", *args], dict(os.environ))
        self.output = ""

    def expect(self, pattern: str, timeout: float = 30) -> "re.Match[str]":
        import os
        import re
        import select
        import time

        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.output)
            if found:
                self.output = self.output[found.end():]
                return found
            ready, _, _ = select.select([self.fd], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                raise AssertionError(f"{pattern!r} not seen; the terminal shows: {self.output!r}")
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"{pattern!r} not seen before the end; the terminal shows: {self.output!r}")
            self.output += chunk.decode("utf-8", errors="replace")

    def send(self, line: str) -> None:
        import os

        os.write(self.fd, (line + "\n").encode())

    def wait(self) -> int:
        import os

        try:
            while os.read(self.fd, 4096):
                pass
        except OSError:
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_auth_renews_the_selected_accounts_file_with_its_issue_date(live_config, practice_server):
    """``dutypost auth --account mascot`` in a real terminal (PIN login on the practice
    server): the mascot's file is written again, with a new issued_at; the official one not."""
    from urllib.parse import parse_qs, urlsplit

    import httpx

    cfg = live_config()
    settings = load_settings(cfg)
    mascot = settings.account_by_id("mascot")
    write_secrets(secrets_path(settings, mascot), DEMO, issued_at=datetime.now(timezone.utc) - timedelta(days=120))
    assert credential_age(settings, mascot, datetime.now(timezone.utc)).due
    term = Terminal("--config", str(cfg), "auth", "--account", "mascot")
    term.expect("あみみん")
    term.expect("consumer key")
    term.send(DEMO["consumer_key"])
    term.expect("consumer secret")
    term.send(DEMO["consumer_secret"])
    url = term.expect(r"(http://127\.0\.0\.1:\d+/oauth/authorize\?oauth_token=[^\s]+)").group(1)
    token = parse_qs(urlsplit(url).query)["oauth_token"][0]
    pin = httpx.get(f"{practice_server.url}/_practice/pin", params={"oauth_token": token}).json()["pin"]
    term.expect("PIN: ")
    term.send(pin)
    term.expect("ログインしました")
    assert term.wait() == 0
    age = credential_age(settings, mascot, datetime.now(timezone.utc))
    assert age is not None and age.days == 0 and not age.due
    assert load_credentials(settings, mascot)["access_token"] != DEMO["access_token"]  # a new token
    assert not secrets_path(settings).exists()  # the official account's file was not written


# -- the screen ---------------------------------------------------------------------------------


@pytest.fixture
def anyio_backend():
    return "asyncio"


def _top_line(app) -> str:
    top = app.screen.query_one("#status-top")
    return str(top.render())


@pytest.mark.anyio
@pytest.mark.parametrize("drill", [False, True])
async def test_the_status_bar_shows_the_account_at_80x24_without_colour(tui_context, monkeypatch, drill):
    """Done when (issue 13): the selected account is on screen at 80×24 with NO_COLOR, in
    words, beside 本番/訓練 — for the official account and the mascot alike."""
    from test_tui import settle

    from dutypost.tui.app import make_app

    monkeypatch.setenv("NO_COLOR", "1")
    ctx = tui_context(drill=drill)
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert app.no_color
        line = _top_line(app)
        assert ("訓練 DRILL" if drill else "本番 LIVE") in line
        assert "公式 阿見町公式" in line
        from rich.cells import cell_len

        assert cell_len(line) <= 80
        ctx.select_account("mascot")
        app.screen.query_one("#status-top").show_account(ctx)
        await pilot.pause()
        line = _top_line(app)
        assert "マスコット あみみん" in line and ("訓練 DRILL" if drill else "本番 LIVE") in line
        assert cell_len(line) <= 80


@pytest.mark.anyio
async def test_switching_the_account_needs_f10_in_the_dialog(tui_context, practice_server):
    from test_tui import settle

    from dutypost.tui.app import make_app
    from dutypost.tui.modals.account import AccountModal

    ctx = tui_context()
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f9")
        await settle(app, pilot)
        assert isinstance(app.screen, AccountModal)
        await pilot.press("down", "enter")  # Enter alone does not switch
        await settle(app, pilot)
        assert isinstance(app.screen, AccountModal) and ctx.account.id == "official"
        assert "004" in str(app.screen.query_one("#account-note").render())
        await pilot.press("f10")
        await settle(app, pilot)
        assert not isinstance(app.screen, AccountModal)
        assert ctx.account.id == "mascot" and ctx.handle == "amimin_town"
        assert "マスコット あみみん" in _top_line(app)
        await pilot.press("ctrl+n")  # the Ctrl twin; Esc goes back without switching
        await settle(app, pilot)
        assert isinstance(app.screen, AccountModal)
        await pilot.press("up", "escape")
        await settle(app, pilot)
        assert ctx.account.id == "mascot"


@pytest.mark.anyio
async def test_home_tells_the_security_role_that_credentials_are_due(tui_context):
    from test_tui import settle

    from dutypost.tui.app import make_app

    for operator, shown in (("takahashi", True), ("tanaka", False)):
        ctx = tui_context(operator=operator)
        write_secrets(secrets_path(ctx.settings), DEMO, issued_at=ctx.now() - timedelta(days=91))  # the app's clock
        app = make_app(ctx)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            title = str(app.screen.query_one("#recent-title").render())
            assert ("認証情報の更新時期" in title) is shown, title


@pytest.mark.anyio
async def test_on_the_mascot_account_the_review_screen_blocks_an_evacuation_order(tui_context, practice_server):
    from test_tui import open_evac_l4, screen_text, settle

    from dutypost.tui.app import make_app

    ctx = tui_context()
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("f9", "down", "f10")
        await settle(app, pilot)
        assert ctx.account.id == "mascot"
        await open_evac_l4(app, pilot, ctx)
        assert "マスコット あみみん" in _top_line(app)
        text = screen_text(app)
        assert "004" in text and "マスコット" in text, text
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReviewScreen"
        assert practice_server.posts() == [] and ctx.ledger.list_posts() == []
