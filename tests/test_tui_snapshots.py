"""SVG snapshots at 80x24 of home, compose and review, in 本番 and 訓練.

The clock is frozen (Tuesday 03:20 JST, out of hours) and nothing dynamic — ports, real
times, ids — reaches the picture. Regenerate after a deliberate change with
``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import pytest

from test_tui import OUT_OF_HOURS, REASON, number_of, settle, tui_context, type_text  # noqa: F401 (fixture)
from dutypost.tui.app import make_app
from dutypost.tui.screens.compose import ComposeScreen

SIZE = (80, 24)
MODES = [pytest.param(False, id="live"), pytest.param(True, id="drill")]


@pytest.fixture(autouse=True)
def _immediate_preview(monkeypatch):
    monkeypatch.setattr(ComposeScreen, "PREVIEW_DELAY", 0)


async def fill_evacuation_order(app, ctx, pilot) -> None:
    """Home → the 避難指示 template → 理由 and 対象地区 typed in."""
    await settle(app, pilot)
    await pilot.press(*number_of(ctx, "evac-l4"))
    await settle(app, pilot)
    await type_text(pilot, REASON)
    await pilot.press("enter")
    await type_text(pilot, "本郷地区")


@pytest.mark.parametrize("drill", MODES)
def test_home(snap_compare, tui_context, drill):
    ctx = tui_context(drill=drill, clock=OUT_OF_HOURS)
    app = make_app(ctx)

    async def ready(pilot):
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


@pytest.mark.parametrize("drill", MODES)
def test_compose(snap_compare, tui_context, drill):
    ctx = tui_context(drill=drill, clock=OUT_OF_HOURS)
    app = make_app(ctx)

    async def typed(pilot):
        await fill_evacuation_order(app, ctx, pilot)
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=typed)


@pytest.mark.parametrize("drill", MODES)
def test_review(snap_compare, tui_context, drill):
    ctx = tui_context(drill=drill, clock=OUT_OF_HOURS)
    app = make_app(ctx)

    async def reviewed(pilot):
        await fill_evacuation_order(app, ctx, pilot)
        await pilot.press("f2")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=reviewed)
