"""Talking to X (X API v2) over one kept-alive HTTPS connection (SPEC §5, §6).

:class:`XClient` signs every API request with OAuth 1.0a, sets a timeout on every request
and never retries by itself: whether to send again is the operator's decision, taken
after the app has looked at the timeline when the outcome (結果) is unknown.

Every failure is an :class:`XApiError` whose ``outcome`` says what is known:

- ``"failed"``: X definitely did not create anything: the request never left this
  machine, or X refused it clearly — a 4xx other than 429, or a 503 or 429 carrying X's
  own problem JSON (:func:`is_definite_refusal`). The operator may send again.
- ``"unknown"``: anything else once the request has left — a read timeout, a dropped or
  reset connection, a 500/502/504, a 503 or 429 from something that is not X (an HTML
  page from a proxy), a success whose body is not JSON. X may have stored the post (it
  does, then answers 500). Never resend without checking the timeline.

``message`` is Japanese and says what happened and what to do; ``hint`` adds X's own
words and technical details for the administrator. Neither ever contains credentials.
httpx is imported inside the methods so that ``import dutypost.core.xapi`` stays cheap.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dutypost.core.errors import DutypostError, InputError
from dutypost.core.oauth1 import Credentials, authorization_header

if TYPE_CHECKING:
    import httpx

Outcome = Literal["failed", "unknown"]

JST = timezone(timedelta(hours=9), "JST")
KEEPALIVE_SECONDS = 120.0
MAX_IMAGE_BYTES = 5 * 1024 * 1024
DEFAULT_RATE_WINDOW = timedelta(minutes=15)
UNCERTAIN_POST_ADVICE = (
    "自動では送り直しません。アプリがまずアカウントのタイムラインに同じ本文があるかを確かめます。"
    "見つからなかったときだけ送り直してください。"
)


@dataclass(frozen=True)
class CreatedPost:
    """A post X accepted (投稿済み): its id, the text as X stored it, and its web URL."""

    id: str
    text: str
    url: str


class XApiError(DutypostError):
    """A request to X that did not succeed; ``outcome`` says whether the post may exist."""

    def __init__(self, message: str, *, status: int | None = None, outcome: Outcome = "failed", hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.outcome: Outcome = outcome

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return 5 if self.outcome == "unknown" else 4


class XAuthError(XApiError):
    """401: the token is wrong or revoked."""


class XForbiddenError(XApiError):
    """403: X refused this action."""


#: How a 403 duplicate begins, in the post's recorded error: such a post is never offered 再送.
DUPLICATE_REFUSED = "X が同じ本文の投稿を拒否しました (重複投稿、HTTP 403)。"


class XDuplicateError(XForbiddenError):
    """403: the same text is already on the account (重複投稿)."""


class XReplyNotAllowed(XForbiddenError):
    """403: X refused a reply (self-serve accounts may only reply where summoned)."""


class XPaymentRequired(XApiError):
    """402: X refused the app's credits (pay-per-use credits spent, クレジット不足)."""


class XRateLimited(XApiError):
    """429: too many requests; ``reset_at`` is when X accepts requests again."""

    def __init__(self, message: str, *, reset_at: datetime, wait_seconds: int, hint: str = "",
                 outcome: Outcome = "failed") -> None:
        super().__init__(message, status=429, hint=hint, outcome=outcome)
        self.reset_at = reset_at
        self.wait_seconds = wait_seconds


class XServerError(XApiError):
    """5xx: trouble on X's side. ``outcome`` is ``failed`` only for a 503 with X's problem
    JSON; any other 5xx may come after X stored the post, so it is ``unknown``."""


class XUnreachable(XApiError):
    """The request never left: name resolution, connection refused or connect timeout."""


class XUncertain(XApiError):
    """The request left but no answer came back: the outcome is unknown (結果不明)."""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message, outcome="unknown", hint=hint)


