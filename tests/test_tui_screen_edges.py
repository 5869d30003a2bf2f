"""The rough edges seen in tmux (issue 15 item 6), each driven with Pilot as an officer
would meet it: the status bar behind the draft dialog, Ctrl+C, Home's search after a
return, the review's verdict with a long body at 80×24, a 40×12 terminal, History's
F6/F9, no 再送 after X's 403 duplicate, whole field labels, and no line of the preview
beginning with 、 or 。.
"""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from dutypost.core.publish import compose, make_approval, publish
from dutypost.tui.app import make_app
from dutypost.tui.words import NO_LINE_START, wrap_text
from test_tui import IN_HOURS, REASON, SIZE, number_of, open_evac_l4, screen_text, settle, type_text
from test_tui import tui_context  # noqa: F401 (fixture)

pytestmark = pytest.mark.anyio

EVAC_VALUES = {"reason": REASON, "area": "本郷地区", "shelter": "本郷小学校"}


@pytest.fixture
def anyio_backend():
    return "asyncio"


def notices(app) -> list[str]:
    return [n.message for n in app._notifications]


def sent_post(ctx) -> int:
    """A post published for real (practice server, ledger), with a verbal approval."""
    template = ctx.templates.get("evac-l4")
    values = {**EVAC_VALUES, "time": "10時00分"}
    return publish(ctx, compose(ctx, template, values), approval=make_approval(ctx, "suzuki", "phone")).post_id


async def test_the_status_bar_behind_the_draft_dialog_is_not_left_checking(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    ctx.ledger.save_draft(operator="tanaka", template_id="evac-l4", values={"reason": REASON}, text="",
                          drill=False, draft_id="left-open")
    sent_post(ctx)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert type(app.screen).__name__ == "DraftsModal"
        home = app.screen_stack[0]
        bottom = str(home.query_one("#status-bottom", Static).render())
        assert "確認中" not in bottom and "勤務時間内" in bottom and "X: 接続済み" in bottom
        assert "まだ投稿はありません" not in str(home.query_one("#recent-list", Static).render())


@pytest.mark.parametrize("where", ["home", "compose"])
async def test_ctrl_c_says_how_to_quit_on_home_and_compose(tui_context, where):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        if where == "compose":
            await pilot.press(*number_of(ctx, "evac-l4"))
            await settle(app, pilot)
            assert type(app.screen).__name__ == "ComposeScreen"
        await pilot.press("ctrl+c")
        await settle(app, pilot)
        assert any("Ctrl+Q" in n for n in notices(app))
        assert app.is_running


async def test_homes_search_is_empty_on_return_so_a_number_opens_its_template(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await type_text(pilot, "避難指示")
        await pilot.press("enter")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ComposeScreen"
        await pilot.press("escape")
        await settle(app, pilot)
        assert app.query_one("#search").value == ""
        number = number_of(ctx, "shelter-open") if ctx.templates.get("shelter-open") else "01"
        await pilot.press(*number)
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ComposeScreen"
        assert app.screen.template.id == ctx.templates.templates[int(number) - 1].id


async def test_the_verdict_stays_in_sight_with_a_long_body_at_80x24(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        app.notify("30 秒残るお知らせ", timeout=30)
        await open_evac_l4(app, pilot, ctx, area="本郷地区、荒川本郷地区、吉原地区、君原地区、舟島地区、実穂地区、中郷地区")
        body = app.screen.query_one("#final-text", Static)
        assert body.region.height >= 8 + 2  # eight lines of text and the border
        checks = app.screen.query_one("#checks", Static)
        hint = app.screen.query_one("#publish-hint", Static)
        for widget in (checks, hint):
            region = widget.region
            assert region.height >= 1 and region.y >= 0 and region.bottom <= SIZE[1] - 1  # above the footer
        shown = str(checks.render())
        assert all(f"] {check}" in shown for check in ("時間", "承認", "内容"))
        assert "承認" in str(hint.render())
        assert notices(app) == []  # no toast from before sits over the verdict


async def test_a_40x12_terminal_is_told_how_big_it_must_be(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=(40, 12)) as pilot:
        await settle(app, pilot)
        notice = app.screen.query_one("#too-small", Static)
        assert notice.display and notice.region.height > 0
        assert "端末が小さすぎます" in str(notice.render()) and "横80×縦24" in str(notice.render())
        assert "横40×縦12" in str(notice.render())
        assert not app.screen.query_one("#templates").display
        await pilot.resize_terminal(*SIZE)
        await settle(app, pilot)
        assert not app.screen.query_one("#too-small").display
        assert app.screen.query_one("#templates").region.height > 0


async def test_historys_list_offers_f6_and_f9_for_the_highlighted_post(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    post_id = sent_post(ctx)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f5")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "HistoryScreen"
        shown = {b.binding.key for b in app.screen.active_bindings.values() if b.binding.show}
        assert {"f6", "f9"} <= shown
        await pilot.press("f9")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "FormModal"
        assert app.screen.post_id == post_id
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("f6")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ChecklistScreen"


async def test_resend_is_not_offered_after_xs_403_duplicate(tui_context, practice_server):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await open_evac_l4(app, pilot, ctx)
        ctx.x_client().create_post(app.screen.composition.text)  # on X already, not in the ledger
        await pilot.press("f7", "enter")
        await settle(app, pilot)
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        post = ctx.ledger.list_posts(limit=1)[0]
        assert post.state == "failed" and "重複投稿" in post.error
        assert app.screen.check_action("resend", ()) is False
        assert "再送はできません" in screen_text(app)
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("f3")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "OutboxScreen"
        assert app.screen.check_action("resend", ()) is None
        assert app.screen.check_action("cancel", ()) is True


async def test_field_labels_are_whole_at_80_columns(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*number_of(ctx, "evac-l4"))
        await settle(app, pilot)
        for f in app.screen.template.fields:
            label = app.screen.query_one(f"#label-{f.name}", Static)
            assert label.content_region.width >= cell_len(f.label + ("*" if f.required else "")), f.label


async def test_no_line_of_the_preview_begins_with_a_comma_or_a_full_stop(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*number_of(ctx, "evac-l4"))
        await settle(app, pilot)
        for reason in ("ABC DE", "大雨で土砂災害の危険が高まったため"):
            field = app.screen.query_one("#field-reason")
            field.value = reason
            await pilot.pause(0.5)
            await settle(app, pilot)
            lines = [line.plain for line in app.screen.query_one("#preview")._lines]
            assert lines and not [line for line in lines if line[:1] in ("、", "。")], lines


def test_wrapping_carries_a_character_down_rather_than_start_a_line_with_punctuation():
    lines = [line.plain for line in wrap_text(Text("あいうえおかきくけこ。さしすせそ「たちつてと」"), 10)]
    assert "".join(lines) == "あいうえおかきくけこ。さしすせそ「たちつてと」"
    assert all(cell_len(line) <= 10 for line in lines)
    assert not [line for line in lines if line[:1] in NO_LINE_START]
    assert not [line for line in lines if line.endswith("「")]
    assert [line.plain for line in wrap_text(Text("see https://x.com/a now"), 12)][0] == "see"


async def test_a_fields_help_gives_its_example_once(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*number_of(ctx, "evac-l4"))
        await settle(app, pilot)
        for name in ("reason", "area"):
            app.screen.set_focus(app.screen.query_one(f"#field-{name}"))
            await settle(app, pilot)
            shown = str(app.screen.query_one("#field-help", Static).render())
            assert shown.count("例") == 1, shown
