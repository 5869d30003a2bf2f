"""Help (ヘルプ): what the screen underneath is for, and every key it answers to."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from dutypost.tui.duty_screen import DutyModal
from dutypost.tui.keys import DECLARED_KEYS, bind

GENERAL = (
    "どの画面でも: F1 (Ctrl+G) ヘルプ、Ctrl+P コマンド一覧、Ctrl+Q 終了。Esc はいつも「戻る」です。\n"
    "マウスは使いません。F キーが効かない端末では Ctrl+文字 のキーを使ってください。"
)


class HelpModal(DutyModal):
    BINDINGS = [bind("escape,f1,ctrl+g", "close", "閉じる", "help.close")]

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.about = screen

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static("ヘルプ", classes="dialog-title", markup=False)
            yield Static(getattr(self.about, "HELP", "") or "この画面のヘルプはありません。", markup=False)
            yield Static(self._keys(), id="help-keys", markup=False)
            yield Static(GENERAL, classes="note", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#dialog").focus()

    def _keys(self) -> Text:
        """The screen's keys, one per action, with every key that triggers it."""
        seen: dict[str, tuple[str, str]] = {}
        for key, active in self.about.active_bindings.items():
            binding = active.binding
            if binding.id not in DECLARED_KEYS:
                continue  # Textual's own editing keys (cursor movement and the like)
            shown = self.app.get_key_display(binding)
            seen.setdefault(binding.action, (shown, binding.description))
        text = Text("キー\n", style="bold")
        width = max((cell_len(k) for k, _ in seen.values()), default=0)
        for keys, description in seen.values():
            text.append(f"  {keys}{' ' * (width - cell_len(keys))}  {description}\n")
        text.rstrip()
        return text

    def action_close(self) -> None:
        self.dismiss(None)
