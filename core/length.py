"""X's weighted length of a post (重み付き文字数) and splitting long text into a numbered
thread (スレッド分割).

The counting follows twitter-text with config v3 (SPEC §4), checked against X's own
conformance cases in ``../shared/conformance/``:

- the text is NFC-normalised first;
- every URL counts 23, with or without a scheme (twitter-text's URL extractor, below,
  which passes the ``urls`` and ``urls_with_indices`` cases of X's extract.yml);
- every emoji sequence counts 2 (found with the maintained ``emoji`` package, so newer
  sequences such as ❤️‍🔥 count 2 as well); like twemoji, © ® ™ ♟ are emoji only when
  followed by U+FE0F;
- any other code point counts 1 in U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F and
  U+2032–U+2037, else 2: a Japanese character (全角) counts 2, so 280 = 140 characters.

We do not use the ``twitter-text-parser`` package: it imports ``pkg_resources`` (gone from
setuptools 82 and absent from Python 3.12+ virtual environments) and its emoji table is
Unicode 12 (2019), so it counts ❤️‍🔥 as 5.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import accumulate
from typing import Mapping, NamedTuple, Sequence

MAX_WEIGHTED_LENGTH = 280
URL_WEIGHT = 23
EMOJI_WEIGHT = 2
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_INVALID_CHARS = frozenset("\ufffe\ufeff\uffff")
# twemoji treats these as text unless U+FE0F asks for the emoji form.
_TEXT_UNLESS_FE0F = frozenset("©®™♟")


@dataclass(frozen=True)
class LengthResult:
    """How X counts one post (文字数チェックの結果).

    ``valid_range`` and ``display_range`` are twitter-text's: offsets in UTF-16 code units
    into the text as given, both ends inclusive. ``valid_range`` ends at the last code unit
    that still fits within ``max``.
    """

    weighted_length: int
    max: int
    valid: bool
    permillage: int
    valid_range: tuple[int, int]
    display_range: tuple[int, int]


# The compose preview counts the same text several times per keystroke (the thread split,
# the gate, the count line, each part again); these caches make the repeats free.
_CACHE_SIZE = 512


def parse(text: str, max_weighted_length: int = MAX_WEIGHTED_LENGTH) -> LengthResult:
    """Count ``text`` as X does. ``valid`` is false when the text is empty, over the limit,
    or holds U+FFFE, U+FEFF or U+FFFF."""
    return _parse(text, max_weighted_length)


@lru_cache(maxsize=_CACHE_SIZE)
def _parse(text: str, max_weighted_length: int) -> LengthResult:
    normalized = unicodedata.normalize("NFC", text)
    weighted = 0
    utf16_offset = 0
    valid_end = 0
    clean = True
    for start, end, weight in _units(normalized):
        weighted += weight
        utf16_offset += _utf16_len(normalized[start:end])
        clean = clean and _INVALID_CHARS.isdisjoint(normalized[start:end])
        if clean and weighted <= max_weighted_length:
            valid_end = utf16_offset - 1
    text_utf16 = _utf16_len(text)
    return LengthResult(
        weighted_length=weighted,
        max=max_weighted_length,
        valid=clean and 0 < weighted <= max_weighted_length,
        permillage=weighted * 1000 // max_weighted_length,
        valid_range=(0, valid_end + text_utf16 - _utf16_len(normalized)),
        display_range=(0, max(text_utf16 - 1, 0)),
    )


def weighted_length(text: str) -> int:
    """The weighted length X gives ``text`` (重み付き文字数)."""
    return parse(text).weighted_length


def url_count(text: str) -> int:
    """How many URLs X sees in ``text``; a post with a URL costs more (SPEC §5)."""
    return len(extract_urls(unicodedata.normalize("NFC", text)))


class UrlSpan(NamedTuple):
    """One URL X finds: code-point offsets ``start``..``end`` (end exclusive) and the URL."""

    start: int
    end: int
    url: str


def extract_urls(text: str) -> list[UrlSpan]:
    """Every URL X counts as 23, as ``UrlSpan(start, end, url)`` (a tuple, so
    ``for start, end, url in ...`` works): code-point offsets into ``text`` as given (not
    normalised), end exclusive.

    This is twitter-text's extractor (its conformance ``urls`` and ``urls_with_indices``
    cases pass): ``https://`` and ``http://`` URLs, and URLs without a scheme whose domain
    is ASCII with a known top-level domain, bare country domains included (``amimachi.jp``,
    ``foo.jp``), unless preceded by ``-`` ``_`` ``.`` ``/`` or by a letter, digit, ``@``,
    ``$`` or ``#``. A ``t.co`` URL ends after its slug and query.
    """
    return list(_extract_urls(text))


@lru_cache(maxsize=_CACHE_SIZE)
def _extract_urls(text: str) -> tuple[UrlSpan, ...]:
    if "." not in text:
        return ()
    patterns = _url_patterns()
    found: list[list[int]] = []
    for match in _url_matches(text, patterns):
        before, url, protocol, domain, path = match.group(2, 3, 4, 5, 7)
        start, end = match.start(3), match.end(3)
        if not _is_valid_domain(domain, patterns) or (
            _utf16_len(protocol or "https://") + _utf16_len(url) > 4096
        ):
            continue
        if protocol:
            tco = patterns.tco.match(url)
            if tco:
                if len(tco.group(1)) > 40:
                    continue
                end = start + len(tco.group(0))
            found.append([start, end])
            continue
        if before in ("-", "_", ".", "/"):
            continue
        last = None
        for ascii_domain in patterns.ascii_domain.finditer(domain):
            last = [start + ascii_domain.start(), start + ascii_domain.end()]
            found.append(last)
        if last is not None and path:
            last[1] = end
    return tuple(UrlSpan(start, end, text[start:end]) for start, end in found)


def _url_matches(text: str, patterns: _UrlPatterns) -> list[re.Match[str]]:
    """What ``patterns.url.finditer(text)`` yields, without its quadratic time on long runs of
    Japanese text (which are all domain characters to twitter-text's regex).

    The regex is tried only where a match could start: just before a domain that reaches a
    dot followed by a top-level domain without leaving its run of domain characters and
    dots, or just before ``http://`` or ``https://`` followed by such a domain.
    """
    domain_starts: set[int] = set()
    for run in patterns.domain_run.finditer(text):
        tld_dots = [dot for dot in range(run.start(), run.end()) if patterns.tld_dot.match(text, dot)]
        if tld_dots:
            domain_starts.update(q for q in range(run.start(), tld_dots[-1]) if text[q] != ".")
    starts = {max(q - 1, 0) for q in domain_starts}
    starts.update(
        max(protocol.start() - 1, 0)
        for protocol in patterns.protocol.finditer(text)
        if protocol.end() in domain_starts
    )
    matches = []
    resume = 0
    for start in sorted(starts):
        if start >= resume and (match := patterns.url.match(text, start)):
            matches.append(match)
            resume = match.end()
    return matches


def split_thread(text: str, max_weighted_length: int = MAX_WEIGHTED_LENGTH) -> list[str]:
    """Split ``text`` into a numbered thread (スレッド) of posts that each fit.

    Returns ``[text]`` unchanged when it fits (and ``[]`` for whitespace too long to post).
    Otherwise every part ends with a line
    ``(i/n)``, which is counted in. Parts break, in order of preference, at a blank line,
    at a line break, after 。！？, after 、 or at a space; a break of a better kind is
    taken when it fills at least half a part. Failing all of those, a hard cut falls
    between two characters, never inside a URL, an emoji sequence, a character with its
    combining marks, or (if it can help it) an ASCII word. Parts carry no whitespace at
    either end; joined without their markers they give back the NFC-normalised text less
    the whitespace at the breaks.
    """
    return list(_split_thread(text, max_weighted_length))


@lru_cache(maxsize=_CACHE_SIZE)
def _split_thread(text: str, max_weighted_length: int) -> tuple[str, ...]:
    # Each part is counted once per try of a marker width; a try stops as soon as it needs
    # more parts than its markers have digits for, so a long paste costs about two counts.
    if weighted_length(text) <= max_weighted_length:
        return (text,)
    normalized = unicodedata.normalize("NFC", text)
    units = _units(normalized)
    digits = 1
    while True:
        worst_marker = _marker(10**digits - 1, 10**digits - 1)
        bodies = _split_bodies(normalized, units, max_weighted_length, worst_marker, 10**digits - 1)
        if bodies is not None:
            break
        digits += 1
    parts = tuple(body + _marker(i, len(bodies)) for i, body in enumerate(bodies, start=1))
    return (_hashtags_not_alone(normalized, parts, max_weighted_length) if len(parts) > 1 else None) or parts


#: A line of hashtags only (#阿見町 #避難指示), as templates end a post.
_HASHTAG_LINE = re.compile(r"[#＃][^\s#＃]+(?:[ \u3000]+[#＃][^\s#＃]+)*")


def _hashtags_not_alone(text: str, parts: tuple[str, ...], max_weighted_length: int) -> tuple[str, ...] | None:
    """When the split leaves the closing hashtag line alone as the last part (a post of
    nothing but 「#阿見町 #避難指示 (2/2)」), split the text before it with room kept for the
    line, and end the last part with it. None when that does not apply, or when it would
    cut a sentence."""
    head, _, tags = text.rstrip().rpartition("\n")
    last_body = parts[-1].rpartition("\n")[0].strip()
    if not head.strip() or not _HASHTAG_LINE.fullmatch(tags.strip()) or last_body != tags.strip():
        return None
    line = "\n" + tags.strip()
    room = max_weighted_length - weighted_length(line)
    if room <= weighted_length(_marker(99, 99)) * 2:
        return None
    head = head.rstrip()
    bodies = _split_thread(head, room)
    if len(bodies) < 2:
        return None  # cannot be: the whole text would have fitted
    # Only if every break still falls at a line end or after 。！？: a sentence cut in two
    # is worse than a part that holds the hashtags alone.
    at = 0
    for part in bodies[:-1]:
        body = part.rpartition("\n")[0]
        at = head.find(body, at)
        if at < 0:
            return None
        at += len(body)
        if not (body.endswith(("。", "！", "？", "!", "?")) or head[at:at + 1] == "\n"):
            return None
    last, _, marker = bodies[-1].rpartition("\n")
    return (*bodies[:-1], f"{last}{line}\n{marker}")


def _marker(index: int, total: int) -> str:
    # The line break keeps the marker out of a URL that ends the body.
    return f"\n({index}/{total})"


@dataclass(frozen=True)
class Room:
    """How much a field's text may still grow (残りの文字数), in X's weighted count.

    ``left`` is the room in the post, or in a thread the room in the part the field's text
    goes into (``part`` of ``parts``), counted up to the end of the last field's line in
    that part: the lines after it may move on to the next part, the fields' own lines may
    not (the first part keeps the level, the time, the reason and the areas together).
    Negative: over the limit by that much (a post that cannot be split)."""

    left: int
    part: int = 1
    parts: int = 1
    threads: bool = False  # the text may be split into a thread when it grows


def rooms_at(text: str, ends: Mapping[str, int], max_weighted_length: int = MAX_WEIGHTED_LENGTH, *,
             threads: bool = False) -> dict[str, Room]:
    """The room for each field whose text ends at code point ``ends[name]`` of ``text``
    (the post as it goes out, before the thread split).

    Cheap on a keystroke: the thread split is the cached one the preview uses, and one
    prefix of each part is counted."""
    if not threads or weighted_length(text) <= max_weighted_length:
        left = max_weighted_length - weighted_length(text)
        return {name: Room(left, threads=threads) for name in ends}
    parts = split_thread(text, max_weighted_length)
    total = len(parts)
    bodies = [part.removesuffix(_marker(index, total)) for index, part in enumerate(parts, start=1)]
    counts = list(accumulate(_non_space_count(body) for body in bodies))
    # Parts are the NFC text cut at whitespace: a field's line end is found in its part by
    # counting the characters that are not whitespace.
    where: dict[str, tuple[int, int]] = {}  # name -> (part index, end of its line in the body)
    for name, end in ends.items():
        line_end = text.find("\n", end)
        need = _non_space_count(unicodedata.normalize("NFC", text[: line_end if line_end >= 0 else len(text)]))
        index = min(bisect_left(counts, need), total - 1)
        body = bodies[index]
        cut = _after_non_space(body, need - (counts[index - 1] if index else 0))
        newline = body.find("\n", cut)
        where[name] = (index, newline if newline >= 0 else len(body))
    upto: dict[int, int] = {}
    for index, line_end in where.values():
        upto[index] = max(upto.get(index, 0), line_end)
    left = {index: max_weighted_length - weighted_length(bodies[index][:cut] + _marker(index + 1, total))
            for index, cut in upto.items()}
    return {name: Room(left[index], index + 1, total, threads=True) for name, (index, _) in where.items()}


def _non_space_count(text: str) -> int:
    return sum(1 for char in text if not char.isspace())


def _after_non_space(text: str, n: int) -> int:
    """The index just after the ``n``-th character of ``text`` that is not whitespace."""
    if n <= 0:
        return 0
    for index, char in enumerate(text):
        if not char.isspace():
            n -= 1
            if n == 0:
                return index + 1
    return len(text)


# Break kinds for split_thread, best first.
_PARAGRAPH, _LINE, _SENTENCE, _CLAUSE, _BETWEEN_WORDS, _INSIDE_WORD = 5, 4, 3, 2, 1, 0
_SENTENCE_ENDS = frozenset("。．！？!?")
_CLAUSE_ENDS = frozenset("、，")
_CLOSERS = frozenset("」』）)】〕〉》］")
_SENTENCE_TAIL = _SENTENCE_ENDS | _CLOSERS


@dataclass(frozen=True)
class _Atom:
    """A stretch split_thread never cuts: a URL, an emoji, or a character with its marks."""

    start: int
    end: int
    weight: int
    text: str


def _split_bodies(
    text: str, units: Sequence[tuple[int, int, int]], limit: int, marker: str, max_parts: int
) -> list[str] | None:
    """The bodies of the parts, or None once more than ``max_parts`` are needed."""
    budget = limit - weighted_length(marker)
    atoms = _atoms(text, units, budget)
    kinds = _break_kinds(atoms)
    totals = [0, *accumulate(atom.weight for atom in atoms)]
    bodies: list[str] = []
    first = 0
    while True:
        while first < len(atoms) and atoms[first].text.isspace():
            first += 1
        if first == len(atoms):
            return bodies
        # Atoms first..last-1 fit by their weights in the whole text; the exact count of
        # the cut-out body can differ at its edges (a URL's context), so it is checked.
        last = bisect_right(totals, totals[first] + budget) - 1
        while True:
            if last <= first:
                raise ValueError(
                    f"上限 {limit} では分割できません (max_weighted_length {limit} is too small to split)"
                )
            cut = last if last == len(atoms) else _choose_break(kinds, totals, first, last, budget)
            body = text[atoms[first].start : atoms[cut - 1].end].strip()
            if weighted_length(body + marker) <= limit:
                break
            last = cut - 1
        bodies.append(body)
        if len(bodies) > max_parts:
            return None
        first = cut


def _choose_break(kinds: list[int | None], totals: list[int], first: int, last: int, budget: int) -> int:
    """The break (an atom index in first+1..last) to end a part at."""
    furthest: dict[int, int] = {}  # kind -> its furthest cut
    for cut in range(first + 1, last + 1):
        kind = kinds[cut]
        if kind is not None:
            furthest[kind] = cut
    half_full = [
        kind
        for kind, cut in furthest.items()
        if kind >= _CLAUSE and 2 * (totals[cut] - totals[first]) >= budget
    ]
    return furthest[max(half_full or furthest)]


def _break_kinds(atoms: list[_Atom]) -> list[int | None]:
    """For each atom index, the kind of break before that atom (None: not a place to break,
    as inside a run of whitespace, where the run's start stands for it)."""
    kinds: list[int | None] = [None] * (len(atoms) + 1)
    for cut in range(1, len(atoms)):
        before, after = atoms[cut - 1], atoms[cut]
        if before.text.isspace():
            continue
        sentence_end = _ends_sentence(atoms, cut) and after.text not in _SENTENCE_TAIL
        if after.text.isspace():
            run = cut
            while run < len(atoms) and atoms[run].text.isspace():
                run += 1
            newlines = sum(atom.text.count("\n") for atom in atoms[cut:run])
            kind = _PARAGRAPH if newlines >= 2 else _LINE if newlines == 1 else _CLAUSE
            kinds[cut] = max(kind, _SENTENCE) if sentence_end else kind
        elif sentence_end:
            kinds[cut] = _SENTENCE
        elif before.text in _CLAUSE_ENDS:
            kinds[cut] = _CLAUSE
        elif _is_ascii_word(before.text) and _is_ascii_word(after.text):
            kinds[cut] = _INSIDE_WORD
        else:
            kinds[cut] = _BETWEEN_WORDS
    return kinds


def _ends_sentence(atoms: list[_Atom], cut: int) -> bool:
    index = cut - 1
    while index > 0 and atoms[index].text in _CLOSERS:
        index -= 1
    return atoms[index].text in _SENTENCE_ENDS


def _is_ascii_word(text: str) -> bool:
    return text.isascii() and text.isprintable() and not text.isspace()


def _atoms(text: str, units: Sequence[tuple[int, int, int]], max_weight: int) -> list[_Atom]:
    """The text's counting units, with combining marks, variation selectors, ZWJ joins and
    split surrogate pairs kept on the unit before them while the whole still fits in a part."""
    atoms: list[_Atom] = []
    for start, end, weight in units:
        previous = atoms[-1] if atoms else None
        if previous and _clings(text[previous.end - 1], text[start]) and previous.weight + weight <= max_weight:
            atoms.pop()
            start, weight = previous.start, previous.weight + weight
        atoms.append(_Atom(start, end, weight, text[start:end]))
    return atoms


def _clings(previous: str, char: str) -> bool:
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or "\u200d" in (previous, char)
        or ("\ud800" <= previous <= "\udbff" and "\udc00" <= char <= "\udfff")
    )


@lru_cache(maxsize=_CACHE_SIZE)
def _units(text: str) -> tuple[tuple[int, int, int], ...]:
    """twitter-text's counting walk: ``(start, end, weight)`` for each URL, emoji and other
    code point, in order. Whichever starts first wins where a URL and an emoji overlap."""
    urls = {start: end for start, end, _ in extract_urls(text)}
    emojis = _emoji_spans(text)
    units = []
    index = 0
    while index < len(text):
        if index in urls:
            end, weight = urls[index], URL_WEIGHT
        elif index in emojis:
            end, weight = emojis[index], EMOJI_WEIGHT
        else:
            end, weight = index + 1, _char_weight(text[index])
        units.append((index, end, weight))
        index = end
    return tuple(units)


# Every emoji sequence the ``emoji`` package knows holds one of these code points (its
# first one, or U+FE0F / U+20E3 after an ASCII keycap base); a test checks this against the
# package's own table. Text without any, as plain Japanese text, never imports ``emoji``.
_MAY_HOLD_EMOJI = re.compile(
    "[\u00a9\u00ae\u200d\u203c\u2049\u20e3\u2122-\u2bff\u3030\u303d\u3297\u3299\ufe0f\U0001f000-\U0010ffff]"
)


def _emoji_spans(text: str) -> dict[int, int]:
    if not _MAY_HOLD_EMOJI.search(text):
        return {}
    import emoji

    return {
        found["match_start"]: found["match_end"]
        for found in emoji.emoji_list(text)
        if found["emoji"] not in _TEXT_UNLESS_FE0F
    }


def _char_weight(char: str) -> int:
    code = ord(char)
    return 1 if any(low <= code <= high for low, high in _LIGHT_RANGES) else 2


def _utf16_len(text: str) -> int:
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _is_valid_domain(domain: str, patterns: _UrlPatterns) -> bool:
    """twitter-text's IDNA check: every label, punycode-encoded, is 1–63 characters."""
    if domain.startswith("xn--") and not patterns.ascii_domain.search(domain):
        return False
    return all(_is_valid_label(label) for label in domain.split("."))


@lru_cache(maxsize=4096)
def _is_valid_label(label: str) -> bool:
    # Encoding never makes a label shorter, so a long one (a run of Japanese text that the
    # domain regex takes in) fails without Python's slow punycode encoder.
    if not 1 <= len(label) <= 63:
        return False
    # punycode.js, which twitter-text uses, also splits labels at 。．｡
    encoded = ".".join(
        "xn--" + part.encode("punycode").decode("ascii") if re.search(r"[^\x00-\x7e]", part) else part
        for part in re.split("[\u3002\uff0e\uff61]", label)
    )
    return 1 <= len(encoded) <= 63


@dataclass(frozen=True)
class _UrlPatterns:
    url: re.Pattern[str]
    ascii_domain: re.Pattern[str]
    tco: re.Pattern[str]
    domain_run: re.Pattern[str]
    tld_dot: re.Pattern[str]
    protocol: re.Pattern[str]


@cache
def _url_patterns() -> _UrlPatterns:
    """twitter-text's URL regular expressions, compiled on first use (import stays cheap)."""
    invalid = "\ufffe\ufeff\uffff"
    directional = "\u202a-\u202e\u061c\u200e\u200f\u2066-\u2069"
    spaces = "\x09-\x0d\x20\x85\xa0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    punct = r"!'#%&()*+,\\\-./:;<=>?@\[\]^_{|}~$"
    punct_but_domain = r"!'#%&()*+,\\/:;<=>?@\[\]^{|}~$"  # less the - _ . that domains hold
    latin = (
        "\xc0-\xd6\xd8-\xf6\xf8-\xff\u0100-\u024f\u0253\u0254\u0256\u0257\u0259\u025b\u0263"
        "\u0268\u026f\u0272\u0289\u028b\u02bb\u0300-\u036f\u1e00-\u1eff"
    )
    cyrillic = "\u0400-\u04ff"
    tld_end = r"(?=[^0-9a-zA-Z@+-]|$)"
    tlds = _top_level_domains()
    generic = "(?:(?:" + "|".join(sorted(tlds["generic"], key=len, reverse=True)) + ")" + tld_end + ")"
    country = "(?:(?:" + "|".join(sorted(tlds["country"], key=len, reverse=True)) + ")" + tld_end + ")"
    punycode = r"(?:xn--[\-0-9a-z]+)"
    domain_char = f"[^{punct}{spaces}{invalid}{directional}]"
    subdomain = f"(?:(?:{domain_char}(?:[_-]|{domain_char})*)?{domain_char}\\.)"
    domain_name = f"(?:(?:{domain_char}(?:-|{domain_char})*)?{domain_char}\\.)"
    domain = f"(?:{subdomain}*{domain_name}(?:{generic}|{country}|{punycode}))"
    path_char = f"[a-z{cyrillic}0-9!*';:=+,.$/%#\\[\\]\\-\u2013_~@|&{latin}]"
    parens = f"\\((?:{path_char}+|(?:{path_char}*\\({path_char}+\\){path_char}*))\\)"
    path_end = f"(?:[+\\-a-z{cyrillic}0-9=_#/{latin}]|(?:{parens}))"
    path = f"(?:(?:{path_char}*(?:{parens}{path_char}*)*{path_end})|(?:@{path_char}+/))"
    query_char = r"[a-z0-9!?*'@();:&=+$/%#\[\]\-_.,~|]"
    query_end = r"[a-z0-9\-_&=#/]"
    preceding = f"(?:[^A-Za-z0-9@＠$#＃{invalid}]|[{directional}]|^)"
    url = (
        f"(({preceding})((https?://)?({domain})(?::([0-9]+))?(/{path}*)?(\\?{query_char}*{query_end})?))"
    )
    ascii_domain = f"(?:(?:[\\-a-z0-9{latin}]+)\\.)+(?:{generic}|{country}|{punycode})"
    return _UrlPatterns(
        url=re.compile(url, re.IGNORECASE),
        ascii_domain=re.compile(ascii_domain, re.IGNORECASE),
        tco=re.compile(f"https?://t\\.co/([a-z0-9]+)(?:\\?{query_char}*{query_end})?", re.IGNORECASE),
        domain_run=re.compile(f"[^{punct_but_domain}{spaces}{invalid}{directional}]+"),
        tld_dot=re.compile(f"\\.(?:{generic}|{country}|{punycode})", re.IGNORECASE),
        protocol=re.compile("https?://", re.IGNORECASE),
    )


def _top_level_domains() -> dict[str, list[str]]:
    """twitter-text's generic and country top-level domains, from ``tlds.txt`` beside this
    module (its header says where they come from)."""
    from importlib.resources import files

    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in files("dutypost.core").joinpath("tlds.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
        elif line:
            current.extend(line.split())
    return sections
