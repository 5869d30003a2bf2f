"""XClient against the real practice server on 127.0.0.1 (SPEC §5, §6)."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from dutypost.core.errors import InputError
from dutypost.core.oauth1 import Credentials
from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.practice import PracticeServer
from dutypost.core.xapi import (
    XApiError,
    XAuthError,
    XClient,
    XDuplicateError,
    XForbiddenError,
    XRateLimited,
    XReplyNotAllowed,
    XServerError,
    XUncertain,
    XUnreachable,
)

REPO = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def test_importing_the_client_does_not_import_httpx_or_oauthlib() -> None:
    code = "import sys, dutypost.core.xapi, dutypost.core.oauth1; print(sorted({'httpx', 'oauthlib'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_signed_post_is_accepted_and_stored(practice_server: PracticeServer, x_client: XClient) -> None:
    created = x_client.create_post("【訓練】午前3時00分現在、避難所を開設しました。")
    assert created.id.isdigit()
    assert created.text == "【訓練】午前3時00分現在、避難所を開設しました。"
    assert created.url == f"https://x.com/i/web/status/{created.id}"
    assert [p["id"] for p in practice_server.posts()] == [created.id]


def test_web_base_url_shapes_the_post_url(practice_server: PracticeServer) -> None:
    with XClient(practice_server.url, DEMO_CREDENTIALS, timeout=5, web_base_url=practice_server.url + "/") as client:
        created = client.create_post("練習")
    assert created.url == f"{practice_server.url}/i/web/status/{created.id}"


def test_me_returns_the_practice_account(practice_server: PracticeServer, x_client: XClient) -> None:
    assert x_client.me() == {"id": "1000000001", "name": "練習用アカウント", "username": "practice_town"}


def test_wrong_consumer_secret_is_an_auth_error(practice_server: PracticeServer) -> None:
    wrong = Credentials(DEMO_CREDENTIALS.consumer_key, "not-the-secret", DEMO_CREDENTIALS.access_token,
                        DEMO_CREDENTIALS.access_token_secret)
    with XClient(practice_server.url, wrong, timeout=5) as client, pytest.raises(XAuthError) as info:
        client.create_post("届かないはず")
    assert info.value.status == 401
    assert info.value.outcome == "failed"
    assert "dutypost auth" in str(info.value)
    assert practice_server.posts() == []


def test_unknown_token_is_an_auth_error(practice_server: PracticeServer) -> None:
    unknown = Credentials(DEMO_CREDENTIALS.consumer_key, DEMO_CREDENTIALS.consumer_secret, "1-unknown", "x")
    with XClient(practice_server.url, unknown, timeout=5) as client, pytest.raises(XAuthError):
        client.me()


def test_a_revoked_token_fault_is_an_auth_error(practice_server: PracticeServer, x_client: XClient) -> None:
    practice_server.inject({"kind": "status", "status": 401})
    with pytest.raises(XAuthError):
        x_client.create_post("取り消されたトークン")


def test_duplicate_text_is_refused(practice_server: PracticeServer, x_client: XClient) -> None:
    x_client.create_post("同じ本文")
    with pytest.raises(XDuplicateError) as info:
        x_client.create_post("同じ本文")
    assert isinstance(info.value, XForbiddenError)
    assert info.value.status == 403
    assert info.value.outcome == "failed"
    assert "重複" in info.value.message
    assert len(practice_server.posts()) == 1


def test_server_error_is_failed_and_nothing_is_stored(practice_server: PracticeServer, x_client: XClient) -> None:
    practice_server.inject({"kind": "status", "status": 503})
    with pytest.raises(XServerError) as info:
        x_client.create_post("障害中")
    assert (info.value.status, info.value.outcome) == (503, "failed")
    assert practice_server.posts() == []
    assert x_client.create_post("障害中").text == "障害中"  # the operator may send again


def test_rate_limit_reports_the_wait_from_the_header(practice_server: PracticeServer, x_client: XClient) -> None:
    practice_server.inject({"kind": "status", "status": 429, "reset_in": 600})
    before = datetime.now(timezone.utc)
    with pytest.raises(XRateLimited) as info:
        x_client.create_post("上限")
    error = info.value
    assert error.outcome == "failed"
    assert 590 <= error.wait_seconds <= 601
    assert before + timedelta(seconds=590) <= error.reset_at <= before + timedelta(seconds=602)
    assert "分" in str(error) and "JST" in str(error)


def test_read_timeout_after_the_post_was_stored_is_uncertain(practice_server: PracticeServer) -> None:
    practice_server.inject({"kind": "timeout_after_store", "delay": 3})
    with XClient(practice_server.url, DEMO_CREDENTIALS, timeout=0.5) as client:
        with pytest.raises(XUncertain) as info:
            client.create_post("届いたかどうか分からない投稿")
        assert info.value.outcome == "unknown"
        assert info.value.status is None
        assert "タイムライン" in str(info.value)
        found = client.user_posts("1000000001", start_time=datetime.now(timezone.utc) - timedelta(minutes=5))
    assert [p["text"] for p in found] == ["届いたかどうか分からない投稿"]


def test_reset_before_store_is_uncertain_and_nothing_is_stored(
    practice_server: PracticeServer, x_client: XClient
) -> None:
    practice_server.inject({"kind": "reset_before_store"})
    with pytest.raises(XUncertain) as info:
        x_client.create_post("切断")
    assert info.value.outcome == "unknown"
    assert practice_server.posts() == []


def test_drop_after_store_is_uncertain_and_the_post_exists(practice_server: PracticeServer, x_client: XClient) -> None:
    practice_server.inject({"kind": "drop_after_store"})
    with pytest.raises(XUncertain):
        x_client.create_post("保存後に切断")
    assert [p["text"] for p in practice_server.posts()] == ["保存後に切断"]


def test_a_slow_answer_within_the_timeout_succeeds(practice_server: PracticeServer, x_client: XClient) -> None:
    practice_server.inject({"kind": "slow", "delay": 0.2})
    assert x_client.create_post("遅い応答").text == "遅い応答"


def test_connection_refused_is_unreachable_and_failed(closed_port_url: str) -> None:
    with XClient(closed_port_url, DEMO_CREDENTIALS, timeout=2) as client:
        assert client.warm() is False
        with pytest.raises(XUnreachable) as info:
            client.create_post("届かない")
    assert info.value.outcome == "failed"
    assert "拒否" in str(info.value)


def test_unknown_host_is_unreachable() -> None:
    with XClient("http://host.invalid", DEMO_CREDENTIALS, timeout=2) as client, pytest.raises(XUnreachable) as info:
        client.me()
    assert info.value.outcome == "failed"


def test_a_bad_base_url_is_an_input_error() -> None:
    with pytest.raises(InputError):
        XClient("api.x.com", DEMO_CREDENTIALS, timeout=2)


def test_warm_then_publish_opens_one_connection(practice_server: PracticeServer, x_client: XClient) -> None:
    assert x_client.connections_opened == 0
    assert x_client.warm() is True
    assert x_client.connections_opened == 1
    x_client.create_post("温めた接続で投稿")
    x_client.create_post("二つ目")
    assert x_client.connections_opened == 1


def test_warm_from_a_worker_thread(practice_server: PracticeServer, x_client: XClient) -> None:
    results: list[bool] = []
    worker = threading.Thread(target=lambda: results.append(x_client.warm()))
    worker.start()
    worker.join()
    assert results == [True]
    x_client.create_post("別スレッドで温めた接続")
    assert x_client.connections_opened == 1


def test_a_stopped_server_cuts_the_warm_connection(practice_server: PracticeServer, x_client: XClient) -> None:
    x_client.warm()
    practice_server.stop()
    with pytest.raises(XApiError):
        x_client.create_post("止まったサーバー")


def test_replies(practice_server: PracticeServer, x_client: XClient) -> None:
    original = x_client.create_post("元の投稿")
    reply = x_client.create_post("訂正: 元の投稿の時刻に誤りがありました", reply_to=original.id)
    newest = practice_server.posts()[0]
    assert (newest["id"], newest["reply_to"]) == (reply.id, original.id)
    practice_server.set_refuse_replies(True)
    with pytest.raises(XReplyNotAllowed) as info:
        x_client.create_post("二度目の訂正", reply_to=original.id)
    assert info.value.status == 403
    assert "単独の投稿" in str(info.value)


def test_a_reply_to_an_unknown_post_is_refused(practice_server: PracticeServer, x_client: XClient) -> None:
    with pytest.raises(XApiError) as info:
        x_client.create_post("返信", reply_to="123")
    assert info.value.status == 400
    assert type(info.value) is XApiError


def test_media_upload_and_post(practice_server: PracticeServer, x_client: XClient, tmp_path: Path) -> None:
    png, jpeg = tmp_path / "map.png", tmp_path / "photo.jpg"
    png.write_bytes(PNG)
    jpeg.write_bytes(JPEG)
    media_ids = [x_client.upload_media(png), x_client.upload_media(jpeg)]
    assert all(m.isdigit() for m in media_ids)
    x_client.create_post("避難所の地図です", media_ids=media_ids)
    assert practice_server.posts()[0]["media_ids"] == media_ids


def test_media_that_is_not_an_image_is_refused_before_sending(x_client: XClient, tmp_path: Path) -> None:
    fake = tmp_path / "notes.png"
    fake.write_bytes(b"GIF89a not a png")
    with pytest.raises(InputError) as info:
        x_client.upload_media(fake)
    assert "PNG か JPEG" in str(info.value)
    assert x_client.connections_opened == 0
    with pytest.raises(InputError):
        x_client.upload_media(tmp_path / "missing.png")


def test_delete(practice_server: PracticeServer, x_client: XClient) -> None:
    created = x_client.create_post("消す投稿")
    assert x_client.delete_post(created.id) is True
    assert practice_server.posts() == []
    assert x_client.delete_post(created.id) is False


def test_user_posts_start_time_filter(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    old = PracticeServer(state_file=state)
    old.start()
    with XClient(old.url, DEMO_CREDENTIALS, timeout=5) as client:
        client.create_post("昨日の投稿")
    old.stop()
    # Move the stored post a day back, as if it had been posted yesterday.
    yesterday = (datetime.now(timezone.utc) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    text = state.read_text(encoding="utf-8")
    stamp = text.split('"created_at": "')[1].split('"')[0]
    state.write_text(text.replace(stamp, yesterday), encoding="utf-8")

    server = PracticeServer(state_file=state)
    server.start()
    try:
        with XClient(server.url, DEMO_CREDENTIALS, timeout=5) as client:
            client.create_post("今日の投稿")
            recent = client.user_posts("1000000001", start_time=datetime.now(timezone.utc) - timedelta(hours=1))
            everything = client.user_posts("1000000001")
    finally:
        server.stop()
    assert [p["text"] for p in recent] == ["今日の投稿"]
    assert [p["text"] for p in everything] == ["今日の投稿", "昨日の投稿"]
    assert everything[1]["created_at"] == yesterday


def test_user_posts_with_nothing_posted(x_client: XClient) -> None:
    assert x_client.user_posts("1000000001") == []


class _HtmlErrorHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html><body>502 Bad Gateway</body></html>"
        self.send_response(502)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_non_json_error_body_does_not_crash() -> None:
    gateway = ThreadingHTTPServer(("127.0.0.1", 0), _HtmlErrorHandler)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:{}".format(gateway.server_address[1])
        with XClient(url, DEMO_CREDENTIALS, timeout=5) as client, pytest.raises(XServerError) as info:
            client.create_post("ゲートウェイ")
    finally:
        gateway.shutdown()
        gateway.server_close()
    assert info.value.status == 502
    assert "<html>" not in str(info.value)


def test_exit_codes_follow_the_outcome() -> None:
    assert XServerError("x", status=503).exit_code == 4
    assert XUncertain("x").exit_code == 5


SECRETS = Credentials(
    consumer_key="CK-visible-id-4471",
    consumer_secret="CS-very-secret-9f2e1d",
    access_token="1000000001-AT-token-77aa",
    access_token_secret="ATS-very-secret-0c3b5e",
)


def _failures(server: PracticeServer, closed_port_url: str) -> list[XApiError]:
    """Provoke every kind of failure while using SECRETS and return the errors."""
    errors: list[XApiError] = []

    def attempt(client: XClient, text: str, reply_to: str | None = None) -> None:
        try:
            client.create_post(text, reply_to=reply_to)
        except XApiError as exc:
            errors.append(exc)

    with XClient(server.url, SECRETS, timeout=0.5) as client:
        first = client.create_post("元")
        attempt(client, "元")
        server.set_refuse_replies(True)
        attempt(client, "返信", reply_to=first.id)
        for status in (401, 429, 500, 503):
            server.inject({"kind": "status", "status": status})
            attempt(client, f"状態 {status}")
        for fault in ({"kind": "timeout_after_store", "delay": 2}, {"kind": "reset_before_store"},
                      {"kind": "drop_after_store"}):
            server.inject(fault)
            attempt(client, fault["kind"])
    wrong = Credentials(SECRETS.consumer_key, "wrong", SECRETS.access_token, SECRETS.access_token_secret)
    with XClient(server.url, wrong, timeout=2) as client:
        attempt(client, "誤った鍵")
    with XClient(closed_port_url, SECRETS, timeout=2) as client:
        attempt(client, "届かない")
    return errors


def test_credentials_never_appear_in_errors(closed_port_url: str) -> None:
    server = PracticeServer(credentials=[SECRETS])
    server.start()
    try:
        errors = _failures(server, closed_port_url)
    finally:
        server.stop()
    kinds = {type(e).__name__ for e in errors}
    assert kinds == {"XDuplicateError", "XReplyNotAllowed", "XAuthError", "XRateLimited", "XServerError",
                     "XUncertain", "XUnreachable"}
    for error in errors:
        shown = "\n".join([str(error), repr(error), error.message, error.hint])
        for secret in vars(SECRETS).values():
            assert secret not in shown, (type(error).__name__, shown)
    assert "very-secret" not in repr(SECRETS)


# -- an answer that is not a clear "no" is not "failed" (issue 17 item 1) ------------------------


@pytest.mark.parametrize("fault", [{"kind": "store_then_500"}, {"kind": "store_then_reset"},
                                   {"kind": "store_then_garbage", "status": 201}])
def test_x_stored_the_post_then_answered_badly_is_unknown(practice_server: PracticeServer, x_client: XClient,
                                                         fault) -> None:
    practice_server.inject(fault)
    with pytest.raises(XApiError) as info:
        x_client.create_post("保存されてから壊れた応答")
    assert info.value.outcome == "unknown" and info.value.exit_code == 5
    assert "されていません" not in info.value.message
    assert len(practice_server.posts()) == 1


@pytest.mark.parametrize("status", [400, 403, 404, 422, 503])
def test_a_definite_refusal_with_x_problem_json_is_failed(practice_server: PracticeServer, x_client: XClient,
                                                         status: int) -> None:
    practice_server.inject({"kind": "status", "status": status})
    with pytest.raises(XApiError) as info:
        x_client.create_post(f"拒否 {status}")
    assert (info.value.status, info.value.outcome) == (status, "failed")


def test_a_500_with_x_problem_json_is_unknown(practice_server: PracticeServer, x_client: XClient) -> None:
    practice_server.inject({"kind": "status", "status": 500})
    with pytest.raises(XServerError) as info:
        x_client.create_post("500")
    assert (info.value.status, info.value.outcome) == (500, "unknown")


class _ProxyHandler(BaseHTTPRequestHandler):
    """A proxy in front of X answering 503 or 429 with its own HTML page, not X's JSON."""

    status = 503

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b"<html><body>Service Unavailable</body></html>"
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("status", [503, 429, 502])
def test_a_503_or_429_without_x_problem_json_is_unknown(status: int) -> None:
    handler = type("Handler", (_ProxyHandler,), {"status": status})
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:{}".format(proxy.server_address[1])
        with XClient(url, DEMO_CREDENTIALS, timeout=5) as client, pytest.raises(XApiError) as info:
            client.create_post("プロキシ")
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert (info.value.status, info.value.outcome) == (status, "unknown")
    assert "<html>" not in str(info.value)


def test_user_posts_reads_every_page_from_since_id_with_entities(x_like_server: PracticeServer) -> None:
    with XClient(x_like_server.url, DEMO_CREDENTIALS, timeout=5) as client:
        before = client.create_post("前の投稿")
        for n in range(12):
            client.create_post(f"A&B {n} https://www.town.ami.lg.jp/{n}")
        posts = client.user_posts("1000000001", since_id=before.id, max_results=5, max_pages=10)
        one_page = client.user_posts("1000000001", since_id=before.id, max_results=5)
    assert len(posts) == 12 and len(one_page) == 5
    assert before.id not in {p["id"] for p in posts}
    assert all(p["entities"]["urls"][0]["url"].startswith("https://t.co/") for p in posts)
    assert all("&amp;" in p["text"] and "created_at" in p for p in posts)
