"""History (履歴): every post by every operator, newest first, and what was done about each.

Each post shows its state (状態), its approval (承認: who and how — 電話/対面/アプリ内 — or
事後承認待ち), its URL and, when an emergency override (緊急オーバーライド) sent it, the
category and the justification (理由) on a line of their own. The filter line narrows the
list by state, template and operator (Tab moves between the three and the list). The list
follows the ledger: it is read again when the app's poll sees a new or changed post.

Enter opens a post: its own audit events (監査記録), and the ways on —
訂正・お詫び (start or resume the correction checklist; deleting the original is one of its
items, never a key here) and 様式第1号 (the update request form, written to a file next to
the ledger, under ``forms/``, and its path copied to the officer's clipboard).
"""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core import checklists
from dutypost.core.form import account_text
from dutypost.core.ledger import POST_STATE_LABELS, AuditEvent, Post
from dutypost.core.templates import format_jst_datetime
from dutypost.tui.duty_screen import DutyScreen
from dutypost.tui.keys import bind
from dutypost.tui.widgets.choice_field import ChoiceField
from dutypost.tui.widgets.post_view import PostView
from dutypost.tui.widgets.status import StatusBar
from dutypost.tui.widgets.typeahead import TypeAhead
from dutypost.tui.words import APPROVAL_METHOD_LABELS, first_line, override_text, short_time

HISTORY_PAGE = 50
"""Posts read at a time: the history pages through the ledger (n: the next, older page)."""
ROW_CELLS = 74

EVENT_LABELS = {
    "post.queued": "記録 (送信前)",
    "post.sending": "送信開始",
    "post.sent": "送信済み",
    "post.failed": "失敗",
    "post.unknown": "結果不明",
    "post.cancelled": "取消",
    "post.deleted": "X から削除",
    "post.reply_refused": "返信を拒否され単独の投稿に",
    "post.correction_linked": "訂正を記録",
    "approval.recorded": "承認を記録",
    "approval.post_hoc": "事後承認",
    "approval.requested": "承認を依頼",
    "approval.decided": "承認依頼の判断",
    "override.used": "緊急オーバーライド",
    "checklist.started": "チェックリスト開始",
    "checklist.tick": "チェック項目を記録",
    "checklist.finished": "チェックリスト完了",
    "checklist.deletion_requested": "削除の申し出",
    "checklist.deletion_confirmed": "削除の確認",
    "checklist.deletion_failed": "削除に失敗",
}


def approval_text(app, post: Post) -> str:
    """承認 of a post in words: who and how, 事後承認 by whom, 事後承認待ち, or なし."""
    approval = post.approval
    if approval is not None:
        name = app.operator_name(approval["approver"])
        if approval["post_hoc"]:
            return f"事後承認 {name}"
        return f"{name} ({APPROVAL_METHOD_LABELS.get(approval['method'], approval['method'])})"
    if post.override and "approval" in post.override["lifted"]:
        return "事後承認待ち" if post.state in ("sent", "deleted") else "なし (緊急オーバーライド、未送信)"
    return "なし"


def event_text(app, event: AuditEvent) -> str:
    """One audit event on one line: what, and the detail that matters."""
    p = event.payload
    label = EVENT_LABELS.get(event.kind, event.kind)
    detail = ""
    if event.kind in ("post.failed", "post.unknown", "post.cancelled") and p.get("error"):
        detail = p["error"]
    elif event.kind == "post.sent" and p.get("url"):
        detail = p["url"]
    elif event.kind in ("approval.recorded", "approval.post_hoc"):
        detail = f"{app.operator_name(p['approver'])} ({APPROVAL_METHOD_LABELS.get(p['method'], p['method'])})"
    elif event.kind == "approval.decided":
        detail = ("承認" if p.get("approved") else "差し戻し") + (f" {p['note']}" if p.get("note") else "")
    elif event.kind == "override.used":
        detail = f"{p['category']} / 理由: {p['reason']}"
    elif event.kind == "post.correction_linked":
        detail = f"元の投稿 #{p['original_post_id']}、訂正 #{p['correction_post_id']}"
    elif event.kind.startswith("checklist."):
        detail = checklists.TITLES.get(p.get("checklist_kind", ""), "")
        if event.kind == "checklist.tick":
            detail += f" {p['item']}"
        if p.get("reason"):
            detail += f" 理由: {p['reason']}"
    who = app.operator_name(event.operator).split()[0]
    return f"{short_time(event.at, app.ctx.now())} {who} {label}" + (f": {detail}" if detail else "")


# -- the list ------------------------------------------------------------------------


