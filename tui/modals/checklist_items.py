"""The dialogs that record one checklist item (チェックリストの項目): a text (誤・正, the
fake account), a choice with a note, who was told and when (誰に・いつ), what happens to
the original post (残す / 削除を申し出る), and the separate confirmation of its deletion.
Opened by ``app.open_item_dialog``, ``app.open_original_choice`` and
``app.open_delete_confirm`` from the checklist screen."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core.checklists import DELETE, KEEP, OTHER
from dutypost.core.ledger import Post
from dutypost.core.templates import JST
from dutypost.tui.duty_screen import DutyModal
from dutypost.tui.keys import bind
from dutypost.tui.widgets.dialog import DialogChoices, DialogField, dialog_field


class TextModal(DutyModal):
    """A recorded text (誤・正, the fake account): Enter records it."""

    HELP = "項目の内容を書いて Enter で記録します。Esc で記録せずに戻ります。"
    BINDINGS = [bind("escape", "cancel", "戻る", "back")]

    def __init__(self, label: str, value: str) -> None:
        super().__init__()
        self.label = label
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.label, classes="dialog-title", markup=False)
            with Horizontal(classes="dialog-row"):
                yield Static("内容:", classes="dialog-label", markup=False)
                yield dialog_field(self.value, placeholder="ここに書きます", id="item-text")
            yield Static("Enter: 記録する   Esc: 戻る", classes="note", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#item-text", Input).focus()

    def field_entered(self, field: DialogField) -> None:
        if field.value.strip():
            self.dismiss(field.value)
        else:
            self.notify("空のままでは記録できません。", severity="error", markup=False)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceModal(DutyModal):
    """One of the item's choices, with an optional note (required for その他)."""

    HELP = ("上下の矢印キーで選び、Enter で記録します。メモを書くときは Tab でメモ欄に移り、"
            "書いてから Enter で記録します (「その他」はメモが必要です)。Esc で戻ります。")
    BINDINGS = [bind("escape", "cancel", "戻る", "back")]

    def __init__(self, label: str, choices: tuple[str, ...], value: dict | None) -> None:
        super().__init__()
        self.label = label
        self.choices = choices
        self.value = value or {}

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.label, classes="dialog-title", markup=False)
            yield DialogChoices(*(Option(c, id=str(i)) for i, c in enumerate(self.choices)), id="choices",
                                markup=False)
            with Horizontal(classes="dialog-row"):
                yield Static("メモ:", classes="dialog-label", markup=False)
                yield dialog_field(self.value.get("note", ""), placeholder="任意 (「その他」では必要)", id="item-note")
            yield Static("Enter: 記録する   Tab: メモ欄   Esc: 戻る", classes="note", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        choices = self.query_one("#choices", OptionList)
        current = self.value.get("choice")
        choices.highlighted = self.choices.index(current) if current in self.choices else 0
        choices.focus()

    def field_entered(self, _field: Widget) -> None:
        option = self.query_one("#choices", OptionList).highlighted_option
        if option is None:
            return
        choice = self.choices[int(option.id)]
        note = self.query_one("#item-note", Input).value.strip()
        if choice == OTHER and not note:
            self.notify("「その他」を選んだときは、メモに内容を書いてください。", severity="error", markup=False)
            self.query_one("#item-note", Input).focus()
            return
        self.dismiss({"choice": choice, "note": note} if note else choice)

    def action_cancel(self) -> None:
        self.dismiss(None)


class WhoWhenModal(DutyModal):
    """Who was told and when (誰に・いつ): the time starts at now, in JST."""

    HELP = ("誰に (氏名・役職)、いつ (例: 2026-09-01 03:20、日本時間) を書きます。Enter で次の欄へ、"
            "最後の欄で Enter を押すと記録します。Esc で戻ります。")
    BINDINGS = [bind("escape", "cancel", "戻る", "back")]

    def __init__(self, label: str, value: dict | None) -> None:
        super().__init__()
        self.label = label
        self.value = value or {}

    def compose(self) -> ComposeResult:
        when = self.value.get("when")
        moment = datetime.fromisoformat(when) if when else self.ctx.now()
        rows = (("誰に:", "who-who", self.value.get("who", ""), "例: 鈴木 防災危機管理課長"),
                ("いつ:", "who-when", f"{moment.astimezone(JST):%Y-%m-%d %H:%M}", "例: 2026-09-01 03:20"),
                ("メモ:", "who-note", self.value.get("note", ""), "任意"))
        with Vertical(id="dialog"):
            yield Static(self.label, classes="dialog-title", markup=False)
            for label, id, value, placeholder in rows:
                with Horizontal(classes="dialog-row"):
                    yield Static(label, classes="dialog-label", markup=False)
                    yield dialog_field(value, placeholder=placeholder, id=id)
            yield Static("Enter: 次の欄へ (最後の欄で記録)   Esc: 戻る", classes="note", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#who-who", Input).focus()

    def field_entered(self, field: DialogField) -> None:
        if field.id != "who-note":
            self.focus_next()
            return
        who = self.query_one("#who-who", Input).value.strip()
        if not who:
            self.notify("誰に報告したかを書いてください。", severity="error", markup=False)
            self.query_one("#who-who", Input).focus()
            return
        self.dismiss({"who": who, "when": self.query_one("#who-when", Input).value.strip(),
                      "note": self.query_one("#who-note", Input).value})

    def action_cancel(self) -> None:
        self.dismiss(None)


class OriginalModal(DutyModal):
    """What happens to the original post: kept (the rule), or deletion asked for with a reason."""

    HELP = ("元の投稿は残して訂正するのが原則です。\n"
            "削除するときは「削除を申し出る」を選び、理由を書いて Enter を押します。"
            "削除は、もう一度この項目を開いて確認 (F10) したときに X で行われます。Esc で戻ります。")
    BINDINGS = [bind("escape", "cancel", "戻る", "back")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("元の投稿の扱い", classes="dialog-title", markup=False)
            yield DialogChoices(Option("残す (原則)", id=KEEP), Option("削除を申し出る (理由が必要)", id=DELETE),
                                id="original-choice", markup=False)
            with Horizontal(classes="dialog-row"):
                yield Static("理由:", classes="dialog-label", markup=False)
                yield dialog_field("", placeholder="削除を申し出るとき (例: 個人情報を含めたため)", id="delete-reason")
            yield Static("削除はこのあと別の確認 (F10) で行います。ここでは申し出だけを記録します。", classes="note",
                         markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        choice = self.query_one("#original-choice", OptionList)
        choice.highlighted = 0
        choice.focus()

    def field_entered(self, field: Widget) -> None:
        if isinstance(field, OptionList):
            if field.highlighted_option is not None and field.highlighted_option.id == KEEP:
                self.dismiss({"choice": KEEP})
            else:
                self.set_focus(self.query_one("#delete-reason", Input))
        elif not field.value.strip():
            self.notify("削除の理由を書いてください。", severity="error", markup=False)
        else:
            self.dismiss({"choice": DELETE, "reason": field.value.strip()})

    def action_cancel(self) -> None:
        self.dismiss(None)


class DeleteConfirmModal(DutyModal):
    """The separate confirmation of a deletion (削除の確認): F10 deletes on X; k keeps it."""

    HELP = ("元の投稿の削除を確認します。F10 (Ctrl+X) で X から削除します (元に戻せません)。\n"
            "k で申し出を取り下げて、元の投稿を残します。Esc で何もせずに戻ります。")
    BINDINGS = [
        bind("f10,ctrl+x", "delete", "削除する", "checklist.delete-original"),
        bind("k", "keep", "残す", "checklist.keep-original"),
        bind("escape", "cancel", "戻る", "back"),
    ]

    def __init__(self, original: Post | None, value: dict) -> None:
        super().__init__()
        self.original = original
        self.value = value

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static("元の投稿を削除しますか", classes="dialog-title", markup=False)
            if self.original is not None:
                yield Static(Text(self.original.text), id="delete-text", markup=False)
            yield Static(f"理由: {self.value.get('reason', '')}", markup=False)
            if self.value.get("error"):
                yield Static(f"前回の削除は失敗しました: {self.value['error']}", classes="error", markup=False)
            where = "練習サーバー" if self.original is not None and self.original.drill else "本番アカウント"
            yield Static(Text(f"{where}から元の投稿を削除します。元に戻せません。", style="bold"), markup=False)
            yield Static("F10 (Ctrl+X): 削除する   k: 削除をやめて残す   Esc: 戻る", classes="note", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#dialog").focus()

    def action_delete(self) -> None:
        self.dismiss(DELETE)

    def action_keep(self) -> None:
        self.dismiss(KEEP)

    def action_cancel(self) -> None:
        self.dismiss(None)
