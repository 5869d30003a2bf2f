"""OAuth 1.0a as X checks it: the known consumers and tokens, the signature, the
timestamp window, nonce replay, and the three-legged PIN login's tokens."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from dutypost.core.demo_account import PRACTICE_USER_ID
from dutypost.core.oauth1 import FORM_CONTENT_TYPE, Credentials

TIMESTAMP_WINDOW_SECONDS = 300


class Refused(Exception):
    """An OAuth check failed; the reason goes to the server log, never to the client."""


@dataclass
class RequestToken:
    secret: str
    consumer_key: str
    pin: str


class Keys:
    """The consumers and access tokens the server accepts, and the PIN logins under way."""

    def __init__(self, credentials: list[Credentials]) -> None:
        self._lock = threading.Lock()
        self.consumers: dict[str, str] = {}
        self.tokens: dict[str, tuple[str, str]] = {}  # access token -> (consumer key, secret)
        for cred in credentials:
            self.consumers[cred.consumer_key] = cred.consumer_secret
            self.tokens[cred.access_token] = (cred.consumer_key, cred.access_token_secret)
        self._request_tokens: dict[str, RequestToken] = {}
        self._nonces: dict[tuple[str, str], int] = {}

    def snapshot(self) -> dict[str, Any]:
        """What the state file keeps: issued tokens and consumers."""
        with self._lock:
            return {"tokens": {token: list(pair) for token, pair in self.tokens.items()},
                    "consumers": dict(self.consumers)}

    def restore(self, state: dict[str, Any]) -> None:
        with self._lock:
            self.consumers.update(state.get("consumers", {}))
            self.tokens.update({token: (pair[0], pair[1]) for token, pair in state.get("tokens", {}).items()})

    def verify(
        self, method: str, base_uri: str, query: str, headers: Any, body: bytes, token_kind: str | None
    ) -> dict[str, str]:
        """Check an OAuth 1.0a request like X does; returns its ``oauth_*`` parameters.

        ``token_kind`` is ``"access"`` for the API, ``"request"`` for the access-token
        step of the PIN login, ``None`` for the request-token step (consumer only).
        Raises :class:`Refused` with the reason.
        """
        from oauthlib.oauth1 import Client
        from oauthlib.oauth1.rfc5849 import signature

        auth = headers.get("Authorization", "")
        if not auth.startswith("OAuth "):
            raise Refused("no OAuth Authorization header")
        form = body if headers.get("Content-Type", "").startswith(FORM_CONTENT_TYPE) and body else None
        try:
            params = signature.collect_parameters(
                uri_query=query, body=form.decode("utf-8") if form else None,
                headers={"Authorization": auth}, exclude_oauth_signature=False,
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise Refused(f"unreadable OAuth parameters: {exc}") from None
        oauth = {k: v for k, v in params if k.startswith("oauth_")}
        for name in ("oauth_consumer_key", "oauth_nonce", "oauth_timestamp", "oauth_signature"):
            if not oauth.get(name):
                raise Refused(f"missing {name}")
        if oauth.get("oauth_signature_method") != "HMAC-SHA1":
            raise Refused("signature method is not HMAC-SHA1")
        if oauth.get("oauth_version", "1.0") != "1.0":
            raise Refused("oauth_version is not 1.0")
        try:
            timestamp = int(oauth["oauth_timestamp"])
        except ValueError:
            raise Refused("timestamp is not a number") from None
        now = int(time.time())
        if abs(now - timestamp) > TIMESTAMP_WINDOW_SECONDS:
            raise Refused("timestamp out of the allowed window")
        consumer_key = oauth["oauth_consumer_key"]
        with self._lock:
            consumer_secret = self.consumers.get(consumer_key)
            token = oauth.get("oauth_token", "")
            if token_kind == "access":
                owner, token_secret = self.tokens.get(token, ("", ""))
            elif token_kind == "request":
                pending = self._request_tokens.get(token)
                owner, token_secret = (pending.consumer_key, pending.secret) if pending else ("", "")
            else:
                owner, token_secret = consumer_key, ""
        if consumer_secret is None:
            raise Refused("unknown consumer key")
        if owner != consumer_key:
            raise Refused(f"unknown {token_kind} token for this consumer")
        base_string = signature.signature_base_string(
            method,
            signature.base_string_uri(base_uri),
            signature.normalize_parameters([(k, v) for k, v in params if k != "oauth_signature"]),
        )
        expected = signature.sign_hmac_sha1_with_client(
            base_string, Client(consumer_key, client_secret=consumer_secret, resource_owner_secret=token_secret)
        )
        if not hmac.compare_digest(expected, oauth["oauth_signature"]):
            raise Refused("signature does not match")
        with self._lock:
            self._nonces = {k: t for k, t in self._nonces.items() if now - t <= TIMESTAMP_WINDOW_SECONDS}
            if (consumer_key, oauth["oauth_nonce"]) in self._nonces:
                raise Refused("nonce already used")
            self._nonces[(consumer_key, oauth["oauth_nonce"])] = timestamp
        return oauth

    def issue_request_token(self, consumer_key: str) -> dict[str, str]:
        token = "practice-request-" + secrets.token_urlsafe(16)
        pending = RequestToken(secret=secrets.token_urlsafe(24), consumer_key=consumer_key,
                               pin=f"{secrets.randbelow(10**7):07d}")
        with self._lock:
            self._request_tokens[token] = pending
        return {"oauth_token": token, "oauth_token_secret": pending.secret, "oauth_callback_confirmed": "true"}

    def pin_for(self, request_token: str) -> str | None:
        with self._lock:
            pending = self._request_tokens.get(request_token)
            return pending.pin if pending else None

    def issue_access_token(self, request_token: str, verifier: str) -> tuple[str, str] | None:
        """Trade a request token and its PIN for ``(token, secret)``; None when the PIN is wrong."""
        with self._lock:
            pending = self._request_tokens.get(request_token)
            if pending is None or not hmac.compare_digest(pending.pin, verifier):
                return None
            del self._request_tokens[request_token]
            token = f"{PRACTICE_USER_ID}-{secrets.token_urlsafe(18)}"
            secret = secrets.token_urlsafe(32)
            self.tokens[token] = (pending.consumer_key, secret)
        return token, secret
