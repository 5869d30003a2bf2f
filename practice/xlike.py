"""How X rewrites a post's text on the way back (SPEC §5), for the X-like mode.

What was sent is not what comes back: ``&``, ``<`` and ``>`` become ``&amp;``, ``&lt;``,
``&gt;``; every URL (found as twitter-text finds it, :func:`dutypost.core.length.extract_urls`)
becomes a ``https://t.co/…`` link listed in ``entities.urls``; attached images add one more
t.co link at the end; and a post over 280 weighted comes back truncated with ``…``, its
full text in ``note_tweet`` when asked for. Offsets in ``entities`` are code points into
the text as returned.
"""

from __future__ import annotations

import hashlib
import html
from typing import Any

from dutypost.core.length import MAX_WEIGHTED_LENGTH, extract_urls, weighted_length

TCO_PREFIX = "https://t.co/"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DISPLAY_URL_MAX = 26
ELLIPSIS = "…"


def tco_link(*seed: str) -> str:
    """A stable ``https://t.co/`` link of 10 characters for ``seed`` (post id, URL, …)."""
    number = int.from_bytes(hashlib.sha256("\x00".join(seed).encode("utf-8")).digest()[:8], "big")
    code = ""
    for _ in range(10):
        number, digit = divmod(number, len(_ALPHABET))
        code += _ALPHABET[digit]
    return TCO_PREFIX + code


def display_url(url: str) -> str:
    """X's short form of a URL: no scheme, cut with … after 26 characters."""
    for scheme in ("https://", "http://"):
        if url.lower().startswith(scheme):
            url = url[len(scheme):]
            break
    return url if len(url) <= DISPLAY_URL_MAX else url[:DISPLAY_URL_MAX] + ELLIPSIS


def rewrite(text: str, post_id: str) -> tuple[str, list[dict[str, Any]]]:
    """``text`` as X returns it: entities escaped, URLs as t.co links; and its ``entities.urls``."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    position = 0  # code points written so far
    cursor = 0
    for index, (start, end, url) in enumerate(extract_urls(text)):
        before = html.escape(text[cursor:start], quote=False)
        out.append(before)
        position += len(before)
        link = tco_link(post_id, str(index), url)
        expanded = url if "://" in url else "http://" + url
        entities.append({"start": position, "end": position + len(link), "url": link,
                         "expanded_url": expanded, "display_url": display_url(expanded)})
        out.append(link)
        position += len(link)
        cursor = end
    out.append(html.escape(text[cursor:], quote=False))
    return "".join(out), entities


def truncated_prefix(text: str, limit: int = MAX_WEIGHTED_LENGTH) -> str:
    """The longest start of ``text`` that, with ``…`` after it, stays within ``limit``
    weighted; never ends inside a URL."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if weighted_length(text[:middle] + ELLIPSIS) <= limit:
            low = middle
        else:
            high = middle - 1
    for start, end, _url in extract_urls(text):
        if start < low < end:
            low = start
    return text[:low].rstrip()


def x_view(
    post_id: str, text: str, media_keys: list[str], *, username: str, note_tweet: bool
) -> dict[str, Any]:
    """The ``text``, ``entities`` and (when asked for and long) ``note_tweet`` fields X returns."""
    long = weighted_length(text) > MAX_WEIGHTED_LENGTH
    shown, urls = rewrite(truncated_prefix(text) if long else text, post_id)
    if long:
        shown += ELLIPSIS
    if media_keys:
        link = tco_link(post_id, "media")
        start = len(shown) + 1
        shown += " " + link
        urls.append({"start": start, "end": start + len(link), "url": link,
                     "expanded_url": f"https://x.com/{username}/status/{post_id}/photo/1",
                     "display_url": "pic.x.com/" + link[len(TCO_PREFIX):], "media_key": media_keys[0]})
    view: dict[str, Any] = {"text": shown}
    if urls:
        view["entities"] = {"urls": urls}
    if long and note_tweet:
        full, full_urls = rewrite(text, post_id)
        view["note_tweet"] = {"text": full, **({"entities": {"urls": full_urls}} if full_urls else {})}
    return view
