"""One post, shown (投稿の表示): the view the post screen (投稿の結果) and history's post
detail (投稿の詳細) share.

Lines about the post above its text, the text itself in a box titled 本文, more lines
below it; the screen says what goes on each line (state, URL, next steps; or the summary,
the form and the audit events). The view also copies the post's text or URL to the
officer's own clipboard (OSC 52, which works over SSH).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

if TYPE_CHECKING:
    from dutypost.core.ledger import Post


@dataclass(frozen=True)
class Notice:
    """A message about the post: what just happened (headline) and what to do (detail)."""

    headline: str
    detail: str = ""
    error: bool = False


class PostView(VerticalScroll):
    """The body of a post's screen: ``above`` lines (id, first content), the text, ``below`` lines."""

    def __init__(self, *, above: tuple[tuple[str, str], ...], text_id: str, below: tuple[str, ...],
                 id: str) -> None:
        super().__init__(id=id)
        self._above = above
        self._text_id = text_id
        self._below = below
        self.post: Post | None = None

    def compose(self) -> ComposeResult:
        for line_id, content in self._above:
            yield Static(content, id=line_id, markup=False)
        yield Static("", id=self._text_id, markup=False)
        for line_id in self._below:
            yield Static("", id=line_id, markup=False)

    def on_mount(self) -> None:
        self.query_one(f"#{self._text_id}", Static).border_title = "本文"

    def line(self, line_id: str) -> Static:
        return self.query_one(f"#{line_id}", Static)

    def show_post(self, post: Post) -> None:
        """The post's text in the box; the screen fills the lines around it."""
        self.post = post
        self.line(self._text_id).update(Text(post.text))

    def show_missing(self, post_id: int) -> None:
        """The post is not in the ledger: said on the first line."""
        self.post = None
        self.line(self._above[0][0]).update(Text(f"投稿 #{post_id} は記録にありません。", style="bold red"))

    def show_notice(self, line_id: str, notice: Notice) -> None:
        text = Text(notice.headline, style="bold red" if notice.error else "bold")
        if notice.detail:
            text.append("\n" + notice.detail)
        self.line(line_id).update(text)

    def copy_text(self) -> None:
        if self.post is not None:
            self.app.copy_to_clipboard(self.post.text)
            self.notify("本文をクリップボードにコピーしました (端末が対応している場合)。", title="コピー", markup=False)

    def copy_url(self) -> None:
        if self.post is not None and self.post.url:
            self.app.copy_to_clipboard(self.post.url)
            self.notify("URL をクリップボードにコピーしました (端末が対応している場合)。", title="コピー", markup=False)
