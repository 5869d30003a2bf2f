"""The right account, images with alt text, and when X cannot be used at all (issue 11
items 2, 5, 6): core/publish.py, core/context.py and core/media.py against the real
practice server on 127.0.0.1 and a real ledger file."""

from __future__ import annotations

import struct
import zlib

import pytest

from clock import Clock
from dutypost.core.config_loader import load_settings
from dutypost.core.context import ACCOUNT_CACHE_PREFIX, DutyContext
from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.core.errors import InputError, NoCredentials, PublishFailed, WrongAccount
from dutypost.core.form import form_data, render
from dutypost.core.media import MAX_IMAGES, PostImage, check_images
from dutypost.core.publish import compose_text, make_override, publish, resend
from dutypost.practice import PracticeServer

MAP_ALT = "本郷地区の避難所の地図。本郷小学校は県道沿いです。"


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real (tiny) PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@pytest.fixture
def map_png(tmp_path):
    path = tmp_path / "hongo-map.png"
    path.write_bytes(png_bytes())
    return path


@pytest.fixture
def make_ctx(config_file, practice_server, monkeypatch):
    """``make_ctx(drill=False, creds=None | dict, account="")``: a context posting to the
    practice server; ``creds`` are set as DUTYPOST_X__ variables (None: none at all)."""
    made = []

    def make(*, drill: bool = False, creds: dict | None = None, account: str = "", url: str | None = None):
        url = url or practice_server.url
        replace = {"x": f'api_base_url = "{url}"\ntimeout_seconds = 3', "drill": f'api_base_url = "{url}"'}
        if account:
            replace["account"] = account
        path = config_file(replace=replace)
        for name, value in (creds or {}).items():
            monkeypatch.setenv(name, value)
        settings = load_settings(path)
        ctx = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=drill, clock=Clock())
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def demo_env() -> dict[str, str]:
    return {f"DUTYPOST_X__{k.upper()}": getattr(DEMO_CREDENTIALS, k)
            for k in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")}


def _override(ctx):
    return make_override(ctx, "生命・身体・財産の保護に必要な緊急情報", "台風の接近で土砂災害の危険が高まったため")


def _post(ctx, text="本郷地区に避難指示を発令しました。", **kwargs):
    composition = compose_text(ctx, text, template_id=None, emergency=False, threads_allowed=False)
    return publish(ctx, composition, override=_override(ctx), acks=["cost"], **kwargs)


# -- images with alt text (画像と代替テキスト) ---------------------------------------------------


def test_an_image_with_its_alt_text_reaches_the_practice_server(make_ctx, practice_server, map_png):
    ctx = make_ctx(creds=demo_env())
    result = _post(ctx, images=[(map_png, MAP_ALT)])
    [stored] = practice_server.posts()
    assert stored["id"] == result.x_post_ids[0]
    [media_id] = stored["media_ids"]
    assert practice_server.media_alt_text(media_id) == MAP_ALT
    post = ctx.ledger.get_post(result.post_id)
    assert post.state == "sent"
    assert post.images == [{"path": str(map_png.resolve()), "alt": MAP_ALT}]
    [queued] = [e for e in ctx.ledger.events(result.post_id) if e.kind == "post.queued"]
    assert queued.payload["images"] == post.images
    assert ctx.ledger.verify().ok


def test_the_form_lists_the_images_under_other_public_data(make_ctx, map_png):
    ctx = make_ctx(creds=demo_env())
    result = _post(ctx, images=[(map_png, MAP_ALT)])
    form = form_data(ctx.ledger, ctx.settings, result.post_id, templates=ctx.templates)
    rows = dict(form.rows())
    assert rows["その他公開データ"] == "有" and rows["その他公開データの種類"] == "画像"
    assert rows["その他公開データ (画像)"] == f"1. hongo-map.png (代替テキスト: {MAP_ALT})"
    assert MAP_ALT in render(form, "html") and "hongo-map.png" in render(form, "csv")


def test_a_post_without_images_keeps_its_form_rows(make_ctx):
    ctx = make_ctx(creds=demo_env())
    result = _post(ctx)
    rows = dict(form_data(ctx.ledger, ctx.settings, result.post_id, templates=ctx.templates).rows())
    assert rows["その他公開データ"] == "無" and "その他公開データ (画像)" not in rows


@pytest.mark.parametrize("content, alt, words", [
    (b"GIF89a\x01\x00", MAP_ALT, "PNG か JPEG ではありません"),
    (png_bytes(), "  ", "代替テキストがありません"),
    (png_bytes(), "あ" * 1001, "代替テキストが長すぎます"),
])
def test_a_bad_image_is_refused_before_anything_is_recorded(make_ctx, practice_server, tmp_path, content, alt, words):
    ctx = make_ctx(creds=demo_env())
    path = tmp_path / "picture.png"
    path.write_bytes(content)
    with pytest.raises(InputError) as refused:
        _post(ctx, images=[(path, alt)])
    assert words in refused.value.message and "画像 1" in refused.value.message
    assert ctx.ledger.list_posts() == [] and practice_server.posts() == []


def test_a_jpeg_is_accepted_by_its_content_and_five_images_are_too_many(tmp_path):
    jpeg = tmp_path / "road.bin"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 32)
    [checked] = check_images([(jpeg, "通行止めの県道の写真")])
    assert checked == PostImage(jpeg.resolve(), "通行止めの県道の写真")
    with pytest.raises(InputError, match="画像が多すぎます"):
        check_images([(jpeg, "写真")] * (MAX_IMAGES + 1))
    with pytest.raises(InputError, match="読めません"):
        check_images([(tmp_path / "missing.png", "写真")])


