"""The practice server's HTTP side: the server loop, routing, and how each answer (or
fault) goes out on the wire."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from dutypost.core.oauth1 import FORM_CONTENT_TYPE
from dutypost.practice.faults import GARBAGE_BODY
from dutypost.practice.oauth import Refused
from dutypost.practice.page import UNKNOWN_LOGIN_PAGE, UNKNOWN_POST_PAGE, pin_page
from dutypost.practice.problems import Answer, not_found, problem
from dutypost.practice.timeline import parse_query

OPENAPI_DOCUMENT = {"openapi": "3.0.0", "info": {"title": "dutypost practice server", "version": "2.0"}}
V1_UNAUTHORIZED = {"errors": [{"code": 32, "message": "Could not authenticate you."}]}


class PracticeHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        practice: Any,  # the dutypost.practice.server.PracticeServer that owns this socket (it imports this module)
        *,
        listening: socket.socket | None = None,
    ) -> None:
        self.practice = practice
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, Handler, bind_and_activate=listening is None)
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


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answer in one round trip, as X does, not after a delayed ACK
    server_version = "dutypost-practice"
    server: PracticeHTTPServer

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
                self._send_html(200 if page else 404, page or UNKNOWN_POST_PAGE)
            elif path.startswith("/_practice/"):
                self._practice_control(method, path, query, body)
            elif path.startswith("/oauth/"):
                self._oauth(method, path, query, body)
            else:
                self._api(method, path, query, body)
        except Answer as answer:
            self._send_json(answer.status, answer.body, answer.headers)

    def _practice_control(self, method: str, path: str, query: str, body: bytes) -> None:
        practice = self.server.practice
        if path == "/_practice/posts" and method == "GET":
            self._send_json(200, practice.posts())
        elif path == "/_practice/pin" and method == "GET":
            pin = practice.keys.pin_for(parse_qs(query).get("oauth_token", [""])[0])
            if pin is None:
                raise problem(404, "unknown oauth_token")
            self._send_json(200, {"pin": pin})
        elif path == "/_practice/faults" and method == "POST":
            try:
                settings = json.loads(body or b"{}")
                practice.inject(*settings.get("faults", []))
            except (ValueError, AttributeError, TypeError) as exc:
                raise Answer(400, {"error": f"障害の指定が正しくありません: {exc}"}) from None
            if "refuse_replies" in settings:
                practice.set_refuse_replies(bool(settings["refuse_replies"]))
            self._send_json(200, practice.fault_settings())
        elif path == "/_practice/mode" and method in ("GET", "POST"):
            if method == "POST":
                try:
                    settings = json.loads(body or b"{}")
                    practice.set_mode(**settings)
                except (ValueError, AttributeError, TypeError) as exc:
                    raise Answer(400, {"error": f"モードの指定が正しくありません: {exc}"}) from None
            self._send_json(200, practice.mode())
        elif path == "/_practice/reset" and method == "POST":
            practice.reset()
            self._send_json(200, {"reset": True})
        else:
            raise problem(404)

    def _oauth(self, method: str, path: str, query: str, body: bytes) -> None:
        practice = self.server.practice
        if path == "/oauth/authorize" and method == "GET":
            pin = practice.keys.pin_for(parse_qs(query).get("oauth_token", [""])[0])
            if pin is None:
                self._send_html(404, UNKNOWN_LOGIN_PAGE)
            else:
                self._send_html(200, pin_page(pin))
            return
        if method != "POST" or path not in ("/oauth/request_token", "/oauth/access_token"):
            raise problem(404)
        kind = "request" if path == "/oauth/access_token" else None
        oauth = self._verified(method, path, query, body, kind, v1=True)
        if kind is None:
            if oauth.get("oauth_callback") != "oob":
                self._log_refusal("oauth_callback must be oob for the PIN login")
                raise Answer(401, V1_UNAUTHORIZED)
            answer = practice.keys.issue_request_token(oauth["oauth_consumer_key"])
        else:
            answer = practice.issue_access_token(oauth["oauth_token"], oauth.get("oauth_verifier", ""))
            if answer is None:
                self._log_refusal("wrong PIN (oauth_verifier)")
                raise Answer(401, V1_UNAUTHORIZED)
        self._send(200, urlencode(answer).encode(), FORM_CONTENT_TYPE)

    def _api(self, method: str, path: str, query: str, body: bytes) -> None:
        store = self.server.practice.store
        segments = path.strip("/").split("/")
        self._verified(method, path, query, body, "access")
        if method == "POST" and path == "/2/tweets":
            self._create_post(body)
        elif method == "DELETE" and len(segments) == 3 and segments[:2] == ["2", "tweets"]:
            self._send_json(200, store.delete_post(segments[2]))
        elif method == "GET" and path == "/2/users/me":
            self._send_json(200, store.me())
        elif method == "GET" and len(segments) == 4 and segments[:2] == ["2", "users"] and segments[3] == "tweets":
            self._send_json(200, store.timeline(segments[2], parse_query(parse_qs(query))))
        elif method == "POST" and path == "/2/media/upload":
            self._send_json(200, store.upload_media(self.headers.get("Content-Type", ""), body))
        elif method == "POST" and path == "/2/media/metadata/create":
            self._send_json(200, store.set_alt_text(_json_or_none(body)))
        else:
            raise not_found("The requested resource could not be found.")

    def _create_post(self, body: bytes) -> None:
        practice = self.server.practice
        fault = practice.faults.next()
        kind = fault["kind"]
        if kind == "status":
            status = fault["status"]
            headers = {}
            if status == 429:
                headers = {"x-rate-limit-limit": "100", "x-rate-limit-remaining": "0",
                           "x-rate-limit-reset": str(int(time.time() + fault.get("reset_in", 900)))}
            raise Answer(status, problem(status).body, headers)
        if kind == "reset_before_store":
            self._reset_connection()
            return
        if kind == "slow":
            time.sleep(fault["delay"])
        try:
            status, answer = 201, practice.store.create_post(
                _json_or_none(body), refuse_replies=practice.faults.refuse_replies
            )
        except Answer as refused:
            status, answer = refused.status, refused.body
        if kind == "drop_after_store":
            self.close_connection = True
            return
        if kind == "store_then_reset":
            self._reset_connection()
            return
        if kind == "store_then_500":
            status, answer = 500, problem(500).body
        if kind == "timeout_after_store":
            time.sleep(fault["delay"])
        try:
            if kind == "store_then_garbage":
                self._send(fault.get("status", 201), GARBAGE_BODY, "application/json; charset=utf-8")
            else:
                self._send_json(status, answer)
        except OSError:  # the client gave up waiting
            self.close_connection = True

    def _verified(
        self, method: str, path: str, query: str, body: bytes, token_kind: str | None, v1: bool = False
    ) -> dict[str, str]:
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        try:
            return self.server.practice.keys.verify(
                method, f"http://{host}{path}", query, self.headers, body, token_kind
            )
        except Refused as refused:
            self._log_refusal(str(refused))
            if v1:
                raise Answer(401, V1_UNAUTHORIZED) from None
            raise problem(401) from None

    # -- answering ----------------------------------------------------------

    def _log_refusal(self, reason: str) -> None:
        self.log_message("OAuth refused: %s", reason)

    def _reset_connection(self) -> None:
        """Close with a TCP RST (SO_LINGER 0): the client sees 'connection reset'."""
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


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None
