"""The practice server (練習用サーバー) over raw HTTP on 127.0.0.1: what X-like clients see."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from oauthlib.oauth1 import Client

from dutypost.core.errors import InputError
from dutypost.core.oauth1 import Credentials, authorization_header
from dutypost.core.demo_account import DEMO_CREDENTIALS, PRACTICE_USER_ID
from dutypost.core.length import weighted_length
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


# -- answering the way X answers (the X-like mode, SPEC §5) ------------------------------


def _get(server: PracticeServer, path: str, **params: str | int) -> httpx.Response:
    """A signed GET through the real client's signing, query parameters included."""
    request = httpx.Request("GET", server.url + path, params=params)
    url = str(request.url)
    return httpx.get(url, headers={"Authorization": authorization_header(DEMO_CREDENTIALS, "GET", url)})


def _signed_json(server: PracticeServer, path: str, body: object) -> httpx.Response:
    url = server.url + path
    return httpx.post(url, json=body, headers={"Authorization": authorization_header(DEMO_CREDENTIALS, "POST", url)})


def _timeline(server: PracticeServer, **params: str | int) -> dict:
    response = _get(server, f"/2/users/{PRACTICE_USER_ID}/tweets", **params)
    assert response.status_code == 200, response.text
    return response.json()


def _png(tmp_path: Path, name: str = "map.png") -> Path:
    path = tmp_path / name
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    return path


TCO = re.compile(r"https://t\.co/[0-9A-Za-z]{10}")


def test_x_like_timeline_escapes_entities_and_turns_every_url_into_a_tco_link(
    x_like_server: PracticeServer,
) -> None:
    sent = "避難所 & 給水所 <本郷> 詳しくは https://www.town.example.jp/bousai?a=1&b=2 または example.com へ"
    with XClient(x_like_server.url, DEMO_CREDENTIALS, timeout=5) as client:
        created = client.create_post(sent)
        timeline = client.user_posts(PRACTICE_USER_ID)
    [post] = timeline
    assert post["id"] == created.id
    text = post["text"]
    assert text.startswith("避難所 &amp; 給水所 &lt;本郷&gt; 詳しくは https://t.co/")
    assert "example" not in text and "&b=2" not in text
    links = TCO.findall(text)
    assert len(links) == 2 and links[0] != links[1]
    assert TCO.sub("LINK", text) == "避難所 &amp; 給水所 &lt;本郷&gt; 詳しくは LINK または LINK へ"
    urls = post["entities"]["urls"]
    assert [u["expanded_url"] for u in urls] == ["https://www.town.example.jp/bousai?a=1&b=2", "http://example.com"]
    assert [u["display_url"] for u in urls] == ["www.town.example.jp/bousai…", "example.com"]
    for entity, link in zip(urls, links):
        assert entity["url"] == link and text[entity["start"]:entity["end"]] == link
    assert x_like_server.posts()[0]["text"] == sent  # stored as sent; only the answer is rewritten


def test_x_like_create_answer_carries_the_id_and_the_text_as_x_keeps_it(x_like_server: PracticeServer) -> None:
    answer = _post(x_like_server, {"text": "A & B https://example.com/x"})
    assert answer.status_code == 201
    data = answer.json()["data"]
    assert data["id"].isdigit() and data["edit_history_tweet_ids"] == [data["id"]]
    assert TCO.sub("LINK", data["text"]) == "A &amp; B LINK"


def test_plain_mode_answers_the_text_as_sent(practice_server: PracticeServer) -> None:
    sent = "A & B <c> https://example.com/x"
    assert _post(practice_server, {"text": sent}).json()["data"]["text"] == sent
    assert _timeline(practice_server)["data"][0]["text"] == sent


def test_x_like_duplicates_are_still_refused_on_the_text_as_sent(x_like_server: PracticeServer) -> None:
    assert _post(x_like_server, {"text": "A & B"}).status_code == 201
    refused = _post(x_like_server, {"text": "A & B"})
    assert refused.status_code == 403
    assert refused.json() == {"title": "Forbidden", "detail": DUPLICATE_DETAIL, "type": "about:blank", "status": 403}
    assert _post(x_like_server, {"text": "A &amp; B"}).status_code == 201  # the escaped form is another text


