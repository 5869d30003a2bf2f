"""The outbox (送信待ち): posts not yet known to be out — queued, sending, failed, unknown.

Refreshed with the rest of the home data. Enter opens a post; F5 (照合) is offered for
結果不明 and stalled 送信中 posts, F6 (再送) only for 失敗 ones: an unknown post is
reconciled first, never resent blindly. ``x`` (取消) takes a 失敗 or 送信前 post out of
the outbox with a recorded reason — e.g. after the officer posted the text from a phone
because X could not be reached (:class:`CancelModal`).
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core.errors import DutypostError
from dutypost.core.ledger import POST_STATE_LABELS, Post
from dutypost.core.publish import cancel
from dutypost.tui.duty_screen import DutyModal, DutyScreen
from dutypost.tui.keys import bind
from dutypost.tui.labels import first_line, short_time
from dutypost.tui.status import StatusBar
from dutypost.tui.typeahead import TypedInput

#: States a post can be cancelled (取消) from; ``core.publish.cancel`` decides in the end.
CANCELLABLE_STATES = ("failed", "queued")
#: 取消 on the outbox and on a post's screen: a plain letter, as no text field has the focus there.
CANCEL_BINDING = bind("x", "cancel", "取消", "post.cancel")


class OutboxScreen(DutyScreen):
    HELP = (
        "送信待ちの一覧です: 送信前・送信中・失敗・結果不明の投稿 (全職員)。\n"
        "・上下の矢印キーで選び、Enter で詳しく見ます。\n"
        "・結果不明は F5 (Ctrl+R) で照合します (タイムラインに本文があるか確かめます)。再送はできません。\n"
        "・失敗は F6 (Ctrl+Y) で再送できます。\n"
        "・スマートフォンなど別の手段で投稿したときや、出す必要がなくなったときは、x で取り消します"
        " (失敗・送信前の投稿だけ。理由を書いて F10 (Ctrl+O) で確定。理由は記録に残ります)。\n"
        "・Esc でホームに戻ります。"
    )

    BINDINGS = [
        bind("f5,ctrl+r", "reconcile", "照合", "post.reconcile"),
        bind("f6,ctrl+y", "resend", "再送", "post.resend"),
        CANCEL_BINDING,
        bind("escape", "back", "戻る", "back"),
    ]

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(" 送信待ち (送信前・送信中・失敗・結果不明)", id="screen-title", markup=False)
        yield OptionList(id="outbox", markup=False)
        yield Static("", id="outbox-hint", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.watch_shared("outbox_posts", self._show)
        self.query_one("#outbox", OptionList).focus()

    def _show(self, posts: tuple) -> None:
        listing = self.query_one("#outbox", OptionList)
        highlighted = listing.highlighted_option.id if listing.highlighted_option else None
        now = self.ctx.now()
        listing.set_options(
            Option(Text.assemble(
                (f"#{post.id} [{POST_STATE_LABELS.get(post.state, post.state)}]", "bold"),
                f" {short_time(post.created_at, now)} {self._who(post.operator)} ",
                first_line(post.text, 40),
            ), id=str(post.id))
            for post in posts
        )
        ids = [str(p.id) for p in posts]
        listing.highlighted = ids.index(highlighted) if highlighted in ids else (0 if ids else None)
        hint = "送信待ちの投稿はありません。Esc でホームに戻ります。" if not posts else "Enter: 詳しく見る"
        self.query_one("#outbox-hint", Static).update(hint)
        self.refresh_bindings()

    def _who(self, operator_id: str) -> str:
        operator = self.ctx.settings.operator(operator_id)
        return operator.name.split()[0] if operator else operator_id

    def _selected(self):
        option = self.query_one("#outbox", OptionList).highlighted_option
        if option is None:
            return None
        return next((p for p in self.app.outbox_posts if str(p.id) == option.id), None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        post = self._selected() if self.is_mounted else None
        if action == "reconcile":
            return None if post is None or post.state not in ("unknown", "sending") else True
        if action == "resend":
            return None if post is None or post.state != "failed" else True
        if action == "cancel":
            return None if post is None or post.state not in CANCELLABLE_STATES else True
        return True

    @on(OptionList.OptionHighlighted, "#outbox")
    def _highlighted(self) -> None:
        self.refresh_bindings()

    @on(OptionList.OptionSelected, "#outbox")
    def _open(self) -> None:
        self._open_post(None)

    def _open_post(self, start: str | None) -> None:
        from dutypost.tui.post import PostScreen

        post = self._selected()
        if post is not None:
            self.app.push_screen(PostScreen(post.id, start=start))

    def action_reconcile(self) -> None:
        self._open_post("reconcile")

    def action_resend(self) -> None:
        self._open_post("resend")

    def action_cancel(self) -> None:
        """On the post's own screen, so the officer sees the whole text and, after, its state."""
        self._open_post("cancel")

    def action_back(self) -> None:
        self.app.pop_screen()


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
