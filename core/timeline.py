"""Is this post on X's timeline ours? (SPEC §5, §6: reconciliation, 照合)

What X gives back is not what was sent: ``&``, ``<``, ``>`` come back as ``&amp;``,
``&lt;``, ``&gt;``; every URL (as twitter-text finds it, :func:`extract_urls`) comes back
as a ``https://t.co/…`` link; attached images add one more t.co link at the end; and a
post over 280 weighted is cut with ``…``, its full text in ``note_tweet``.

:func:`same_post` compares accordingly: X's text (``note_tweet.text`` when present) is
unescaped, every URL on both sides stands for one placeholder — so the text outside the
URLs and the number of URLs must agree — and a trailing media link is dropped when our
post had images (or X marks the link as media). Whitespace runs count as one space.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from dutypost.core.length import extract_urls

URL_MARK = "\ufffc"  # stands for one URL on either side (it cannot come from X's text)
_TCO = re.compile(r"https?://t\.co/[A-Za-z0-9]+")
_SPACE = re.compile(r"\s+")


def _bounds(span: Any) -> tuple[int, int]:
    """``(start, end)`` of a span from :func:`extract_urls` (a 3-tuple or ``UrlSpan``)."""
    start = getattr(span, "start", None)
    end = getattr(span, "end", None)
    if isinstance(start, int) and isinstance(end, int):
        return start, end
    return span[0], span[1]


def _squash(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def our_shape(text: str) -> str:
    """Our text with every URL as :data:`URL_MARK`, whitespace runs as one space."""
    text = text.replace(URL_MARK, "")
    for span in reversed(list(extract_urls(text))):
        start, end = _bounds(span)
        text = text[:start] + URL_MARK + text[end:]
    return _squash(text)


def _media_links(item: Mapping[str, Any]) -> set[str]:
    """The t.co links X marks as an attached image or video."""
    entities = item.get("entities") if isinstance(item.get("entities"), Mapping) else {}
    found = set()
    for entity in entities.get("urls", []) if isinstance(entities.get("urls"), list) else []:
        if not isinstance(entity, Mapping) or not isinstance(entity.get("url"), str):
            continue
        expanded = str(entity.get("expanded_url", ""))
        if entity.get("media_key") or "/photo/" in expanded or "/video/" in expanded:
            found.add(entity["url"])
    return found


def x_text(item: Mapping[str, Any]) -> str:
    """The full text of a timeline post as X holds it: ``note_tweet.text`` when X sent it."""
    note = item.get("note_tweet")
    if isinstance(note, Mapping) and isinstance(note.get("text"), str) and note["text"]:
        return note["text"]
    text = item.get("text")
    return text if isinstance(text, str) else ""


def x_shape(item: Mapping[str, Any], *, with_media: bool = False) -> str:
    """X's text with every t.co link as :data:`URL_MARK`, entities unescaped, and a trailing
    media link dropped (when ``with_media`` or X marks it as media)."""
    raw = x_text(item).replace(URL_MARK, "")
    links = list(_TCO.finditer(raw))
    if links and links[-1].end() == len(raw.rstrip()):
        last = links[-1]
        if with_media or last.group() in _media_links(item):
            raw = raw[:last.start()]
            links.pop()
    pieces: list[str] = []
    cursor = 0
    for link in links:
        pieces.append(html.unescape(raw[cursor:link.start()]))
        pieces.append(URL_MARK)
        cursor = link.end()
    pieces.append(html.unescape(raw[cursor:]))
    return _squash("".join(pieces))


def same_post(ours: str, item: Mapping[str, Any], *, with_media: bool = False) -> bool:
    """Whether the timeline post ``item`` (X's ``{id, text, entities, note_tweet}``) is the
    post whose text we sent as ``ours``. ``with_media``: our post had images attached."""
    return our_shape(ours) == x_shape(item, with_media=with_media)
