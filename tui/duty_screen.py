"""The base of every full screen: the status bar on top, the footer below, the mode class.

Each screen says what it is for in ``HELP`` (Japanese); F1 shows it with the screen's
keys. The ``-live`` / ``-drill`` class lets the stylesheet colour the whole screen by mode.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from textual import events
from textual.screen import ModalScreen, Screen

from dutypost.tui.widgets.preview import WrappedText

if TYPE_CHECKING:
    from dutypost.core.context import DutyContext

# ``self.app`` is the DutypostApp (tui/app.py), not imported here even for type checking:
# the app imports the screens, so a screen's base importing the app back would be a cycle.

class ReadOrder:
    """A screen's ledger reads, run in workers that may overlap (a load on resume, the read
    after a record): each is numbered as it begins, and one that arrives after a
    later-begun read has been shown is older, so it is dropped. A read begun after a
    commit sees it; one begun before may arrive last."""

    def __init__(self) -> None:
        self._numbers = itertools.count(1)  # next() is atomic under the GIL: safe across workers
        self._shown = 0

    def begin(self) -> int:
        """Number a read; call it just before the read starts (in the worker)."""
        return next(self._numbers)

    def fresh(self, read: int) -> bool:
        """Whether read ``read`` may be shown (on the screen's thread); it is then the newest shown."""
        if read < self._shown:
            return False
        self._shown = read
        return True


#: The smallest terminal the screens are laid out for (SPEC §8: usable at 80×24).
MIN_WIDTH, MIN_HEIGHT = 80, 24


def too_small_text(width: int, height: int) -> str:
    """What a too-small terminal shows instead of a screen it cannot hold."""
    return (f"端末が小さすぎます (いまは 横{width}×縦{height})。\n"
            f"dutypost には 横{MIN_WIDTH}×縦{MIN_HEIGHT} 以上が必要です。"
            "端末の窓を広げるか、文字を小さくしてください。\n"
            "(終了は Ctrl+Q)")


class DutyScreen(Screen):
    HELP: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._shared: list[tuple[str, Callable[[Any], None]]] = []

    @property
    def ctx(self) -> "DutyContext":
        return self.app.ctx

    def on_mount(self) -> None:
        self.add_class("-drill" if self.ctx.drill else "-live")
        width, height = self.app.size
        self.mount(WrappedText(too_small_text(width, height), id="too-small"))
        self._fit(width, height)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Too small a terminal: say so, and how big it must be, instead of a cut screen."""
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        if small:
            for notice in self.query("#too-small"):
                notice.update(too_small_text(width, height))
        self.set_class(small, "-too-small")

    def watch_shared(self, name: str, callback: Callable[[Any], None]) -> None:
        """Call ``callback`` with the app's shared value ``name`` now and whenever it changes
        while this screen is on top; a covered screen catches up when it comes back.

        Redrawing a widget of a covered screen makes Textual repaint the whole top screen
        (kilobytes over SSH), so covered screens wait — but not a screen seen behind a
        dialog (the draft-restore dialog at start): its status bar must not stay 確認中.
        """
        self._shared.append((name, callback))

        def changed(value: Any) -> None:
            if self.is_seen:
                callback(value)

        self.watch(self.app, name, changed, init=False)
        callback(getattr(self.app, name))

    @property
    def is_seen(self) -> bool:
        """On top, or seen behind the dialogs (modal screens) on top of it."""
        for screen in reversed(self.app.screen_stack):
            if screen is self:
                return True
            if not isinstance(screen, ModalScreen):
                return False
        return False

    def on_screen_resume(self) -> None:
        for name, callback in self._shared:
            callback(getattr(self.app, name))


class DutyModal(ModalScreen):
    HELP: ClassVar[str] = ""

    @property
    def ctx(self) -> "DutyContext":
        return self.app.ctx

    def on_mount(self) -> None:
        self.add_class("-drill" if self.ctx.drill else "-live")