class XClient:
    """One kept-alive connection to the X API (or the practice server) for one account."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        timeout: float,
        web_base_url: str = "https://x.com",
    ) -> None:
        import httpx

        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise InputError(
                f"X API の URL が正しくありません: {base_url!r}",
                hint="設定の [x] api_base_url (訓練では [drill] api_base_url) を https://api.x.com の形で書いてください。",
            )
        self.base_url = base_url.rstrip("/")
        self.web_base_url = web_base_url.rstrip("/")
        self.timeout = timeout
        self.connections_opened = 0
        self._credentials = credentials
        self._lock = threading.Lock()
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            limits=httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS),
            headers={"User-Agent": "dutypost"},
        )

    # -- connection ---------------------------------------------------------

    def warm(self) -> bool:
        """Open the connection ahead of a publish without spending API quota.

        Asks for X's public OpenAPI document (no authentication). Returns whether the
        host answered; never raises. Call it again after a long idle spell: an idle
        connection is dropped after ``KEEPALIVE_SECONDS``.
        """
        import httpx

        try:
            self._http.head("/2/openapi.json", extensions={"trace": self._trace})
        except httpx.HTTPError:
            return False
        return True

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> XClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- API ----------------------------------------------------------------

    def create_post(
        self,
        text: str,
        *,
        reply_to: str | None = None,
        media_ids: list[str] | None = None,
    ) -> CreatedPost:
        """Publish one post (投稿); a reply when ``reply_to`` is a post id."""
        body: dict[str, Any] = {"text": text}
        if reply_to:
            body["reply"] = {"in_reply_to_tweet_id": _checked_id(reply_to)}
        if media_ids:
            body["media"] = {"media_ids": list(media_ids)}
        response = self._request("POST", "/2/tweets", what="投稿", json=body, uncertain_advice=UNCERTAIN_POST_ADVICE)
        data = _data(response)
        post_id = data.get("id")
        if not isinstance(post_id, str) or not post_id.isdigit():
            raise XUncertain("X は投稿を受け付けたようですが、応答から投稿 ID を読み取れませんでした。" + UNCERTAIN_POST_ADVICE)
        return CreatedPost(
            id=post_id,
            text=str(data.get("text", text)),
            url=f"{self.web_base_url}/i/web/status/{post_id}",
        )

    def delete_post(self, post_id: str) -> bool:
        """Delete one of the account's posts (削除); True when X says it is gone."""
        response = self._request(
            "DELETE",
            f"/2/tweets/{_checked_id(post_id)}",
            what="投稿の削除",
            uncertain_advice="タイムラインで投稿が消えたかを確かめてから、必要ならもう一度削除してください。",
        )
        return _data(response).get("deleted") is True

    def me(self) -> dict[str, Any]:
        """The authenticated account: ``{id, name, username}``."""
        return _data(self._request("GET", "/2/users/me", what="アカウント情報の取得"))

    def user_posts(
        self,
        user_id: str,
        *,
        start_time: datetime | None = None,
        since_id: str | None = None,
        max_results: int = 100,
        max_pages: int = 1,
        note_tweet: bool = False,
    ) -> list[dict[str, Any]]:
        """The account's recent posts, newest first: dicts with ``id``, ``text``,
        ``created_at`` and, when X has them, ``entities`` (its t.co links) and ``note_tweet``.

        ``start_time`` (timezone-aware) limits them to posts created at or after it, and
        ``since_id`` to posts newer than that id. Used to find out whether a post whose
        outcome is unknown did reach X. With ``max_pages`` > 1 it follows
        ``meta.next_token`` (as ``pagination_token``) for up to that many pages, so that a
        busy timeline is read to ``start_time``. ``note_tweet`` asks for the full text of
        posts longer than 280 (accounts that may post them).
        """
        fields = ["created_at", "entities"] + (["note_tweet"] if note_tweet else [])
        params: dict[str, str | int] = {"max_results": max_results, "tweet.fields": ",".join(fields)}
        if start_time is not None:
            params["start_time"] = start_time.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if since_id is not None:
            params["since_id"] = _checked_id(since_id)
        posts: list[dict[str, Any]] = []
        for _ in range(max(1, max_pages)):
            response = self._request(
                "GET", f"/2/users/{_checked_id(user_id)}/tweets", what="タイムラインの取得", params=params
            )
            try:
                body = response.json()
                page, meta = body.get("data", []), body.get("meta") or {}
            except (ValueError, AttributeError):
                page = meta = None
            if not isinstance(page, list) or not isinstance(meta, dict):
                raise XApiError("X から受け取ったタイムラインを読み取れませんでした。少し待ってから、もう一度試してください。",
                                status=response.status_code)
            posts += [p for p in page if isinstance(p, dict)]
            token = meta.get("next_token")
            if not token or not page:
                break
            params["pagination_token"] = str(token)
        return posts

    def upload_media(self, path: str | Path) -> str:
        """Upload a PNG or JPEG image for a post; returns the media id."""
        path = Path(path)
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise InputError(f"画像ファイルを読めません: {path} ({exc.strerror})") from None
        mime = image_kind(content)
        if mime is None:
            raise InputError(
                f"画像ファイルは PNG か JPEG にしてください: {path}",
                hint="ファイルの中身が PNG・JPEG の形式ではありません (拡張子ではなく中身で判定しています)。",
            )
        if len(content) > MAX_IMAGE_BYTES:
            raise InputError(
                f"画像ファイルが大きすぎます ({len(content) / 1024 / 1024:.1f} MB): {path}",
                hint=f"X に載せられる画像は {MAX_IMAGE_BYTES // 1024 // 1024} MB までです。縮小してから選んでください。",
            )
        response = self._request(
            "POST",
            "/2/media/upload",
            what="画像のアップロード",
            files={"media": (path.name, content, mime)},
            data={"media_category": "tweet_image"},
        )
        media_id = _data(response).get("id")
        if not isinstance(media_id, str) or not media_id:
            raise XApiError("X の応答から画像の ID を読み取れませんでした。もう一度アップロードしてください。",
                            status=response.status_code)
        return media_id

    def set_alt_text(self, media_id: str, text: str) -> None:
        """Give an uploaded image its alt text (代替テキスト), ``POST /2/media/metadata/create``."""
        self._request(
            "POST",
            "/2/media/metadata/create",
            what="画像の代替テキストの設定",
            json={"id": media_id, "metadata": {"alt_text": {"text": text}}},
        )

    # -- plumbing -----------------------------------------------------------

    def _trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "connection.connect_tcp.complete":
            with self._lock:
                self.connections_opened += 1

    def _sign(self, request: httpx.Request) -> httpx.Request:
        request.headers["Authorization"] = authorization_header(self._credentials, request.method, str(request.url))
        return request

    def _request(
        self, method: str, path: str, *, what: str, uncertain_advice: str = "", **kwargs: Any
    ) -> httpx.Response:
        import httpx

        try:
            response = self._http.request(method, path, auth=self._sign, extensions={"trace": self._trace}, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError,
                httpx.UnsupportedProtocol) as exc:
            raise XUnreachable(
                f"X に接続できませんでした ({_unreachable_reason(exc)})。{what}は X に届いていません。"
                f"ネットワークと接続先 ({self.base_url}) を確かめてから、もう一度試してください。",
                hint=f"(admin) {type(exc).__name__}: {exc}",
            ) from None
        except httpx.RequestError as exc:
            raise XUncertain(
                f"X からの応答が途中で途切れました ({self._uncertain_reason(exc)})。"
                f"{what}が X に届いたかどうか分かりません。"
                + (uncertain_advice or "結果を確かめてから、必要ならもう一度試してください。"),
                hint=f"(admin) {type(exc).__name__}: {exc}",
            ) from None
        if not response.is_success:
            raise _error_for(response, what)
        return response

    def _uncertain_reason(self, exc: Exception) -> str:
        import httpx

        if isinstance(exc, httpx.ReadTimeout):
            return f"{self.timeout:g} 秒待っても応答がありませんでした"
        if isinstance(exc, httpx.WriteTimeout):
            return "送信中にタイムアウトしました"
        return "送信後に接続が切れました"


