"""The TUI and the ledger at scale and under faults (issue 14), with Pilot at 80x24 on a
real ledger file: the idle poll does nothing while the ledger has not changed, History
pages through the ledger, and a ledger that cannot be used shows a screen and exits 2."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dutypost.core.context import build_context
from dutypost.core.ledger import Ledger
from dutypost.tui.app import make_app
from test_tui import settle

IN_HOURS = datetime(2026, 9, 1, 1, 0, tzinfo=timezone.utc)  # 2026-09-01 (火) 10:00 JST
SIZE = (80, 24)
TEXT = "【避難所開設】10時00分現在、中央公民館を開設しました。"

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def context(config_file):
    made = []

    def make():
        ctx = build_context(config_file(), clock=lambda: IN_HOURS, os_user="tanaka")
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def add_posts(path, count: int) -> list[int]:
    """Posts written by another session (another connection to the same file)."""
    with Ledger(path, now=lambda: IN_HOURS) as other:
        return [other.create_post(operator="sato", department="防災危機管理課", template_id="shelter-open",
                                  text=f"{TEXT} ({i})", parts=[f"{TEXT} ({i})"], drill=False) for i in range(count)]




async def test_the_idle_poll_reads_nothing_until_another_session_writes(context) -> None:
    ctx = context()
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        seen: list[str] = []
        ctx.ledger._conn.set_trace_callback(seen.append)
        try:
            for _ in range(3):
                app.poll_ledger()
                await settle(app, pilot)
            assert seen and set(seen) == {"PRAGMA data_version"}, seen
            [post_id] = add_posts(ctx.settings.ledger.path, 1)
            seen.clear()
            app.poll_ledger()
            await settle(app, pilot)
        finally:
            ctx.ledger._conn.set_trace_callback(None)
        assert any(s.startswith("SELECT * FROM posts") for s in seen)
        assert [p.id for p in app.recent_posts][:1] == [post_id]
        assert app.outbox_count == 1


async def test_history_shows_a_page_and_n_reads_the_next_older_one(context) -> None:
    from dutypost.tui.screens.history import HISTORY_PAGE

    ctx = context()
    ids = add_posts(ctx.settings.ledger.path, HISTORY_PAGE + 30)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f5")
        await settle(app, pilot)
        listing = app.screen.query_one("#history")
        assert listing.option_count == HISTORY_PAGE
        assert listing.get_option_at_index(0).id == str(ids[-1])
        assert "n: さらに古い投稿" in str(app.screen.query_one("#history-hint").render())
        await pilot.press("n")
        await settle(app, pilot)
        shown = [int(listing.get_option_at_index(i).id) for i in range(listing.option_count)]
        assert shown == sorted(ids, reverse=True)
        assert "さらに古い" not in str(app.screen.query_one("#history-hint").render())


async def test_history_of_an_empty_ledger_says_so(context) -> None:
    app = make_app(context())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f5")
        await settle(app, pilot)
        assert app.screen.query_one("#history").option_count == 0
        assert "該当する投稿はありません" in str(app.screen.query_one("#history-hint").render())


async def test_a_damaged_ledger_shows_a_screen_naming_the_file_and_exits_2(context) -> None:
    ctx = context()
    path = ctx.settings.ledger.path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a ledger " * 500)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert type(app.screen).__name__ == "LedgerFaultScreen"
        shown = "\n".join(str(w.render()) for w in app.screen.query("Static"))
        assert str(path) in shown and "壊れて" in shown and "dutypost ledger restore" in shown
        await pilot.press("enter")
        await pilot.pause()
    assert app.return_code == 2
