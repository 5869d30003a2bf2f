"""The practice server (練習用サーバー) itself: start, stop, and the Python API that tests
and drills use to steer it."""

from __future__ import annotations

import signal
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from dutypost.core.demo_account import DEMO_CREDENTIALS, PRACTICE_USERNAME
from dutypost.core.errors import InputError
from dutypost.core.oauth1 import Credentials
from dutypost.practice.faults import FaultQueue
from dutypost.practice.http import PracticeHTTPServer
from dutypost.practice.oauth import Keys
from dutypost.practice.page import posts_page
from dutypost.practice.store import Store

DEFAULT_PORT = 8787


class PracticeServer:
    """The practice X API (練習用サーバー) on loopback, with its posts and accepted tokens.

    ``x_like``: answer as X does (escaped text, t.co links, media link, ``note_tweet``);
    ``timeline_lag``: seconds before a new post shows on timeline reads. Both can be
    changed while it runs (:meth:`set_mode`, ``POST /_practice/mode``).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        credentials: list[Credentials] | None = None,
        username: str = PRACTICE_USERNAME,
        state_file: str | Path | None = None,
        x_like: bool = False,
        timeline_lag: float = 0.0,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.state_file = Path(state_file) if state_file else None
        self.verbose = False
        self.keys = Keys(credentials if credentials is not None else [DEMO_CREDENTIALS])
        self.faults = FaultQueue()
        self.store = Store(username, self.state_file, extra_state=self.keys.snapshot)
        self.set_mode(x_like=x_like, timeline_lag=timeline_lag)
        self._httpd: PracticeHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if self.state_file and self.state_file.exists():
            self.keys.restore(self.store.load())

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
            self._httpd = PracticeHTTPServer(listening.getsockname()[:2], self, listening=listening)
        else:
            self.bind()
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

    def bind(self) -> PracticeHTTPServer:
        try:
            self._httpd = PracticeHTTPServer((self.host, self.port), self)
        except OSError as exc:
            raise InputError(
                f"練習用サーバーを {self.host}:{self.port} で起動できません ({exc.strerror})。",
                hint="ほかのプログラムがこのポートを使っているかもしれません。--port で別の番号を指定してください。",
            ) from None
        return self._httpd

    # -- the Python API for tests and drills --------------------------------

    def inject(self, *faults: dict[str, Any]) -> None:
        """Queue faults for the next ``POST /2/tweets`` requests, one per request
        (kinds: :mod:`dutypost.practice.faults`)."""
        self.faults.inject(*faults)

    def set_refuse_replies(self, refuse: bool) -> None:
        self.faults.refuse_replies = refuse

    def fault_settings(self) -> dict[str, Any]:
        """How many faults are queued, and whether replies are refused."""
        return self.faults.settings()

    def set_mode(self, *, x_like: bool | None = None, timeline_lag: float | None = None) -> None:
        """Switch the X-like answers and the timeline lag (seconds, 0..3600)."""
        if x_like is not None:
            if not isinstance(x_like, bool):
                raise ValueError(f"x_like には true か false を指定してください: {x_like!r}")
            self.store.x_like = x_like
        if timeline_lag is not None:
            if isinstance(timeline_lag, bool) or not isinstance(timeline_lag, (int, float)) \
                    or not 0 <= timeline_lag <= 3600:
                raise ValueError(f"timeline_lag には 0〜3600 の秒数を指定してください: {timeline_lag!r}")
            self.store.timeline_lag = float(timeline_lag)

    def mode(self) -> dict[str, Any]:
        return {"x_like": self.store.x_like, "timeline_lag": self.store.timeline_lag}

    def posts(self) -> list[dict[str, Any]]:
        """The accepted posts as sent, newest first."""
        return [p.as_json() for p in self.store.newest_first()]

    def media_alt_text(self, media_id: str) -> str | None:
        """The alt text set for an uploaded image, None when unset or unknown."""
        media = self.store.media(media_id)
        return media.alt_text if media else None

    def reset(self) -> None:
        """Forget posts, media, queued faults and the refuse-replies setting."""
        self.faults.clear()
        self.store.clear()

    def issue_access_token(self, request_token: str, verifier: str) -> dict[str, str] | None:
        """The PIN login's last step; None when the PIN is wrong. The new token is saved."""
        issued = self.keys.issue_access_token(request_token, verifier)
        if issued is None:
            return None
        self.store.save()
        token, secret = issued
        user_id = self.store.me()["data"]["id"]
        return {"oauth_token": token, "oauth_token_secret": secret, "user_id": user_id, "screen_name": self.username}

    def page(self, only: str | None = None) -> str | None:
        """The HTML page of accepted posts (or of one post); None when that post is unknown."""
        posts = self.store.newest_first()
        if only is not None:
            posts = [p for p in posts if p.id == only]
            if not posts:
                return None
        return posts_page(self.username, posts, self.store.media_by_id(), one=only is not None)


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    *,
    username: str = PRACTICE_USERNAME,
    state_file: str | Path | None = None,
    x_like: bool = False,
    timeline_lag: float = 0.0,
) -> None:
    """Run the practice server in the foreground until Ctrl-C or SIGTERM (``dutypost practice-server``)."""
    server = PracticeServer(host, port, username=username, state_file=state_file,
                            x_like=x_like, timeline_lag=timeline_lag)
    server.verbose = True
    httpd = server.bind()
    url = server.url
    cred = DEMO_CREDENTIALS
    mode = "X と同じ形で応答します (--x-like)" if x_like else "送られた本文のまま応答します"
    lag = f"、タイムラインには {timeline_lag:g} 秒遅れて出ます" if timeline_lag else ""
    print(
        f"練習用サーバーを起動しました: {url}\n"
        f"受け付けた投稿はブラウザで {url}/ に表示されます。本物の X には何も出ません。\n"
        f"{mode}{lag}。\n"
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
        httpd.serve_forever()
    except KeyboardInterrupt:
        print("\n練習用サーバーを止めました。", file=sys.stderr)
    finally:
        httpd.server_close()
        httpd.cut_connections()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
