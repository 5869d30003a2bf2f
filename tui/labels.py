"""Japanese words the screens show for domain values (状態, 承認の方法, 時刻).

Status never rides on colour or on an ambiguous-width glyph alone: every state has a word.
"""

from __future__ import annotations

from datetime import datetime

from rich.cells import cell_len

from dutypost.core.templates import JST

APPROVAL_METHOD_LABELS = {"phone": "電話", "in-person": "対面", "in-app": "アプリ内"}

SEVERITY_LABELS = {"block": "止める", "warn": "要確認", "info": "参考"}

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
