"""What the practice server holds: posts, uploaded media, and the state file.

Posts are stored as sent; how they read back depends on the mode. Plain mode returns the
text as sent and shows a post on the timeline at once. The X-like mode
(:mod:`dutypost.practice.xlike`) returns it the way X does, and ``timeline_lag`` keeps a
fresh post off timeline reads for that many seconds, as X's timelines lag.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any, Callable

from dutypost.core.demo_account import PRACTICE_USER_ID, PRACTICE_USER_NAME
from dutypost.core.errors import InputError
from dutypost.practice.problems import DUPLICATE_DETAIL, REPLY_REFUSED_DETAIL, invalid, not_found, problem
from dutypost.practice.timeline import PageQuery, next_token
from dutypost.practice.xlike import x_view

TWITTER_EPOCH_MS = 1288834974657
MAX_MEDIA_PER_POST = 4
MAX_ALT_TEXT = 1000


def x_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Post:
    id: str
    text: str
    created_at: datetime
    reply_to: str | None = None
    media_ids: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "text": self.text,
            "created_at": x_time(self.created_at),
            "reply_to": self.reply_to,
            "media_ids": self.media_ids,
        }


@dataclass
class Media:
    id: str
    size: int
    alt_text: str | None = None


class Store:
    """Posts and media of the one practice account, safe to use from many threads."""

    def __init__(self, username: str, state_file: Path | None, *, x_like: bool = False,
                 timeline_lag: float = 0.0, extra_state: Callable[[], dict[str, Any]] | None = None) -> None:
        self.username = username
        self.state_file = state_file
        self.x_like = x_like
        self.timeline_lag = timeline_lag
        self._extra_state = extra_state
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._posts: dict[str, Post] = {}
        self._media: dict[str, Media] = {}
        self._last_id = 0

    # -- views for tests, the page and the control API ------------------------

    def newest_first(self) -> list[Post]:
        with self._lock:
            return sorted(self._posts.values(), key=lambda p: int(p.id), reverse=True)

    def media(self, media_id: str) -> Media | None:
        with self._lock:
            return self._media.get(media_id)

    def media_by_id(self) -> dict[str, Media]:
        with self._lock:
            return dict(self._media)

    def clear(self) -> None:
        with self._lock:
            self._posts.clear()
            self._media.clear()
        self.save()

    # -- the API ----------------------------------------------------------------

    def _next_id(self) -> str:  # with the lock held
        candidate = (int(time.time() * 1000) - TWITTER_EPOCH_MS) << 22
        self._last_id = max(candidate, self._last_id + 1)
        return str(self._last_id)

    def create_post(self, payload: Any, *, refuse_replies: bool) -> dict[str, Any]:
        """Store a post like ``POST /2/tweets``; X's 400 or 403 as :class:`Answer` when refused."""
        if not isinstance(payload, dict):
            raise invalid("The request body must be a JSON object.")
        text = payload.get("text", "")
        reply_to = (payload.get("reply") or {}).get("in_reply_to_tweet_id")
        media_ids = (payload.get("media") or {}).get("media_ids") or []
        if not isinstance(text, str) or not isinstance(media_ids, list):
            raise invalid("$.text must be a string and $.media.media_ids a list.")
        if not text.strip() and not media_ids:
            raise invalid("Post text or media is required.")
        if len(media_ids) > MAX_MEDIA_PER_POST:
            raise invalid(f"$.media.media_ids: size must be between 1 and {MAX_MEDIA_PER_POST}")
        with self._lock:
            if reply_to is not None:
                if reply_to not in self._posts:
                    raise invalid(f"The post to reply to was not found: {reply_to}")
                if refuse_replies:
                    raise problem(403, REPLY_REFUSED_DETAIL)
            unknown = [m for m in media_ids if m not in self._media]
            if unknown:
                raise invalid(f"Unknown media ids: {unknown}")
            if any(p.text == text for p in self._posts.values()):
                raise problem(403, DUPLICATE_DETAIL)
            post = Post(self._next_id(), text, datetime.now(timezone.utc), reply_to, list(media_ids))
            self._posts[post.id] = post
        self.save()
        # X answers the create with the post's id and its text as X stores it (SPEC §5).
        return {"data": {"id": post.id, "text": self._view(post, fields=frozenset())["text"],
                         "edit_history_tweet_ids": [post.id]}}

    def delete_post(self, post_id: str) -> dict[str, Any]:
        with self._lock:
            deleted = self._posts.pop(post_id, None) is not None
        self.save()
        return {"data": {"deleted": deleted}}

    def timeline(self, user_id: str, page: PageQuery) -> dict[str, Any]:
        """One page of the account's posts, newest first, as ``GET /2/users/{id}/tweets``."""
        if user_id != PRACTICE_USER_ID:
            raise not_found(f"Could not find user with id: [{user_id}].")
        visible_before = datetime.now(timezone.utc) - timedelta(seconds=self.timeline_lag)
        posts = [
            p for p in self.newest_first()
            if p.created_at <= visible_before
            and (page.start_time is None or p.created_at >= page.start_time)
            and (page.end_time is None or p.created_at < page.end_time)
            and (page.since_id is None or int(p.id) > page.since_id)
            and (page.until_id is None or int(p.id) < page.until_id)
            and (page.before_id is None or int(p.id) < page.before_id)
        ]
        shown, rest = posts[:page.max_results], posts[page.max_results:]
        if not shown:
            return {"meta": {"result_count": 0}}
        data = [self._view(post, fields=page.fields) for post in shown]
        meta: dict[str, Any] = {"result_count": len(data), "newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}
        if rest:
            meta["next_token"] = next_token(shown[-1].id)
        return {"data": data, "meta": meta}

    def _view(self, post: Post, *, fields: frozenset[str]) -> dict[str, Any]:
        item: dict[str, Any] = {"id": post.id, "edit_history_tweet_ids": [post.id]}
        if self.x_like:
            item.update(x_view(post.id, post.text, [f"3_{m}" for m in post.media_ids],
                               username=self.username, note_tweet="note_tweet" in fields))
        else:
            item["text"] = post.text
        if "created_at" in fields:
            item["created_at"] = x_time(post.created_at)
        return item

    def upload_media(self, content_type: str, body: bytes) -> dict[str, Any]:
        """``POST /2/media/upload``: a multipart PNG or JPEG with ``media_category=tweet_image``."""
        if not content_type.startswith("multipart/form-data"):
            raise invalid("Media must be sent as multipart/form-data.")
        message = BytesParser(policy=policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        fields = {
            part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in message.iter_parts()
        }
        media = fields.get("media")
        if fields.get("media_category") != b"tweet_image":
            raise invalid("media_category must be tweet_image.")
        if not media or not (media.startswith(b"\x89PNG\r\n\x1a\n") or media.startswith(b"\xff\xd8\xff")):
            raise invalid("media must be a PNG or JPEG image.")
        with self._lock:
            media_id = self._next_id()
            self._media[media_id] = Media(media_id, len(media))
        return {"data": {"id": media_id, "media_key": f"3_{media_id}", "size": len(media), "expires_after_secs": 86400}}

    def set_alt_text(self, payload: Any) -> dict[str, Any]:
        """``POST /2/media/metadata/create`` ``{id, metadata: {alt_text: {text}}}``."""
        if not isinstance(payload, dict):
            raise invalid("The request body must be a JSON object.")
        media_id = payload.get("id")
        alt = ((payload.get("metadata") or {}).get("alt_text") or {}).get("text")
        if not isinstance(media_id, str) or not isinstance(alt, str):
            raise invalid("$.id must be a string and $.metadata.alt_text.text a string.")
        if len(alt) > MAX_ALT_TEXT:
            raise invalid(f"$.metadata.alt_text.text: size must be between 0 and {MAX_ALT_TEXT}")
        with self._lock:
            media = self._media.get(media_id)
            if media is None:
                raise invalid(f"Unknown media id: {media_id}")
            media.alt_text = alt
        return {"data": {"id": media_id, "associated_metadata": True, "alt_text": {"text": alt}}}

    def me(self) -> dict[str, Any]:
        return {"data": {"id": PRACTICE_USER_ID, "name": PRACTICE_USER_NAME, "username": self.username}}

    # -- the state file -----------------------------------------------------------

    def save(self) -> None:
        if self.state_file is None:
            return
        with self._save_lock:  # one writer at a time, each writing what it read last
            extra = self._extra_state() if self._extra_state else {}
            state = {"posts": [p.as_json() for p in self.newest_first()], **extra}
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(state, ensure_ascii=False, indent=1), encoding="utf-8")
            os.replace(tmp, self.state_file)

    def load(self) -> dict[str, Any]:
        """Read the state file's posts; returns the whole state for the other owners."""
        assert self.state_file is not None
        try:
            state = json.loads(self.state_file.read_text(encoding="utf-8"))
            for item in state.get("posts", []):
                post = Post(
                    id=item["id"],
                    text=item["text"],
                    created_at=datetime.fromisoformat(item["created_at"]),
                    reply_to=item.get("reply_to"),
                    media_ids=list(item.get("media_ids", [])),
                )
                self._posts[post.id] = post
                self._last_id = max(self._last_id, int(post.id))
            if not isinstance(state.get("consumers", {}), dict) or not isinstance(state.get("tokens", {}), dict):
                raise ValueError("consumers and tokens must be objects")
            return state
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise InputError(
                f"練習用サーバーの状態ファイルを読めません: {self.state_file} ({exc})",
                hint="ファイルを直すか、削除してから起動し直してください (練習用の投稿は消えます)。",
            ) from None
