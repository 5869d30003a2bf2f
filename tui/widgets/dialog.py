"""The fields of the small dialogs (小さな画面): Enter goes to the dialog at once
(``field_entered``), and keys typed ahead land where they belong (see
:class:`~dutypost.tui.widgets.typeahead.TypeAhead`)."""

from __future__ import annotations

from textual.widgets import OptionList

from dutypost.tui.widgets.typeahead import TypeAhead, TypedInput


class DialogField(TypedInput):
    """A dialog's text field: Enter goes to the dialog at once (``field_entered``), and keys
    typed ahead land where they belong (see :class:`TypeAhead`)."""

    async def action_submit(self) -> None:
        self.screen.field_entered(self)


class DialogChoices(TypeAhead, OptionList):
    """A dialog's choices: Enter goes to the dialog at once, like :class:`DialogField`."""

    def action_select(self) -> None:
        self.screen.field_entered(self)


def dialog_field(value: str, *, id: str, placeholder: str = "") -> DialogField:
    field = DialogField(value, placeholder=placeholder, compact=True, id=id)
    field.cursor_blink = False
    return field