class FilterField(ChoiceField):
    """A filter (絞り込み) on one line, 「状態: < 失敗 >」; empty is すべて.

    A choice field rather than a pop-up list: the keys typed behind Tab (``tab down down
    tab``) land in the filter they were typed for. Enter does nothing here: the list
    follows the filter as it changes.
    """

    def __init__(self, label: str, options: list[tuple[str, str]], *, id: str) -> None:
        super().__init__([shown for shown, _ in options], id=id)
        self.label = label
        self._keys = dict(options)

    @property
    def selected(self) -> str | None:
        """The state, template id or operator id chosen; None for すべて."""
        return self._keys.get(self.value)

    def render(self) -> Text:
        head = f"{self.label}: "
        if not self.value:
            return Text(head + "すべて")
        return Text(f"{head}< {first_line(self.value, max(self.size.width - cell_len(head) - 4, 4))} >")

    def action_submit(self) -> None:
        """Enter: nothing to do; the list already follows the filter."""


class HistoryList(TypeAhead, OptionList):
    """The posts; keys typed behind Tab go on to the filter (see :class:`TypeAhead`)."""


class HistoryScreen(DutyScreen):
    HELP = (
        "履歴です。全職員の投稿を新しい順に表示します。\n"
        "・各投稿の状態、承認 (誰が・電話/対面/アプリ内、または事後承認待ち)、URL を表示します。"
        "緊急オーバーライドで出した投稿は、区分と理由を次の行に表示します。\n"
        "・上の行で 状態・テンプレート・職員 で絞り込めます。Tab で移り、左右 (または上下) の矢印キーで選びます。Backspace で「すべて」に戻します。\n"
        "・上下の矢印キーで投稿を選び、Enter で詳細 (監査記録、訂正・お詫び、様式第1号) を開きます。\n"
        f"・{HISTORY_PAGE} 件ずつ表示します。n でさらに古い投稿を読み込みます。\n"
        "・選んだ投稿の訂正・お詫びは F6 (Ctrl+F)、様式第1号は F9 (Ctrl+V) で、この一覧からも始められます。\n"
        "・Esc でホームに戻ります。"
    )

    BINDINGS = [
        bind("n", "more", "古い投稿", "history.more"),
        bind("f6,ctrl+f", "correction", "訂正・お詫び", "history.correction"),
        bind("f9,ctrl+v", "form", "様式第1号", "history.form"),
        bind("escape", "back", "戻る", "back"),
    ]

    class Loaded(Message):
        def __init__(self, posts: list[Post], filters: tuple, *, appended: bool = False, more: bool = False) -> None:
            super().__init__()
            self.posts = posts
            self.filters = filters
            self.appended = appended
            self.more = more

    def __init__(self) -> None:
        super().__init__()
        self._shown: list[Post] = []
        self._more = False
        self._loaded = False

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(" 履歴 (全職員の投稿、新しい順)", id="screen-title", markup=False)
        with Horizontal(id="history-filters"):
            states = [(label, state) for state, label in POST_STATE_LABELS.items()]
            yield FilterField("状態", states, id="filter-state")
            templates = [(t.title, t.id) for t in self.ctx.templates.templates]
            yield FilterField("テンプレート", templates, id="filter-template")
            operators = [(o.name, o.id) for o in self.ctx.settings.operators]
            yield FilterField("職員", operators, id="filter-operator")
        yield HistoryList(id="history", markup=False)
        yield Static("", id="history-hint", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._posts: dict[int, Post] = {}
        self.set_focus(self.query_one("#history", HistoryList))
        self.watch_shared("recent_posts", self._ledger_changed)
        self.watch_shared("post_hoc_posts", self._ledger_changed)

    def _filters(self) -> tuple:
        return tuple(self.query_one(f"#filter-{name}", FilterField).selected for name in ("state", "template", "operator"))

    def _ledger_changed(self, _value: object = None) -> None:
        """Read the newest posts again, as many as are shown (at least a page)."""
        self._load(self._filters(), count=max(HISTORY_PAGE, len(self._shown)))

    @on(ChoiceField.Changed)
    def _filter_changed(self) -> None:
        self._load(self._filters())

    def action_more(self) -> None:
        """The next, older page (keyset paging: after the oldest post shown)."""
        if self._more and self._shown:
            self._load(self._filters(), before_id=self._shown[-1].id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="history")
    def _load(self, filters: tuple, *, count: int = HISTORY_PAGE, before_id: int | None = None) -> None:
        state, template_id, operator = filters
        try:
            posts = self.ctx.ledger.list_posts(states=[state] if state else None, template_id=template_id,
                                               operator=operator, limit=count + 1, before_id=before_id)
        except DutypostError as exc:
            self.app.call_from_thread(self.notify, exc.message, title="履歴", severity="error", markup=False)
            return
        self.post_message(self.Loaded(posts[:count], filters, appended=before_id is not None,
                                      more=len(posts) > count))

    @on(Loaded)
    def _show(self, message: Loaded) -> None:
        if message.filters != self._filters():
            return  # a filter changed meanwhile; its own load is on the way
        listing = self.query_one("#history", OptionList)
        highlighted = listing.highlighted_option.id if listing.highlighted_option else None
        if message.appended:
            if not self._shown or not message.posts or message.posts[0].id >= self._shown[-1].id:
                return  # the list was read again meanwhile
            self._shown += message.posts
            listing.add_options(self._row(post) for post in message.posts)
        elif self._loaded and message.posts == self._shown and listing.option_count == len(self._shown):
            return  # read again (both of the app's values it follows changed), and the same
        else:
            self._shown = list(message.posts)
            listing.set_options(self._row(post) for post in message.posts)
        self._more = message.more
        self._loaded = True
        self._posts = {p.id: p for p in self._shown}
        ids = [str(p.id) for p in self._shown]
        if not message.appended:
            listing.highlighted = ids.index(highlighted) if highlighted in ids else (0 if ids else None)
        shown = f"{len(ids)} 件" + ("   n: さらに古い投稿" if self._more else "")
        hint = "該当する投稿はありません。" if not ids else f"{shown}   Enter: 詳細   Tab: 絞り込み"
        self.query_one("#history-hint", Static).update(f" {hint}")

    def _row(self, post: Post) -> Option:
        now = self.ctx.now()
        template = self.ctx.templates.get(post.template_id) if post.template_id else None
        state = POST_STATE_LABELS.get(post.state, post.state)
        who = self.app.operator_name(post.operator).split()[0]
        head = f"#{post.id} {short_time(post.created_at, now)} [{state}] {who}"
        if post.drill:
            head += " 訓練"
        subject = template.title if template else first_line(post.text, 30)
        if post.reply_to_post_id is not None:
            subject += f" (#{post.reply_to_post_id} への返信)"
        row = Text.assemble((head, "bold"), " ", first_line(subject, ROW_CELLS - cell_len(head) - 1))
        row.append(f"\n    承認: {approval_text(self.app, post)}")
        if post.url:
            row.append(f"  {post.url}")
        if post.override:  # in full, wrapped if need be: the justification is never cut
            row.append(f"\n    {override_text(post)}", style="bold")
        return Option(row, id=str(post.id))

    @on(OptionList.OptionSelected, "#history")
    def _open(self, event: OptionList.OptionSelected) -> None:
        self.app.open_post_detail(int(event.option.id))

    def _highlighted_post(self) -> Post | None:
        option = self.query_one("#history", OptionList).highlighted_option
        return self._posts.get(int(option.id)) if option is not None and option.id else None

    def action_correction(self) -> None:
        """訂正・お詫び of the highlighted post, as from its detail."""
        post = self._highlighted_post()
        if post is None or post.state != "sent":
            self.notify("訂正・お詫びは、送信済みの投稿について始めます。", title="訂正・お詫び", markup=False)
            return
        self.app.start_checklist("correction", post.id)

    def action_form(self) -> None:
        """様式第1号 of the highlighted post, as from its detail."""
        post = self._highlighted_post()
        if post is None:
            self.notify("様式第1号を書き出す投稿を選んでください。", title="様式第1号", markup=False)
            return

        def written(path: Path | None) -> None:
            if path is not None:
                self.app.copy_to_clipboard(str(path))
                self.notify(f"{path}\n(場所をクリップボードにコピーしました)", title="様式第1号を書き出しました",
                            timeout=20, markup=False)

        self.app.open_form(post.id, written)

    def action_back(self) -> None:
        self.app.pop_screen()


# -- one post ------------------------------------------------------------------------


class PostDetailScreen(DutyScreen):
    HELP = (
        "投稿の詳細です。状態、承認、緊急オーバーライド、訂正の関係、この投稿の監査記録を表示します。\n"
        "・F6 (Ctrl+F): 訂正・お詫びのチェックリストを始めます (途中のものがあれば続きを開きます)。"
        "元の投稿の削除は、このチェックリストの中でだけ行えます。\n"
        "・F9 (Ctrl+V): 様式第1号 (更新伺) をファイルに書き出し、場所をクリップボードにコピーします。\n"
        "・c で本文、u で URL をクリップボードにコピーします。上下の矢印キーでスクロールします。Esc で戻ります。"
    )

    BINDINGS = [
        bind("f6,ctrl+f", "correction", "訂正・お詫び", "history.correction"),
        bind("f9,ctrl+v", "form", "様式第1号", "history.form"),
        bind("c", "copy_text", "本文コピー", "post.copy-text"),
        bind("u", "copy_url", "URLコピー", "post.copy-url"),
        bind("escape", "back", "戻る", "back"),
    ]

    class Loaded(Message):
        def __init__(self, post: Post | None, events: list[AuditEvent]) -> None:
            super().__init__()
            self.post = post
            self.events = events

    def __init__(self, post_id: int) -> None:
        super().__init__()
        self.post_id = post_id
        self.post: Post | None = None
        self.form_path: Path | None = None

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(f" 投稿 #{self.post_id} の詳細", id="screen-title", markup=False)
        yield PostView(above=(("detail-summary", "読み込んでいます..."),), text_id="detail-text",
                       below=("detail-form", "detail-events"), id="detail-body")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#detail-form").display = False
        self.query_one("#detail-body").focus()
        self._load()

    def on_screen_resume(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="detail")
    def _load(self) -> None:
        ledger = self.ctx.ledger
        self.post_message(self.Loaded(ledger.get_post(self.post_id), ledger.events(self.post_id)))

    @on(Loaded)
    def _show(self, message: Loaded) -> None:
        self.post = post = message.post
        view = self.query_one(PostView)
        if post is None:
            view.show_missing(self.post_id)
            return
        app = self.app
        template = self.ctx.templates.get(post.template_id) if post.template_id else None
        lines = Text()
        state = POST_STATE_LABELS.get(post.state, post.state)
        lines.append(f"状態: {state}   {'訓練 (練習サーバー)' if post.drill else '本番'}   "
                     f"アカウント: {account_text(self.ctx.settings, post.account, drill=post.drill)}\n", style="bold")
        lines.append(f"日時: {format_jst_datetime(post.sent_at or post.created_at)}   "
                     f"職員: {app.operator_name(post.operator)} ({post.department})\n")
        lines.append(f"テンプレート: {template.title if template else post.template_id or 'なし'}\n")
        lines.append(f"承認: {approval_text(app, post)}\n")
        if post.override:
            lifted = "・".join({"hours": "時間", "approval": "承認"}.get(c, c) for c in post.override["lifted"])
            lines.append(f"{override_text(post)} (外した確認: {lifted})\n", style="bold")
        if post.reply_to_post_id is not None:
            lines.append(f"訂正・お詫びの元の投稿: #{post.reply_to_post_id}\n")
        corrections = [e.payload["correction_post_id"] for e in message.events
                       if e.kind == checklists.EVENT_CORRECTION_LINKED
                       and e.payload["original_post_id"] == post.id]
        if corrections:
            lines.append("この投稿の訂正: " + "、".join(f"#{c}" for c in corrections) + "\n")
        if any(e.kind == "post.reply_refused" for e in message.events):
            lines.append("X が返信を受け付けなかったため、元の投稿を名指しした単独の投稿にしました。\n")
        if post.error:
            lines.append(f"理由: {post.error}\n")
        lines.append(f"URL: {post.url or 'なし'}")
        view.line("detail-summary").update(lines)
        view.show_post(post)
        events = Text(f"監査記録 ({len(message.events)} 件)\n", style="bold")
        for event in message.events:
            events.append(f"  {event_text(app, event)}\n")
        events.rstrip()
        view.line("detail-events").update(events)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        post = self.post
        if action == "correction":
            return True if post is not None and post.state == "sent" else None
        if action in ("form", "copy_text"):
            return True if post is not None else None
        if action == "copy_url":
            return True if post is not None and post.url else None
        return True

    # -- actions -------------------------------------------------------------------

    def action_correction(self) -> None:
        if self.check_action("correction", ()) is not True:
            self.notify("訂正・お詫びは、送信済みの投稿について始めます。", title="訂正・お詫び", markup=False)
            return
        self.app.start_checklist("correction", self.post_id)

    def action_form(self) -> None:
        if self.post is None:
            return

        def written(path: Path | None) -> None:
            if path is None:
                return
            self.form_path = path
            form = self.query_one("#detail-form", Static)
            form.update(f"様式第1号: {path}")
            form.display = True
            self.app.copy_to_clipboard(str(path))
            self.notify(f"{path}\n(場所をクリップボードにコピーしました)", title="様式第1号を書き出しました",
                        timeout=20, markup=False)

        self.app.open_form(self.post_id, written)

    def action_copy_text(self) -> None:
        self.query_one(PostView).copy_text()

    def action_copy_url(self) -> None:
        self.query_one(PostView).copy_url()

    def action_back(self) -> None:
        self.app.pop_screen()
