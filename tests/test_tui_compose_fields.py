"""The compose form's fields (issue 12 items 5 and 6), driven with Pilot at 80x24 on the
example town's config, its SQLite ledger and the practice server: Tab and Enter take the
area/facility suggestion shown; each field says how much room it has left."""

from __future__ import annotations

import pytest

from sshd_harness import wait_until  # noqa: F401
from test_tui import IN_HOURS, REASON, SIZE, number_of, screen_text, settle, type_text
from test_tui import tui_context  # noqa: F401 (fixture)
from test_tui_typeahead import burst
from dutypost.tui.app import make_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def open_compose(app, pilot, ctx, template_id: str = "evac-l4") -> None:
    await settle(app, pilot)
    await pilot.press(*number_of(ctx, template_id))
    await settle(app, pilot)
    assert type(app.screen).__name__ == "ComposeScreen"


def field(app, name: str):
    return app.screen.query_one(f"#field-{name}")


# -- Tab and Enter accept the suggestion (item 6) ------------------------------------------


async def test_tab_takes_the_suggestion_shown_and_a_second_tab_moves_on(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(app, pilot, ctx)
        await type_text(pilot, REASON)
        await pilot.press("enter")
        assert app.focused is field(app, "area")
        await type_text(pilot, "荒川")
        await settle(app, pilot)
        assert field(app, "area")._suggestion == "荒川本郷地区"  # shown, faded
        await pilot.press("tab")
        assert field(app, "area").value == "荒川本郷地区" and app.focused is field(app, "area")
        await type_text(pilot, "、君")
        await pilot.press("tab")  # the next name after 、 is completed too
        assert field(app, "area").value == "荒川本郷地区、君原地区" and app.focused is field(app, "area")
        await pilot.press("tab")
        assert app.focused is field(app, "shelter")
        await type_text(pilot, "中央")
        await pilot.press("enter")
        assert field(app, "shelter").value == "中央公民館" and app.focused is field(app, "shelter")
        await pilot.press("enter")  # the last field: on to the review
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReviewScreen"
        assert "荒川本郷地区、君原地区に避難指示を発令しました。" in app.screen.composition.text


async def test_enter_takes_the_suggestion_and_moves_on_from_a_whole_name(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(app, pilot, ctx)
        await type_text(pilot, REASON)
        await pilot.press("enter")
        await type_text(pilot, "本郷")
        await pilot.press("enter")
        assert field(app, "area").value == "本郷地区" and app.focused is field(app, "area")
        await pilot.press("enter")
        assert app.focused is field(app, "shelter")
        # A name typed whole has nothing to complete: one Enter moves on, as before.
        await pilot.press("shift+tab")
        field(app, "area").value = ""
        await type_text(pilot, "吉原地区")
        await pilot.press("enter")
        assert field(app, "area").value == "吉原地区" and app.focused is field(app, "shelter")


async def test_tab_typed_ahead_takes_the_suggestion_as_if_typed_slowly(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(app, pilot, ctx)
        burst(app, *REASON, "tab", *"舟島", "tab", "tab", *"舟島")
        await settle(app, pilot)
        assert field(app, "area").value == "舟島地区"
        assert field(app, "shelter").value == "舟島" and app.focused is field(app, "shelter")


async def test_a_text_field_without_a_list_moves_on_with_tab(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(app, pilot, ctx)
        await type_text(pilot, "大雨")
        await pilot.press("tab")
        assert field(app, "reason").value == "大雨" and app.focused is field(app, "area")


# -- each field's room left (item 5) -------------------------------------------------------


@pytest.fixture
def no_preview_delay(monkeypatch):
    """The preview (and the room) redrawn at each keystroke, so settle() sees it."""
    from dutypost.tui.screens.compose import ComposeScreen

    monkeypatch.setattr(ComposeScreen, "PREVIEW_DELAY", 0)


def room_line(app) -> str:
    from textual.widgets import Static

    return str(app.screen.query_one("#field-room", Static).render())


async def test_the_focused_field_says_how_much_room_is_left_in_the_post(tui_context, no_preview_delay):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(app, pilot, ctx, "shelter-close")
        await settle(app, pilot)
        assert room_line(app).startswith("残り ")
        await type_text(pilot, "本郷小")
        await settle(app, pilot)
        first = room_line(app)
        assert "スレッド" not in first  # one post, never a thread
        left = int(first.split("残り ")[1].split(" ")[0])
        header = app.screen.query_one("#preview").plain.splitlines()[0]
        assert f"文字数 {280 - left}/280" in header  # the room is what the post has left
        await type_text(pilot, "学校")  # 2 全角 characters: 4 fewer
        await settle(app, pilot)
        assert room_line(app) == f"残り {left - 4} (全角{(left - 4) // 2}字)"


FOUR_AREAS = "本郷地区、吉原地区、君原地区、舟島地区"
FOUR_SHELTERS = "本郷小学校、君原小学校、舟島小学校、中央公民館"


async def test_in_a_thread_the_order_fields_count_the_first_part_and_the_shelters_theirs(
        tui_context, no_preview_delay):
    """Four areas and four shelters: the order goes out as a thread; while the area has the
    focus it says how much the first part (level, action, area, time) has left."""
    from dutypost.core.length import weighted_length

    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(app, pilot, ctx)
        await type_text(pilot, REASON)
        await pilot.press("enter")
        await type_text(pilot, FOUR_AREAS)
        await pilot.press("enter")
        await type_text(pilot, FOUR_SHELTERS)
        await pilot.press("shift+tab")  # back to the area
        await settle(app, pilot)
        assert app.focused is field(app, "area")
        plain = app.screen.query_one("#preview").plain
        assert "スレッド 2 件に分けて投稿" in plain
        line = room_line(app)
        assert line.startswith("1/2 件目の残り ")
        left = int(line.split("残り ")[1].split(" ")[0])
        # The first part up to the area's line, and its (1/2): what the area may still grow by.
        first = plain.split("(1/2)\n")[1]
        upto = first[: first.index("に避難指示を発令しました。")] + "に避難指示を発令しました。"
        assert upto.startswith("【警戒レベル4】避難指示 発令\n") and FOUR_AREAS in upto
        assert left == 280 - weighted_length(upto + "\n(1/2)")
        await pilot.press("shift+tab")  # the reason shares the first part, and its room
        assert room_line(app) == line
        await pilot.press("tab", "tab")
        assert app.focused is field(app, "shelter")
        assert room_line(app).startswith("2/2 件目の残り ")


# -- the Done-when, as a new user would ------------------------------------------

JUSTIFICATION_20 = "土砂災害の危険が迫り住民の避難が必要です"


async def test_done_when_at_0300_in_the_demo_an_order_for_four_areas_goes_out_as_a_thread_with_nothing_to_ack():
    """Issue 12, Done-when: at 03:00 in the demo (``dutypost --demo``'s own context: the
    example town, drill mode, its practice server), a 避難指示 for four areas and four
    shelters, picked with the suggestions, goes out with a 20-character justification, as a
    thread, with no finding to acknowledge."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from dutypost.core.demo import demo_context

    assert len(JUSTIFICATION_20) == 20
    ctx, server = demo_context()
    ctx.clock = lambda: datetime(2026, 9, 1, 3, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # a Tuesday, 03:00 JST
    try:
        assert ctx.demo and ctx.drill
        app = make_app(ctx)
        async with app.run_test(size=SIZE) as pilot:
            await open_compose(app, pilot, ctx)
            assert field(app, "time").value == "3時00分"
            await type_text(pilot, REASON)
            await pilot.press("enter")
            for typed in ("本郷", "、吉", "、君", "、舟"):  # each name taken from its suggestion
                await type_text(pilot, typed)
                await pilot.press("tab")
            await pilot.press("tab")
            for typed in ("本郷小", "、君", "、舟", "、中央"):
                await type_text(pilot, typed)
                await pilot.press("enter")
            assert (field(app, "area").value, field(app, "shelter").value) == (FOUR_AREAS, FOUR_SHELTERS)
            await pilot.press("enter")
            await settle(app, pilot)
            assert type(app.screen).__name__ == "ReviewScreen"
            review = app.screen
            assert review.composition.values["area"] == FOUR_AREAS
            assert len(review.composition.parts) == 2
            assert review.result.warnings == () and review.result.unacknowledged == ()
            assert not review.result.decision.blocking or {f.rule for f in review.result.decision.blocking} <= {
                "hours", "approval"}
            await pilot.press("f8")
            await settle(app, pilot)
            await pilot.press("enter")  # the first category: 生命・身体・財産の保護に必要な緊急情報
            await type_text(pilot, JUSTIFICATION_20)
            await pilot.press("f10")
            await settle(app, pilot)
            assert type(app.screen).__name__ == "PostScreen"
        [post] = ctx.ledger.list_posts(limit=5)
        assert post.state == "sent" and post.acks == [] and post.override["reason"] == JUSTIFICATION_20
        assert len(post.parts) == 2 == len(post.x_post_ids)
        first = post.parts[0]
        assert first.startswith("【訓練】【警戒レベル4】避難指示 発令\n3時00分現在\n")
        assert f"{FOUR_AREAS}に避難指示を発令しました。" in first
        sent = server.server.posts()  # newest first: the second part replies to the first
        assert [p["id"] for p in reversed(sent)] == post.x_post_ids
        assert sent[0]["reply_to"] == post.x_post_ids[0]
    finally:
        ctx.close()
        server.stop()


async def test_two_unknown_places_are_one_row_to_acknowledge_on_the_review(tui_context):
    """Two names that are not configured are two findings of one rule: the review lists them
    on one row (an acknowledgement is per rule), and one Space lets the post go on."""
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(app, pilot, ctx)
        await type_text(pilot, REASON)
        await pilot.press("enter")
        await type_text(pilot, "中央地区、岡崎地区")
        await pilot.press("f2")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReviewScreen"
        listing = app.screen.query_one("#warnings")
        assert listing.option_count == 1
        row = str(listing.get_option_at_index(0).prompt)
        assert "「中央地区」" in row and "「岡崎地区」" in row and row.startswith("[ ] ")
        assert [f.rule for f in app.screen.result.unacknowledged] == ["unknown-place", "unknown-place"]
        await pilot.press("f7", "enter")  # a verbal approval, so that only the warning is left
        await settle(app, pilot)
        app.screen.set_focus(listing)
        await pilot.press("space")
        await settle(app, pilot)
        assert app.screen.result.unacknowledged == ()
        assert app.screen.check_action("publish", ()) is True
