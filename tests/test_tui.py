"""The TUI driven with Textual's Pilot at 80x24, as a duty officer would: keys only.

Everything is real: the example town's config in tmp_path, its SQLite ledger, and the
practice X server on 127.0.0.1. A fixed clock decides in hours (Tuesday 10:00 JST) or
out of hours (Tuesday 03:20 JST). Tests wait for workers, never for time.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from dutypost.core.context import build_context
from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.tui.app import DutypostApp, make_app

IN_HOURS = datetime(2026, 9, 1, 1, 0, tzinfo=timezone.utc)  # 2026-09-01 (火) 10:00 JST
OUT_OF_HOURS = datetime(2026, 8, 31, 18, 20, tzinfo=timezone.utc)  # 2026-09-01 (火) 03:20 JST
SIZE = (80, 24)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"

REASON = "大雨で土砂災害の危険が高まったため"
JUSTIFICATION = "土砂災害の危険が迫り住民の避難が必要なため"


@pytest.fixture
def tui_context(config_file, practice_server, monkeypatch):
    """``tui_context(drill=..., clock=..., timeout=...)``: a DutyContext on the practice server."""
    made = []

    def make(*, drill: bool = False, clock: datetime = IN_HOURS, timeout: float = 15, operator: str = "tanaka"):
        path = config_file(replace={
            "x": f'api_base_url = "{practice_server.url}"\ntimeout_seconds = {timeout}',
            "drill": f'api_base_url = "{practice_server.url}"\nmarker = "【訓練】"',
        })
        for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret"):
            monkeypatch.setenv(f"DUTYPOST_X__{name.upper()}", getattr(DEMO_CREDENTIALS, name))
        ctx = build_context(path, drill=drill, clock=lambda: clock, os_user=operator)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def number_of(ctx, template_id: str) -> str:
    """The two-digit quick number the home screen shows beside a template."""
    ids = [t.id for t in ctx.templates.templates]
    return f"{ids.index(template_id) + 1:02d}"


async def settle(app: DutypostApp, pilot) -> None:
    """Let the app finish what the last keys started: its workers, the messages they post,
    and what those start in turn (a screen pushed, its own load).

    Textual's ``pause()`` waits for "idle" by comparing process time with wall time; on a
    busy 2-core CI machine a starved process looks idle too early. So this waits on the
    work itself, round after round, until two rounds in a row find nothing pending.
    """
    quiet = 0
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        quiet = 0 if _pending(app) else quiet + 1
        if quiet == 2:
            return
    raise AssertionError("the app never settled: a worker or a message queue stayed busy")


def _pending(app: DutypostApp) -> bool:
    """A worker not finished, or a message not yet handled by the app or the screen."""
    if any(not worker.is_finished for worker in app.workers):
        return True
    return any(node._message_queue.qsize() for node in [app, *app.screen.walk_children(with_self=True)])


def screen_text(app: DutypostApp) -> str:
    """Everything the current screen shows, as plain text."""
    from textual.widgets import Static

    from dutypost.tui.widgets.preview import PreviewPane

    parts = [str(widget.render()) for widget in app.screen.query(Static)]
    parts += [pane.plain for pane in app.screen.query(PreviewPane)]
    return "\n".join(parts)


async def type_text(pilot, text: str) -> None:
    """Type like a terminal sends text: one key event per character.

    Pilot.press only knows characters whose key name maps back to a character (not ○ or
    、), so those go in as the key event the terminal driver would have posted.
    """
    from textual import events
    from textual.keys import _character_to_key

    for char in text:
        if char.isalnum():
            await pilot.press(char)
        else:
            pilot.app.post_message(events.Key(_character_to_key(char), char))
            await pilot.pause()


async def open_evac_l4(app, pilot, ctx, *, area: str = "本郷地区") -> None:
    """Home → evac-l4 by its number → reason and area typed → Enter past the shelter → review."""
    await settle(app, pilot)
    await pilot.press(*number_of(ctx, "evac-l4"))
    await settle(app, pilot)
    assert type(app.screen).__name__ == "ComposeScreen"
    await type_text(pilot, REASON)
    await pilot.press("enter")
    await type_text(pilot, area)
    await pilot.press("enter", "enter")
    await settle(app, pilot)
    assert type(app.screen).__name__ == "ReviewScreen"


async def test_post_in_hours_with_a_verbal_approval(tui_context, practice_server):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        assert app.screen.check_action("publish", ()) is None  # no approval yet
        assert "承認が記録されていません" in screen_text(app)
        await pilot.press("f7")
        await settle(app, pilot)
        await pilot.press("enter")  # 鈴木 花子 / 電話, the first choice
        await settle(app, pilot)
        assert "[OK] 承認  鈴木 花子 (電話" in screen_text(app)
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        assert "本番アカウントに投稿しました" in screen_text(app)
        post = ctx.ledger.list_posts(limit=1)[0]
        assert post.state == "sent"
        assert post.approval["approver"] == "suzuki" and post.approval["method"] == "phone"
        assert post.override is None
        assert [p["text"] for p in practice_server.posts()] == [post.text]
        assert post.url and post.url in screen_text(app)
        await pilot.press("u")
        assert app.clipboard == post.url
        await pilot.press("c")
        assert app.clipboard == post.text


async def test_out_of_hours_needs_an_override_whose_justification_is_recorded(tui_context, practice_server):
    ctx = tui_context(clock=OUT_OF_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        text = screen_text(app)
        assert "[NG] 時間" in text and "勤務時間外" in text
        assert app.screen.check_action("publish", ()) is None
        assert app.screen.check_action("override", ()) is True
        await pilot.press("f8")
        await settle(app, pilot)
        assert "本番アカウントに投稿します。住民に届きます。" in screen_text(app)
        await pilot.press("enter")  # the first category
        await type_text(pilot, "短い")
        await pilot.press("f10")
        await settle(app, pilot)
        assert "理由が短すぎます" in screen_text(app)  # core's message, and nothing was sent
        assert practice_server.posts() == []
        await type_text(pilot, JUSTIFICATION)
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        post = ctx.ledger.list_posts(limit=1)[0]
        assert post.state == "sent"
        assert post.override["reason"] == "短い" + JUSTIFICATION
        assert post.override["category"] == ctx.settings.gate.override_categories[0]
        assert set(post.override["lifted"]) == {"hours", "approval"}
        assert len(practice_server.posts()) == 1
        assert app.post_hoc_count == 1  # 事後承認待ち, shown in the status bar


async def test_override_is_not_offered_in_hours_with_an_approval(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        assert app.screen.check_action("override", ()) is True  # no approval yet
        await pilot.press("f7", "enter")
        await settle(app, pilot)
        assert app.screen.check_action("override", ()) is False
        assert app.screen.check_action("publish", ()) is True


async def test_an_unfilled_placeholder_blocks_the_post(tui_context, practice_server):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx, area="○○地区")
        await pilot.press("f7", "enter")
        await settle(app, pilot)
        text = screen_text(app)
        assert "[NG] 内容" in text and "未記入" in text, text
        assert app.screen.check_action("publish", ()) is None
        assert app.screen.check_action("override", ()) is False  # content is never overridden
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReviewScreen"
        assert ctx.ledger.list_posts() == []
        assert practice_server.posts() == []


async def test_a_warning_must_be_acknowledged_before_publishing(tui_context, practice_server):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*number_of(ctx, "evac-l4"))
        await settle(app, pilot)
        await type_text(pilot, "川が氾濫したらしいため")
        await pilot.press("enter")
        await type_text(pilot, "本郷地区")
        await pilot.press("f2")
        await settle(app, pilot)
        await pilot.press("f7", "enter")
        await settle(app, pilot)
        assert "[ ] 不確かな情報" in screen_text(app) or "[ ]" in _warnings_text(app)
        assert app.screen.check_action("publish", ()) is None
        assert app.focused.id == "warnings"
        await pilot.press("space")
        await settle(app, pilot)
        assert "[x]" in _warnings_text(app)
        assert app.screen.check_action("publish", ()) is True
        await pilot.press("f10")
        await settle(app, pilot)
        post = ctx.ledger.list_posts(limit=1)[0]
        assert post.state == "sent"
        assert "rumour" in post.acks


def _warnings_text(app) -> str:
    from textual.widgets import OptionList

    listing = app.screen.query_one("#warnings", OptionList)
    return "\n".join(str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count))


async def test_a_429_is_shown_with_its_wait_and_the_post_stays_in_the_outbox(tui_context, practice_server):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        await pilot.press("f7", "enter")
        await settle(app, pilot)
        practice_server.inject({"kind": "status", "status": 429, "reset_in": 120})
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        text = screen_text(app)
        assert "429" in text
        assert "2 分" in text  # the wait, from X's x-rate-limit-reset
        assert "c で本文をコピー" in text  # the way out when X cannot take it
        post = ctx.ledger.list_posts(limit=1)[0]
        assert post.state == "failed"
        assert app.screen.check_action("resend", ()) is True
        assert app.screen.check_action("reconcile", ()) is False
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("f3")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "OutboxScreen"
        assert f"#{post.id} [失敗]" in str(app.screen.query_one("#outbox").get_option_at_index(0).prompt)
        assert app.screen.check_action("resend", ()) is True
        assert app.screen.check_action("reconcile", ()) is None
        await pilot.press("f6")  # resend, now that X accepts posts again
        await settle(app, pilot)
        assert ctx.ledger.get_post(post.id).state == "sent"
        assert len(practice_server.posts()) == 1


async def test_a_resend_out_of_hours_passes_the_gate_again_with_an_override(tui_context, practice_server):
    from dutypost.core.publish import compose_text, make_approval, publish

    first = tui_context(clock=IN_HOURS)
    composition = compose_text(first, "中央公民館に避難所を開設しています。", template_id=None, emergency=False,
                               threads_allowed=False)
    practice_server.inject({"kind": "status", "status": 503})
    with pytest.raises(Exception):
        publish(first, composition, approval=make_approval(first, "suzuki", "phone"), acks=["cost"])
    post = first.ledger.list_posts(limit=1)[0]
    assert post.state == "failed"
    ctx = tui_context(clock=OUT_OF_HOURS)  # the resend comes at 03:20
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f3")
        await settle(app, pilot)
        await pilot.press("f6")  # resend: the gate stops it for the hours and asks for an override
        await settle(app, pilot)
        assert type(app.screen).__name__ == "OverrideModal"
        assert practice_server.posts() == []
        await pilot.press("enter")  # the first category
        await type_text(pilot, JUSTIFICATION)
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        assert "再送しました" in screen_text(app)
        assert ctx.ledger.get_post(post.id).state == "sent"
        assert ctx.ledger.get_post(post.id).override["reason"] == JUSTIFICATION
        [event] = [e for e in ctx.ledger.events(post.id) if e.kind == "post.resend"]
        assert event.payload["resent_by"] == "tanaka" and event.payload["lifted"] == ["hours"]
        assert [p["text"] for p in practice_server.posts()] == [post.text]  # exactly one copy


async def test_a_resend_with_a_stale_time_is_stopped_until_the_officer_acknowledges_it(tui_context, practice_server):
    from datetime import timedelta

    from dutypost.core.publish import compose_text, make_approval, publish

    first = tui_context(clock=IN_HOURS)
    composition = compose_text(first, "10時00分現在、中央公民館に避難所を開設しています。", template_id=None,
                               emergency=False, threads_allowed=False)
    practice_server.inject({"kind": "status", "status": 503})
    with pytest.raises(Exception):
        publish(first, composition, approval=make_approval(first, "suzuki", "phone"), acks=["cost"])
    post = first.ledger.list_posts(limit=1)[0]
    ctx = tui_context(clock=IN_HOURS + timedelta(hours=3))  # 13:00 JST: the 「10時00分現在」 is stale
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f3")
        await settle(app, pilot)
        await pilot.press("f6")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        text = screen_text(app)
        assert "再送の前のチェックで止まっています" in text and "10時00分現在" in text
        assert practice_server.posts() == [] and ctx.ledger.get_post(post.id).state == "failed"
        await pilot.press("f6")  # seen: resend with the warning acknowledged
        await settle(app, pilot)
        assert ctx.ledger.get_post(post.id).state == "sent"
        [event] = [e for e in ctx.ledger.events(post.id) if e.kind == "post.resend"]
        assert "stale-time" in event.payload["acks"]
        assert [p["text"] for p in practice_server.posts()] == [post.text]


async def test_when_x_cannot_be_reached_the_text_can_be_copied_to_post_from_a_phone(tui_context, closed_port_url):
    ctx = tui_context(clock=IN_HOURS)
    ctx.settings.x.api_base_url = closed_port_url  # nobody listens: connection refused
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "X: 未接続" in screen_text(app)
        await open_evac_l4(app, pilot, ctx)
        await pilot.press("f7", "enter")
        await settle(app, pilot)
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        text = screen_text(app)
        assert "失敗" in text and "スマートフォン" in text
        post = ctx.ledger.list_posts(limit=1)[0]
        assert post.state == "failed"
        await pilot.press("c")
        assert app.clipboard == post.text


async def test_an_unknown_outcome_leads_to_reconciliation_not_a_resend(tui_context, practice_server):
    ctx = tui_context(clock=IN_HOURS, timeout=1)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        await pilot.press("f7", "enter")
        await settle(app, pilot)
        practice_server.inject({"kind": "timeout_after_store", "delay": 2})
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        text = screen_text(app)
        assert "結果不明" in text and "再送はしないでください" in text
        post = ctx.ledger.list_posts(limit=1)[0]
        assert post.state == "unknown"
        assert app.screen.check_action("resend", ()) is False  # never a blind resend
        assert app.screen.check_action("reconcile", ()) is True
        await pilot.press("f6")
        await settle(app, pilot)
        assert len(practice_server.posts()) == 1
        await pilot.press("f5")
        await settle(app, pilot)
        assert "タイムラインにありました" in screen_text(app)
        assert ctx.ledger.get_post(post.id).state == "sent"
        assert [p["text"] for p in practice_server.posts()] == [post.text]  # exactly one copy


async def test_drill_mode_is_marked_and_posts_carry_the_drill_marker(tui_context, practice_server):
    ctx = tui_context(drill=True, clock=OUT_OF_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "【訓練 DRILL】" in screen_text(app)
        assert "本番" not in screen_text(app)
        await open_evac_l4(app, pilot, ctx)
        assert "緊急オーバーライド" in screen_text(app)
        await pilot.press("f8", "enter")
        await type_text(pilot, JUSTIFICATION)
        await settle(app, pilot)
        assert "訓練として練習サーバーに投稿します" in screen_text(app)
        await pilot.press("f10")
        await settle(app, pilot)
        post = ctx.ledger.list_posts(limit=1)[0]
        assert post.drill and post.text.startswith("【訓練】")
        assert "練習サーバー" in screen_text(app)


async def test_live_mode_sign_reads_without_colour(tui_context):
    ctx = tui_context(drill=False)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        text = screen_text(app)
        assert "本番 LIVE" in text and "訓練" not in text
        assert "X: 接続済み" in text
        assert "勤務時間内" in text
        assert "田中 一郎" in text


async def test_typing_saves_a_draft_that_the_next_start_offers_to_restore(tui_context):
    ctx = tui_context()
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*number_of(ctx, "evac-l4"))
        await settle(app, pilot)
        await type_text(pilot, REASON)
        await pilot.press("escape")  # back home; the draft is kept
        await settle(app, pilot)
    drafts = ctx.ledger.open_drafts("tanaka")
    assert [d.values["reason"] for d in drafts] == [REASON]

    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert type(app.screen).__name__ == "DraftsModal"
        await pilot.press("enter")  # 復元する
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ComposeScreen"
        assert app.screen.values()["reason"] == REASON
        assert app.screen.draft_id == drafts[0].id


async def test_a_draft_left_by_a_crash_can_be_discarded(tui_context):
    ctx = tui_context()
    draft_id = ctx.ledger.save_draft(operator="tanaka", template_id="evac-l4", values={"reason": REASON},
                                     text="", drill=False)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert type(app.screen).__name__ == "DraftsModal"
        await pilot.press("d")  # 破棄する
        await settle(app, pilot)
        assert type(app.screen).__name__ == "HomeScreen"
    assert ctx.ledger.open_drafts("tanaka") == []
    assert draft_id


async def test_the_preview_shows_count_findings_and_thread_split(tui_context, monkeypatch):
    from dutypost.tui.screens.compose import ComposeScreen

    monkeypatch.setattr(ComposeScreen, "PREVIEW_DELAY", 0)
    ctx = tui_context()
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*number_of(ctx, "evac-l4"))
        await settle(app, pilot)
        assert "{対象地区}" in screen_text(app)  # empty required fields are shown, and blocked
        await type_text(pilot, "避難勧告のため")
        await settle(app, pilot)
        text = screen_text(app)
        assert f"/{ctx.settings.x.max_weighted_length}" in text
        assert "[要確認]" in text and "避難勧告" in text  # obsolete term (R12)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press(*number_of(ctx, "radio-supplement"))  # a template that may become a thread
        await settle(app, pilot)
        await type_text(pilot, "大雨のため本郷地区に避難指示を発令しました。" * 5)
        await settle(app, pilot)
        text = screen_text(app)
        assert "スレッド 2 件に分けて投稿" in text
        assert "(1/2)" in text and "(2/2)" in text


async def test_search_filters_and_enter_opens(tui_context):
    ctx = tui_context()
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await type_text(pilot, "停電")
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ComposeScreen"
        assert "停電" in app.screen.template.title
        await pilot.press("escape")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "HomeScreen"


async def test_f1_shows_help_for_the_screen_and_its_keys(tui_context):
    ctx = tui_context()
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f1")
        await settle(app, pilot)
        text = screen_text(app)
        assert "ホーム画面" in text and "F3/^O" in text
        await pilot.press("escape")
        await pilot.press("ctrl+g")  # the twin of F1
        await settle(app, pilot)
        assert type(app.screen).__name__ == "HelpModal"


async def test_the_keymap_from_config_remaps_a_binding_by_id(tui_context):
    ctx = tui_context()
    ctx.settings.tui.keymap = {"home.outbox": "f9"}
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f3")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "HomeScreen"
        await pilot.press("f9")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "OutboxScreen"


async def test_slow_link_mode_uses_the_ansi_theme(tui_context):
    app = make_app(tui_context(), slow_link=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.theme == "ansi-dark"
        assert "本番 LIVE" in screen_text(app)


def test_every_binding_has_a_stable_id_and_no_ctrl_enter():
    import importlib
    import inspect
    import pkgutil

    from textual.binding import Binding

    import dutypost.tui

    classes = []
    for info in pkgutil.walk_packages(dutypost.tui.__path__, "dutypost.tui."):  # screens/, modals/, widgets/ too
        module = importlib.import_module(info.name)
        classes += [c for _, c in inspect.getmembers(module, inspect.isclass)
                    if c.__module__ == module.__name__ and "BINDINGS" in c.__dict__]
    assert len(classes) >= 12
    for cls in classes:
        for binding in cls.BINDINGS:
            assert isinstance(binding, Binding)
            assert binding.system or binding.id, f"{cls.__name__}: {binding.key} has no id"
            assert "ctrl+enter" not in binding.key
            keys = binding.key.split(",")
            if any(k.startswith("f") and k[1:].isdigit() for k in keys):
                assert any(k.startswith("ctrl+") for k in keys), f"{binding.id}: F-key without a Ctrl twin"


def test_a_dropped_session_keeps_the_draft_being_typed(tmp_path):
    """SIGHUP (the SSH session dropped) while typing: the app leaves cleanly, draft saved."""
    import os
    import select
    import signal
    import subprocess
    import sys

    from dutypost.core.config import EXAMPLE_CONFIG
    from dutypost.core.config_loader import load_settings
    from dutypost.core.ledger import Ledger
    from dutypost.core.templates import bundled_dirs, load_templates

    ids = [t.id for t in load_templates(bundled_dirs(load_settings(EXAMPLE_CONFIG))).templates]
    typed = "川の水位が上昇のため"  # fits the field, and is nowhere else on the screen
    home = tmp_path / "home"
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "XDG_DATA_HOME": str(home / "data"),
           "XDG_CONFIG_HOME": str(home / "config"), "XDG_STATE_HOME": str(home / "state"),
           "TERM": "xterm-256color", "LANG": "C.UTF-8", "COLUMNS": "80", "LINES": "24"}
    master, slave = os.openpty()
    process = subprocess.Popen([sys.executable, "-m", "dutypost.core.cli", "--demo"], stdin=slave, stdout=slave,
                               stderr=slave, env=env, cwd=Path(__file__).resolve().parent.parent,
                               start_new_session=True)
    os.close(slave)
    output = bytearray()

    def wait_for(marker: str) -> None:
        while marker.encode() not in output:
            ready, _, _ = select.select([master], [], [], 30)
            assert ready, f"{marker!r} did not appear"
            output.extend(os.read(master, 65536))

    try:
        wait_for("最近の投稿")
        os.write(master, f"{ids.index('evac-l4') + 1:02d}".encode())
        wait_for("プレビュー")
        os.write(master, typed.encode())
        wait_for(typed)  # the field shows every character: the app has them all
        process.send_signal(signal.SIGHUP)
        assert process.wait(timeout=30) == 129
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    drafts = Ledger(home / "data" / "dutypost" / "demo" / "ledger.sqlite3").open_drafts("tanaka")
    assert [d.values.get("reason") for d in drafts] == [typed]


def test_prepare_terminal_sets_the_environment_without_importing_textual(tmp_path):
    import subprocess
    import sys

    probe = (
        "import os, sys\n"
        "from dutypost.core.config import TuiConfig\n"
        "from dutypost.tui.terminal import prepare_terminal\n"
        "prepare_terminal(TuiConfig(escdelay_ms=25, disable_kitty_keys=True), slow_link=True)\n"
        "assert 'textual' not in sys.modules\n"
        "print(os.environ['ESCDELAY'], os.environ['TEXTUAL_DISABLE_KITTY_KEY'], os.environ['TEXTUAL_FPS'])\n"
    )
    repo = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=repo,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.stdout.split() == ["25", "1", "10"]


async def test_an_override_for_eight_hours_covers_the_next_post_and_shows_in_the_status_bar(tui_context, practice_server):
    ctx = tui_context(clock=OUT_OF_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        await pilot.press("f8")
        await settle(app, pilot)
        assert "[この投稿だけ]" in screen_text(app)
        await pilot.press("enter")  # the first category
        await type_text(pilot, JUSTIFICATION)
        await pilot.press("tab", "right", "right", "right")
        await settle(app, pilot)
        assert "[8時間]" in screen_text(app) and "[この投稿だけ]" not in screen_text(app)
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        session = ctx.ledger.active_override_session("tanaka", ctx.now(), False)
        assert session is not None and session.reason == JUSTIFICATION
        first = ctx.ledger.list_posts(limit=1)[0]
        assert first.state == "sent" and first.override["session_id"] == session.id
        await settle(app, pilot)
        assert app.override_session == session
        assert "緊急オーバーライド中 (11:20 まで)" in screen_text(app)  # 03:20 JST + 8 h
        for _ in range(4):
            if type(app.screen).__name__ == "HomeScreen":
                break
            await pilot.press("escape")
            await settle(app, pilot)
        assert type(app.screen).__name__ == "HomeScreen"
        assert "緊急オーバーライド中 (11:20 まで)" in screen_text(app)
        # The next post: no F8 needed, the session lifts hours and approval again.
        await open_evac_l4(app, pilot, ctx, area="吉原地区")
        assert "[外す] 時間" in screen_text(app)
        assert app.screen.check_action("override", ()) is False
        assert app.screen.check_action("publish", ()) is True
        await pilot.press("f10")
        await settle(app, pilot)
        second = ctx.ledger.list_posts(limit=1)[0]
        assert second.id != first.id and second.state == "sent"
        assert second.override["session_id"] == session.id
        assert {p.id for p in ctx.ledger.awaiting_post_hoc_approval()} == {first.id, second.id}
        assert len(practice_server.posts()) == 2


async def test_a_page_the_config_lacks_is_a_notice_in_compose_and_review_not_a_refusal(
        config_file, practice_server, monkeypatch):
    """Issue 13: with no [municipality.pages] shelters (a fresh config init), 避難所開設 still
    composes and reaches review at 03:00; both say which key to write, and nothing blocks on it."""
    from dutypost.tui.screens.compose import ComposeScreen

    monkeypatch.setattr(ComposeScreen, "PREVIEW_DELAY", 0)
    path = config_file(replace={
        "x": f'api_base_url = "{practice_server.url}"',
        "drill": f'api_base_url = "{practice_server.url}"\nmarker = "【訓練】"',
        "municipality.pages": 'bosai = "/bousai/"',
    })
    for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret"):
        monkeypatch.setenv(f"DUTYPOST_X__{name.upper()}", getattr(DEMO_CREDENTIALS, name))
    ctx = build_context(path, drill=True, clock=lambda: IN_HOURS, os_user="tanaka")
    app = make_app(ctx)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await pilot.press(*number_of(ctx, "shelter-open"))
            await settle(app, pilot)
            assert type(app.screen).__name__ == "ComposeScreen"
            await pilot.press("enter")  # past the time, which defaults to now
            await type_text(pilot, "本郷小学校")
            await settle(app, pilot)
            text = screen_text(app)
            assert "[municipality.pages] に shelters = " in text and "リンクなしで投稿します" in text
            assert "bousai/hinanjo" not in text
            await pilot.press("enter")
            await settle(app, pilot)
            assert type(app.screen).__name__ == "ReviewScreen"
            text = screen_text(app)
            assert "[municipality.pages] に shelters = " in text and "設定にない" in text
    finally:
        ctx.close()
