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