def _checked_id(value: str) -> str:
    if not value.isdigit():
        raise InputError(f"X の ID は数字だけです: {value!r}")
    return value


def image_kind(content: bytes) -> str | None:
    """An image's MIME type by its magic bytes (not its name): PNG, JPEG, or None."""
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def _data(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json().get("data")
    except (ValueError, AttributeError):
        data = None
    return data if isinstance(data, dict) else {}


def _unreachable_reason(exc: Exception) -> str:
    import httpx

    text = str(exc).lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return "接続がタイムアウトしました"
    if isinstance(exc, httpx.PoolTimeout):
        return "接続の空きを待つ間にタイムアウトしました"
    if isinstance(exc, httpx.ProxyError):
        return "プロキシ経由で接続できませんでした"
    if "refused" in text:
        return "接続を拒否されました"
    if any(s in text for s in ("name or service", "name resolution", "nodename", "getaddrinfo", "no address")):
        return "サーバー名を解決できませんでした (DNS)"
    return "接続できませんでした"


def is_definite_refusal(response: httpx.Response) -> bool:
    """Whether an error answer proves that X created nothing (issue 17): a 4xx other than
    429, or a 503 or 429 that carries X's own problem JSON. Anything else after the
    request left (500, 502, 504, an HTML page from a proxy) may follow a stored post."""
    status = response.status_code
    if 400 <= status < 500 and status != 429:
        return True
    return status in (429, 503) and _is_x_problem(response)


def _is_x_problem(response: httpx.Response) -> bool:
    """X's problem JSON: ``{title, detail, type, status}`` (or its older ``errors`` list)."""
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict):
        return False
    if isinstance(body.get("title"), str) and isinstance(body.get("type"), str) and body.get("status") == response.status_code:
        return True
    errors = body.get("errors")
    return isinstance(errors, list) and bool(errors) and all(isinstance(e, dict) and "message" in e for e in errors)


