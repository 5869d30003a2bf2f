"""One post and what can be done with it (投稿の結果): the result screen after a publish,
and the detail of an outbox entry.

Every state says what happened and what to do next:

- 送信済み: the URL; keys copy the text or the URL to the officer's own clipboard
  (OSC 52 through the terminal, which works over SSH);
- 失敗: why (X's words: 429 with the wait, 5xx, unreachable), 再送 when the officer
  judges it right, and the text to copy for posting from a phone if X cannot be reached —
  after which 取消 takes the post out of the outbox with the reason recorded;
- 結果不明: never a blind resend — 照合 looks for the text on the timeline first; a miss
  shortly after the send keeps it 結果不明 and says when to look again; only when it is
  still not there after that does the post become 失敗 and 再送 is offered.

再送 is a publish (``core.publish.resend``): the timeline first, then the whole gate at this
moment. When the gate stops it, the screen says why; hours or approval open the override
dialog, and warnings (e.g. a stale 「○時○分現在」) are acknowledged by pressing 再送 again.

After an emergency post that went out, the other channels to update are listed below it
(他の媒体への連絡, ``[followup] channels``): Space or Enter records a channel as done (済),
``n`` as not applicable (対象外) with a note; each is an audit event, and the highlight
moves to the next channel still open.
"""

from __future__ import annotations


from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core.errors import DutypostError, GateBlocked, OutcomeUnknown, PublishFailed
from dutypost.core.gate import Override
from dutypost.core.ledger import POST_STATE_LABELS, Post
from dutypost.core.publish import reconcile, resend
from dutypost.tui.duty_screen import DutyScreen, ReadOrder
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


class FollowupList(OptionList):
    """The channels to update after an emergency post (他の媒体への連絡)."""

    BINDINGS = [bind("space", "screen.followup('done')", "済", "post.followup-done"),
                bind("n", "screen.followup('na')", "対象外", "post.followup-na")]