def test_x_like_images_add_a_media_link_and_keep_their_alt_text(x_like_server: PracticeServer, tmp_path: Path) -> None:
    with XClient(x_like_server.url, DEMO_CREDENTIALS, timeout=5) as client:
        media_id = client.upload_media(_png(tmp_path))
        alt = _signed_json(x_like_server, "/2/media/metadata/create",
                           {"id": media_id, "metadata": {"alt_text": {"text": "本郷地区の避難所の地図"}}})
        assert alt.status_code == 200
        assert alt.json()["data"] == {"id": media_id, "associated_metadata": True,
                                      "alt_text": {"text": "本郷地区の避難所の地図"}}
        created = client.create_post("避難所の地図です", media_ids=[media_id])
        [post] = client.user_posts(PRACTICE_USER_ID)
    assert x_like_server.media_alt_text(media_id) == "本郷地区の避難所の地図"
    assert re.fullmatch(r"避難所の地図です https://t\.co/[0-9A-Za-z]{10}", post["text"])
    [media] = post["entities"]["urls"]
    assert media["media_key"] == f"3_{media_id}"
    assert media["expanded_url"] == f"https://x.com/practice_town/status/{created.id}/photo/1"
    assert post["text"][media["start"]:media["end"]] == media["url"]
    assert "代替テキスト: 本郷地区の避難所の地図" in httpx.get(x_like_server.url + "/").text


def test_alt_text_needs_a_known_media_id_and_at_most_1000_characters(
    practice_server: PracticeServer, tmp_path: Path
) -> None:
    with XClient(practice_server.url, DEMO_CREDENTIALS, timeout=5) as client:
        media_id = client.upload_media(_png(tmp_path))
    unknown = _signed_json(practice_server, "/2/media/metadata/create",
                           {"id": "123456789", "metadata": {"alt_text": {"text": "地図"}}})
    assert unknown.status_code == 400 and "123456789" in unknown.json()["errors"][0]["message"]
    too_long = _signed_json(practice_server, "/2/media/metadata/create",
                            {"id": media_id, "metadata": {"alt_text": {"text": "あ" * 1001}}})
    assert too_long.status_code == 400
    exactly = _signed_json(practice_server, "/2/media/metadata/create",
                           {"id": media_id, "metadata": {"alt_text": {"text": "あ" * 1000}}})
    assert exactly.status_code == 200
    unsigned = httpx.post(practice_server.url + "/2/media/metadata/create",
                          json={"id": media_id, "metadata": {"alt_text": {"text": "地図"}}})
    assert unsigned.status_code == 401
    assert practice_server.media_alt_text(media_id) == "あ" * 1000


def test_at_most_four_images_a_post(practice_server: PracticeServer, tmp_path: Path) -> None:
    with XClient(practice_server.url, DEMO_CREDENTIALS, timeout=5) as client:
        ids = [client.upload_media(_png(tmp_path, f"{i}.png")) for i in range(5)]
    assert _post(practice_server, {"text": "五枚", "media": {"media_ids": ids}}).status_code == 400
    assert _post(practice_server, {"text": "四枚", "media": {"media_ids": ids[:4]}}).status_code == 201
    assert [p["text"] for p in practice_server.posts()] == ["四枚"]


def test_a_long_post_comes_back_truncated_with_its_full_text_in_note_tweet(x_like_server: PracticeServer) -> None:
    sent = "避難所を開設しました。" * 20 + "詳細 https://example.com/a"  # 200 Japanese characters: 400+ weighted
    assert weighted_length(sent) > 280
    assert _post(x_like_server, {"text": sent}).status_code == 201
    [post] = _timeline(x_like_server, **{"tweet.fields": "note_tweet,created_at"})["data"]
    assert post["text"].endswith("…") and weighted_length(post["text"]) <= 280
    assert sent.startswith(post["text"][:-1])
    [link] = post["note_tweet"]["entities"]["urls"]
    assert link["expanded_url"] == "https://example.com/a"
    assert post["note_tweet"]["text"][link["start"]:link["end"]] == link["url"]
    assert TCO.sub("LINK", post["note_tweet"]["text"]) == "避難所を開設しました。" * 20 + "詳細 LINK"
    assert post["created_at"].endswith("Z")
    [plain] = _timeline(x_like_server)["data"]
    assert "note_tweet" not in plain and plain["text"] == post["text"]


