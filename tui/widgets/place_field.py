"""Suggestions for an area or facility field (地区・避難所・施設) from the config's lists.

A field may name several places (「本郷地区、吉原地区」), so the suggestion completes the
name being typed — the text after the last 、・, / or space — not the whole value. The
compose form's Tab and Enter take the suggestion shown (issue 12 item 6); they ask
:meth:`PlaceSuggester.suggest` at once rather than wait for the suggestion to be drawn, so
keys typed ahead in a burst land as they would if typed slowly.
"""

from __future__ import annotations

import re

from textual.suggester import Suggester

#: Where one name ends and the next begins (as core.gate reads a field's names).
_SEPARATORS = re.compile(r"[、,，・･/／\s]+")


class PlaceSuggester(Suggester):
    """Completes the name being typed to the first configured name it begins."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.names = [name for name in names if name.strip()]

    def suggest(self, value: str) -> str | None:
        """``value`` with its last name completed, or None when nothing is left to complete
        (no name begins with it, or it is a whole configured name already)."""
        # Each place a name may start: the beginning, and after each separator (earliest first,
        # so a configured name with a space in it, 「給水所 (中央…」, is completed whole).
        starts = [0, *(m.end() for m in _SEPARATORS.finditer(value))]
        for start in starts:
            tail = value[start:]
            if tail in self.names:
                return None
            name = next((n for n in self.names if n.startswith(tail)), None) if tail else None
            if name is not None:
                return value[:start] + name
        return None

    async def get_suggestion(self, value: str) -> str | None:
        return self.suggest(value)
