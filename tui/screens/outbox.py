"""The outbox (送信待ち): posts not yet known to be out — queued, sending, failed, unknown.

Refreshed with the rest of the home data. Enter opens a post; F5 (照合) is offered for
結果不明 and stalled 送信中 posts, F6 (再送) only for 失敗 ones: an unknown post is
reconciled first, never resent blindly. ``x`` (取消) takes a 失敗 or 送信前 post out of
the outbox with a recorded reason — e.g. after the officer posted the text from a phone
because X could not be reached (the cancel dialog, ``tui/modals/cancel.py``).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core.ledger import POST_STATE_LABELS
from dutypost.tui.duty_screen import DutyScreen
from dutypost.tui.keys import CANCEL_BINDING, bind
from dutypost.tui.words import CANCELLABLE_STATES, can_resend, first_line, short_time
from dutypost.tui.widgets.status import StatusBar

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
            return None if post is None or not can_resend(post) else True
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
        post = self._selected()
        if post is not None:
            self.app.open_post(post.id, start=start)

    def action_reconcile(self) -> None:
        self._open_post("reconcile")

    def action_resend(self) -> None:
        self._open_post("resend")

    def action_cancel(self) -> None:
        """On the post's own screen, so the officer sees the whole text and, after, its state."""
        self._open_post("cancel")

    def action_back(self) -> None:
        self.app.pop_screen()
