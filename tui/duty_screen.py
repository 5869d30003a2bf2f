"""The base of every full screen: the status bar on top, the footer below, the mode class.

Each screen says what it is for in ``HELP`` (Japanese); F1 shows it with the screen's
keys. The ``-live`` / ``-drill`` class lets the stylesheet colour the whole screen by mode.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar

from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from dutypost.core.context import DutyContext

# ``self.app`` is the DutypostApp (tui/app.py), not imported here even for type checking:
# the app imports the screens, so a screen's base importing the app back would be a cycle.


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

    def watch_shared(self, name: str, callback: Callable[[Any], None]) -> None:
        """Call ``callback`` with the app's shared value ``name`` now and whenever it changes
        while this screen is on top; a covered screen catches up when it comes back.

        Redrawing a widget of a covered screen makes Textual repaint the whole top screen
        (kilobytes over SSH), so covered screens wait.
        """
        self._shared.append((name, callback))

        def changed(value: Any) -> None:
            if self.app.screen is self:
                callback(value)

        self.watch(self.app, name, changed, init=False)
        callback(getattr(self.app, name))

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
