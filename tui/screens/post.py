"""One post and what can be done with it (投稿の結果): the result screen after a publish,
and the detail of an outbox entry.

Every state says what happened and what to do next:

- 送信済み: the URL; keys copy the text or the URL to the officer's own clipboard
  (OSC 52 through the terminal, which works over SSH);
- 失敗: why (X's words: 429 with the wait, 5xx, unreachable), 再送 when the officer
  judges it right, and the text to copy for posting from a phone if X cannot be reached —
  after which 取消 takes the post out of the outbox with the reason recorded;
- 結果不明: never a blind resend — 照合 looks for the text on the timeline first; only
  when it is not there does the post become 失敗 and 再送 is offered.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Footer, Static

from dutypost.core.errors import DutypostError, OutcomeUnknown, PublishFailed
from dutypost.core.ledger import POST_STATE_LABELS, Post
from dutypost.core.publish import reconcile, resend
from dutypost.tui.duty_screen import DutyScreen
from dutypost.tui.keys import CANCEL_BINDING, bind
from dutypost.tui.widgets.post_view import Notice, PostView
from dutypost.tui.widgets.status import StatusBar
from dutypost.tui.words import CANCELLABLE_STATES, can_resend, failure_hint

PHONE_HINT = ("X に接続できないときは c で本文をコピーしてスマートフォンなどから公式アカウントに投稿し、"
              "x で取り消して送信待ちから外します。")


def next_steps(post: Post) -> str:
    """What the officer can do about a post in its current state."""
    if post.state == "sent":
        return "c: 本文をコピー   u: URL をコピー   Esc: 戻る"
    if post.state == "failed" and not can_resend(post):
        return ("X はこの本文をすでに受け取っているため、再送はできません。履歴とタイムラインを確かめてください。"
                "改めて出すときは「○時○分現在」などを更新して作り直し、この投稿は x で取り消します。")
    if post.state == "failed":
        return f"F6 (Ctrl+Y) で再送できます。{PHONE_HINT}"
    if post.state in ("unknown", "sending"):
        return ("X に届いたかどうか分かりません。再送すると二重投稿になるおそれがあります。"
                "F5 (Ctrl+R) でタイムラインを照合してください。")
    if post.state == "queued":
        return f"送信を始める前に止まった投稿です。{PHONE_HINT}"
    if post.state == "cancelled":
        return "取り消した投稿です。X には送っていません。Esc で戻ります。"
    return ""


class PostScreen(DutyScreen):
    HELP = (
        "投稿の結果です。\n"
        "・送信済み: c で本文、u で URL を自分のクリップボードにコピーします (端末経由、SSH でも使えます)。\n"
        "・失敗: 理由と待ち時間を確かめ、F6 (Ctrl+Y) で再送します。X に接続できないときは c で本文を"
        "コピーして、スマートフォンなどから投稿できます。そのあと x で取り消し (理由を書いて F10)、"
        "送信待ちから外します。\n"
        "・結果不明: 再送はしないでください。F5 (Ctrl+R) でタイムラインを照合し、見つかれば送信済みに、"
        "見つからなければ失敗になり、再送できるようになります。\n"
        "・Esc で戻ります。"
    )

    BINDINGS = [
        bind("f5,ctrl+r", "reconcile", "照合", "post.reconcile"),
        bind("f6,ctrl+y", "resend", "再送", "post.resend"),
        bind("c", "copy_text", "本文コピー", "post.copy-text"),
        bind("u", "copy_url", "URLコピー", "post.copy-url"),
        CANCEL_BINDING,
        bind("escape", "back", "戻る", "back"),
    ]

    class Loaded(Message):
        def __init__(self, post: Post | None, notice: Notice | None) -> None:
            super().__init__()
            self.post = post
            self.notice = notice

    def __init__(self, post_id: int, notice: Notice | None = None, *, start: str | None = None) -> None:
        super().__init__()
        self.post_id = post_id
        self.notice = notice
        self.post: Post | None = None
        self.busy = False
        self._start = start

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(f" 投稿 #{self.post_id}", id="screen-title", markup=False)
        yield PostView(above=(("notice", ""), ("post-state", "")), text_id="post-text",
                       below=("post-url", "next-steps"), id="post-body")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#post-body").focus()
        self._load(self.notice)

    @work(thread=True, exclusive=True, exit_on_error=False, group="post")
    def _load(self, notice: Notice | None) -> None:
        self.post_message(self.Loaded(self.ctx.ledger.get_post(self.post_id), notice))

    @on(Loaded)
    def _show(self, message: Loaded) -> None:
        self.busy = False
        self.post = post = message.post
        self.notice = message.notice
        view = self.query_one(PostView)
        if post is None:
            view.show_missing(self.post_id)
            return
        notice = message.notice
        if notice is not None:
            view.show_notice("notice", notice)
        state = POST_STATE_LABELS.get(post.state, post.state)
        where = "練習サーバー (訓練)" if post.drill else "本番アカウント"
        line = f"状態: {state}   投稿先: {where}"
        if notice is None and post.state in ("failed", "unknown") and post.error:
            line += f"\n理由: {post.error}"  # from the outbox: no fresh message says it
        elif post.state == "cancelled" and post.error:
            line += f"\n{post.error}"  # 「取消: 理由」
        view.line("post-state").update(line)
        view.show_post(post)
        view.line("post-url").update(f"URL: {post.url}" if post.url else "")
        view.line("next-steps").update(next_steps(post))
        self.refresh_bindings()
        if self._start is not None:
            start, self._start = self._start, None
            self.call_later(self.run_action, start)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        post = self.post
        if action == "reconcile":
            return None if self.busy else bool(post and post.state in ("unknown", "sending"))
        if action == "resend":
            return None if self.busy else bool(post and can_resend(post))
        if action == "copy_url":
            return bool(post and post.url)
        if action == "copy_text":
            return post is not None
        if action == "cancel":
            return None if self.busy else bool(post and post.state in CANCELLABLE_STATES)
        return True

    # -- actions ---------------------------------------------------------------------

    def action_copy_text(self) -> None:
        self.query_one(PostView).copy_text()

    def action_copy_url(self) -> None:
        self.query_one(PostView).copy_url()

    def _begin(self, what: str) -> bool:
        if self.check_action(what, ()) is not True:
            self.app.bell()
            return False
        self.busy = True
        self.refresh_bindings()
        label = "タイムラインを照合しています..." if what == "reconcile" else "再送しています..."
        self.query_one("#notice", Static).update(Text(label, style="bold"))
        return True

    def action_reconcile(self) -> None:
        if self._begin("reconcile"):
            self._reconcile()

    def action_resend(self) -> None:
        if self._begin("resend"):
            self._resend()

    def action_cancel(self) -> None:
        if self.post is None or self.check_action("cancel", ()) is not True:
            self.app.bell()
            return

        def done(cancelled: bool | None) -> None:
            if cancelled:
                self._load(Notice(f"投稿 #{self.post_id} を取り消しました。送信待ちから外れました。",
                                  "X には送っていません。理由は記録に残りました。"))

        self.app.open_cancel(self.post, done)

    @work(thread=True, exclusive=True, exit_on_error=False, group="post")
    def _reconcile(self) -> None:
        try:
            with self.app.sending:
                result = reconcile(self.ctx, self.post_id)
        except PublishFailed as exc:  # X could not be asked; ``exc.cause`` is X's error
            said = failure_hint(exc)
            notice = Notice(exc.message, "状態は結果不明のままです。しばらくしてから F5 (Ctrl+R) でもう一度照合してください。"
                            + (f"\n{said}" if said else ""), error=True)
        except DutypostError as exc:
            notice = Notice(exc.message, exc.hint, error=True)
        except Exception as exc:  # never leave the screen waiting on a worker that died
            notice = Notice(f"予期しないエラーで照合が止まりました ({type(exc).__name__})。",
                            "しばらくしてからもう一度照合してください。", error=True)
        else:
            notice = Notice(result.message if result.found else
                            f"投稿 #{self.post_id} はタイムラインにありませんでした。X に届いていません。",
                            "" if result.found else "F6 (Ctrl+Y) で再送できます。", error=not result.found)
        self.post_message(self.Loaded(self.ctx.ledger.get_post(self.post_id), notice))

    @work(thread=True, exclusive=True, exit_on_error=False, group="post")
    def _resend(self) -> None:
        try:
            with self.app.sending:
                result = resend(self.ctx, self.post_id)
        except (PublishFailed, OutcomeUnknown) as exc:
            notice = Notice(exc.message, failure_hint(exc), error=True)
        except DutypostError as exc:
            notice = Notice(exc.message, exc.hint, error=True)
        except Exception as exc:
            notice = Notice(f"予期しないエラーで再送が止まりました ({type(exc).__name__})。",
                            "投稿の状態を確かめてから、もう一度操作してください。", error=True)
        else:
            notice = Notice("再送しました。", result.url or "")
        self.post_message(self.Loaded(self.ctx.ledger.get_post(self.post_id), notice))

    def action_back(self) -> None:
        if self.busy:
            self.notify("結果を待っています。結果が出てから戻れます。", title="処理中", markup=False)
            return
        self.app.pop_screen()