def test_a_failed_post_with_an_image_uploads_it_again_on_resend_and_never_posts_without_it(
        make_ctx, practice_server, map_png):
    ctx = make_ctx(creds=demo_env())
    practice_server.inject({"kind": "status", "status": 503})
    with pytest.raises(PublishFailed) as failed:
        _post(ctx, images=[(map_png, MAP_ALT)])
    post_id = failed.value.post_id
    # The file is gone: the resend fails before any post is created, and stays failed (not unknown).
    content = map_png.read_bytes()
    map_png.unlink()
    with pytest.raises(PublishFailed) as again:
        resend(ctx, post_id, override=_override(ctx), acks=["cost"])  # a resend is a publish: the gate again
    assert "画像 1" in again.value.message and "投稿はまだ作られていません" in again.value.message
    assert ctx.ledger.get_post(post_id).state == "failed" and practice_server.posts() == []
    map_png.write_bytes(content)
    result = resend(ctx, post_id, override=_override(ctx), acks=["cost"])
    [stored] = practice_server.posts()
    assert stored["id"] == result.x_post_ids[0]
    assert practice_server.media_alt_text(stored["media_ids"][0]) == MAP_ALT


# -- the right account (正しいアカウント) ------------------------------------------------------


def test_a_token_for_another_account_is_refused_before_anything_is_sent(make_ctx, practice_server, issued_token,
                                                                        map_png):
    ctx = make_ctx(creds=issued_token(practice_server))  # the server's account is @practice_town
    with pytest.raises(WrongAccount) as refused:
        _post(ctx, images=[(map_png, MAP_ALT)])
    assert "@practice_town" in refused.value.message and "@TownAmi" in refused.value.message
    assert "dutypost auth" in refused.value.hint
    assert refused.value.exit_code == 2
    assert practice_server.posts() == [] and practice_server.store.media_by_id() == {}
    assert ctx.ledger.list_posts() == []


def test_the_account_answer_is_cached_per_token_and_forgotten_on_request(make_ctx, practice_server, issued_token):
    account = 'name = "阿見町公式"\nhandle = "practice_town"\ndrill_handle = "practice_town"'
    creds = issued_token(practice_server)
    first = make_ctx(creds=creds, account=account)
    _post(first)
    [key] = [k for k in _meta_keys(first) if k.startswith(ACCOUNT_CACHE_PREFIX)]
    assert creds["DUTYPOST_X__ACCESS_TOKEN"] not in key  # keyed by the token's identity, never the token
    # The account is renamed on X: a new process trusts the cached answer (no users/me call) ...
    practice_server.store.username = "renamed_town"
    second = make_ctx(creds=creds, account=account)
    _post(second, "本郷地区の避難指示は継続しています。")
    assert len(practice_server.posts()) == 2
    # ... until the cache is forgotten (dutypost auth does this): then the check sees the rename.
    assert second.forget_account() == 1
    with pytest.raises(WrongAccount, match="@renamed_town"):
        _post(second, "本郷地区の避難指示を解除しました。")
    assert len(practice_server.posts()) == 2


