"""After a restore on the standby, or from a backup, the TUI starts by offering recovery
(issue 16 item 2, issue 14 item 6).

Real parts: the practice server holds a post that the (restored) ledger lacks, as when the
primary died after X took the post and before the replica had the frame; the ledger is a
real file marked restored by the same function ``standby restore`` uses.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from test_tui import SIZE, screen_text, settle, tui_context  # noqa: F401 (tui_context is a fixture)

from dutypost.core.ledger.backup import backup, restore
from dutypost.core.standby import mark_restored, needs_recovery
from dutypost.tui.app import make_app

pytestmark = pytest.mark.anyio

LOST = "【訓練】3時10分現在、本郷地区に避難指示を発令しました。(復元前の投稿)"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def restored_ledger_missing_a_post(tui_context):
    ctx = tui_context(drill=True, clock=datetime.now(timezone.utc))
    on_x = ctx.x_client().create_post(LOST)  # X took it; the replica never saw it
    mark_restored(ctx.ledger, operator="os:root", at=datetime.now(timezone.utc), payload={"replica": "/replica"})
    assert needs_recovery(ctx.ledger) and ctx.ledger.list_posts() == []
    return ctx, on_x


async def test_the_tui_offers_recovery_first_and_records_the_post_x_has(tui_context, practice_server):
    ctx, on_x = restored_ledger_missing_a_post(tui_context)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert type(app.screen).__name__ == "RecoveryModal"
        assert "予備機で復元されました" in screen_text(app)
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ != "RecoveryModal"
    [post] = ctx.ledger.list_posts()
    assert post.state == "sent" and post.x_post_ids == [on_x.id]
    assert any(e.kind == "post.recovered" for e in ctx.ledger.events())
    assert not needs_recovery(ctx.ledger)
    assert len(practice_server.posts()) == 1  # recorded, never sent again


async def test_later_leaves_the_offer_for_the_next_start(tui_context, practice_server):
    ctx, _ = restored_ledger_missing_a_post(tui_context)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert type(app.screen).__name__ == "RecoveryModal"
        await pilot.press("escape")
        await settle(app, pilot)
    assert needs_recovery(ctx.ledger) and ctx.ledger.list_posts() == []


async def test_a_restore_from_a_backup_offers_recovery_of_what_reached_x_after_it(tui_context, practice_server,
                                                                                 tmp_path):
    now = datetime.now(timezone.utc)
    ctx = tui_context(drill=True, clock=now)
    path = ctx.ledger.path
    copy = backup(path, tmp_path / "backups" / "nightly.sqlite3")
    on_x = ctx.x_client().create_post(LOST)  # after the night's backup; the ledger is then lost
    ctx.close()
    restore(path, copy, operator="os:root")
    restored = tui_context(drill=True, clock=now)
    assert needs_recovery(restored.ledger) and restored.ledger.list_posts() == []
    app = make_app(restored)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert type(app.screen).__name__ == "RecoveryModal"
        text = screen_text(app)
        assert f"バックアップ {copy} から復元されました" in text and "予備機" not in text
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ != "RecoveryModal"
    [post] = restored.ledger.list_posts()
    assert post.state == "sent" and post.x_post_ids == [on_x.id]
    assert not needs_recovery(restored.ledger)
    assert len(practice_server.posts()) == 1
