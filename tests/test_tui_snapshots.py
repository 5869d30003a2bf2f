"""SVG snapshots at 80x24 of home, compose and review, the board (発令中), the follow-up
after an emergency post and the handover, in 本番 and 訓練.

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


def record_sent_order(ctx) -> int:
    """A 避難指示 already out (the ledger's own calls, with a fixed X id so that the picture
    holds no time-based id), and the HP already updated."""
    from dutypost.core import followups
    from dutypost.core.publish import compose

    values = {"time": "3時00分", "reason": REASON, "area": "本郷地区、中央地区", "shelter": "本郷小学校"}
    composition = compose(ctx, ctx.templates.get("evac-l4"), values)
    ledger = ctx.ledger
    post_id = ledger.create_post(operator="tanaka", department=ctx.operator.department, template_id="evac-l4",
                                 text=composition.text, parts=list(composition.parts), drill=ctx.drill, values=values)
    ledger.set_state(post_id, "sending")
    ledger.set_state(post_id, "sent", x_post_ids=["1900000000000000001"],
                     url="https://x.com/TownAmi/status/1900000000000000001")
    followups.record(ledger, ctx.settings, post_id, "HP", result="done", operator="tanaka")
    return post_id


@pytest.mark.parametrize("drill", MODES)
def test_board(snap_compare, tui_context, drill):
    """Home with an order in force for two areas and its follow-up still open."""
    ctx = tui_context(drill=drill, clock=OUT_OF_HOURS)
    record_sent_order(ctx)
    app = make_app(ctx)

    async def polled(pilot):
        await settle(app, pilot)
        while not app.board:
            await pilot.pause(0.05)
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=polled)


@pytest.mark.parametrize("drill", MODES)
def test_followup(snap_compare, tui_context, drill):
    """The outcome of an emergency post: the channels to update, HP already done."""
    from dutypost.tui.widgets.post_view import Notice

    ctx = tui_context(drill=drill, clock=OUT_OF_HOURS)
    post_id = record_sent_order(ctx)
    app = make_app(ctx)

    async def opened(pilot):
        await settle(app, pilot)
        headline = "訓練投稿を練習サーバーに送りました。" if drill else "本番アカウントに投稿しました。"
        await app.open_post(post_id, Notice(headline))
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=opened)


@pytest.mark.parametrize("drill", MODES)
def test_handover(snap_compare, tui_context, drill):
    """F8 on Home: the handover page, written to a file and shown."""
    ctx = tui_context(drill=drill, clock=OUT_OF_HOURS)
    record_sent_order(ctx)
    app = make_app(ctx)

    async def shown(pilot):
        await settle(app, pilot)
        await pilot.press("f8")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=shown)
