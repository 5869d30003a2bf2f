"""The PIN login (PIN 認証) through tweepy against the real practice server."""

from __future__ import annotations

import socket
import threading
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from dutypost.core.auth import pin_login
from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.core.errors import DutypostError, InputError
from dutypost.core.oauth1 import Credentials
from dutypost.core.xapi import XClient
from dutypost.practice import PracticeServer


def _read_pin(authorize_url: str) -> str:
    """What the officer does in the browser, done through the practice server's test hook."""
    parts = urlsplit(authorize_url)
    token = parse_qs(parts.query)["oauth_token"][0]
    page = httpx.get(authorize_url)
    assert page.status_code == 200
    pin = httpx.get(f"{parts.scheme}://{parts.netloc}/_practice/pin", params={"oauth_token": token}).json()["pin"]
    assert pin in page.text
    return pin


def test_pin_login_end_to_end_and_the_token_posts(practice_server: PracticeServer) -> None:
    shown: list[str] = []

    def ask_pin(url: str) -> str:
        shown.append(url)
        return " " + _read_pin(url) + "\n"

    result = pin_login(practice_server.url, DEMO_CREDENTIALS.consumer_key, DEMO_CREDENTIALS.consumer_secret,
                       ask_pin=ask_pin, timeout=5)
    assert shown[0].startswith(practice_server.url + "/oauth/authorize?oauth_token=")
    assert set(result) == {"consumer_key", "consumer_secret", "access_token", "access_token_secret", "user_id",
                           "screen_name"}
    assert (result["user_id"], result["screen_name"]) == ("1000000001", "practice_town")
    assert result["access_token"] != DEMO_CREDENTIALS.access_token
    creds = Credentials(result["consumer_key"], result["consumer_secret"], result["access_token"],
                        result["access_token_secret"])
    with XClient(practice_server.url, creds, timeout=5) as client:
        created = client.create_post("新しいトークンで投稿")
    assert practice_server.posts()[0]["id"] == created.id


def test_the_request_token_is_spent_after_login(practice_server: PracticeServer) -> None:
    tokens: list[str] = []

    def ask_pin(url: str) -> str:
        tokens.append(parse_qs(urlsplit(url).query)["oauth_token"][0])
        return _read_pin(url)

    pin_login(practice_server.url, DEMO_CREDENTIALS.consumer_key, DEMO_CREDENTIALS.consumer_secret,
              ask_pin=ask_pin, timeout=5)
    assert httpx.get(practice_server.url + "/_practice/pin", params={"oauth_token": tokens[0]}).status_code == 404


def test_a_wrong_pin_is_an_input_error(practice_server: PracticeServer) -> None:
    def wrong_pin(url: str) -> str:
        return f"{(int(_read_pin(url)) + 1) % 10**7:07d}"

    with pytest.raises(InputError) as info:
        pin_login(practice_server.url, DEMO_CREDENTIALS.consumer_key, DEMO_CREDENTIALS.consumer_secret,
                  ask_pin=wrong_pin, timeout=5)
    assert "PIN" in str(info.value)


def test_a_pin_that_is_not_digits_is_an_input_error(practice_server: PracticeServer) -> None:
    with pytest.raises(InputError):
        pin_login(practice_server.url, DEMO_CREDENTIALS.consumer_key, DEMO_CREDENTIALS.consumer_secret,
                  ask_pin=lambda url: "abc", timeout=5)


def test_wrong_consumer_keys_are_an_input_error(practice_server: PracticeServer) -> None:
    asked: list[str] = []
    with pytest.raises(InputError) as info:
        pin_login(practice_server.url, DEMO_CREDENTIALS.consumer_key, "wrong-secret-5521",
                  ask_pin=asked.append, timeout=5)  # type: ignore[arg-type]
    assert asked == []
    assert "API Key" in str(info.value)
    assert "wrong-secret-5521" not in str(info.value)


def test_empty_keys_are_an_input_error() -> None:
    with pytest.raises(InputError):
        pin_login("http://127.0.0.1:1", "", "", ask_pin=lambda url: "1", timeout=1)


def test_an_unreachable_host_is_explained(closed_port_url: str) -> None:
    with pytest.raises(DutypostError) as info:
        pin_login(closed_port_url, "key-31337", "secret-31337", ask_pin=lambda url: "1", timeout=2)
    assert "接続できませんでした" in str(info.value)
    assert "secret-31337" not in str(info.value) and "key-31337" not in str(info.value)


def test_a_silent_host_times_out() -> None:
    # A listening socket that never answers: without a timeout tweepy would wait forever.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = "http://127.0.0.1:{}".format(silent.getsockname()[1])
        errors: list[Exception] = []

        def login() -> None:
            try:
                pin_login(url, "key", "secret", ask_pin=lambda u: "1", timeout=0.5)
            except DutypostError as exc:
                errors.append(exc)

        worker = threading.Thread(target=login, daemon=True)
        worker.start()
        worker.join(timeout=20)
        assert not worker.is_alive()
    assert len(errors) == 1
    assert "応答" in str(errors[0])