class PostScreen(DutyScreen):
    HELP = (
        "投稿の結果です。\n"
        "・送信済み: c で本文、u で URL を自分のクリップボードにコピーします (端末経由、SSH でも使えます)。\n"
        "・失敗: 理由と待ち時間を確かめ、F6 (Ctrl+Y) で再送します。X に接続できないときは c で本文を"
        "コピーして、スマートフォンなどから投稿できます。そのあと x で取り消し (理由を書いて F10)、"
        "送信待ちから外します。\n"
        "・結果不明: 再送はしないでください。F5 (Ctrl+R) でタイムラインを照合し、見つかれば送信済みに、"
        "見つからなければ失敗になり、再送できるようになります。\n"
        "・緊急の投稿のあとは、下に他の媒体 (HP・メール配信・Lアラート・防災行政無線など) が並びます。"
        "更新したら Space か Enter で「済」、その媒体では出さないときは n で理由を書いて「対象外」にします。"
        "1つずつ記録に残り、済んでいないものはホームに出ます。\n"
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
        def __init__(self, post: Post | None, notice: Notice | None, followup=None, *, read: int) -> None:
            super().__init__()
            self.read = read  # the order in which its ledger read began (see _loaded)
            self.post = post
            self.notice = notice
            self.followup = followup  # core.followups.Followup, for an emergency post that went out

    class ResendBlocked(Message):
        """The gate stopped a resend: ``review`` says why (core.publish.Review)."""

        def __init__(self, review) -> None:
            super().__init__()
            self.review = review

    def __init__(self, post_id: int, notice: Notice | None = None, *, start: str | None = None) -> None:
        super().__init__()
        self.post_id = post_id
        self.notice = notice
        self.post: Post | None = None
        self.followup = None
        self.busy = False
        self._start = start
        # What the officer gave for this resend: an override, and the warnings shown and
        # acknowledged by pressing 再送 again.
        self._resend_override: Override | None = None
        self._resend_acks: frozenset[str] = frozenset()
        self._shown_warnings: frozenset[str] = frozenset()
        self._reads = ReadOrder()  # follow-up ticks may overlap

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(f" 投稿 #{self.post_id}", id="screen-title", markup=False)
        yield PostView(above=(("notice", ""), ("post-state", "")), text_id="post-text",
                       below=("post-url", "next-steps"), id="post-body")
        yield Static("", id="followup-title", markup=False)
        yield FollowupList(id="followups", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#post-body").focus()
        self._load(self.notice)

    @work(thread=True, exclusive=True, exit_on_error=False, group="post")
    def _load(self, notice: Notice | None) -> None:
        self.post_message(self._loaded(notice))

    def _loaded(self, notice: Notice | None) -> Loaded:
        """The post as the ledger has it, with its follow-up (in a worker)."""
        from dutypost.core.followups import followup, needs_followup

        read = self._reads.begin()
        post = self.ctx.ledger.get_post(self.post_id)
        follow = followup(self.ctx.ledger, self.ctx.settings, post) if post and needs_followup(post, self.ctx.templates) else None
        return self.Loaded(post, notice, follow, read=read)

    @on(Loaded)
    def _show(self, message: Loaded) -> None:
        if not self._reads.fresh(message.read):
            return  # begun before a read already shown: older
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
        if post.images:
            line += "\n" + "\n".join(f"画像 {n}: {image['path'].rsplit('/', 1)[-1]} (代替テキスト: {image['alt']})"
                                       for n, image in enumerate(post.images, 1))
        view.line("post-state").update(line)
        view.show_post(post)
        view.line("post-url").update(f"URL: {post.url}" if post.url else "")
        view.line("next-steps").update(next_steps(post))
        if message.followup is not None and self.followup is not None and message.followup != self.followup:
            self.app.poll_board()  # Home's list of open follow-ups follows at once
        self._show_followup(message.followup)
        self.refresh_bindings()
        if self._start is not None:
            start, self._start = self._start, None
            self.call_later(self.run_action, start)

    # -- the follow-up on other channels (他の媒体への連絡) ------------------------------

    def _show_followup(self, follow) -> None:
        from dutypost.core.followups import RESULT_LABELS

        first_load = self.followup is None
        self.followup = follow
        title = self.query_one("#followup-title", Static)
        listing = self.query_one("#followups", FollowupList)
        title.display = listing.display = follow is not None
        if follow is None:
            return
        open_count = len(follow.missing)
        title.update(Text(f" 他の媒体への連絡 (残り {open_count} 件)   Space/Enter: 済   n: 対象外 (理由を書く)"
                          if open_count else " 他の媒体への連絡: すべて記録しました", style="bold"))
        options = []
        for channel, record in follow.channels:
            tag = f"[{RESULT_LABELS[record.result]}]" if record else "[未]"
            label = Text.assemble((tag, "bold"), " " * (9 - cell_len(tag)), channel)
            if record is not None:
                label.append(f"  {self.app.operator_name(record.operator).split()[0]}"
                             + (f"  理由: {record.note}" if record.note else ""))
            options.append(Option(label, id=channel))
        previous = listing.highlighted
        listing.set_options(options)
        following = [i for i, (_, record) in enumerate(follow.channels) if record is None]
        after = [i for i in following if previous is None or i > previous]
        listing.highlighted = (after or following or [previous or 0])[0]
        if first_load:
            listing.focus()

    @on(OptionList.OptionSelected, "#followups")
    def _followup_selected(self) -> None:
        self.action_followup("done")

    def action_followup(self, result: str) -> None:
        option = self.query_one("#followups", FollowupList).highlighted_option
        if self.followup is None or option is None:
            self.app.bell()
            return
        channel = option.id
        if result == "done":
            self._record_followup(channel, "done", "")
            return

        def noted(note: str | None) -> None:
            if note:
                self._record_followup(channel, "na", note)

        self.app.open_note(f"「{channel}」を対象外にする理由 (例: この地区は対象外)", noted)

    @work(thread=True, exclusive=False, exit_on_error=False, group="followup")
    def _record_followup(self, channel: str, result: str, note: str) -> None:
        from dutypost.core import followups
        from dutypost.core.errors import DutypostError

        try:
            followups.record(self.ctx.ledger, self.ctx.settings, self.post_id, channel, result=result,
                             operator=self.ctx.operator.id, note=note)
        except DutypostError as exc:
            self.notify(exc.message, title="他の媒体への連絡", severity="error", markup=False)
            return
        self.post_message(self._loaded(self.notice))

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
            if result.found:
                notice = Notice(result.message, "")
            elif result.state == "unknown":  # inside the grace: X's timeline may lag
                from dutypost.core.templates import format_jst_time

                at = format_jst_time(result.look_again_at) if result.look_again_at else ""
                notice = Notice(f"投稿 #{self.post_id} はまだ見つかりません。X の反映待ちの可能性があります。",
                                f"再送はしないでください。{at}以降にもう一度 F5 (Ctrl+R) で照合してください。", error=True)
            else:
                notice = Notice(f"投稿 #{self.post_id} はタイムラインにありませんでした。X に届いていません。",
                                "F6 (Ctrl+Y) で再送できます。", error=True)
        self.post_message(self._loaded(notice))

    def action_resend(self) -> None:
        if self._begin("resend"):
            # Pressing 再送 again after the gate showed warnings acknowledges them.
            self._resend_acks = self._resend_acks | self._shown_warnings
            self._resend(self._resend_override, self._resend_acks)

    @on(ResendBlocked)
    def _resend_blocked(self, message: ResendBlocked) -> None:
        review = message.review
        self._shown_warnings = frozenset(f.rule for f in review.unacknowledged)
        decision = review.decision
        content_or_role = {f.rule for f in decision.blocking} - {"hours", "approval"}
        if decision.needs_override and not content_or_role and self._resend_override is None:
            def confirmed(override: Override | None) -> None:
                if override is not None:
                    self._resend_override = override
                    self.action_resend()

            self.app.open_override(confirmed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="post")
    def _resend(self, override: Override | None = None, acks: frozenset[str] = frozenset()) -> None:
        try:
            with self.app.sending:
                result = resend(self.ctx, self.post_id, override=override, acks=acks)
        except GateBlocked as exc:
            review = getattr(exc, "review", None)
            if review is None:
                notice = Notice(exc.message, exc.hint, error=True)
            else:
                headline, _, details = review.explain(for_cli=False).partition("\n")
                if review.unacknowledged and not review.decision.blocking:
                    details += "\n確かめたら F6 (Ctrl+Y) をもう一度押すと、確認済みとして再送します。"
                notice = Notice(f"再送の前のチェックで止まっています。{headline}", details.strip(), error=True)
                self.post_message(self.ResendBlocked(review))
        except (PublishFailed, OutcomeUnknown) as exc:
            notice = Notice(exc.message, failure_hint(exc), error=True)
        except DutypostError as exc:
            notice = Notice(exc.message, exc.hint, error=True)
        except Exception as exc:
            notice = Notice(f"予期しないエラーで再送が止まりました ({type(exc).__name__})。",
                            "投稿の状態を確かめてから、もう一度操作してください。", error=True)
        else:
            notice = Notice("タイムラインにありました。再送せずに送信済みにしました。" if result.found_on_timeline
                            else "再送しました。", result.url or "")
        self.post_message(self._loaded(notice))

    def action_back(self) -> None:
        if self.busy:
            self.notify("結果を待っています。結果が出てから戻れます。", title="処理中", markup=False)
            return
        self.app.pop_screen()
