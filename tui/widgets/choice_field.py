"""A choice field (選択肢) on one line: the compose form's choice fields and history's filters."""

from __future__ import annotations

import unicodedata

from rich.text import Text
from textual.events import Key, Paste
from textual.message import Message
from textual.reactive import var
from textual.widget import Widget

from dutypost.tui.keys import bind
from dutypost.tui.widgets.typeahead import TypeAhead
from dutypost.tui.words import first_line


class ChoiceField(TypeAhead, Widget, can_focus=True):
    """A choice field (選択肢): one line showing the chosen value, 「< 5弱 >」.

    Left/Right (or Up/Down) step through the choices, a typed character jumps to the next
    choice that starts with it (「5」 twice: 5弱, 5強), Backspace clears, Enter moves on.
    No pop-up list: its focus would move later than the keys typed behind Enter.
    """

    DEFAULT_CSS = """
    ChoiceField {
        width: 1fr;
        height: 1;
    }
    ChoiceField:focus {
        text-style: reverse;
    }
    """
    BINDINGS = [
        bind("left,up", "step(-1)", "前の選択肢", "choice.previous", show=False),
        bind("right,down", "step(1)", "次の選択肢", "choice.next", show=False),
        bind("backspace,delete", "clear", "選択を消す", "choice.clear", show=False),
        bind("enter", "submit", "次の項目", "choice.submit", show=False),
    ]

    value: var[str] = var("")

    class Changed(Message):
        def __init__(self, field: ChoiceField, value: str) -> None:
            super().__init__()
            self.field = field
            self.value = value

    def __init__(self, choices: list[str], value: str = "", *, id: str) -> None:
        super().__init__(id=id)
        self.choices = choices
        self.set_reactive(ChoiceField.value, value if value in choices else "")

    def render(self) -> Text:
        if not self.value:
            return Text("(左右キーで選ぶ)", style="dim")
        return Text(f"< {first_line(self.value, max(self.size.width - 4, 4))} >")

    def watch_value(self, value: str) -> None:
        self.refresh()
        note_value = getattr(self.screen, "note_value", None) if self.is_mounted else None
        if note_value is not None:  # the compose screen keeps every value for the draft
            note_value(self.id.removeprefix("field-"), value)
        self.post_message(self.Changed(self, value))

    def check_consume_key(self, key: str, character: str | None = None) -> bool:
        return character is not None and character.isprintable()

    async def handle_key(self, event: Key) -> bool:
        """A typed character: the next choice that starts with it (full-width digits too)."""
        if not self.check_consume_key(event.key, event.character):
            return await super().handle_key(event)
        event.stop()
        self._pick(event.character)
        return True

    async def _on_paste(self, event: Paste) -> None:
        if self._hand_on(event):
            return
        event.stop()
        event.prevent_default()
        self._pick(event.text.strip())

    def _pick(self, typed: str) -> None:
        wanted = unicodedata.normalize("NFKC", typed).lower()
        if not wanted:
            return
        order = self.choices[self.choices.index(self.value) + 1:] + self.choices if self.value else self.choices
        match = next((c for c in order if unicodedata.normalize("NFKC", c).lower().startswith(wanted)), None)
        if match is None:
            self.app.bell()
        else:
            self.value = match

    def action_step(self, delta: int) -> None:
        if self.value:
            index = (self.choices.index(self.value) + delta) % len(self.choices)
        else:
            index = 0 if delta > 0 else len(self.choices) - 1
        self.value = self.choices[index]

    def action_clear(self) -> None:
        self.value = ""

    def action_submit(self) -> None:
        """Enter: on to the next field of the form (the screen's ``next_field``)."""
        self.screen.next_field(self)
