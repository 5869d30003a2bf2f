"""The compose preview (プレビュー), drawn line by line.

A redraw of a whole text block costs about 2 KB over SSH; a keystroke usually changes one
or two wrapped lines and the count. This widget wraps the text itself (in terminal cells)
and asks Textual to repaint only the lines whose content changed. Lines are broken by
Japanese rules: none begins with 、 or 。 (``words.wrap_text``).
"""

from __future__ import annotations

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from dutypost.tui.words import wrap_text


class PreviewPane(ScrollView, can_focus=False):
    """Blocks of text shown one under another; only changed lines are sent to the terminal."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._blocks: list[Text] = []
        self._lines: list[Text] = []

    @property
    def plain(self) -> str:
        """What the pane shows, as plain text."""
        return "\n".join(block.plain for block in self._blocks)

    def show(self, blocks: list[Text]) -> None:
        self._blocks = blocks
        width = self.scrollable_content_region.width
        if width <= 0:
            return  # not laid out yet: on_resize draws it
        lines: list[Text] = []
        for block in blocks:
            lines.extend(wrap_text(block, width) or [Text("")])
        old, self._lines = self._lines, lines
        # A new virtual size repaints the whole pane: keep it while the text fits.
        size = Size(width, max(len(lines), self.scrollable_content_region.height))
        if self.virtual_size != size:
            self.virtual_size = size
        for y in range(max(len(old), len(lines))):
            if y >= len(old) or y >= len(lines) or old[y] != lines[y]:
                self.refresh_line(y)

    def on_resize(self) -> None:
        self._lines = []
        self.show(self._blocks)

    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        width = self.scrollable_content_region.width
        style = self.rich_style
        if index >= len(self._lines):
            return Strip.blank(width, style)
        segments = list(self._lines[index].render(self.app.console))
        return Strip(segments).adjust_cell_length(width, style).apply_style(style)


class WrappedText(Static):
    """A Static whose text is broken into lines by Japanese rules (``words.wrap_text``):
    no line begins with 、 or 。, and a long Japanese sentence (one "word" to Rich, as it has
    no spaces) is not pushed whole onto the next line."""

    def __init__(self, content: Text | str = "", **kwargs) -> None:
        self._source = content if isinstance(content, Text) else Text(content)
        super().__init__(self._source, markup=False, **kwargs)

    @property
    def source(self) -> Text:
        """The text as given, before it is wrapped."""
        return self._source

    def update(self, content: Text | str = "", *, layout: bool = True) -> None:
        self._source = content if isinstance(content, Text) else Text(content)
        self._rewrap(layout=layout)

    def on_resize(self) -> None:
        self._rewrap(layout=True)

    def _rewrap(self, *, layout: bool) -> None:
        width = self.content_size.width
        shown = Text("\n").join(wrap_text(self._source, width)) if width > 0 else self._source
        super().update(shown, layout=layout)
