"""Cancel a post (取消): take a 失敗 or 送信前 post out of the outbox with a recorded reason,
e.g. after the officer posted the text from a phone because X could not be reached.
Opened by ``app.open_cancel`` from the outbox's post screen."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Footer, Input, Static

from dutypost.core.errors import DutypostError
from dutypost.core.ledger import Post
from dutypost.core.publish import cancel
from dutypost.tui.duty_screen import DutyModal
from dutypost.tui.keys import bind
from dutypost.tui.widgets.typeahead import TypedInput
from dutypost.tui.words import first_line


class CancelModal(DutyModal):
    """Cancel a post (取消): the reason, then F10 (Ctrl+O; the field takes Ctrl+X for cut).
    Dismissed with True once done.

    Nothing is sent to X; the post leaves the outbox and the reason goes into the ledger.
    ``core.publish.cancel`` runs in a thread worker and has the last word (it refuses a
    post whose outcome is unknown, or a reason too short).
    """

    HELP = (
        "投稿を取り消します (送信待ちから外します)。X には何も送りません。\n"
        "スマートフォンなど別の手段で投稿したとき、または出す必要がなくなったときに使います。\n"
        "1. 理由を書きます (例: X に接続できず、スマートフォンから投稿したため)。理由は記録に残ります。\n"
        "2. F10 (Ctrl+O) で取り消します。Enter では取り消しません。\n"
        "Esc でやめます (投稿は送信待ちに残ります)。"
    )

    BINDINGS = [
        bind("f10,ctrl+o", "confirm", "取り消す", "cancel.confirm"),
        bind("escape", "cancel", "やめる", "back"),
    ]

    class Done(Message):
        """The worker's answer: ``error`` is empty when the post was cancelled."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, post: Post) -> None:
        super().__init__()
        self.post = post
        self.busy = False

    def compose(self) -> ComposeResult:
        post = self.post
        with Vertical(id="dialog"):
            yield Static(f"投稿 #{post.id} を取り消す (送信待ちから外す)", classes="dialog-title", markup=False)
            yield Static(f"本文: {first_line(post.text, 66)}", markup=False)
            yield Static("X には送りません (送信待ちから外すだけです)。", markup=False)
            yield Static("スマートフォンなど別の手段で投稿したときや、出す必要がなくなったときに使います。", markup=False)
            yield Static("理由 (記録に残ります)", markup=False)
            reason = TypedInput(placeholder="例: X に接続できず、スマートフォンから投稿したため", compact=True,
                                id="reason")
            reason.cursor_blink = False
            yield reason
            yield Static("F10 (Ctrl+O) で取り消します。Esc でやめます (投稿は送信待ちに残ります)。",
                         id="confirm-keys", markup=False)
            yield Static("", id="cancel-error", classes="error", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#reason", Input))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm":
            return None if self.busy else True
        return True

    @on(Input.Submitted, "#reason")
    def _reason_submitted(self) -> None:
        self.query_one("#cancel-error", Static).update("取り消すには F10 (Ctrl+O) を押してください。")

    def action_confirm(self) -> None:
        self.busy = True
        self.refresh_bindings()
        self.query_one("#cancel-error", Static).update("取り消しています...")
        self._cancel(self.query_one("#reason", Input).value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="cancel")
    def _cancel(self, reason: str) -> None:
        try:
            cancel(self.ctx, self.post.id, reason)
        except DutypostError as exc:
            self.post_message(self.Done(exc.message))
        except Exception as exc:  # never leave the dialog waiting on a worker that died
            self.post_message(self.Done(f"予期しないエラーで取り消せませんでした ({type(exc).__name__})。"))
        else:
            self.post_message(self.Done(""))

    @on(Done)
    def _done(self, message: Done) -> None:
        self.busy = False
        self.refresh_bindings()
        if not message.error:
            self.dismiss(True)
            return
        self.query_one("#cancel-error", Static).update(Text(message.error, style="bold"))
        self.set_focus(self.query_one("#reason", Input))

    def action_cancel(self) -> None:
        if self.busy:
            self.notify("取り消しの結果を待っています。", title="処理中", markup=False)
            return
        self.dismiss(False)
