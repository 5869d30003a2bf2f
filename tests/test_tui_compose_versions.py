"""Compose: F3 adds the やさしい日本語 and English versions to the post (issue 12 item 4), the
preview and the review show them as the following parts of the thread, and the publish
sends them as replies; the draft remembers them. Pilot at 80x24 on the practice server."""

from __future__ import annotations

import pytest

from test_tui import (  # noqa: F401 (tui_context is a fixture)
    IN_HOURS,
    JUSTIFICATION,
    OUT_OF_HOURS,
    REASON,
    SIZE,
    anyio_backend,
    number_of,
    screen_text,
    settle,
    tui_context,
    type_text,
)
from dutypost.tui.app import make_app

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _preview_at_once(monkeypatch):
    from dutypost.tui.screens.compose import ComposeScreen

    monkeypatch.setattr(ComposeScreen, "PREVIEW_DELAY", 0)


async def _fill_evac_l4(app, pilot, ctx) -> None:
    """Home → evac-l4 → reason and area typed; the focus stays in the form."""
    await settle(app, pilot)
    await pilot.press(*number_of(ctx, "evac-l4"))
    await settle(app, pilot)
    assert type(app.screen).__name__ == "ComposeScreen"
    await type_text(pilot, REASON)
    await pilot.press("enter")
    await type_text(pilot, "本郷地区")
    await settle(app, pilot)


@pytest.mark.parametrize("drill", [True, False], ids=["drill", "live"])
async def test_f3_adds_the_versions_the_preview_shows_them_and_they_go_out_as_a_thread(
        drill, tui_context, practice_server):
    ctx = tui_context(drill=drill, clock=OUT_OF_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await _fill_evac_l4(app, pilot, ctx)
        assert "F3: やさしい日本語・English の版を足せます" in screen_text(app)
        assert "【やさしい日本語】" not in screen_text(app)
        await pilot.press("f3")
        await settle(app, pilot)
        text = screen_text(app)
        assert "版: やさしい日本語・English を続けて投稿します" in text
        assert "【やさしい日本語】警戒レベル4" in text and "(2/3)" in text
        assert "{対象地区 (英語)}" in text  # the English area name is still to be typed
        assert app.screen.focused.id == "field-area_en"  # F3 took the officer there
        await type_text(pilot, "the Hongo area")
        await settle(app, pilot)
        text = screen_text(app)
        assert "places in the Hongo area" in text and "スレッド 3 件に分けて投稿" in text
        await pilot.press("f2")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReviewScreen"
        text = screen_text(app)
        assert "【やさしい日本語】警戒レベル4" in text and "[Alert Level 4] Evacuation order" in text
        await pilot.press("f8", "enter")  # out of hours: the emergency override, the first category
        await type_text(pilot, JUSTIFICATION)
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
    post = ctx.ledger.list_posts(limit=1)[0]
    assert post.state == "sent" and post.drill == drill and len(post.x_post_ids) == 3
    sent = {p["id"]: p for p in practice_server.posts()}
    main, easy, en = (sent[i] for i in post.x_post_ids)
    assert easy["reply_to"] == main["id"] and en["reply_to"] == easy["id"]
    assert easy["text"].startswith("【訓練】【やさしい日本語】" if drill else "【やさしい日本語】")
    assert "the Hongo area" in en["text"]
    assert post.values["area_en"] == "the Hongo area"


async def test_f3_again_takes_the_versions_off(tui_context, practice_server):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await _fill_evac_l4(app, pilot, ctx)
        await pilot.press("f3")
        await settle(app, pilot)
        assert "【やさしい日本語】" in screen_text(app)
        await pilot.press("f3")
        await settle(app, pilot)
        text = screen_text(app)
        assert "【やさしい日本語】" not in text and "(1/3)" not in text
        assert "area_en" not in app.screen.values()
        await pilot.press("f2")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReviewScreen"
        assert app.screen.composition.versions == () and len(app.screen.composition.parts) == 1


async def test_a_version_s_problem_is_shown_in_the_preview_and_blocks_the_review(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await _fill_evac_l4(app, pilot, ctx)
        await pilot.press("f3")
        await settle(app, pilot)
        await pilot.press("f2")  # the English area name is empty
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ComposeScreen"
        assert app.screen.focused.id == "field-area_en"
        await type_text(pilot, "Hongo 090-1234-5678")
        await settle(app, pilot)
        assert "English: 警戒レベル4 避難指示: " in screen_text(app)  # the phone number warning names the version


async def test_the_key_is_not_offered_for_a_template_without_versions(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*number_of(ctx, "road-closed"))
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ComposeScreen"
        assert app.screen.check_action("versions", ()) is False
        assert "やさしい日本語" not in screen_text(app)


async def test_a_restored_draft_keeps_its_versions(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await _fill_evac_l4(app, pilot, ctx)
        await pilot.press("f3")
        await type_text(pilot, "the Hongo area")
        await pilot.press("escape")  # back home; the draft is kept
        await settle(app, pilot)
    [draft] = ctx.ledger.open_drafts("tanaka")
    assert draft.with_versions and draft.values["area_en"] == "the Hongo area"

    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")  # 復元する
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ComposeScreen"
        assert app.screen.with_versions and app.screen.values()["area_en"] == "the Hongo area"
        assert "places in the Hongo area" in screen_text(app)