def test_a_post_within_280_has_no_note_tweet(x_like_server: PracticeServer) -> None:
    sent = "あ" * 140
    assert _post(x_like_server, {"text": sent}).status_code == 201
    [post] = _timeline(x_like_server, **{"tweet.fields": "note_tweet"})["data"]
    assert post["text"] == sent and "note_tweet" not in post


# -- timelines: pages, filters, lag ---------------------------------------------------


def test_timelines_are_paged_with_next_token(practice_server: PracticeServer) -> None:
    sent = [_post(practice_server, {"text": f"お知らせ {i}"}).json()["data"]["id"] for i in range(12)]
    pages, token = [], None
    while True:
        params = {"max_results": 5, **({"pagination_token": token} if token else {})}
        page = _timeline(practice_server, **params)
        pages.append([p["id"] for p in page["data"]])
        assert page["meta"]["result_count"] == len(page["data"])
        assert (page["meta"]["newest_id"], page["meta"]["oldest_id"]) == (pages[-1][0], pages[-1][-1])
        token = page["meta"].get("next_token")
        if token is None:
            break
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [i for p in pages for i in p] == list(reversed(sent))
    assert len(_timeline(practice_server)["data"]) == 10  # X's default page


@pytest.mark.parametrize("params", [{"max_results": 4}, {"max_results": 101}, {"max_results": "many"},
                                    {"pagination_token": "not-a-token"}, {"since_id": "abc"},
                                    {"start_time": "2026-01-01T00:00:00"}, {"end_time": "yesterday"}])
def test_timeline_parameters_x_refuses_get_400(practice_server: PracticeServer, params: dict) -> None:
    response = _get(practice_server, f"/2/users/{PRACTICE_USER_ID}/tweets", **params)
    assert response.status_code == 400
    assert response.json()["title"] == "Invalid Request" and response.json()["errors"]


def test_timeline_filters_by_id_and_time(practice_server: PracticeServer) -> None:
    ids = [_post(practice_server, {"text": f"投稿 {i}"}).json()["data"]["id"] for i in range(5)]
    since = _timeline(practice_server, since_id=ids[1])
    assert [p["id"] for p in since["data"]] == ids[:1:-1]
    until = _timeline(practice_server, until_id=ids[3])
    assert [p["id"] for p in until["data"]] == ids[2::-1]
    both = _timeline(practice_server, since_id=ids[0], until_id=ids[4])
    assert [p["id"] for p in both["data"]] == ids[3:0:-1]
    created = {p["id"]: p["created_at"] for p in practice_server.posts()}
    future = _timeline(practice_server, start_time="2099-01-01T00:00:00Z")
    assert future == {"meta": {"result_count": 0}}
    past = _timeline(practice_server, end_time="2020-01-01T00:00:00Z")
    assert past == {"meta": {"result_count": 0}}
    window = _timeline(practice_server, start_time=created[ids[0]], end_time="2099-01-01T00:00:00Z")
    assert len(window["data"]) == 5


def test_a_fresh_post_shows_on_the_timeline_only_after_the_lag(x_like_server: PracticeServer) -> None:
    mode = httpx.post(x_like_server.url + "/_practice/mode", json={"timeline_lag": 1.5})
    assert mode.json() == {"x_like": True, "timeline_lag": 1.5}
    created = _post(x_like_server, {"text": "遅れて出る"}).json()["data"]
    assert _timeline(x_like_server) == {"meta": {"result_count": 0}}
    assert x_like_server.posts()[0]["id"] == created["id"]  # stored at once, only not shown yet
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _timeline(x_like_server)["meta"]["result_count"] == 0:
        time.sleep(0.2)
    [post] = _timeline(x_like_server)["data"]
    assert post["id"] == created["id"]
    created_at = datetime.fromisoformat(x_like_server.posts()[0]["created_at"])
    assert datetime.now(timezone.utc) - created_at >= timedelta(seconds=1.5)


