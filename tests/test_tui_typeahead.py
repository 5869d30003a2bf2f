"""Keys typed ahead (先行入力) land where they would if typed slowly.

Over a slow SSH link keystrokes arrive in bursts, and an IME commits a whole word at once:
the terminal driver then posts a run of key events back to back, before the app has
handled the first. :func:`burst` posts them the same way — no pause between keys — and
each test compares the result with where every key belongs. The outbox's 取消 (cancel)
is here too, its reason typed ahead of F10. The last test does it for real:
``dutypost --demo`` in tmux, the keys sent by one ``send-keys`` command.
"""

from __future__ import annotations

import os

import pytest
from textual import events

from dutypost.core.config import default_data_dir
from dutypost.core.ledger import Ledger
from sshd_harness import DUTYPOST, wait_until
from test_tui import IN_HOURS, JUSTIFICATION, OUT_OF_HOURS, REASON, SIZE, number_of, open_evac_l4, screen_text, settle
from test_tui import tui_context  # noqa: F401 (fixture)
from dutypost.tui.app import make_app

AREA = "本郷地区"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


def burst(app, *keys: str) -> None:
    """Post key events as the driver does for one read from the terminal: all at once.

    A key is a Textual key name (``tab``, ``shift+tab``, ``f2``) or one character
    (``本``, ``、``); ``paste:TEXT`` is a bracketed paste.
    """
    from textual.keys import _character_to_key

    controls = {"tab": "\t", "enter": "\r", "backspace": "\x7f", "space": " "}
    for key in keys:
        if key.startswith("paste:"):
            event = events.Paste(key.removeprefix("paste:"))
        elif len(key) == 1:
            event = events.Key(key if key.isalnum() else _character_to_key(key), key)
        else:
            event = events.Key(key, controls.get(key))
        event.set_sender(app)
        app.post_message(event)


async def open_template(app, pilot, ctx, template_id: str) -> None:
    await settle(app, pilot)
    await pilot.press(*number_of(ctx, template_id))
    await settle(app, pilot)
    assert type(app.screen).__name__ == "ComposeScreen"


async def test_text_typed_right_behind_tab_lands_in_the_next_field(tui_context):
    """The reported bug: 本郷地区 typed behind Tab ended up in 理由."""
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_template(app, pilot, ctx, "evac-l4")
        burst(app, *REASON, "tab", *AREA)
        await settle(app, pilot)
        values = app.screen.values()
        assert (values["reason"], values["area"]) == (REASON, AREA)
        assert app.focused.id == "field-area"


async def test_editing_keys_typed_ahead_edit_the_field_they_were_typed_in(tui_context):
    """Backspace ahead of Tab deletes in 理由, not in 対象地区; Shift+Tab goes back."""
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_template(app, pilot, ctx, "evac-l4")
        burst(app, *"大雨x", "backspace", "tab", *"本郷", "shift+tab", *"のため、", "enter", *"地区")
        await settle(app, pilot)
        values = app.screen.values()
        assert (values["reason"], values["area"]) == ("大雨のため、", "本郷地区")


