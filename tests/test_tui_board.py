"""The board (発令中), the follow-up on other channels, the handover and the checklists'
results, driven with Pilot at 80x24 on the example town's real ledger and the practice
server on 127.0.0.1."""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from dutypost.core.in_force import in_force
from dutypost.core.publish import compose, make_override, publish
from test_tui import (  # noqa: F401 (tui_context is a fixture)
    JUSTIFICATION, OUT_OF_HOURS, REASON, SIZE, open_evac_l4, screen_text, settle, tui_context, type_text,
)
from test_tui_after_post import (
    RIGHT, WRONG, choose_item, open_checklist_of, options_text, post_shelter, record_wrong_and_right, the_checklist,
    wait_until,
)
from dutypost.tui.app import make_app

pytestmark = pytest.mark.anyio
CHANNELS = ["HP", "メール配信 (あみメール)", "Lアラート", "防災行政無線"]


@pytest.fixture
def anyio_backend():
    return "asyncio"


def post_order(ctx, template_id: str = "evac-l4", **values: str) -> int:
    if template_id == "evac-l4":
        values = {"time": "3時00分", "reason": REASON, "area": "本郷地区", "shelter": "本郷小学校"} | values
    composition = compose(ctx, ctx.templates.get(template_id), values)
    override = make_override(ctx, ctx.settings.gate.override_categories[0], JUSTIFICATION)
    return publish(ctx, composition, override=override, acks=["cost"]).post_id


async def publish_with_override(app, pilot) -> None:
    """From the review screen out of hours: F8, the first category, the justification, F10."""
    await pilot.press("f8")
    await settle(app, pilot)
    await pilot.press("enter")
    await type_text(pilot, JUSTIFICATION)
    await pilot.press("f10")
    await settle(app, pilot)
    assert type(app.screen).__name__ == "PostScreen"


async def test_publish_an_order_tick_its_channels_see_it_on_the_board_and_lift_it(tui_context, practice_server):
    ctx = tui_context(clock=OUT_OF_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        await publish_with_override(app, pilot)
        order = ctx.ledger.list_posts(limit=1)[0]
        # The outcome screen lists the channels to update; the list has the focus.
        assert "他の媒体への連絡 (残り 4 件)" in screen_text(app)
        assert app.focused is app.screen.query_one("#followups")
        assert [line.split(maxsplit=1) for line in options_text(app, "#followups").splitlines()] == [
            ["[未]", channel] for channel in CHANNELS]
        await pilot.press("space")  # HP: 済; the highlight moves to the next channel
        await settle(app, pilot)
        assert "[済]" in options_text(app, "#followups").splitlines()[0]
        assert app.screen.query_one("#followups", OptionList).highlighted == 1
        await pilot.press("enter")  # メール配信: 済
        await settle(app, pilot)
        await pilot.press("n")  # Lアラート: 対象外, with the reason
        await settle(app, pilot)
        assert type(app.screen).__name__ == "TextModal"
        await type_text(pilot, "訓練中で発信しないため")
        await pilot.press("enter")
        await settle(app, pilot)
        assert "[対象外] Lアラート" in options_text(app, "#followups").replace("  ", "")
        assert "理由: 訓練中で発信しないため" in options_text(app, "#followups")
        recorded = ctx.ledger.followups_of([order.id])[order.id]
        assert {c: r.result for c, r in recorded.items()} == {"HP": "done", "メール配信 (あみメール)": "done",
                                                              "Lアラート": "na"}
        assert "残り 1 件" in screen_text(app)

        # Home: the order is on the board, and the one channel still open.
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.board and [f.missing for f in app.open_followups] == [["防災行政無線"]],
                         "the board polled")
        await settle(app, pilot)
        board = options_text(app, "#board")
        assert "警戒レベル4 避難指示 本郷地区  03:20から" in board
        assert f"連絡未了 #{order.id}" in board and "未: 防災行政無線" in board
        assert "発令中 1 件・他の媒体への連絡が未了 1 件" in screen_text(app)

        # k on the line: its lift, prefilled with the area.
        app.screen.query_one("#board").focus()
        await pilot.press("k")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ComposeScreen"
        assert app.screen.template.id == "evac-l4-lift"
        assert app.screen.values()["area"] == "本郷地区"
        await type_text(pilot, "土砂災害の危険がなくなったため")
        await pilot.press("f2")
        await settle(app, pilot)
        await publish_with_override(app, pilot)
        assert in_force(ctx.ledger, ctx.templates, drill=False) == []
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.board, "the board cleared")
        await settle(app, pilot)
        assert "発令中なし" in screen_text(app)
        assert "警戒レベル4 避難指示" not in options_text(app, "#board")
    assert len(practice_server.posts()) == 2


