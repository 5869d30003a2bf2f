"""The practice server (練習用サーバー): a local stand-in for the X API for drills and tests.

A real HTTP server on 127.0.0.1 that speaks the subset of X API v2 dutypost uses
(SPEC §5), checks OAuth 1.0a signatures like X (timestamp window, nonce replay, known
consumer and token, valid HMAC-SHA1 signature), refuses duplicate texts like X, and does
the three-legged PIN login (``/oauth/request_token``, ``/oauth/authorize``,
``/oauth/access_token``). Nothing sent here reaches the real X.

For drills (訓練) and tests it can also misbehave on purpose. Faults queued with
``POST /_practice/faults`` (or :meth:`PracticeServer.inject`) apply to the next
``POST /2/tweets`` requests, one fault per request:

- ``{"kind": "status", "status": 503, "reset_in": 900}``: answer with that status
  (``reset_in`` seconds go into ``x-rate-limit-reset`` for a 429);
- ``{"kind": "timeout_after_store", "delay": 5}``: store the post, then wait before answering;
- ``{"kind": "reset_before_store"}``: reset the connection without storing or answering;
- ``{"kind": "drop_after_store"}``: store the post, then close without answering;
- ``{"kind": "slow", "delay": 2}``: wait, then store and answer normally.

``{"refuse_replies": true}`` makes it refuse replies the way X refuses self-serve accounts.
``/`` shows the accepted posts as a web page; ``/_practice/posts`` gives them as JSON.
"""

from __future__ import annotations

import html
import hmac
import json
import os
import secrets
import signal
import socket
import struct
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import policy
from email.parser import BytesParser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from dutypost.core.errors import InputError
from dutypost.core.oauth1 import FORM_CONTENT_TYPE, Credentials

DEMO_CREDENTIALS = Credentials(
    consumer_key="practice-consumer-key",
    consumer_secret="practice-consumer-secret-NOT-REAL",
    access_token="1000000001-practice-access-token",
    access_token_secret="practice-access-token-secret-NOT-REAL",
)
PRACTICE_USER_ID = "1000000001"
PRACTICE_USER_NAME = "練習用アカウント"
DEFAULT_PORT = 8787
TIMESTAMP_WINDOW_SECONDS = 300
TWITTER_EPOCH_MS = 1288834974657
JST = timezone(timedelta(hours=9), "JST")

DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
REPLY_REFUSED_DETAIL = (
    "Reply to this conversation is not allowed because you have not been mentioned or otherwise "
    "engaged by the author of the post you are replying to."
)
OPENAPI_DOCUMENT = {"openapi": "3.0.0", "info": {"title": "dutypost practice server", "version": "2.0"}}
FAULT_KINDS = ("status", "timeout_after_store", "reset_before_store", "drop_after_store", "slow")


@dataclass
class _Post:
    id: str
    text: str
    created_at: datetime
    reply_to: str | None = None
    media_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "created_at": _x_time(self.created_at),
            "reply_to": self.reply_to,
            "media_ids": self.media_ids,
        }


@dataclass
class _RequestToken:
    secret: str
    consumer_key: str
    pin: str


class _Refused(Exception):
    """An OAuth check failed; the reason goes to the server log, never to the client."""


class _Answer(Exception):
    """Stop handling the request and answer with this status and JSON body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _problem(status: int, detail: str | None = None, type_: str = "about:blank") -> _Answer:
    """X's problem JSON: ``{title, detail, type, status}``."""
    title = HTTPStatus(status).phrase
    return _Answer(status, {"title": title, "detail": detail or title, "type": type_, "status": status})


def _invalid(detail: str) -> _Answer:
    answer = _problem(400, "One or more parameters to your request was invalid.",
                      "https://api.twitter.com/2/problems/invalid-request")
    answer.body["title"] = "Invalid Request"
    answer.body["errors"] = [{"message": detail}]
    return answer