async def test_a_paste_right_behind_tab_lands_in_the_next_field(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_template(app, pilot, ctx, "evac-l4")
        burst(app, f"paste:{REASON}", "tab", f"paste:{AREA}")
        await settle(app, pilot)
        values = app.screen.values()
        assert (values["reason"], values["area"]) == (REASON, AREA)


async def test_f2_typed_right_behind_the_text_reviews_all_of_it(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_template(app, pilot, ctx, "evac-l4")
        burst(app, *REASON, "enter", *AREA, "f2")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReviewScreen"
        assert app.screen.composition.values["reason"] == REASON
        assert app.screen.composition.values["area"] == AREA


async def test_esc_typed_right_behind_the_text_keeps_all_of_it_in_the_draft(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_template(app, pilot, ctx, "evac-l4")
        burst(app, *REASON, "escape")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "HomeScreen"
        assert [d.values["reason"] for d in ctx.ledger.open_drafts("tanaka")] == [REASON]


async def test_a_choice_field_takes_its_keys_and_passes_on_the_rest(tui_context):
    """町の震度: 5 twice is 5強; the keys behind Tab edit 時刻."""
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_template(app, pilot, ctx, "quake-intensity")
        assert app.focused.id == "field-intensity"  # the first empty required field
        burst(app, "right", "right", "5", "5", "tab", "backspace", "backspace", "backspace", *"05分")
        await settle(app, pilot)
        assert app.screen.values() == {"quake_time": "10時00分", "intensity": "5強", "time": "10時05分"}
        burst(app, "shift+tab", "backspace", "５", "enter", "backspace", "backspace", "backspace", "paste:20分")
        await settle(app, pilot)  # ５: a full-width digit, as an IME sends it
        assert app.screen.values() == {"quake_time": "10時00分", "intensity": "5弱", "time": "10時20分"}


async def test_override_category_then_justification_typed_ahead(tui_context, practice_server):
    """Enter on a category then the justification straight away: nothing dropped, and F10
    right behind it sends exactly what was typed."""
    ctx = tui_context(clock=OUT_OF_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        await pilot.press("f8")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "OverrideModal"
        burst(app, "down", "enter", *JUSTIFICATION, "f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        post = ctx.ledger.list_posts(limit=1)[0]
        assert post.override["category"] == ctx.settings.gate.override_categories[1]
        assert post.override["reason"] == JUSTIFICATION


async def test_the_override_is_confirmed_by_its_ctrl_twin_from_the_justification_field(tui_context, practice_server):
    """vt100 and the Linux console have no F10: the Ctrl twin must work where the officer
    is — in the justification field, which takes Ctrl+X (cut) for itself."""
    ctx = tui_context(clock=OUT_OF_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        await pilot.press("f8")
        await settle(app, pilot)
        burst(app, "enter", *JUSTIFICATION, "ctrl+o")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        assert ctx.ledger.list_posts(limit=1)[0].override["reason"] == JUSTIFICATION


async def test_keys_typed_behind_choosing_an_approver_reach_the_review_screen(tui_context):
    """Enter records the approval and closes the dialog at once: the Esc right behind it
    is the review screen's (back to compose), not a second close of the dialog."""
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        review = app.screen
        await pilot.press("f7")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ApprovalModal"
        burst(app, "down", "enter", "escape")
        await settle(app, pilot)
        assert review.approval is not None and review.approval.method == "in-person"
        assert type(app.screen).__name__ == "ComposeScreen"


async def test_a_failed_post_sent_from_a_phone_is_cancelled_from_the_outbox(tui_context, closed_port_url):
    """取消: X unreachable, the officer posts from a phone, then takes the post out of the
    outbox with x, a reason (typed ahead, F10 or Ctrl+O right behind it) and the record of it."""
    ctx = tui_context(clock=IN_HOURS)
    ctx.settings.x.api_base_url = closed_port_url
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        await pilot.press("f7", "enter")
        await settle(app, pilot)
        await pilot.press("f10")
        await settle(app, pilot)
        post = ctx.ledger.list_posts(limit=1)[0]
        assert post.state == "failed"
        assert "x で取り消して" in screen_text(app)  # the way out, said on the result screen
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("f3")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "OutboxScreen"
        assert app.screen.check_action("cancel", ()) is True
        await pilot.press("x")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "CancelModal"
        burst(app, *"スマホ", "f10")
        await settle(app, pilot)
        assert "取り消す理由を書いてください" in screen_text(app)  # core's word: too short
        assert ctx.ledger.get_post(post.id).state == "failed"
        burst(app, *"から投稿したため", "ctrl+o")  # the F10 twin, from inside the field
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        assert "取り消しました" in screen_text(app) and "取消: スマホから投稿したため" in screen_text(app)
        cancelled = ctx.ledger.get_post(post.id)
        assert (cancelled.state, cancelled.error) == ("cancelled", "取消: スマホから投稿したため")
        assert ctx.ledger.outbox() == []
        assert app.screen.check_action("cancel", ()) is False


def test_a_tmux_burst_lands_in_the_right_fields(tmux_terminal):
    """The reproduction, as a person runs it: ``send-keys Tab \\; send-keys -l 本郷地区``."""
    terminal = tmux_terminal(80, 24)
    env = {"TERM": "xterm-256color", **{k: os.environ[k] for k in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                                                                    "XDG_STATE_HOME")}}
    terminal.start([str(DUTYPOST), "--demo"], env=env)
    terminal.wait_for("検索/番号", what="home")
    terminal.send_keys("0", "3")
    terminal.wait_for(lambda s: "作成: 警戒レベル4 避難指示 発令" in s and "プレビュー" in s, what="compose")
    terminal.tmux("send-keys", "-t", "main", "-l", REASON, ";", "send-keys", "-t", "main", "Tab",
                  ";", "send-keys", "-t", "main", "-l", AREA)

    def draft_with_everything_typed():
        """The draft once every typed character has arrived, in whichever field."""
        with Ledger(default_data_dir() / "demo" / "ledger.sqlite3") as ledger:
            drafts = ledger.open_drafts("tanaka")
        typed = "".join(drafts[0].values.get(name, "") for name in ("reason", "area")) if drafts else ""
        return drafts[0] if len(typed) >= len(REASON + AREA) else None

    draft = wait_until(draft_with_everything_typed, timeout=30, what="the typed text in the ledger's draft")
    assert (draft.values["reason"], draft.values["area"]) == (REASON, AREA)


async def test_text_typed_behind_the_quick_number_lands_in_the_compose_screen(tui_context):
    """``03大雨のため`` in one burst: the number opens the template, the text is its 理由."""
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        burst(app, *number_of(ctx, "evac-l4"), *"大雨のため", "tab", *AREA)
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ComposeScreen"
        values = app.screen.values()
        assert (values["reason"], values["area"]) == ("大雨のため", AREA)


async def test_history_filters_take_the_keys_typed_behind_tab(tui_context):
    """``shift+tab×3 down down tab down``: 状態 is the second state, テンプレート the first."""
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f5")
        await settle(app, pilot)
        assert app.focused.id == "history"
        burst(app, "shift+tab", "shift+tab", "shift+tab", "down", "down", "tab", "down", "tab")
        await settle(app, pilot)
        assert app.focused.id == "filter-operator"
        assert app.screen._filters() == ("sending", ctx.templates.templates[0].id, None)

