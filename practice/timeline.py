"""A user's timeline as X pages it (``GET /2/users/{id}/tweets``).

``max_results`` (5..100, default 10), ``start_time`` (inclusive), ``end_time`` (exclusive),
``since_id`` and ``until_id`` (both exclusive), newest first, and ``pagination_token`` from
the previous page's ``meta.next_token``. ``meta`` carries ``result_count``, ``newest_id``,
``oldest_id`` and, when more posts follow, ``next_token``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from dutypost.practice.problems import invalid

DEFAULT_MAX_RESULTS = 10
MIN_MAX_RESULTS, MAX_MAX_RESULTS = 5, 100


@dataclass(frozen=True)
class PageQuery:
    max_results: int = DEFAULT_MAX_RESULTS
    start_time: datetime | None = None
    end_time: datetime | None = None
    since_id: int | None = None
    until_id: int | None = None
    before_id: int | None = None  # from pagination_token: posts with a smaller id
    fields: frozenset[str] = frozenset()


def next_token(last_id: str) -> str:
    """An opaque token for the page after the post ``last_id``."""
    return base64.b32encode(f"after:{last_id}".encode()).decode().rstrip("=").lower()


def _token_id(token: str) -> int:
    try:
        decoded = base64.b32decode(token.upper() + "=" * (-len(token) % 8)).decode()
        prefix, _, number = decoded.partition(":")
        if prefix != "after" or not number.isdigit():
            raise ValueError(token)
        return int(number)
    except (ValueError, UnicodeDecodeError):
        raise invalid(f"The `pagination_token` query parameter value [{token}] is not valid.") from None


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _time(query: dict[str, list[str]], name: str) -> datetime | None:
    value = _one(query, name)
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise invalid(f"Invalid '{name}': {value}. '{name}' must be an ISO 8601 time "
                      "such as 2026-01-01T00:00:00Z.") from None
    if moment.tzinfo is None:
        raise invalid(f"{name} must give its time zone, e.g. 2026-01-01T00:00:00Z.")
    return moment


def _id(query: dict[str, list[str]], name: str) -> int | None:
    value = _one(query, name)
    if value is None:
        return None
    if not value.isdigit():
        raise invalid(f"The `{name}` query parameter value [{value}] is not valid.")
    return int(value)


def parse_query(query: dict[str, list[str]]) -> PageQuery:
    """Read a timeline request's query string; raise X's 400 for what X refuses."""
    raw = _one(query, "max_results")
    try:
        max_results = int(raw) if raw is not None else DEFAULT_MAX_RESULTS
    except ValueError:
        raise invalid(f"The `max_results` query parameter value [{raw}] is not a number.") from None
    if not MIN_MAX_RESULTS <= max_results <= MAX_MAX_RESULTS:
        raise invalid(f"The `max_results` query parameter value [{max_results}] is not between "
                      f"{MIN_MAX_RESULTS} and {MAX_MAX_RESULTS}")
    token = _one(query, "pagination_token")
    page = PageQuery(
        max_results=max_results,
        start_time=_time(query, "start_time"),
        end_time=_time(query, "end_time"),
        since_id=_id(query, "since_id"),
        until_id=_id(query, "until_id"),
        before_id=_token_id(token) if token else None,
        fields=frozenset(",".join(query.get("tweet.fields", [])).split(",")) - {""},
    )
    if page.start_time and page.end_time and page.start_time >= page.end_time:
        raise invalid("start_time must be before end_time.")
    return page
