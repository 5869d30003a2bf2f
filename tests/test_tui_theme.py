"""The theme the officer chose is kept for the next start (issue 13 item 5), in a small
state file in the data directory, never in the config file. Real config, real ledger
folder, Textual's Pilot."""

from __future__ import annotations

import json

import pytest

from dutypost.core.context import build_context
from dutypost.core.tui_state import state_path
from dutypost.tui.app import make_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_the_chosen_theme_is_there_at_the_next_start(config_file):
    path = config_file()
    before = path.read_bytes()
    ctx = build_context(path, os_user="tanaka")
    try:
        app = make_app(ctx)
        assert app.theme != "dracula"
        async with app.run_test(size=(80, 24)) as pilot:
            app.theme = "dracula"  # what the palette's テーマを変える does when a theme is picked
            await pilot.pause()
        saved = json.loads(state_path(ctx.settings).read_text(encoding="utf-8"))
        assert saved == {"theme": "dracula"}
        again = make_app(ctx)
        async with again.run_test(size=(80, 24)):
            assert again.theme == "dracula"
        slow = make_app(ctx, slow_link=True)  # the slow-link theme wins, and is not kept
        async with slow.run_test(size=(80, 24)):
            assert slow.theme != "dracula"
        assert json.loads(state_path(ctx.settings).read_text(encoding="utf-8")) == {"theme": "dracula"}
    finally:
        ctx.close()
    assert path.read_bytes() == before  # the config file is not where it goes


async def test_a_damaged_state_file_is_no_choice(config_file):
    path = config_file()
    ctx = build_context(path, os_user="tanaka")
    try:
        state_path(ctx.settings).parent.mkdir(parents=True, exist_ok=True)
        state_path(ctx.settings).write_text("{not json", encoding="utf-8")
        app = make_app(ctx)
        default = make_app(ctx).theme
        async with app.run_test(size=(80, 24)):
            assert app.theme == default
    finally:
        ctx.close()
