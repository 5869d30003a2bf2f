"""Fixtures for the practice server (練習用サーバー): the real server on 127.0.0.1.

- ``practice_server``: a fresh :class:`PracticeServer` on a free port, stopped afterwards;
  it accepts ``DEMO_CREDENTIALS`` and answers with the text as sent.
- ``x_like_server``: the same in the X-like mode (escaped text, t.co links, media link,
  ``note_tweet``); add a timeline lag with ``x_like_server.set_mode(timeline_lag=2)``.
- ``x_client``: an :class:`XClient` on that server with the demo credentials.
- ``closed_port_url``: the URL of a port nobody listens on (connection refused).
- ``issued_token``: ``issued_token(server)`` logs in by PIN on that server and returns the
  new credentials as ``DUTYPOST_X__*`` variables: a real token of the server's account
  (``server.username``) that is not the built-in practice token.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.practice import PracticeServer
from dutypost.core.xapi import XClient


@pytest.fixture
def practice_server() -> Iterator[PracticeServer]:
    server = PracticeServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def x_like_server() -> Iterator[PracticeServer]:
    server = PracticeServer(x_like=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def x_client(practice_server: PracticeServer) -> Iterator[XClient]:
    client = XClient(practice_server.url, DEMO_CREDENTIALS, timeout=5)
    yield client
    client.close()


@pytest.fixture
def issued_token():
    import httpx
    from urllib.parse import parse_qs, urlsplit

    from dutypost.core.auth import pin_login

    def read_pin(authorize_url: str) -> str:
        parts = urlsplit(authorize_url)
        token = parse_qs(parts.query)["oauth_token"][0]
        return httpx.get(f"{parts.scheme}://{parts.netloc}/_practice/pin", params={"oauth_token": token}).json()["pin"]

    def login(server: PracticeServer) -> dict[str, str]:
        tokens = pin_login(server.url, DEMO_CREDENTIALS.consumer_key, DEMO_CREDENTIALS.consumer_secret,
                           ask_pin=read_pin, timeout=5)
        assert tokens["access_token"] != DEMO_CREDENTIALS.access_token
        return {f"DUTYPOST_X__{k.upper()}": tokens[k]
                for k in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")}

    return login


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