def _x_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _check_fault(fault: Any) -> dict[str, Any]:
    """Validate one fault; raise ValueError with a Japanese message."""
    if not isinstance(fault, dict) or fault.get("kind") not in FAULT_KINDS:
        raise ValueError(f"障害の種類 (kind) は {', '.join(FAULT_KINDS)} のいずれかです: {fault!r}")
    kind = fault["kind"]
    if kind == "status":
        status = fault.get("status")
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"status には 400〜599 の数を指定してください: {fault!r}")
        reset_in = fault.get("reset_in", 900)
        if not isinstance(reset_in, (int, float)) or reset_in < 0:
            raise ValueError(f"reset_in には 0 以上の秒数を指定してください: {fault!r}")
    if kind in ("timeout_after_store", "slow"):
        delay = fault.get("delay")
        if not isinstance(delay, (int, float)) or not 0 <= delay <= 600:
            raise ValueError(f"delay には 0〜600 の秒数を指定してください: {fault!r}")
    return dict(fault)


class PracticeServer:
    """The practice X API (練習用サーバー) on loopback, with its posts and accepted tokens."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credentials: list[Credentials] | None = None,
        username: str = "practice_town",
        state_file: str | Path | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.state_file = Path(state_file) if state_file else None
        self.verbose = False
        self._lock = threading.Lock()
        self._consumers: dict[str, str] = {}
        self._tokens: dict[str, tuple[str, str]] = {}  # access token -> (consumer key, secret)
        for cred in credentials if credentials is not None else [DEMO_CREDENTIALS]:
            self._consumers[cred.consumer_key] = cred.consumer_secret
            self._tokens[cred.access_token] = (cred.consumer_key, cred.access_token_secret)
        self._request_tokens: dict[str, _RequestToken] = {}
        self._nonces: dict[tuple[str, str], int] = {}
        self._posts: dict[str, _Post] = {}
        self._media: set[str] = set()
        self._faults: deque[dict[str, Any]] = deque()
        self._refuse_replies = False
        self._last_id = 0
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        if self.state_file and self.state_file.exists():
            self._load()

    # -- running ------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the practice server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self, listening: socket.socket | None = None) -> str:
        """Serve in a daemon thread; returns the base URL. ``listening``: a socket already
        bound and listening to serve on (the demo takes its port before it starts)."""
        if listening is not None:
            self._httpd = _HTTPServer(listening.getsockname()[:2], _Handler, self, listening=listening)
        else:
            self._bind()
        assert self._httpd is not None
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="practice-server", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and cut every open connection, as if the host went away."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.cut_connections()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None
        self._thread = None

    def _bind(self) -> None:
        try:
            self._httpd = _HTTPServer((self.host, self.port), _Handler, self)
        except OSError as exc:
            raise InputError(
                f"練習用サーバーを {self.host}:{self.port} で起動できません ({exc.strerror})。",
                hint="ほかのプログラムがこのポートを使っているかもしれません。--port で別の番号を指定してください。",
            ) from None

    # -- the Python API for tests and drills --------------------------------

    def inject(self, *faults: dict[str, Any]) -> None:
        """Queue faults for the next ``POST /2/tweets`` requests, one per request."""
        checked = [_check_fault(f) for f in faults]
        with self._lock:
            self._faults.extend(checked)

    def set_refuse_replies(self, refuse: bool) -> None:
        with self._lock:
            self._refuse_replies = refuse

    def fault_settings(self) -> dict[str, Any]:
        """How many faults are queued, and whether replies are refused."""
        with self._lock:
            return {"queued": len(self._faults), "refuse_replies": self._refuse_replies}

    def posts(self) -> list[dict[str, Any]]:
        """The accepted posts, newest first."""
        with self._lock:
            return [p.as_json() for p in self._newest_first()]

    def reset(self) -> None:
        """Forget posts, media, queued faults and the refuse-replies setting."""
        with self._lock:
            self._posts.clear()
            self._media.clear()
            self._faults.clear()
            self._refuse_replies = False
            self._save()

    # -- state (call with the lock held) ------------------------------------

    def _newest_first(self) -> list[_Post]:
        return sorted(self._posts.values(), key=lambda p: int(p.id), reverse=True)

    def _next_id(self) -> str:
        candidate = (int(time.time() * 1000) - TWITTER_EPOCH_MS) << 22
        self._last_id = max(candidate, self._last_id + 1)
        return str(self._last_id)

    def _save(self) -> None:
        if self.state_file is None:
            return
        state = {
            "posts": [p.as_json() for p in self._newest_first()],
            "tokens": {token: list(pair) for token, pair in self._tokens.items()},
            "consumers": self._consumers,
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def _load(self) -> None:
        assert self.state_file is not None
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
            for item in state.get("posts", []):
                post = _Post(
                    id=item["id"],
                    text=item["text"],
                    created_at=datetime.fromisoformat(item["created_at"]),
                    reply_to=item.get("reply_to"),
                    media_ids=list(item.get("media_ids", [])),
                )
                self._posts[post.id] = post
                self._last_id = max(self._last_id, int(post.id))
            self._consumers.update(state.get("consumers", {}))
            self._tokens.update({token: (pair[0], pair[1]) for token, pair in state.get("tokens", {}).items()})
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise InputError(
                f"練習用サーバーの状態ファイルを読めません: {self.state_file} ({exc})",
                hint="ファイルを直すか、削除してから起動し直してください (練習用の投稿は消えます)。",
            ) from None

    # -- OAuth 1.0a ---------------------------------------------------------

    def verify(
        self, method: str, base_uri: str, query: str, headers: Any, body: bytes, token_kind: str | None
    ) -> dict[str, str]:
        """Check an OAuth 1.0a request like X does; returns its ``oauth_*`` parameters.

        ``token_kind`` is ``"access"`` for the API, ``"request"`` for the access-token
        step of the PIN login, ``None`` for the request-token step (consumer only).
        Raises :class:`_Refused` with the reason.
        """
        from oauthlib.oauth1 import Client
        from oauthlib.oauth1.rfc5849 import signature

        auth = headers.get("Authorization", "")
        if not auth.startswith("OAuth "):
            raise _Refused("no OAuth Authorization header")
        form = body if headers.get("Content-Type", "").startswith(FORM_CONTENT_TYPE) and body else None
        try:
            params = signature.collect_parameters(
                uri_query=query, body=form.decode("utf-8") if form else None,
                headers={"Authorization": auth}, exclude_oauth_signature=False,
            )
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Refused(f"unreadable OAuth parameters: {exc}") from None
        oauth = {k: v for k, v in params if k.startswith("oauth_")}
        for name in ("oauth_consumer_key", "oauth_nonce", "oauth_timestamp", "oauth_signature"):
            if not oauth.get(name):
                raise _Refused(f"missing {name}")
        if oauth.get("oauth_signature_method") != "HMAC-SHA1":
            raise _Refused("signature method is not HMAC-SHA1")
        if oauth.get("oauth_version", "1.0") != "1.0":
            raise _Refused("oauth_version is not 1.0")
        try:
            timestamp = int(oauth["oauth_timestamp"])
        except ValueError:
            raise _Refused("timestamp is not a number") from None
        now = int(time.time())
        if abs(now - timestamp) > TIMESTAMP_WINDOW_SECONDS:
            raise _Refused("timestamp out of the allowed window")
        consumer_key = oauth["oauth_consumer_key"]
        with self._lock:
            consumer_secret = self._consumers.get(consumer_key)
            token = oauth.get("oauth_token", "")
            if token_kind == "access":
                owner, token_secret = self._tokens.get(token, ("", ""))
            elif token_kind == "request":
                pending = self._request_tokens.get(token)
                owner, token_secret = (pending.consumer_key, pending.secret) if pending else ("", "")
            else:
                owner, token_secret = consumer_key, ""
        if consumer_secret is None:
            raise _Refused("unknown consumer key")
        if owner != consumer_key:
            raise _Refused(f"unknown {token_kind} token for this consumer")
        base_string = signature.signature_base_string(
            method,
            signature.base_string_uri(base_uri),
            signature.normalize_parameters([(k, v) for k, v in params if k != "oauth_signature"]),
        )
        expected = signature.sign_hmac_sha1_with_client(
            base_string, Client(consumer_key, client_secret=consumer_secret, resource_owner_secret=token_secret)
        )
        if not hmac.compare_digest(expected, oauth["oauth_signature"]):
            raise _Refused("signature does not match")
        with self._lock:
            self._nonces = {k: t for k, t in self._nonces.items() if now - t <= TIMESTAMP_WINDOW_SECONDS}
            if (consumer_key, oauth["oauth_nonce"]) in self._nonces:
                raise _Refused("nonce already used")
            self._nonces[(consumer_key, oauth["oauth_nonce"])] = timestamp
        return oauth

    def issue_request_token(self, consumer_key: str) -> dict[str, str]:
        token = "practice-request-" + secrets.token_urlsafe(16)
        pending = _RequestToken(secret=secrets.token_urlsafe(24), consumer_key=consumer_key,
                                pin=f"{secrets.randbelow(10**7):07d}")
        with self._lock:
            self._request_tokens[token] = pending
        return {"oauth_token": token, "oauth_token_secret": pending.secret, "oauth_callback_confirmed": "true"}

    def pin_for(self, request_token: str) -> str | None:
        with self._lock:
            pending = self._request_tokens.get(request_token)
            return pending.pin if pending else None

    def issue_access_token(self, request_token: str, verifier: str) -> dict[str, str] | None:
        """Trade a request token and its PIN for an access token; None when the PIN is wrong."""
        with self._lock:
            pending = self._request_tokens.get(request_token)
            if pending is None or not hmac.compare_digest(pending.pin, verifier):
                return None
            del self._request_tokens[request_token]
            token = f"{PRACTICE_USER_ID}-{secrets.token_urlsafe(18)}"
            secret = secrets.token_urlsafe(32)
            self._tokens[token] = (pending.consumer_key, secret)
            self._save()
        return {"oauth_token": token, "oauth_token_secret": secret, "user_id": PRACTICE_USER_ID,
                "screen_name": self.username}

    # -- the API --------------------------------------------------------------

    def next_fault(self) -> dict[str, Any] | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def create_post(self, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict):
            raise _invalid("The request body must be a JSON object.")
        text = payload.get("text", "")
        reply_to = (payload.get("reply") or {}).get("in_reply_to_tweet_id")
        media_ids = (payload.get("media") or {}).get("media_ids") or []
        if not isinstance(text, str) or not isinstance(media_ids, list):
            raise _invalid("$.text must be a string and $.media.media_ids a list.")
        if not text.strip() and not media_ids:
            raise _invalid("Post text or media is required.")
        with self._lock:
            if reply_to is not None:
                if reply_to not in self._posts:
                    raise _invalid(f"The post to reply to was not found: {reply_to}")
                if self._refuse_replies:
                    raise _problem(403, REPLY_REFUSED_DETAIL)
            unknown = [m for m in media_ids if m not in self._media]
            if unknown:
                raise _invalid(f"Unknown media ids: {unknown}")
            if any(p.text == text for p in self._posts.values()):
                raise _problem(403, DUPLICATE_DETAIL)
            post = _Post(self._next_id(), text, datetime.now(timezone.utc), reply_to, list(media_ids))
            self._posts[post.id] = post
            self._save()
        return {"data": {"id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id]}}

    def delete_post(self, post_id: str) -> dict[str, Any]:
        with self._lock:
            deleted = self._posts.pop(post_id, None) is not None
            self._save()
        return {"data": {"deleted": deleted}}

    def user_posts(self, user_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        if user_id != PRACTICE_USER_ID:
            raise _problem(404, f"Could not find user with id: [{user_id}].",
                           "https://api.twitter.com/2/problems/resource-not-found")
        try:
            max_results = int(query.get("max_results", ["10"])[0])
            start = query.get("start_time", [None])[0]
            start_time = datetime.fromisoformat(start) if start else None
        except ValueError:
            raise _invalid("max_results must be a number and start_time an ISO 8601 time.") from None
        if not 5 <= max_results <= 100:
            raise _invalid("max_results must be between 5 and 100.")
        if start_time is not None and start_time.tzinfo is None:
            raise _invalid("start_time must give its time zone, e.g. 2026-01-01T00:00:00Z.")
        fields = ",".join(query.get("tweet.fields", [])).split(",")
        with self._lock:
            posts = [p for p in self._newest_first() if start_time is None or p.created_at >= start_time]
        posts = posts[:max_results]
        data = []
        for post in posts:
            item: dict[str, Any] = {"id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id]}
            if "created_at" in fields:
                item["created_at"] = _x_time(post.created_at)
            data.append(item)
        if not data:
            return {"meta": {"result_count": 0}}
        meta = {"result_count": len(data), "newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
        return {"data": data, "meta": meta}

    def upload_media(self, content_type: str, body: bytes) -> dict[str, Any]:
        if not content_type.startswith("multipart/form-data"):
            raise _invalid("Media must be sent as multipart/form-data.")
        message = BytesParser(policy=policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        fields = {
            part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in message.iter_parts()
        }
        media = fields.get("media")
        if fields.get("media_category") != b"tweet_image":
            raise _invalid("media_category must be tweet_image.")
        if not media or not (media.startswith(b"\x89PNG\r\n\x1a\n") or media.startswith(b"\xff\xd8\xff")):
            raise _invalid("media must be a PNG or JPEG image.")
        with self._lock:
            media_id = self._next_id()
            self._media.add(media_id)
        return {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(media), "expires_after_secs": 86400}}

    def me(self) -> dict[str, Any]:
        return {"data": {"id": PRACTICE_USER_ID, "name": PRACTICE_USER_NAME, "username": self.username}}

    # -- the web page ---------------------------------------------------------

    def page(self, only: str | None = None) -> str | None:
        """The HTML page of accepted posts (or of one post); None when that post is unknown."""
        with self._lock:
            posts = self._newest_first()
        if only is not None:
            posts = [p for p in posts if p.id == only]
            if not posts:
                return None
        items = []
        for post in posts:
            when = post.created_at.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S JST")
            reply = f" ・ 返信先 {html.escape(post.reply_to)}" if post.reply_to else ""
            media = f" ・ 画像 {len(post.media_ids)} 枚" if post.media_ids else ""
            items.append(
                f'<li id="post-{html.escape(post.id)}">'
                f'<div class="meta">{when} ・ ID {html.escape(post.id)}{reply}{media}</div>'
                f'<div class="text">{html.escape(post.text)}</div></li>'
            )
        listing = f"<ol>\n{''.join(items)}\n</ol>" if items else "<p>まだ投稿はありません。</p>"
        heading = "投稿" if only else f"受け付けた投稿 ({len(posts)} 件、新しい順)"
        return (
            '<!doctype html>\n<html lang="ja"><head><meta charset="utf-8">'
            "<title>練習用サーバー (dutypost)</title>"
            "<style>body{font-family:sans-serif;max-width:42em;margin:2em auto;padding:0 1em}"
            "li{border-bottom:1px solid #ccc;padding:.6em 0}.meta{color:#555;font-size:.9em}"
            ".text{white-space:pre-wrap}</style></head><body>\n"
            f"<h1>練習用サーバー (@{html.escape(self.username)})</h1>\n"
            "<p>ここにある投稿は本物の X には出ていません。</p>\n"
            f"<h2>{heading}</h2>\n{listing}\n</body></html>\n"
        )


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        practice: PracticeServer,
        *,
        listening: socket.socket | None = None,
    ) -> None:
        self.practice = practice
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler, bind_and_activate=listening is None)
        if listening is not None:
            self.socket.close()
            self.socket = listening
            self.server_address = listening.getsockname()
            self.server_name, self.server_port = self.server_address[:2]
        # A client that connects and resets before accept() (a killed dutypost) leaves the
        # listening socket readable with nothing to accept: blocking, accept() would hang the
        # serve loop and shutdown() with it. Non-blocking, socketserver just skips it.
        self.socket.setblocking(False)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        conn.setblocking(True)
        return conn, address

    def cut_connections(self) -> None:
        with self.connections_lock:
            for conn in self.open_connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answer in one round trip, as X does, not after a delayed ACK
    server_version = "dutypost-practice"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.open_connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.open_connections.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.practice.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- routing ------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        practice = self.server.practice
        parts = urlsplit(self.path)
        path, query = parts.path, parts.query
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send_json(411, {"title": "Length Required", "status": 411})
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            if path == "/2/openapi.json" and method in ("GET", "HEAD"):
                self._send_json(200, OPENAPI_DOCUMENT)
            elif path == "/" and method in ("GET", "HEAD"):
                self._send_html(200, practice.page() or "")
            elif path.startswith("/i/web/status/") and method in ("GET", "HEAD"):
                page = practice.page(only=path.rsplit("/", 1)[-1])
                self._send_html(200 if page else 404, page or "<!doctype html><p>この投稿は見つかりません。</p>\n")
            elif path.startswith("/_practice/"):
                self._practice_control(method, path, query, body)
            elif path.startswith("/oauth/"):
                self._oauth(method, path, query, body)
            else:
                self._api(method, path, query, body)
        except _Answer as answer:
            self._send_json(answer.status, answer.body, answer.headers)

    def _practice_control(self, method: str, path: str, query: str, body: bytes) -> None:
        practice = self.server.practice
        if path == "/_practice/posts" and method == "GET":
            self._send_json(200, practice.posts())
        elif path == "/_practice/pin" and method == "GET":
            pin = practice.pin_for(parse_qs(query).get("oauth_token", [""])[0])
            if pin is None:
                raise _problem(404, "unknown oauth_token")
            self._send_json(200, {"pin": pin})
        elif path == "/_practice/faults" and method == "POST":
            try:
                settings = json.loads(body or b"{}")
                practice.inject(*settings.get("faults", []))
            except (ValueError, AttributeError, TypeError) as exc:
                raise _Answer(400, {"error": f"障害の指定が正しくありません: {exc}"}) from None
            if "refuse_replies" in settings:
                practice.set_refuse_replies(bool(settings["refuse_replies"]))
            self._send_json(200, practice.fault_settings())
        elif path == "/_practice/reset" and method == "POST":
            practice.reset()
            self._send_json(200, {"reset": True})
        else:
            raise _problem(404)

    def _oauth(self, method: str, path: str, query: str, body: bytes) -> None:
        practice = self.server.practice
        if path == "/oauth/authorize" and method == "GET":
            token = parse_qs(query).get("oauth_token", [""])[0]
            pin = practice.pin_for(token)
            if pin is None:
                self._send_html(404, "<!doctype html><p>このログイン用の URL は無効か、期限が切れています。</p>\n")
                return
            self._send_html(
                200,
                '<!doctype html>\n<html lang="ja"><head><meta charset="utf-8"><title>練習用サーバーのログイン</title></head>'
                f"<body><h1>練習用サーバーのログイン</h1><p>次の PIN を dutypost に入力してください。</p>"
                f'<p id="pin" style="font-size:2em">{pin}</p></body></html>\n',
            )
            return
        if method != "POST" or path not in ("/oauth/request_token", "/oauth/access_token"):
            raise _problem(404)
        kind = "request" if path == "/oauth/access_token" else None
        oauth = self._verified(method, path, query, body, kind, v1=True)
        if kind is None:
            if oauth.get("oauth_callback") != "oob":
                self._log_refusal("oauth_callback must be oob for the PIN login")
                raise _Answer(401, {"errors": [{"code": 32, "message": "Could not authenticate you."}]})
            answer = practice.issue_request_token(oauth["oauth_consumer_key"])
        else:
            answer = practice.issue_access_token(oauth["oauth_token"], oauth.get("oauth_verifier", ""))
            if answer is None:
                self._log_refusal("wrong PIN (oauth_verifier)")
                raise _Answer(401, {"errors": [{"code": 32, "message": "Could not authenticate you."}]})
        self._send(200, urlencode(answer).encode(), FORM_CONTENT_TYPE)

    def _api(self, method: str, path: str, query: str, body: bytes) -> None:
        practice = self.server.practice
        segments = path.strip("/").split("/")
        self._verified(method, path, query, body, "access")
        if method == "POST" and path == "/2/tweets":
            self._create_post(body)
        elif method == "DELETE" and len(segments) == 3 and segments[:2] == ["2", "tweets"]:
            self._send_json(200, practice.delete_post(segments[2]))
        elif method == "GET" and path == "/2/users/me":
            self._send_json(200, practice.me())
        elif method == "GET" and len(segments) == 4 and segments[:2] == ["2", "users"] and segments[3] == "tweets":
            self._send_json(200, practice.user_posts(segments[2], parse_qs(query)))
        elif method == "POST" and path == "/2/media/upload":
            self._send_json(200, practice.upload_media(self.headers.get("Content-Type", ""), body))
        else:
            raise _problem(404, "The requested resource could not be found.",
                           "https://api.twitter.com/2/problems/resource-not-found")

    def _create_post(self, body: bytes) -> None:
        practice = self.server.practice
        fault = practice.next_fault() or {"kind": "none"}
        kind = fault["kind"]
        if kind == "status":
            status = fault["status"]
            headers = {}
            if status == 429:
                headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                           "x-rate-limit-reset": str(int(time.time() + fault.get("reset_in", 900)))}
            answer = _problem(status)
            raise _Answer(status, answer.body, headers)
        if kind == "reset_before_store":
            self._reset_connection()
            return
        if kind == "slow":
            time.sleep(fault["delay"])
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        try:
            status, answer = 201, practice.create_post(payload)
        except _Answer as refused:
            status, answer = refused.status, refused.body
        if kind == "drop_after_store":
            self.close_connection = True
            return
        if kind == "timeout_after_store":
            time.sleep(fault["delay"])
        try:
            self._send_json(status, answer)
        except OSError:  # the client gave up waiting
            self.close_connection = True

    def _verified(
        self, method: str, path: str, query: str, body: bytes, token_kind: str | None, v1: bool = False
    ) -> dict[str, str]:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        try:
            return self.server.practice.verify(method, f"http://{host}{path}", query, self.headers, body, token_kind)
        except _Refused as refused:
            self._log_refusal(str(refused))
            if v1:
                raise _Answer(401, {"errors": [{"code": 32, "message": "Could not authenticate you."}]}) from None
            raise _problem(401) from None

    # -- answering ----------------------------------------------------------

    def _log_refusal(self, reason: str) -> None:
        self.log_message("OAuth refused: %s", reason)

    def _reset_connection(self) -> None:
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._send(status, payload, "application/json; charset=utf-8", headers)

    def _send_html(self, status: int, page: str) -> None:
        self._send(status, page.encode("utf-8"), "text/html; charset=utf-8")

    def _send(self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    username: str = "practice_town",
    state_file: str | Path | None = None,
) -> None:
    """Run the practice server in the foreground until Ctrl-C or SIGTERM (``dutypost practice-server``)."""
    server = PracticeServer(host, port, username=username, state_file=state_file)
    server.verbose = True
    server._bind()
    assert server._httpd is not None
    url = server.url
    cred = DEMO_CREDENTIALS
    print(
        f"練習用サーバーを起動しました: {url}\n"
        f"受け付けた投稿はブラウザで {url}/ に表示されます。本物の X には何も出ません。\n"
        "dutypost をこのサーバーにつなぐ環境変数 (練習用の値です):\n"
        f"  export DUTYPOST_DRILL__API_BASE_URL={url}   # 訓練モードの接続先\n"
        f"  export DUTYPOST_X__API_BASE_URL={url}       # 本番モードのまま試すとき\n"
        f"  export DUTYPOST_X__CONSUMER_KEY={cred.consumer_key}\n"
        f"  export DUTYPOST_X__CONSUMER_SECRET={cred.consumer_secret}\n"
        f"  export DUTYPOST_X__ACCESS_TOKEN={cred.access_token}\n"
        f"  export DUTYPOST_X__ACCESS_TOKEN_SECRET={cred.access_token_secret}\n"
        "止めるには Ctrl-C を押してください。",
        flush=True,
    )
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server._httpd.serve_forever()
    except KeyboardInterrupt:
        print("\n練習用サーバーを止めました。", file=sys.stderr)
    finally:
        server._httpd.server_close()
        server._httpd.cut_connections()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