def test_a_drill_checks_the_drill_handle(make_ctx, practice_server, issued_token):
    creds = issued_token(practice_server)
    wrong = make_ctx(drill=True, creds=creds)  # drill_handle = "TownAmi_drill"
    with pytest.raises(WrongAccount, match="@TownAmi_drill"):
        _post(wrong)
    right = make_ctx(drill=True, creds=creds,
                     account='name = "阿見町公式"\nhandle = "TownAmi"\ndrill_handle = "practice_town"')
    assert _post(right).x_post_ids
    assert [p["text"] for p in practice_server.posts()] == ["【訓練】本郷地区に避難指示を発令しました。"]


def _meta_keys(ctx) -> list[str]:
    with ctx.ledger._read() as conn:
        return [r["key"] for r in conn.execute("SELECT key FROM meta")]


# -- when X cannot be used at all (X を使えないとき) ----------------------------------------------


def test_without_credentials_a_live_post_is_kept_failed_with_the_next_step(make_ctx, practice_server):
    ctx = make_ctx(creds=None)
    with pytest.raises(PublishFailed) as failed:
        _post(ctx)
    assert isinstance(failed.value.cause, NoCredentials)
    assert "dutypost auth" in failed.value.hint and f"outbox resend {failed.value.post_id}" in failed.value.hint
    assert "スマートフォン" in failed.value.hint
    [kept] = ctx.ledger.outbox()
    assert kept.id == failed.value.post_id and kept.state == "failed"
    assert "認証情報が設定されていません" in kept.error and "dutypost auth" in kept.error
    assert practice_server.posts() == []


def test_a_revoked_token_keeps_the_post_failed_and_says_401(make_ctx, practice_server):
    creds = demo_env() | {"DUTYPOST_X__ACCESS_TOKEN": "1000000001-revoked"}
    ctx = make_ctx(creds=creds)
    with pytest.raises(PublishFailed) as failed:
        _post(ctx)
    assert "HTTP 401" in failed.value.message and "dutypost auth" in failed.value.hint
    assert ctx.ledger.get_post(failed.value.post_id).state == "failed"
    assert practice_server.posts() == []


def test_credits_refused_by_x_keep_the_post_failed_and_say_what_to_do(make_ctx, practice_server):
    ctx = make_ctx(creds=demo_env())
    practice_server.inject({"kind": "status", "status": 402})
    with pytest.raises(PublishFailed) as failed:
        _post(ctx)
    post = ctx.ledger.get_post(failed.value.post_id)
    assert post.state == "failed" and "クレジット" in post.error and "console.x.com" in post.error
    assert practice_server.posts() == []


def test_an_unreachable_x_keeps_the_post_failed(make_ctx, issued_token, practice_server, closed_port_url):
    ctx = make_ctx(creds=issued_token(practice_server), url=closed_port_url)  # users/me cannot be asked
    with pytest.raises(PublishFailed) as failed:
        _post(ctx)
    post = ctx.ledger.get_post(failed.value.post_id)
    assert post.state == "failed" and "接続できませんでした" in post.error
    assert "X に接続できるようになったら" in failed.value.hint


def test_a_second_server_with_another_name_is_a_real_other_account(issued_token):
    """The fixture's premise: the PIN login's token belongs to the server's own account."""
    server = PracticeServer(username="someone_else")
    server.start()
    try:
        creds = issued_token(server)
        from dutypost.core.oauth1 import Credentials
        from dutypost.core.xapi import XClient

        values = {k.removeprefix("DUTYPOST_X__").lower(): v for k, v in creds.items()}
        with XClient(server.url, Credentials(**values), timeout=5) as client:
            assert client.me()["username"] == "someone_else"
    finally:
        server.stop()
