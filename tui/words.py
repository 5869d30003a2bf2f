"""The shared words and formatting of the screens (画面の言葉): the Japanese words for
domain values (状態, 承認の方法, 時刻) and the few formatters that more than one screen or
dialog needs (a post's text as it will go out, its count, an override on one line).

Status never rides on colour or on an ambiguous-width glyph alone: every state has a word.
This module imports no screen, no dialog and no widget; it is cheap to import (the first
screen needs it), so the heavier core modules are imported inside the functions that use them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text

from dutypost.core.templates import JST

if TYPE_CHECKING:
    from dutypost.core.errors import DutypostError
    from dutypost.core.ledger import Post
    from dutypost.core.length import Room
    from dutypost.core.publish import Composition

APPROVAL_METHOD_LABELS = {"phone": "電話", "in-person": "対面", "in-app": "アプリ内"}

SEVERITY_LABELS = {"block": "止める", "warn": "要確認", "info": "参考"}

#: The gate's own checks: shown as 時間 / 承認 rows, never as findings about the text.
GATE_ONLY_RULES = ("hours", "approval")

#: States a post can be cancelled (取消) from; ``core.publish.cancel`` decides in the end.
CANCELLABLE_STATES = ("failed", "queued")

_WEEKDAYS = "月火水木金土日"

LIVE_CONFIRMATION = "本番アカウントに投稿します。住民に届きます。"
DRILL_CONFIRMATION = "訓練として練習サーバーに投稿します。"


def publish_confirmation(drill: bool) -> str:
    """What publishing does, said before the key is pressed; the wording differs by mode."""
    return DRILL_CONFIRMATION if drill else LIVE_CONFIRMATION


def jst(moment: datetime) -> datetime:
    return moment.astimezone(JST) if moment.tzinfo else moment


def clock_text(moment: datetime) -> str:
    """``9/1(火) 03:20 JST``: the status bar's clock, to the minute."""
    local = jst(moment)
    return f"{local.month}/{local.day}({_WEEKDAYS[local.weekday()]}) {local:%H:%M} JST"


def short_time(moment: datetime, now: datetime) -> str:
    """``03:20`` today, ``8/31 03:20`` on another day."""
    local, today = jst(moment), jst(now).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local.month}/{local.day} {local:%H:%M}"


def first_line(text: str, cells: int) -> str:
    """The text on one line, cut to ``cells`` terminal cells (never ``len()``)."""
    line = " ".join(text.split())
    if cell_len(line) <= cells:
        return line
    out = ""
    for char in line:
        if cell_len(out + char) > cells - 2:
            break
        out += char
    return out + ".."


#: Characters a line must not begin with (行頭禁則): 、。 and closing brackets, as in print.
NO_LINE_START = frozenset("、。，．,.:;!?！？：；・ー～」』）］｝〕〉》】〙〗)]}ゝゞ々ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ")
#: Characters a line must not end with (行末禁則): opening brackets.
NO_LINE_END = frozenset("「『（［｛〔〈《【〘〖([{")


def _break_offsets(plain: str, width: int) -> list[int]:
    """Where a line of ``plain`` breaks to fit ``width`` cells: per character for
    Japanese, at a space inside a Latin word, and never so that a line begins with 、 or
    。 or ends with 「 (the character before is carried down to the next line: 追い出し)."""
    offsets: list[int] = []
    start = cells = 0
    for i, char in enumerate(plain):
        size = cell_len(char)
        if cells + size > width and i > start:
            brk = i
            while brk - 1 > start and (plain[brk] in NO_LINE_START or plain[brk - 1] in NO_LINE_END):
                brk -= 1
            if plain[brk - 1].isascii() and plain[brk].isascii() and not plain[brk].isspace():
                space = plain.rfind(" ", start + 1, brk)
                brk = space + 1 if space > start else brk
            offsets.append(brk)
            start, cells = brk, cell_len(plain[brk:i])
        cells += size
    return offsets


def wrap_text(text: Text, width: int) -> list[Text]:
    """``text`` in lines of at most ``width`` cells, styles kept, Japanese line-breaking
    rules applied (see :func:`_break_offsets`)."""
    lines: list[Text] = []
    for line in text.split("\n", allow_blank=True):
        if width <= 0 or cell_len(line.plain) <= width:
            lines.append(line)
            continue
        for piece in line.divide(_break_offsets(line.plain, width)):
            piece.rstrip()
            lines.append(piece)
    return lines


def count_text(composition: Composition, limit: int) -> str:
    """``文字数 120/280``, or the count of each part of a thread."""
    if len(composition.parts) <= 1:
        return f"文字数 {composition.weighted_length}/{limit}"
    from dutypost.core.length import weighted_length  # not on the way to the first screen

    counts = ", ".join(f"{weighted_length(part)}/{limit}" for part in composition.parts)
    return f"スレッド {len(composition.parts)} 件に分けて投稿 ({counts})"


def room_text(room: Room) -> str:
    """How much the focused field may still grow (残り), in X's weighted count and in 全角
    characters (2 each), in one line of the compose form (38 cells): 「1/2 件目の残り 118 (全角59字)」."""
    if room.left < 0:
        return f"{-room.left} 超過 (全角{-room.left // 2}字)。短くしてください"
    left = f"残り {room.left} (全角{room.left // 2}字)"
    if room.parts > 1:
        return f"{room.part}/{room.parts} 件目の{left}"
    if room.threads:
        return f"{left} 超えるとスレッド"
    return left


def composition_text(composition: Composition) -> str:
    """The text as it will go out; a thread's parts numbered (1/2), (2/2)."""
    if len(composition.parts) <= 1:
        return composition.text
    total = len(composition.parts)
    return "\n\n".join(f"({i}/{total})\n{part}" for i, part in enumerate(composition.parts, 1))


def override_text(post: Post) -> str:
    """An emergency override (緊急オーバーライド) on one line: category and justification."""
    return f"緊急: {post.override['category']} / 理由: {post.override['reason']}" if post.override else ""


def can_resend(post: Post) -> bool:
    """再送 is offered for a failed post, but not when X refused it as a duplicate (403):
    the same text is on the account already, and sending it again is refused again."""
    from dutypost.core.xapi import DUPLICATE_REFUSED

    return post.state == "failed" and DUPLICATE_REFUSED not in (post.error or "")


def failure_hint(exc: DutypostError) -> str:
    """X's own advice for a failed publish (e.g. how long to wait after a 429).

    ``core.publish`` raises PublishFailed/OutcomeUnknown with a hint for the command line
    and X's error as ``cause``; the screens show X's hint and add their own next steps in
    keys, not commands.
    """
    return getattr(getattr(exc, "cause", None), "hint", "") or ""


def x_problem_text(exc: BaseException | None) -> str:
    """Why X cannot be used (X: 未接続), in a few words for the status bar; "" when ``exc``
    is not such a reason (a 5xx or a 429 says nothing about the connection)."""
    from dutypost.core.errors import NoCredentials, WrongAccount
    from dutypost.core.xapi import XAuthError, XPaymentRequired, XUncertain, XUnreachable

    if isinstance(exc, NoCredentials):
        return "認証情報なし"
    if isinstance(exc, WrongAccount):
        return f"別のアカウント @{exc.actual}"
    if isinstance(exc, XAuthError):
        return "401 認証エラー"
    if isinstance(exc, XPaymentRequired):
        return "クレジット不足"
    if isinstance(exc, (XUnreachable, XUncertain)):
        return "接続できません"
    return ""
