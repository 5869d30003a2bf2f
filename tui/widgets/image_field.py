"""The image fields of compose (画像と代替テキスト): a file path with completion, and its alt text.

Two compact one-line inputs. The path completes like a shell: the suggestion (dim, after
the cursor) is the longest common start of the matching names in that folder — folders
and PNG/JPEG files only — and Tab takes it (Tab moves on when there is nothing to take).
Enter in the alt text field adds the image to the post (up to four); the list shows each
one with its alt text. Whether a file is really a PNG or JPEG is ``core.media``'s check.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual.suggester import Suggester

from dutypost.core.media import IMAGE_SUFFIXES
from dutypost.tui.keys import bind
from dutypost.tui.widgets.typeahead import TypedInput

#: At most this many names are read from one folder for a suggestion (a huge folder over SSH).
MAX_ENTRIES = 2000


def complete_path(value: str) -> str | None:
    """The completion of ``value`` (a path being typed), or None when there is none.

    Matches the names in ``value``'s folder that start with its last part: folders (shown
    with a trailing ``/``) and files ending in .png/.jpg/.jpeg. One match completes fully;
    several complete to their longest common start."""
    if not value:
        return None
    folder, slash, start = value.rpartition("/")
    base = Path(os.path.expanduser(folder + "/")) if slash else Path(".")
    try:
        entries = []
        with os.scandir(base) as scan:
            for number, entry in enumerate(scan):
                if number >= MAX_ENTRIES:
                    break
                if not entry.name.startswith(start) or (entry.name.startswith(".") and not start.startswith(".")):
                    continue
                if entry.is_dir():
                    entries.append(entry.name + "/")
                elif entry.name.lower().endswith(IMAGE_SUFFIXES):
                    entries.append(entry.name)
    except OSError:
        return None
    if not entries:
        return None
    common = os.path.commonprefix(sorted(entries))
    if len(common) <= len(start):
        return None
    prefix = value[: len(value) - len(start)]
    return prefix + common


class PathSuggester(Suggester):
    """Suggests the completion of a file path (see :func:`complete_path`)."""

    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return complete_path(value)


class ImagePathInput(TypedInput):
    """The image's path: Tab takes the completion, Enter goes on to the alt text."""

    BINDINGS = [bind("tab", "complete", "補完", "image.complete", show=False)]

    def __init__(self, **kwargs) -> None:
        super().__init__(suggester=PathSuggester(), compact=True, select_on_focus=False, **kwargs)
        self.cursor_blink = False

    def action_complete(self) -> None:
        if self._suggestion and self._suggestion != self.value:
            self.value = self._suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()

    async def action_submit(self) -> None:
        self.screen.focus_next()


class ImageAltInput(TypedInput):
    """The image's alt text (代替テキスト): Enter adds the image to the post."""

    def __init__(self, **kwargs) -> None:
        super().__init__(compact=True, select_on_focus=False, **kwargs)
        self.cursor_blink = False

    async def action_submit(self) -> None:
        self.screen.add_image()
