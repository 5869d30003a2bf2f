"""The practice server (練習用サーバー) over raw HTTP on 127.0.0.1: what X-like clients see."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from oauthlib.oauth1 import Client

from dutypost.core.errors import InputError
from dutypost.core.oauth1 import Credentials, authorization_header
from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.practice import DUPLICATE_DETAIL, PracticeServer
from dutypost.core.xapi import XClient

REPO = Path(__file__).resolve().parent.parent
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


def _signed(
    url: str, method: str = "GET", *, credentials: Credentials = DEMO_CREDENTIALS, **client_args: str
) -> dict[str, str]:
    """Headers signed by oauthlib directly, with a chosen nonce or timestamp when given."""
    client = Client(
        credentials.consumer_key,
        client_secret=credentials.consumer_secret,
        resource_owner_key=credentials.access_token,
        resource_owner_secret=credentials.access_token_secret,
        **client_args,
    )
    _, headers, _ = client.sign(url, http_method=method)
    return headers


def test_openapi_document_needs_no_auth(practice_server: PracticeServer) -> None:
    head = httpx.head(practice_server.url + "/2/openapi.json")
    get = httpx.get(practice_server.url + "/2/openapi.json")
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert "openapi" in get.json()


def test_unsigned_request_gets_x_shaped_401(practice_server: PracticeServer) -> None:
    response = httpx.get(practice_server.url + "/2/users/me")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_a_signed_request_is_accepted(practice_server: PracticeServer) -> None:
    url = practice_server.url + "/2/users/me"
    response = httpx.get(url, headers={"Authorization": authorization_header(DEMO_CREDENTIALS, "GET", url)})
    assert response.status_code == 200
    assert response.json()["data"]["username"] == "practice_town"


def test_a_signature_over_another_url_is_refused(practice_server: PracticeServer) -> None:
    signed_for = practice_server.url + "/2/users/me?x=1"
    response = httpx.get(practice_server.url + "/2/users/me",
                         headers={"Authorization": authorization_header(DEMO_CREDENTIALS, "GET", signed_for)})
    assert response.status_code == 401


def test_a_replayed_nonce_is_refused(practice_server: PracticeServer) -> None:
    url = practice_server.url + "/2/users/me"
    headers = _signed(url, nonce="fixed-nonce-123")
    assert httpx.get(url, headers=headers).status_code == 200
    replay = httpx.get(url, headers=headers)
    assert replay.status_code == 401
    assert replay.json() == UNAUTHORIZED


def test_a_stale_timestamp_is_refused(practice_server: PracticeServer) -> None:
    url = practice_server.url + "/2/users/me"
    stale = _signed(url, timestamp=str(int(time.time()) - 3600))
    assert httpx.get(url, headers=stale).status_code == 401


def test_an_unknown_consumer_is_refused(practice_server: PracticeServer) -> None:
    url = practice_server.url + "/2/users/me"
    other = Credentials("other-app", "s", DEMO_CREDENTIALS.access_token, DEMO_CREDENTIALS.access_token_secret)
    assert httpx.get(url, headers=_signed(url, credentials=other)).status_code == 401


def test_signed_query_parameters_are_checked(practice_server: PracticeServer) -> None:
    url = practice_server.url + "/2/users/1000000001/tweets?max_results=5&start_time=2026-01-01T00%3A00%3A00Z"
    response = httpx.get(url, headers={"Authorization": authorization_header(DEMO_CREDENTIALS, "GET", url)})
    assert response.status_code == 200
    assert response.json() == {"meta": {"result_count": 0}}


def _post(server: PracticeServer, body: object) -> httpx.Response:
    url = server.url + "/2/tweets"
    return httpx.post(url, json=body, headers={"Authorization": authorization_header(DEMO_CREDENTIALS, "POST", url)})


def test_duplicate_text_gets_xs_403(practice_server: PracticeServer) -> None:
    assert _post(practice_server, {"text": "同じ"}).status_code == 201
    refused = _post(practice_server, {"text": "同じ"})
    assert refused.status_code == 403
    assert refused.json() == {"title": "Forbidden", "detail": DUPLICATE_DETAIL, "type": "about:blank", "status": 403}


def test_invalid_posts_get_400(practice_server: PracticeServer) -> None:
    assert _post(practice_server, {"text": ""}).status_code == 400
    assert _post(practice_server, {"text": "返信", "reply": {"in_reply_to_tweet_id": "42"}}).status_code == 400
    assert _post(practice_server, {"text": "画像", "media": {"media_ids": ["42"]}}).status_code == 400
    assert practice_server.posts() == []


def test_ids_are_increasing_snowflake_like_strings(practice_server: PracticeServer) -> None:
    ids = [_post(practice_server, {"text": f"投稿 {i}"}).json()["data"]["id"] for i in range(5)]
    assert all(isinstance(i, str) and len(i) >= 18 for i in ids)
    assert [int(i) for i in ids] == sorted(int(i) for i in ids)
    assert len(set(ids)) == 5


def test_media_upload_refuses_non_images(practice_server: PracticeServer) -> None:
    url = practice_server.url + "/2/media/upload"
    response = httpx.post(
        url,
        files={"media": ("a.gif", b"GIF89a", "image/gif")},
        data={"media_category": "tweet_image"},
        headers={"Authorization": authorization_header(DEMO_CREDENTIALS, "POST", url)},
    )
    assert response.status_code == 400


def test_the_page_lists_posts_newest_first_and_escapes_them(practice_server: PracticeServer, x_client: XClient) -> None:
    first = x_client.create_post("一つ目")
    x_client.create_post('<script>alert("x")</script> & 二つ目')
    page = httpx.get(practice_server.url + "/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 二つ目" in page.text
    assert page.text.index("二つ目") < page.text.index("一つ目")
    assert "受け付けた投稿" in page.text
    one = httpx.get(f"{practice_server.url}/i/web/status/{first.id}")
    assert one.status_code == 200 and "一つ目" in one.text and "二つ目" not in one.text
    assert httpx.get(f"{practice_server.url}/i/web/status/1").status_code == 404


def test_posts_json(practice_server: PracticeServer, x_client: XClient) -> None:
    created = x_client.create_post("JSON で見る")
    posts = httpx.get(practice_server.url + "/_practice/posts").json()
    assert [(p["id"], p["text"], p["reply_to"], p["media_ids"]) for p in posts] == [(created.id, "JSON で見る", None, [])]
    assert posts[0]["created_at"].endswith("Z")


def test_faults_over_http(practice_server: PracticeServer) -> None:
    control = practice_server.url + "/_practice/faults"
    bad = httpx.post(control, json={"faults": [{"kind": "explode"}]})
    assert bad.status_code == 400
    assert "kind" in bad.json()["error"]
    ok = httpx.post(control, json={"faults": [{"kind": "status", "status": 503}], "refuse_replies": True})
    assert ok.json() == {"queued": 1, "refuse_replies": True}
    assert _post(practice_server, {"text": "障害"}).status_code == 503
    assert _post(practice_server, {"text": "障害"}).status_code == 201  # one fault per request
    httpx.post(practice_server.url + "/_practice/reset")
    assert practice_server.posts() == []
    assert practice_server.fault_settings() == {"queued": 0, "refuse_replies": False}


def test_rate_limit_fault_sets_the_reset_header(practice_server: PracticeServer) -> None:
    practice_server.inject({"kind": "status", "status": 429, "reset_in": 120})
    response = _post(practice_server, {"text": "上限"})
    assert response.status_code == 429
    assert abs(int(response.headers["x-rate-limit-reset"]) - (time.time() + 120)) <= 5


def test_inject_validates_faults(practice_server: PracticeServer) -> None:
    with pytest.raises(ValueError):
        practice_server.inject({"kind": "status", "status": 200})
    with pytest.raises(ValueError):
        practice_server.inject({"kind": "slow"})


def test_state_file_keeps_posts_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "practice.json"
    first = PracticeServer(state_file=state)
    first.start()
    with XClient(first.url, DEMO_CREDENTIALS, timeout=5) as client:
        created = client.create_post("再起動後も残る")
    first.stop()
    second = PracticeServer(state_file=state)
    second.start()
    try:
        assert [p["id"] for p in second.posts()] == [created.id]
        with XClient(second.url, DEMO_CREDENTIALS, timeout=5) as client:
            assert int(client.create_post("次の投稿").id) > int(created.id)
    finally:
        second.stop()


def test_a_broken_state_file_is_an_input_error(tmp_path: Path) -> None:
    state = tmp_path / "practice.json"
    state.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError) as info:
        PracticeServer(state_file=state)
    assert str(state) in str(info.value)


def test_a_busy_port_is_an_input_error(practice_server: PracticeServer) -> None:
    port = int(practice_server.url.rsplit(":", 1)[1])
    with pytest.raises(InputError) as info:
        PracticeServer(port=port).start()
    assert "--port" in str(info.value)


def test_serve_prints_its_url_and_stops_on_sigterm(closed_port_url: str) -> None:
    port = int(closed_port_url.rsplit(":", 1)[1])
    code = f"from dutypost.practice import serve; serve('127.0.0.1', {port})"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lines = [proc.stdout.readline()]
        while "Ctrl-C" not in lines[-1] and lines[-1]:
            lines.append(proc.stdout.readline())
        assert lines[0].strip() == f"練習用サーバーを起動しました: http://127.0.0.1:{port}"
        assert httpx.get(f"http://127.0.0.1:{port}/2/openapi.json").status_code == 200
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert f"  export DUTYPOST_X__CONSUMER_KEY={DEMO_CREDENTIALS.consumer_key}\n" in lines
    assert "止めました" in err
    assert proc.returncode == 0


# -- the demo's own server ----------------------------------------------------------------


def test_the_demo_takes_its_port_at_once_and_serves_once_x_is_needed():
    from dutypost.core.demo import demo_context

    ctx, server = demo_context()
    try:
        assert server.server is None  # nothing served yet: the first screen comes first
        assert ctx.api_base_url == server.url
        with pytest.raises(InputError, match="起動できません"):  # but the port is taken
            PracticeServer(port=int(server.url.rsplit(":", 1)[1])).start()
        me = ctx.x_client().me()
        assert server.server is not None and me["username"] == ctx.settings.account.drill_handle
    finally:
        ctx.close()
        server.stop()


def test_a_demo_that_never_reached_x_lets_its_port_go():
    from dutypost.core.demo import demo_context

    ctx, server = demo_context()
    port = int(server.url.rsplit(":", 1)[1])
    ctx.close()
    server.stop()
    again = PracticeServer(port=port)
    again.start()
    again.stop()
