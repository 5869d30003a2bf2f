"""The shift handover page (引き継ぎ): one page for the next officer and the account manager.

What was posted since a time, what is in force (発令中), the outbox (failed, unknown),
what awaits 事後承認, the open checklists and the open follow-ups on other channels.
:func:`handover_data` gathers it from the ledger; :func:`render` writes Markdown or an
HTML page that prints on A4. ``dutypost handover`` prints it; Home writes it to a file
(:func:`write_file`) and says where.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from dutypost.core import checklists, followups
from dutypost.core.in_force import InForce, in_force
from dutypost.core.ledger.posts import POST_STATE_LABELS
from dutypost.core.templates import format_jst_datetime

if TYPE_CHECKING:
    from dutypost.core.config import Settings
    from dutypost.core.ledger import Ledger, Post
    from dutypost.core.templates import TemplateSet

JST = ZoneInfo("Asia/Tokyo")
DEFAULT_SPAN = timedelta(hours=12)
"""Without ``--since``: one shift back."""
Format = Literal["md", "html"]


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[str, ...]
    empty: str


@dataclass(frozen=True)
class Handover:
    """The handover page: a heading and its sections, in the order they are read."""

    heading: str
    about: tuple[str, ...]
    sections: tuple[Section, ...]


def handover_data(ledger: Ledger, settings: Settings, templates: TemplateSet, *, drill: bool, operator: str,
                  now: datetime, since: datetime | None = None) -> Handover:
    since = since or now - DEFAULT_SPAN
    mode = "訓練" if drill else "本番"
    who = settings.operator(operator)
    handle = (settings.account.drill_handle or settings.account.handle) if drill else settings.account.handle
    about = (
        f"アカウント: {settings.account.name} (@{handle})   モード: {mode}",
        f"作成: {format_jst_datetime(now)}   作成者: {who.name if who else operator}",
        f"対象: {format_jst_datetime(since)} 以降",
        # The audit chain's head (監査記録の末尾): an anchor the page carries, for
        # ``dutypost audit verify --anchor ID:HASH`` (issue 17 item 3).
        f"監査記録の末尾 (控え): {ledger.head() or 'なし'}",
    )
    posts = [p for p in reversed(ledger.list_posts(since=since)) if p.drill == drill]
    board = in_force(ledger, templates, drill=drill)
    outbox = [p for p in reversed(ledger.outbox()) if p.drill == drill]
    post_hoc = [p for p in ledger.awaiting_post_hoc_approval() if p.drill == drill]
    open_lists = checklists.open_checklists(ledger)
    open_follow = followups.open_followups(ledger, settings, templates, drill=drill, now=now)
    sections = (
        Section(f"発令中 ({len(board)} 件)", tuple(board_line(b) for b in board), "発令中のものはありません。"),
        Section(f"送信待ち・失敗・結果不明 ({len(outbox)} 件)", tuple(_outbox_line(p) for p in outbox),
                "送信待ちの投稿はありません。"),
        Section(f"事後承認待ち ({len(post_hoc)} 件)", tuple(_post_hoc_line(p) for p in post_hoc),
                "事後承認待ちの投稿はありません。"),
        Section(f"他の媒体への連絡が済んでいない緊急の投稿 ({len(open_follow)} 件)",
                tuple(f"#{f.post.id} {_first_line(f.post)} — 未: {'、'.join(f.missing)}" for f in open_follow),
                "残っている連絡はありません。"),
        Section(f"完了していないチェックリスト ({len(open_lists)} 件)",
                tuple(f"#{c.id} {c.title}" + (f" (投稿 #{c.post_id})" if c.post_id else "")
                      + f" — 残り {len(c.missing)} 項目" for c in open_lists),
                "完了していないチェックリストはありません。"),
        Section(f"投稿 ({len(posts)} 件)", tuple(_post_line(p, settings) for p in posts),
                "この間の投稿はありません。"),
    )
    return Handover(heading=f"引き継ぎ ({settings.municipality.name or settings.account.name})",
                    about=about, sections=sections)


def board_line(line: InForce) -> str:
    """One line of the board in words: 「警戒レベル4 避難指示  本郷地区  11月22日 18時40分から」."""
    return f"{line.title}  {line.place or '(場所の記録なし)'}  {format_jst_datetime(line.since)}から  (投稿 #{line.post_id})"


def render(page: Handover, fmt: Format = "md") -> str:
    if fmt == "html":
        return _html(page)
    out = [f"# {page.heading}", "", *[f"{line}  " for line in page.about]]
    for section in page.sections:
        out += ["", f"## {section.title}", ""]
        out += [f"- {line}" for line in section.lines] or [section.empty]
    return "\n".join(out) + "\n"


def write_file(page: Handover, directory: Path, *, now: datetime, fmt: Format = "md") -> Path:
    """Write the page as ``handover-YYYYMMDD-HHMM.md`` in ``directory``; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"handover-{now.astimezone(JST):%Y%m%d-%H%M}.{fmt}"
    path.write_text(render(page, fmt), encoding="utf-8")
    return path


def _first_line(post: Post, width: int = 40) -> str:
    line = post.text.splitlines()[0] if post.text else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _post_line(post: Post, settings: Settings) -> str:
    who = settings.operator(post.operator)
    state = POST_STATE_LABELS.get(post.state, post.state)
    line = f"#{post.id} {format_jst_datetime(post.created_at)} [{state}] {who.name if who else post.operator}: {_first_line(post)}"
    return line + (f" {post.url}" if post.url else "")


def _outbox_line(post: Post) -> str:
    state = POST_STATE_LABELS.get(post.state, post.state)
    return f"#{post.id} [{state}] {format_jst_datetime(post.created_at)} {_first_line(post)}" + (
        f" — {post.error}" if post.error else "")


def _post_hoc_line(post: Post) -> str:
    override = post.override or {}
    return f"#{post.id} {format_jst_datetime(post.created_at)} {post.department} {_first_line(post)} — {override.get('category', '')}"


def _html(page: Handover) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>", '<html lang="ja"><head><meta charset="utf-8">', f"<title>{e(page.heading)}</title>",
        "<style>@page{size:A4;margin:15mm}body{font-family:sans-serif;font-size:10.5pt}"
        "h1{font-size:15pt}h2{font-size:12pt;border-bottom:1px solid #000;margin-top:1.2em}"
        "li{margin:.15em 0}</style></head><body>",
        f"<h1>{e(page.heading)}</h1>", "<p>" + "<br>".join(e(line) for line in page.about) + "</p>",
    ]
    for section in page.sections:
        parts.append(f"<h2>{e(section.title)}</h2>")
        if section.lines:
            parts.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in section.lines) + "</ul>")
        else:
            parts.append(f"<p>{e(section.empty)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
