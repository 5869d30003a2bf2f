"""The PIN login (PIN 認証) that gives dutypost its X access token (``dutypost auth``).

OAuth 1.0a with ``callback="oob"``: the officer opens the authorize URL in any browser
(on a phone if need be), approves the app, and types the PIN X shows. No callback to
this host is needed, so it works over SSH.

tweepy does the flow. This module imports tweepy at its top, so only ``dutypost auth``
may import it (never the start-up path).
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import parse_qsl

import requests
from requests.adapters import HTTPAdapter
from requests_oauthlib.oauth1_session import TokenRequestDenied
from tweepy import OAuth1UserHandler
from tweepy.errors import TweepyException

from dutypost.core.errors import DutypostError, InputError


def pin_login(
    api_base_url: str,
    consumer_key: str,
    consumer_secret: str,
    *,
    ask_pin: Callable[[str], str],
    timeout: float,
) -> dict[str, str]:
    """Log in with a PIN and return the credentials to store in the secrets file.

    ``ask_pin(authorize_url)`` shows the URL to the officer and returns the PIN they
    type. Returns ``consumer_key``, ``consumer_secret``, ``access_token``,
    ``access_token_secret``, ``user_id`` and ``screen_name``. Raises
    :class:`InputError` for a wrong key or PIN and :class:`DutypostError` when X
    cannot be reached; messages never contain the secrets.
    """
    if not consumer_key.strip() or not consumer_secret.strip():
        raise InputError(
            "API Key と API Key Secret の両方を入力してください。",
            hint="X の開発者ポータルでアプリの「Keys and tokens」に表示される値です。",
        )
    handler = _PinLoginHandler(api_base_url, timeout, consumer_key.strip(), consumer_secret.strip())
    try:
        authorize_url = handler.get_authorization_url()
    except TweepyException as exc:
        raise _login_error(exc, step="request", api_base_url=api_base_url, timeout=timeout) from None
    pin = "".join(ask_pin(authorize_url).split())
    if not pin.isdigit():
        raise InputError("PIN は数字で入力してください (X の画面に表示された 7 桁の数字です)。",
                         hint="dutypost auth をもう一度実行してください。")
    try:
        access_token, access_token_secret = handler.get_access_token(pin)
    except TweepyException as exc:
        raise _login_error(exc, step="access", api_base_url=api_base_url, timeout=timeout) from None
    answer = dict(parse_qsl(handler.last_response_text))
    return {
        "consumer_key": handler.consumer_key,
        "consumer_secret": handler.consumer_secret,
        "access_token": access_token,
        "access_token_secret": access_token_secret,
        "user_id": answer.get("user_id", ""),
        "screen_name": answer.get("screen_name", ""),
    }


class _TimeoutAdapter(HTTPAdapter):
    """Puts a timeout on every request: tweepy itself sends them without one."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def send(self, request: requests.PreparedRequest, timeout: Any = None, **kwargs: Any) -> requests.Response:
        return super().send(request, timeout=timeout or self._timeout, **kwargs)


class _PinLoginHandler(OAuth1UserHandler):
    """tweepy's PIN login, pointed at ``api_base_url`` and with a timeout on every request.

    tweepy keeps only the token pair of the access-token answer; the answer's text is
    kept here for its ``user_id`` and ``screen_name``.
    """

    def __init__(self, api_base_url: str, timeout: float, consumer_key: str, consumer_secret: str) -> None:
        self._api_base_url = api_base_url.rstrip("/")
        self._timeout = timeout
        self.last_response_text = ""
        super().__init__(consumer_key, consumer_secret, callback="oob")

    def _get_oauth_url(self, endpoint: str) -> str:
        return f"{self._api_base_url}/oauth/{endpoint}"

    # tweepy assigns a new session to ``self.oauth`` for each step; equip each one.
    @property
    def oauth(self) -> Any:
        return self._oauth

    @oauth.setter
    def oauth(self, session: Any) -> None:
        adapter = _TimeoutAdapter(self._timeout)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.hooks["response"].append(self._remember)
        self._oauth = session

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.last_response_text = response.text


def _login_error(exc: TweepyException, *, step: str, api_base_url: str, timeout: float) -> DutypostError:
    cause: BaseException | None = exc
    while isinstance(cause, TweepyException):  # tweepy wraps its own wrapper at times
        cause = cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else cause.__context__
    if isinstance(cause, TokenRequestDenied):
        status = cause.status_code
        if status == 401 and step == "request":
            return InputError(
                "X がアプリの API Key / API Key Secret を受け付けませんでした (HTTP 401)。",
                hint=(
                    "開発者ポータルでアプリの「Keys and tokens」の値を確かめて入力し直してください。"
                    "アプリの User authentication settings で OAuth 1.0a が有効かも確かめてください。"
                ),
            )
        if status == 401:
            return InputError(
                "PIN が正しくないか、期限が切れています (HTTP 401)。",
                hint="dutypost auth をもう一度実行し、新しく表示された URL で得た PIN を入力してください。",
            )
        return DutypostError(
            f"X がログインの要求を拒否しました (HTTP {status})。",
            hint="アプリの権限 (Read and Write) と設定を運用管理者に確かめてください。",
        )
    if isinstance(cause, requests.Timeout):
        return DutypostError(
            f"X からの応答が {timeout:g} 秒以内にありませんでした。ログインは済んでいません。",
            hint="ネットワークを確かめてから、dutypost auth をもう一度実行してください。",
        )
    if isinstance(cause, requests.ConnectionError):
        return DutypostError(
            f"X ({api_base_url}) に接続できませんでした。ログインは済んでいません。",
            hint="ネットワークと接続先の URL を確かめてから、dutypost auth をもう一度実行してください。",
        )
    return DutypostError(
        f"X へのログインに失敗しました ({type(cause or exc).__name__})。",
        hint="dutypost auth をもう一度実行してください。",
    )