async def test_the_handover_key_writes_the_page_and_shows_it(tui_context):
    ctx = tui_context(clock=OUT_OF_HOURS)
    post_order(ctx)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f8")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "HandoverScreen"
        text = screen_text(app)
        assert "書き出しました: handover/handover-20260901-0320.md" in text
        assert "\n発令中 (1 件)\n" in text and "本郷地区" in text
        written = ctx.settings.ledger.path.parent / "handover" / "handover-20260901-0320.md"
        assert "## 事後承認待ち (1 件)" in written.read_text(encoding="utf-8")
        await pilot.press("c")
        assert app.clipboard.startswith("# 引き継ぎ")
        await pilot.press("escape")
        assert type(app.screen).__name__ == "HomeScreen"


async def test_a_board_longer_than_its_rows_says_how_many_more(tui_context):
    ctx = tui_context(clock=OUT_OF_HOURS)
    post_order(ctx, area="本郷地区、吉原地区、君原地区")
    post_order(ctx, "road-closed", time="3時10分", road="県道1号", reason="冠水のため")
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: len(app.board) == 4, "the board polled")
        await settle(app, pilot)
        text = screen_text(app)
        assert "発令中 4 件・他の媒体への連絡が未了 2 件 (他 2 件)" in text


# -- checklists that record what was done ------------------------------------------------


async def test_checklist_items_record_not_applicable_and_the_focus_moves_on(tui_context):
    from dutypost.tui.screens.checklist import ChecklistScreen

    ctx = tui_context(clock=OUT_OF_HOURS)
    original_id = post_shelter(ctx, override=True)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_checklist_of(app, pilot, original_id)
        await record_wrong_and_right(app, pilot)
        items = app.screen.query_one("#items", OptionList)
        assert items.highlighted_option.id == "head_told"  # the next item still open

        await choose_item(app, pilot, "channel_lalert")
        assert items.highlighted_option.id == "channel_radio"  # a tick done: on to the next
        await pilot.press("n")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "TextModal"
        await type_text(pilot, "防災行政無線では流していない")
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ChecklistScreen)
        radio = the_checklist(ctx).item("channel_radio")
        assert radio.done and radio.value == {"done": True, "result": "na", "note": "防災行政無線では流していない"}
        assert "[-] 防災行政無線を確かめた" in options_text(app, "#items")
        assert "対象外: 防災行政無線では流していない" in options_text(app, "#items")
        assert items.highlighted_option.id == "cause"

        # The apology post is prefilled from 誤 and 正.
        await choose_item(app, pilot, "apology")
        await pilot.press("enter")  # 必要
        await settle(app, pilot)
        await choose_item(app, pilot, "apology_post")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ComposeScreen" and app.screen.template.id == "apology"
        assert app.screen.values()["apology"] == f"「{WRONG}」と誤ってお知らせしました。正しくは「{RIGHT}」です"


async def test_a_follow_up_read_that_arrives_late_does_not_undo_a_later_tick(tui_context, practice_server):
    """Ticks are recorded in workers that may overlap (Space pressed twice quickly): a
    read begun before the second tick must not, arriving last, show it as still open."""
    ctx = tui_context(clock=OUT_OF_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        await publish_with_override(app, pilot)
        screen = app.screen
        late = screen._loaded(None)  # begun now, before any tick; held back
        await pilot.press("space")
        await settle(app, pilot)
        assert "[済]" in options_text(app, "#followups").splitlines()[0]
        screen.post_message(late)
        await settle(app, pilot)
        assert "[済]" in options_text(app, "#followups").splitlines()[0]
        assert "残り 3 件" in screen_text(app)