def _problem(response: httpx.Response) -> tuple[str, str]:
    """``(title, detail)`` from X's problem JSON; empty strings when the body is not JSON."""
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    detail = body.get("detail")
    if not isinstance(detail, str) or not detail:
        errors = body.get("errors")
        messages = [e.get("message") for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []
        detail = "; ".join(m for m in messages if isinstance(m, str))
    title = body.get("title")
    return (title if isinstance(title, str) else ""), detail


def _problem_type(response: httpx.Response) -> str:
    """X's problem ``type`` (e.g. ``…/problems/credits-depleted``), lower-cased; "" when absent."""
    try:
        body = response.json()
    except ValueError:
        return ""
    value = body.get("type") if isinstance(body, dict) else None
    return value.lower() if isinstance(value, str) else ""


def _error_for(response: httpx.Response, what: str) -> XApiError:
    status = response.status_code
    title, detail = _problem(response)
    said = f"(X: {title}: {detail})" if title or detail else f"(X: HTTP {status})"
    if status == 401:
        return XAuthError(
            f"X が認証を拒否しました (HTTP 401)。アクセストークンが誤っているか、取り消されています。{what}はされていません。"
            "秘密情報ファイル (または DUTYPOST_X__ で始まる環境変数) の4つの値を確かめ、"
            "直らなければ dutypost auth でログインし直してください。",
            status=status,
            hint=said,
        )
    if status == 402 or "credits" in _problem_type(response):
        return XPaymentRequired(
            f"X がアプリの利用クレジットを受け付けませんでした (HTTP {status}、クレジット不足)。{what}はされていません。"
            "運用管理者に X の開発者コンソール (console.x.com) でクレジットの残高と支払い設定を確かめてもらってください。"
            "急ぐときは本文をコピーして、スマートフォンなど別の手段で投稿してください。",
            status=status,
            hint=said,
        )
    if status == 403:
        lowered = detail.lower()
        if "duplicate content" in lowered:
            return XDuplicateError(
                DUPLICATE_REFUSED + "この本文はすでにアカウントに投稿されています。"
                "履歴とタイムラインを確かめ、改めて出すときは「○時○分現在」などを更新して本文を変えてください。",
                status=status,
                hint=said,
            )
        if "reply" in lowered and "not allowed" in lowered:
            return XReplyNotAllowed(
                "X がこの投稿への返信を許可しませんでした (HTTP 403)。"
                "返信ではなく、元の投稿の日付と件名を書いた単独の投稿として出してください。",
                status=status,
                hint=said,
            )
        return XForbiddenError(
            f"X が{what}を拒否しました (HTTP 403)。アプリの権限 (Read and Write) と X API の契約状態を運用管理者に確かめてください。",
            status=status,
            hint=said,
        )
    definite = is_definite_refusal(response)
    advice = UNCERTAIN_POST_ADVICE if what == "投稿" else "結果を確かめてから、必要ならもう一度試してください。"
    if status == 429:
        return _rate_limited(response, what, said, definite=definite, advice=advice)
    if status >= 500 and definite:
        return XServerError(
            f"X 側の障害で{what}ができませんでした (HTTP {status})。{what}はされていません。"
            "しばらく待ってから、もう一度送ってください。",
            status=status,
            hint=said,
        )
    if status >= 500:
        return XServerError(
            f"X 側の障害の応答がありました (HTTP {status})。X はこの応答の前に{what}を受け付けていることがあるため、"
            f"{what}が X に届いたかどうか分かりません。{advice}",
            status=status,
            outcome="unknown",
            hint=said,
        )
    if definite:
        return XApiError(
            f"X が{what}の要求を受け付けませんでした (HTTP {status})。内容を確かめてください。",
            status=status,
            hint=said,
        )
    return XApiError(
        f"X から想定外の応答がありました (HTTP {status})。{what}が X に届いたかどうか分かりません。{advice}",
        status=status,
        outcome="unknown",
        hint=said,
    )


def _rate_limited(response: httpx.Response, what: str, said: str, *, definite: bool = True,
                  advice: str = UNCERTAIN_POST_ADVICE) -> XRateLimited:
    """429: the reset comes from ``x-rate-limit-reset``, or from a spent 24-hour limit.
    Without X's problem JSON (``definite`` False) the post may exist: ``unknown``."""
    now = datetime.now(timezone.utc)
    resets = [_epoch(response.headers.get("x-rate-limit-reset"))]
    for prefix in ("x-user-limit-24hour", "x-app-limit-24hour"):
        if response.headers.get(f"{prefix}-remaining") == "0":
            resets.append(_epoch(response.headers.get(f"{prefix}-reset")))
    known = [r for r in resets if r is not None]
    reset_at = max(known) if known else now + DEFAULT_RATE_WINDOW
    wait_seconds = max(0, math.ceil((reset_at - now).total_seconds()))
    local = reset_at.astimezone(JST)
    same_day = local.date() == now.astimezone(JST).date()
    clock = f"{local:%H:%M}" if same_day else f"{local.month}月{local.day}日 {local:%H:%M}"
    guess = "" if known else " (X が解除時刻を示さなかったため、15 分を目安にしています)"
    if not definite:
        return XRateLimited(
            f"利用回数の上限の応答 (HTTP 429) がありましたが、X 自身の応答の形ではありません。"
            f"{what}が X に届いたかどうか分かりません。{advice}",
            reset_at=reset_at,
            wait_seconds=wait_seconds,
            hint=said,
            outcome="unknown",
        )
    return XRateLimited(
        f"X の利用回数の上限に達しました (HTTP 429)。{what}はされていません。"
        f"あと約 {_duration_ja(wait_seconds)} ({clock} JST ごろ) 待ってから、もう一度試してください{guess}。",
        reset_at=reset_at,
        wait_seconds=wait_seconds,
        hint=said,
    )


def _epoch(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value or ""), timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def _duration_ja(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} 秒"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} 分 {rest} 秒" if rest else f"{minutes} 分"
    hours, minutes = divmod(math.ceil(seconds / 60), 60)
    return f"{hours} 時間 {minutes} 分" if minutes else f"{hours} 時間"
