"""The TUI's images, account check and X-unusable paths (issue 11 items 2, 5, 6), driven
with Pilot at 80x24 against the practice server on 127.0.0.1 and a real ledger."""

from __future__ import annotations

import pytest

from test_account_and_images import png_bytes
from test_tui import IN_HOURS, SIZE, number_of, open_evac_l4, screen_text, settle, tui_context, type_text  # noqa: F401
from dutypost.tui.app import make_app
from dutypost.tui.widgets.image_field import complete_path

pytestmark = pytest.mark.anyio

ALT = "本郷地区の避難所の地図"
CRED_NAMES = ("CONSUMER_KEY", "CONSUMER_SECRET", "ACCESS_TOKEN", "ACCESS_TOKEN_SECRET")


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_path_completion_offers_folders_and_images_only(tmp_path):
    (tmp_path / "maps").mkdir()
    (tmp_path / "hongo-map.png").write_bytes(png_bytes())
    (tmp_path / "hongo-notes.txt").write_text("x")
    (tmp_path / "road.jpeg").write_bytes(b"\xff\xd8\xff")
    base = f"{tmp_path}/"
    assert complete_path(base + "hon") == base + "hongo-map.png"  # the .txt is not an image
    assert complete_path(base + "ma") == base + "maps/"
    assert complete_path(base + "r") == base + "road.jpeg"
    assert complete_path(base + "zzz") is None
    assert complete_path(base + "hongo-map.png") is None


async def test_an_image_with_alt_text_goes_from_compose_to_the_practice_server(tui_context, practice_server,
                                                                               tmp_path, monkeypatch):
    (tmp_path / "hongo-map.png").write_bytes(png_bytes())
    monkeypatch.chdir(tmp_path)
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*number_of(ctx, "evac-l4"))
        await settle(app, pilot)
        await type_text(pilot, "大雨で土砂災害の危険が高まったため")
        await pilot.press("enter")
        await type_text(pilot, "本郷地区")
        await pilot.press("enter", "tab")  # past the shelter, into the image's path
        assert app.focused.id == "image-path"
        await type_text(pilot, "hon")
        await settle(app, pilot)
        await pilot.press("tab")  # takes the completion
        assert app.focused.value == "hongo-map.png"
        await settle(app, pilot)
        await pilot.press("tab")  # nothing left to complete: on to the alt text
        assert app.focused.id == "image-alt"
        await pilot.press("enter")  # no alt text: refused, nothing added
        assert app.screen.images == []
        await type_text(pilot, ALT)
        await pilot.press("enter")
        await settle(app, pilot)
        assert [i.alt for i in app.screen.images] == [ALT]
        assert f"画像 1/4: hongo-map.png (代替テキスト: {ALT})" in screen_text(app)
        await pilot.press("f2")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReviewScreen"
        assert "画像 1: hongo-map.png" in screen_text(app)
        await pilot.press("f7", "enter")
        await settle(app, pilot)
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen", screen_text(app)
        [stored] = practice_server.posts()
        assert practice_server.media_alt_text(stored["media_ids"][0]) == ALT
        assert ctx.ledger.get_post(ctx.ledger.list_posts(limit=1)[0].id).images[0]["alt"] == ALT
        assert "画像 1: hongo-map.png" in screen_text(app)


async def test_without_credentials_home_says_why_and_the_failed_post_stays_with_its_text_to_copy(
        tui_context, practice_server, monkeypatch):
    ctx = tui_context(clock=IN_HOURS)
    for name in CRED_NAMES:
        monkeypatch.delenv(f"DUTYPOST_X__{name}")
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "X: 未接続 (認証情報なし)" in screen_text(app)
        await open_evac_l4(app, pilot, ctx)
        await pilot.press("f7", "enter")
        await settle(app, pilot)
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "PostScreen"
        post = ctx.ledger.list_posts(limit=1)[0]
        assert post.state == "failed" and "dutypost auth" in post.error
        for _ in range(3):  # the message stays until the officer acts
            await pilot.pause(0.2)
        text = screen_text(app)
        assert "認証情報が設定されていません" in text and "c で本文をコピー" in text
        await pilot.press("c")
        assert app.clipboard == post.text
        assert practice_server.posts() == []


async def test_another_accounts_token_is_named_on_home_and_refused_before_anything_is_sent(
        tui_context, practice_server, issued_token, monkeypatch):
    ctx = tui_context(clock=IN_HOURS)
    for name, value in issued_token(practice_server).items():
        monkeypatch.setenv(name, value)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "X: 未接続 (別のアカウント @practice_town)" in screen_text(app)
        await open_evac_l4(app, pilot, ctx)
        await pilot.press("f7", "enter")
        await settle(app, pilot)
        await pilot.press("f10")
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ReviewScreen"
        text = screen_text(app)
        assert "@practice_town" in text and "@TownAmi" in text
        assert practice_server.posts() == [] and ctx.ledger.list_posts() == []


async def test_a_revoked_token_shows_401_on_home(tui_context, practice_server, monkeypatch):
    ctx = tui_context(clock=IN_HOURS)
    monkeypatch.setenv("DUTYPOST_X__ACCESS_TOKEN", "1000000001-revoked")
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "X: 未接続 (401 認証エラー)" in screen_text(app)