def test_the_mode_is_switched_over_http_and_checked(practice_server: PracticeServer) -> None:
    control = practice_server.url + "/_practice/mode"
    assert httpx.get(control).json() == {"x_like": False, "timeline_lag": 0.0}
    assert httpx.post(control, json={"timeline_lag": -1}).status_code == 400
    assert httpx.post(control, json={"x_like": "yes"}).status_code == 400
    assert httpx.post(control, json={"colour": "red"}).status_code == 400
    assert httpx.post(control, json={"x_like": True}).json() == {"x_like": True, "timeline_lag": 0.0}
    _post(practice_server, {"text": "a & b"})
    assert _timeline(practice_server)["data"][0]["text"] == "a &amp; b"


# -- faults after storing (issue 17) -----------------------------------------------------


def test_store_then_500_keeps_the_post_and_answers_xs_500(practice_server: PracticeServer) -> None:
    practice_server.inject({"kind": "store_then_500"})
    response = _post(practice_server, {"text": "保存してから 500"})
    assert response.status_code == 500
    assert response.json() == {"title": "Internal Server Error", "detail": "Internal Server Error",
                               "type": "about:blank", "status": 500}
    assert [p["text"] for p in practice_server.posts()] == ["保存してから 500"]
    assert _post(practice_server, {"text": "保存してから 500"}).status_code == 403  # it is there: a duplicate


def test_store_then_reset_keeps_the_post_and_resets_the_connection(practice_server: PracticeServer) -> None:
    practice_server.inject({"kind": "store_then_reset"})
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        _post(practice_server, {"text": "保存してから切断"})
    assert [p["text"] for p in practice_server.posts()] == ["保存してから切断"]
    assert [p["text"] for p in _timeline(practice_server)["data"]] == ["保存してから切断"]


@pytest.mark.parametrize("status", [200, 201])
def test_store_then_garbage_keeps_the_post_and_answers_a_body_that_is_not_json(
    practice_server: PracticeServer, status: int
) -> None:
    practice_server.inject({"kind": "store_then_garbage", "status": status})
    response = _post(practice_server, {"text": "保存してから壊れた応答"})
    assert response.status_code == status
    with pytest.raises(ValueError):
        json.loads(response.content)
    assert [p["text"] for p in practice_server.posts()] == ["保存してから壊れた応答"]


def test_a_garbage_fault_accepts_only_success_statuses(practice_server: PracticeServer) -> None:
    with pytest.raises(ValueError):
        practice_server.inject({"kind": "store_then_garbage", "status": 500})


@pytest.mark.parametrize("status,title", [(503, "Service Unavailable"), (401, "Unauthorized")])
def test_status_faults_answer_xs_problem_body_and_store_nothing(
    practice_server: PracticeServer, status: int, title: str
) -> None:
    practice_server.inject({"kind": "status", "status": status})
    response = _post(practice_server, {"text": "届かない"})
    assert response.status_code == status
    assert response.json() == {"title": title, "detail": title, "type": "about:blank", "status": status}
    assert practice_server.posts() == []


def test_the_command_line_refuses_a_lag_out_of_range() -> None:
    proc = subprocess.run([sys.executable, "-m", "dutypost.core.cli", "practice-server", "--lag", "5000"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "--lag" in proc.stderr and "Traceback" not in proc.stderr


def test_the_demo_answers_like_x():
    from dutypost.core.demo import demo_context

    ctx, server = demo_context()
    try:
        ctx.x_client().me()
        assert server.server is not None and server.server.mode()["x_like"] is True
    finally:
        ctx.close()
        server.stop()


def test_the_command_line_starts_an_x_like_server_with_a_lag(closed_port_url: str) -> None:
    port = int(closed_port_url.rsplit(":", 1)[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "dutypost.core.cli", "practice-server", "--port", str(port), "--x-like", "--lag", "2"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        lines = [proc.stdout.readline()]
        while "Ctrl-C" not in lines[-1] and lines[-1]:
            lines.append(proc.stdout.readline())
        assert "X と同じ形で応答します (--x-like)、タイムラインには 2 秒遅れて出ます。\n" in lines
        assert httpx.get(f"http://127.0.0.1:{port}/_practice/mode").json() == {"x_like": True, "timeline_lag": 2.0}
        proc.terminate()
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
