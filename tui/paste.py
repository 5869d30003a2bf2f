"""Pasted text (貼り付け) arrives whole, in order and clean.

Two parts:

- :class:`PasteParser` reads the terminal's input. Textual's own parser (8.2.8) runs the
  escape-sequence machine inside a bracketed paste: an ESC in the pasted text ends the
  paste early, the rest of the text is re-sent as keys (``A\\e[2JB`` arrived as the keys
  ``^[2JB`` and then the paste ``A``). Here everything between ``ESC[200~`` and
  ``ESC[201~`` is taken verbatim and handed on as one :class:`~textual.events.Paste`, so a
  BEL or an ESC in a paste never becomes a key and never runs a binding (BEL is Ctrl+G,
  the help key). The app installs it in place of Textual's parser (:func:`install`).
- :func:`clean_paste` decides what a field keeps: every printable character in order;
  ESC sequences (CSI, OSC, DCS, … as whole sequences) and C0/C1 control characters
  removed, never turned into caret text; newlines kept in a multi-line field, spaces in a
  one-line field. :class:`CleanPaste` is mixed into the app's inputs and says what was
  changed in a notification.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Generator

from textual import constants, events
from textual._parser import ParseEOF, ParseTimeout, Peek1, Read1
from textual._xterm_parser import XTermParser

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
#: A paste whose end marker never comes (a broken terminal) is handed on after this much silence.
PASTE_SILENCE_SECONDS = 2.0

_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"                    # CSI: ESC [ params intermediates final
    r"|\x9b[0-?]*[ -/]*[@-~]"                     # CSI as one C1 byte
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, ended by BEL or ST
    r"|\x9d[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"    # DCS, SOS, PM, APC, ended by ST
    r"|[\x90\x98\x9e\x9f][^\x1b\x9c]*(?:\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]"                           # two-byte and nF sequences (ESC c, ESC ( B)
    r"|\x1b"                                      # a lone ESC
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class CleanedPaste:
    """What a field takes from a paste, and what was changed on the way."""

    text: str
    #: ESC sequences and control characters taken out.
    removed: int = 0
    #: Line breaks turned into spaces (a one-line field).
    joined: int = 0

    @property
    def notice(self) -> str:
        """What was changed, in Japanese; empty when the text went in as it was."""
        parts = []
        if self.removed:
            parts.append(f"制御文字・エスケープシーケンス {self.removed} 個を取り除きました")
        if self.joined:
            parts.append(f"この欄は1行なので、改行 {self.joined} 個を空白にしました")
        return "貼り付けた文字から" + "。".join(parts) + "。" if parts else ""


def clean_paste(text: str, *, multiline: bool = False) -> CleanedPaste:
    """``text`` as a field should take it: see the module's docstring."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    removed = 0

    def drop(_match: re.Match) -> str:
        nonlocal removed
        removed += 1
        return ""

    text = _CONTROL.sub(drop, _SEQUENCE.sub(drop, text))
    joined = 0
    if not multiline:
        text = text.strip("\n")  # the line end a copied line brings along: nothing to say
        lines = text.split("\n")
        joined = len(lines) - 1
        text = " ".join(line.strip() if joined else line for line in lines)
    return CleanedPaste(text, removed, joined)


class CleanPaste:
    """Mixed into an Input: a paste goes in whole and clean at the cursor, with a notice
    of what was removed or joined. ``multiline`` fields would keep their newlines."""

    multiline = False

    def _on_paste(self, event: events.Paste) -> None:
        event.stop()
        event.prevent_default()
        cleaned = clean_paste(event.text, multiline=self.multiline)
        if cleaned.text:
            selection = self.selection
            if selection.is_empty:
                self.insert_text_at_cursor(cleaned.text)
            else:
                self.replace(cleaned.text, *selection)
        if cleaned.notice:
            self.app.notify(cleaned.notice, title="貼り付け", severity="warning", markup=False)


class PasteParser(XTermParser):
    """Textual's parser, with a bracketed paste taken verbatim (see the module's docstring)."""

    def parse(self, token_callback: Callable) -> Generator[Read1 | Peek1, str, None]:
        inner = super().parse(token_callback)
        request = next(inner)
        held = ""  # a prefix of PASTE_START, not yet given to Textual's parser

        def give(chars: str):
            nonlocal request
            for char in chars:
                request = inner.send(char)

        while True:
            try:
                if held:
                    char = yield Read1(constants.ESCAPE_DELAY)
                elif isinstance(request, Peek1):  # not used by XTermParser; passed through
                    char = yield request
                    request = inner.send(char)
                    continue
                else:
                    char = yield Read1(request.timeout)
            except ParseTimeout:
                if held:
                    give(held)
                    held = ""
                request = inner.throw(ParseTimeout())
                continue
            except ParseEOF:
                give(held)
                try:
                    inner.throw(ParseEOF())
                except StopIteration:
                    pass
                return
            if held or char == "\x1b":
                held += char
                if held == PASTE_START:
                    held = ""
                    pasted = yield from self._read_paste()
                    token_callback(events.Paste(pasted))
                elif not PASTE_START.startswith(held):
                    chars, held = held, ""
                    give(chars)
                continue
            give(char)

    def _read_paste(self) -> Generator[Read1, str, str]:
        """The text up to PASTE_END (or a long silence, or the end of input)."""
        text = ""
        while not text.endswith(PASTE_END):
            try:
                text += yield Read1(PASTE_SILENCE_SECONDS)
            except (ParseTimeout, ParseEOF):
                return text
        return text.removesuffix(PASTE_END)


def install() -> None:
    """Make Textual's terminal drivers read their input with :class:`PasteParser`."""
    from textual.drivers import linux_driver

    linux_driver.XTermParser = PasteParser
    try:
        from textual.drivers import linux_inline_driver
    except ImportError:  # pragma: no cover - not on every platform
        return
    linux_inline_driver.XTermParser = PasteParser
