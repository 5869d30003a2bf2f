"""Keys typed ahead (先行入力) land where they would if typed slowly.

Kept apart from the compose screen so that Home's search box can use it without loading
the publish path at start-up.
"""

from __future__ import annotations

from textual.events import Key, Paste
from textual.widgets import Input

from dutypost.tui.paste import CleanPaste


class TypeAhead:
    """Mixed into a focusable widget: keys typed ahead (先行入力) land where they would if
    typed slowly.

    Textual queues each key on the widget that has the focus when the key is read, and runs
    a key's binding only when the key has travelled up to the app — against whatever has the
    focus by then. In a burst (a slow SSH link, an IME commit) the keys behind a Tab are
    already queued here when the Tab moves the focus, and a Backspace ahead of a Tab would
    run in the next field. So this widget settles each key before the next one:

    - a key queued here before an earlier key moved the focus goes on to where the focus is;
    - a character this widget takes as text is typed here;
    - a key with a binding — this widget's own (Backspace, arrows) or the screen's and the
      app's (Tab, F2, Esc) — runs it now. Actions that move the focus do so at once
      (``Screen.set_focus``; ``Widget.focus`` would wait behind the queued keys).
    """

    async def _on_key(self, event: Key) -> None:
        if self._hand_on(event):
            return
        if self.check_consume_key(event.key, event.character):
            return  # text: the widget's own handler types it
        active = self.screen.active_bindings.get(event.key)
        if active is not None and active.enabled:
            event.stop()
            event.prevent_default()
            await self.app.run_action(active.binding.action, active.node)

    async def _on_paste(self, event: Paste) -> None:
        self._hand_on(event)

    def _hand_on(self, event: Key | Paste) -> bool:
        """True if ``event`` went on to the widget (or screen) that has the focus now."""
        target = self.app.focused or self.app.screen
        if target is self:
            return False
        event.stop()
        event.prevent_default()
        again = Key(event.key, event.character) if isinstance(event, Key) else Paste(event.text)
        target._forward_event(again)  # as the app forwards a key: it bubbles up to the bindings
        return True


class TypedInput(TypeAhead, CleanPaste, Input):
    """A single-line input that settles keys typed ahead (see :class:`TypeAhead`) and
    takes a paste whole and clean (see :class:`~dutypost.tui.paste.CleanPaste`)."""


class PastedInput(CleanPaste, Input):
    """A single-line input of a dialog: a paste goes in whole and clean."""
