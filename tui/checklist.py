"""Checklists (チェックリスト): 訂正・お詫び, 炎上, なりすまし, 運用停止, taken item by item.

The items, their rules and their storage are ``core.checklists``'; this file only shows
them and records what the officer enters. Every record is an audit event (監査記録), a
checklist can be left and resumed from any session, and it is finished (完了) once every
required item is done.

- Enter on an item records it: a tick (済み) toggles; a text, a choice or a person and
  time (誰に・いつ) opens a small dialog; a post item opens the usual compose → review
  flow with its template, prefilled — for 訂正 from ``correction_values`` (the original's
  date and subject, 誤 and 正). The post passes the gate like any other; a correction or
  apology goes out as a reply to the original (standalone, naming the original, if X
  refuses the reply) and is recorded on its item when the outcome is known.
- The draft of such a post is saved with its purpose (下書きの目的, ``DraftPurpose``), so
  a draft restored after a crash opens this screen again, and the post goes out by the
  same rules as when the item is chosen (:meth:`ChecklistScreen.item_chosen`).
- The original post is kept by default. Deleting it takes a reason (削除の申し出), then a
  separate confirmation (F10) that also sends the deletion to X, in a thread worker.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core import checklists
from dutypost.core.checklists import DELETE, KEEP, OTHER, TITLES, Checklist, ChecklistItem, ItemState
from dutypost.core.context import DutyContext
from dutypost.core.errors import DutypostError
from dutypost.core.ledger import POST_STATE_LABELS, Draft, DraftPurpose, Post
from dutypost.core.publish import Composition
from dutypost.core.templates import JST
from dutypost.tui.duty_screen import DutyModal, DutyScreen
from dutypost.tui.keys import bind
from dutypost.tui.labels import first_line, short_time
from dutypost.tui.status import StatusBar
from dutypost.tui.typeahead import TypeAhead, TypedInput

#: The ledger's post kind for the posts of these items; they reply to the original.
REPLY_KINDS = {"correction_post": "correction", "apology_post": "apology"}


@dataclass(frozen=True)
class ChecklistPost(DraftPurpose):
    """A post being made for a checklist item (チェックリストの投稿), keyed by its draft id
    in ``app.checklist_posts`` so that the review screen publishes it the right way. The
    compose screen saves it with the draft (as its ``DraftPurpose``)."""

    back_to: Screen  # where the officer returns after the publish


def publish_options(ctx: DutyContext, purpose: ChecklistPost, composition: Composition) -> dict:
    """``core.publish.publish`` keyword arguments for a checklist post (runs in a worker)."""
    options: dict = {"kind": purpose.kind}
    if purpose.reply_to_post_id is not None:
        options["reply_to_post_id"] = purpose.reply_to_post_id
        options["fallback_text"] = checklists.standalone_fallback_text(
            ctx.ledger, purpose.reply_to_post_id, composition.parts[0], templates=ctx.templates)
    return options


def link_post(ctx: DutyContext, purpose: ChecklistPost, post_id: int) -> str:
    """Record the post on its checklist item (runs in a worker); the outcome in words."""
    try:
        if purpose.item_key == "correction_post":
            checklists.link_correction(ctx.ledger, purpose.checklist_id, correction_post_id=post_id,
                                       operator=ctx.operator.id)
        else:
            checklists.record(ctx.ledger, purpose.checklist_id, purpose.item_key, operator=ctx.operator.id,
                              value=post_id)
    except DutypostError as exc:
        return f"チェックリストに記録できませんでした: {exc.message}"
    return f"チェックリスト #{purpose.checklist_id} に投稿 #{post_id} を記録しました。"


def start_or_resume(ctx: DutyContext, kind: str, post_id: int | None) -> int:
    """The open checklist of ``kind`` about ``post_id``, or a new one (runs in a worker)."""
    if post_id is not None:
        for checklist in checklists.open_checklists(ctx.ledger, post_id):
            if checklist.kind == kind:
                return checklist.id
    return checklists.start(ctx.ledger, kind=kind, operator=ctx.operator.id, post_id=post_id)


def _when_text(value: str) -> str:
    moment = datetime.fromisoformat(value).astimezone(JST)
    return f"{moment.month}/{moment.day} {moment:%H:%M}"


def value_text(state: ItemState, posts: dict[int, Post]) -> str:
    """What was recorded for an item, on one line."""
    value = state.value
    if value is None:
        return f"{state.item.default} (既定)" if state.item.default else ""
    note = f" ({value['note']})" if value.get("note") else ""
    kind = state.item.kind
    if state.item.key == "original":
        stage = value.get("stage")
        if stage is None:
            return value["choice"]
        said = {"requested": "削除を申し出 (確認待ち: Enter で確認)",
                "confirmed": "削除を確認済み (X での削除がまだ: Enter でもう一度)",
                "deleted": "X から削除しました"}[stage]
        error = f" 失敗: {value['error']}" if value.get("error") else ""
        return f"{said} 理由: {value['reason']}{error}"
    if kind == "tick":
        return note.strip()
    if kind == "text":
        return value["text"]
    if kind == "choice":
        return value["choice"] + note
    if kind == "who_when":
        when = f" {_when_text(value['when'])}" if value.get("when") else ""
        return f"{value['who']}{when}{note}"
    post = posts.get(value["post_id"])
    if post is None:
        return f"投稿 #{value['post_id']}"
    return f"投稿 #{post.id} [{POST_STATE_LABELS.get(post.state, post.state)}]"


# -- the checklist screen ---------------------------------------------------------


class ItemList(TypeAhead, OptionList):
    """The items; Enter records the highlighted one at once (keys typed ahead follow the
    dialog it opens)."""

    def action_select(self) -> None:
        option = self.highlighted_option
        if option is not None and isinstance(self.screen, ChecklistScreen):
            self.screen.item_chosen(option.id)


class ChecklistScreen(DutyScreen):
    HELP = (
        "チェックリストです。上下の矢印キーで項目を選び、Enter で記録します。記録はすべて監査記録に残ります。\n"
        "・[x] は済み、[ ] はまだです。(任意) の項目は、なくても完了にできます。\n"
        "・済みにする項目は Enter で [x] と [ ] が切り替わります。\n"
        "・文・選択・誰に/いつの項目は、小さな画面で入力して Enter で記録します。\n"
        "・投稿の項目は、テンプレートを入れた作成画面を開きます。訂正は元の投稿への返信として投稿されます"
        " (X が返信を受け付けないときは、元の投稿の日時と件名を書いた単独の投稿になります)。\n"
        "・元の投稿は残すのが原則です。削除は理由を書いて申し出たあと、別の確認 (F10) で X から削除します。\n"
        "・F10 (Ctrl+X) ですべての必須項目が済んだチェックリストを完了にします。Esc で戻っても、続きから再開できます。"
    )

    BINDINGS = [
        bind("f10,ctrl+x", "finish", "完了", "checklist.finish"),
        bind("escape", "back", "戻る", "back"),
    ]

    class Loaded(Message):
        def __init__(self, checklist: Checklist, original: Post | None, posts: dict[int, Post]) -> None:
            super().__init__()
            self.checklist = checklist
            self.original = original
            self.posts = posts

    class Failed(Message):
        def __init__(self, message: str, hint: str = "") -> None:
            super().__init__()
            self.message = message
            self.hint = hint

    class ComposeReady(Message):
        def __init__(self, item_key: str, template_id: str, values: dict[str, str], reply_to: int | None,
                     draft_id: str | None) -> None:
            super().__init__()
            self.item_key = item_key
            self.template_id = template_id
            self.values = values
            self.reply_to = reply_to
            self.draft_id = draft_id

    class Finished(Message):
        pass

    class Deleted(Message):
        pass

    def __init__(self, checklist_id: int, *, draft: Draft | None = None) -> None:
        super().__init__()
        self.checklist_id = checklist_id
        #: A restored draft (下書き) of one of this checklist's posts: opened once loaded.
        self.draft = draft
        self.checklist: Checklist | None = None
        self.original: Post | None = None
        self.posts: dict[int, Post] = {}
        self.busy = False

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(f" チェックリスト #{self.checklist_id}", id="screen-title", markup=False)
        yield Static("", id="checklist-about", markup=False)
        yield ItemList(id="items", markup=False)
        yield Static("", id="checklist-hint", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#items", ItemList).focus()
        self.load()

    def on_screen_resume(self) -> None:
        self.load()  # back from a compose, review or post screen: the item may be recorded now

    # -- loading ----------------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="checklist-load")
    def load(self) -> None:
        self._post_loaded()

    def _post_loaded(self) -> None:
        """Read the checklist and the posts it mentions, and hand them to the screen."""
        ledger = self.ctx.ledger
        checklist = checklists.get(ledger, self.checklist_id)
        original = ledger.get_post(checklist.post_id) if checklist.post_id is not None else None
        posts = {}
        for state in checklist.items:
            if state.item.kind == "post" and state.value:
                post = ledger.get_post(state.value["post_id"])
                if post is not None:
                    posts[post.id] = post
        self.post_message(self.Loaded(checklist, original, posts))

    @on(Loaded)
    def _show(self, message: Loaded) -> None:
        self.checklist, self.original, self.posts = message.checklist, message.original, message.posts
        checklist = message.checklist
        status = "完了" if checklist.status == "finished" else "実施中"
        self.query_one("#screen-title", Static).update(
            f" チェックリスト: {checklist.title} #{checklist.id} ({status})")
        about = ""
        if message.original is not None:
            original = message.original
            state = POST_STATE_LABELS.get(original.state, original.state)
            about = (f" 元の投稿 #{original.id} {short_time(original.sent_at or original.created_at, self.ctx.now())}"
                     f" [{state}] {first_line(original.text, 44)}")
        self.query_one("#checklist-about", Static).update(about)
        self.query_one("#checklist-about").display = bool(about)
        listing = self.query_one("#items", ItemList)
        highlighted = listing.highlighted
        listing.set_options(self._row(state) for state in checklist.items)
        listing.highlighted = highlighted if highlighted is not None else 0
        self._show_hint()
        self.refresh_bindings()
        if self.draft is not None:
            draft, self.draft = self.draft, None
            self.item_chosen(draft.purpose.item_key, draft)

    def _row(self, state: ItemState) -> Option:
        row = Text()
        row.append("[x]" if state.done else "[ ]", style="bold" if state.done else "")
        row.append(f" {state.item.label}")
        if not state.required:
            row.append(" (任意)")
        detail = value_text(state, self.posts)
        if state.operator is not None and state.at is not None:
            who = self.app.operator_name(state.operator).split()[0]
            detail = f"{detail}  ({who} {short_time(state.at, self.ctx.now())})".strip()
        elif state.item.kind == "post" and self.checklist is not None and self.checklist.status == "open":
            template = self.ctx.templates.get(state.item.template or "")
            detail = f"Enter で「{template.title if template else state.item.template}」の投稿を作ります"
        if detail:
            row.append(f"\n    {detail}", style="dim" if state.value is None else "")
        return Option(row, id=state.item.key)

    def _show_hint(self) -> None:
        checklist = self.checklist
        if checklist is None:
            hint = "読み込んでいます..."
        elif self.busy:
            hint = "処理しています。結果が出るまでお待ちください。"
        elif checklist.status == "finished":
            hint = "このチェックリストは完了しています。"
        elif checklist.missing:
            hint = f"まだの必須項目 {len(checklist.missing)} 件。Enter: 記録する   F10 (Ctrl+X): 完了"
        else:
            hint = "必須項目はすべて済みました。F10 (Ctrl+X) で完了にします。"
        self.query_one("#checklist-hint", Static).update(f" {hint}")

    @on(Failed)
    def _failed(self, message: Failed) -> None:
        self.busy = False
        self._show_hint()
        self.refresh_bindings()
        self.notify("\n".join(filter(None, (message.message, message.hint))), title="記録できませんでした",
                    severity="error", timeout=15, markup=False)

    # -- recording ----------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="checklist-record")
    def record(self, key: str, value: object) -> None:
        try:
            checklists.record(self.ctx.ledger, self.checklist_id, key, operator=self.ctx.operator.id, value=value)
        except DutypostError as exc:
            self.post_message(self.Failed(exc.message, exc.hint))
        self._post_loaded()

    def item_chosen(self, key: str, draft: Draft | None = None) -> None:
        """Record item ``key``; for a post item, ``draft`` is a restored draft to go on with."""
        checklist = self.checklist
        if checklist is None or self.busy:
            return
        if checklist.status != "open":
            self.notify("このチェックリストは完了しています。", title="チェックリスト", markup=False)
            return
        state = checklist.item(key)
        item, value = state.item, state.value
        if item.key == "original":
            self._original_chosen(value)
        elif item.kind == "tick":
            self.record(item.key, not (value or {}).get("done", False))
        elif item.kind == "text":
            self._ask(TextModal(item.label, (value or {}).get("text", "")), item.key)
        elif item.kind == "choice":
            self._ask(ChoiceModal(item.label, item.choices, value), item.key)
        elif item.kind == "who_when":
            self._ask(WhoWhenModal(item.label, value), item.key)
        else:
            self._post_chosen(item.key, self.posts.get((value or {}).get("post_id")), draft)

    def _post_chosen(self, key: str, linked: Post | None, draft: Draft | None) -> None:
        """A post item: make the post, unless one is recorded (a cancelled one may be redone)."""
        if linked is None or linked.state == "cancelled":
            self._prepare_post(key, draft)
            return
        state = POST_STATE_LABELS.get(linked.state, linked.state)
        self.notify(f"この項目には投稿 #{linked.id} ({state}) が記録されています。失敗・結果不明なら"
                    "送信待ち (ホームで F3) で照合・再送してください。", title="チェックリスト", markup=False)

    def _ask(self, modal: DutyModal, key: str) -> None:
        """Open the dialog for an item; record what it answers (None: nothing to record)."""

        def answered(value: object) -> None:
            if value is not None:
                self.record(key, value)

        self.app.push_screen(modal, answered)

    # -- posts for items -----------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="checklist-compose")
    def _prepare_post(self, key: str, draft: Draft | None) -> None:
        """Open the compose screen for a post item: with a restored draft's values, else
        prefilled from what the checklist recorded."""
        ctx, checklist = self.ctx, self.checklist
        item = checklist.item(key).item
        original = ctx.ledger.get_post(checklist.post_id) if checklist.post_id is not None else None
        values = dict(draft.values) if draft is not None else self._prefilled(item, original)
        reply_to = None
        if key in REPLY_KINDS:
            if original is None or original.state not in ("sent", "deleted"):
                self.post_message(self.Failed(f"元の投稿 #{checklist.post_id} は送信済みではないので、訂正・お詫びを返信にできません。"))
                return
            # A deleted original cannot be replied to: the text names it instead.
            reply_to = original.id if original.state == "sent" else None
        self.post_message(self.ComposeReady(key, item.template, values, reply_to, draft.id if draft else None))

    def _prefilled(self, item: ChecklistItem, original: Post | None) -> dict[str, str]:
        """A post item's template values from what the checklist recorded (runs in a worker)."""
        ctx, checklist = self.ctx, self.checklist
        texts = {s.item.key: (s.value or {}).get("text", "") for s in checklist.items}
        values: dict[str, str] = {}
        if original is not None:
            about = checklists.correction_values(ctx.ledger, original.id, wrong=texts.get("wrong", ""),
                                                 right=texts.get("right", ""), templates=ctx.templates)
            values = about if item.key == "correction_post" else {k: about[k] for k in ("original_date", "subject")}
        if item.template == "flaming-response":
            values["department"] = ctx.operator.department
        if item.template == "impersonation-warning":
            values["fake"] = texts.get("fake_account", "")
        return values

    @on(ComposeReady)
    def _open_compose(self, message: ComposeReady) -> None:
        from dutypost.tui.compose import ComposeScreen

        template = self.ctx.templates.get(message.template_id)
        if template is None:
            self.notify(f"テンプレート {message.template_id} が見つかりません。運用管理者に連絡してください。",
                        severity="error", markup=False)
            return
        draft_id = message.draft_id or uuid.uuid4().hex
        self.app.checklist_posts[draft_id] = ChecklistPost(
            checklist_id=self.checklist_id, item_key=message.item_key,
            kind=REPLY_KINDS.get(message.item_key, "post"), reply_to_post_id=message.reply_to, back_to=self)
        self.app.push_screen(ComposeScreen(template, values=message.values, draft_id=draft_id))

    # -- the original post: keep, or delete in two steps ------------------------------

    def _original_chosen(self, value: dict | None) -> None:
        stage = (value or {}).get("stage")
        if stage == "deleted":
            self.notify("元の投稿はもう削除されています。", title="元の投稿", markup=False)
        elif stage in ("requested", "confirmed"):
            self.app.push_screen(DeleteConfirmModal(self.original, value), self._delete_answered)
        else:
            self.app.push_screen(OriginalModal(), self._original_answered)

    def _original_answered(self, answer: dict | None) -> None:
        if answer is None:
            return
        if answer["choice"] == KEEP:
            self.record("original", KEEP)
        else:
            self._request_deletion(answer["reason"])

    @work(thread=True, exit_on_error=False, group="checklist-record")
    def _request_deletion(self, reason: str) -> None:
        try:
            checklists.request_deletion(self.ctx.ledger, self.checklist_id, operator=self.ctx.operator.id,
                                        reason=reason)
        except DutypostError as exc:
            self.post_message(self.Failed(exc.message, exc.hint))
        self._post_loaded()

    def _delete_answered(self, answer: str | None) -> None:
        if answer == KEEP:
            self.record("original", KEEP)  # the request is withdrawn: the original stays
        elif answer == DELETE:
            self.busy = True
            self._show_hint()
            self.refresh_bindings()
            self._delete_original()

    @work(thread=True, exclusive=True, exit_on_error=False, group="checklist-delete")
    def _delete_original(self) -> None:
        ctx = self.ctx
        try:
            if (self.checklist.item("original").value or {}).get("stage") == "requested":
                checklists.confirm_deletion(ctx.ledger, self.checklist_id, operator=ctx.operator.id)
            with self.app.sending:
                checklists.delete_original(ctx.ledger, ctx.x_client(), self.checklist_id, operator=ctx.operator.id)
        except DutypostError as exc:
            self.post_message(self.Failed(f"元の投稿を削除できませんでした: {exc.message}", exc.hint))
        else:
            self.post_message(self.Deleted())
        self._post_loaded()

    @on(Deleted)
    def _deleted(self) -> None:
        self.busy = False
        self.notify("元の投稿を X から削除しました。", title="元の投稿", markup=False)

    # -- finishing --------------------------------------------------------------------

    def action_finish(self) -> None:
        if self.check_action("finish", ()) is not True:
            self.app.bell()
            return
        self._finish()

    @work(thread=True, exclusive=True, exit_on_error=False, group="checklist-finish")
    def _finish(self) -> None:
        try:
            checklists.finish(self.ctx.ledger, self.checklist_id, operator=self.ctx.operator.id)
        except DutypostError as exc:
            self.post_message(self.Failed(exc.message, exc.hint))
            return
        self.post_message(self.Finished())

    @on(Finished)
    def _finished(self) -> None:
        self.notify(f"チェックリスト「{self.checklist.title}」を完了にしました。", title="チェックリスト", markup=False)
        self.app.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "finish":
            checklist = self.checklist
            return None if (checklist is None or self.busy or checklist.status != "open") else True
        return True

    def action_back(self) -> None:
        if self.busy:
            self.notify("削除の結果を待っています。結果が出てから戻れます。", title="処理中", markup=False)
            return
        self.app.pop_screen()


# -- dialogs that record one item -------------------------------------------------------


class DialogField(TypedInput):
    """A dialog's text field: Enter goes to the dialog at once (``field_entered``), and keys
    typed ahead land where they belong (see :class:`tui.compose.TypeAhead`)."""

    async def action_submit(self) -> None:
        self.screen.field_entered(self)


class DialogChoices(TypeAhead, OptionList):
    """A dialog's choices: Enter goes to the dialog at once, like :class:`DialogField`."""

    def action_select(self) -> None:
        self.screen.field_entered(self)


def _field(value: str, *, id: str, placeholder: str = "") -> DialogField:
    field = DialogField(value, placeholder=placeholder, compact=True, id=id)
    field.cursor_blink = False
    return field


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
                yield _field(self.value, placeholder="ここに書きます", id="item-text")
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
                yield _field(self.value.get("note", ""), placeholder="任意 (「その他」では必要)", id="item-note")
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
                    yield _field(value, placeholder=placeholder, id=id)
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
                yield _field("", placeholder="削除を申し出るとき (例: 個人情報を含めたため)", id="delete-reason")
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


# -- the menu from home -----------------------------------------------------------------


class ChecklistMenuModal(DutyModal):
    """Resume an open checklist, or start one (訂正・お詫び starts from a post in the history)."""

    HELP = ("チェックリストを選びます。上下の矢印キーで選び、Enter で開きます。\n"
            "・「続き」は、まだ完了していないチェックリストです (全職員)。\n"
            "・訂正・お詫びは、履歴で誤りのあった投稿を選んでから始めます (履歴で F6)。\n"
            "Esc で戻ります。")
    BINDINGS = [bind("escape", "cancel", "戻る", "back")]

    class Found(Message):
        def __init__(self, open_lists: list[Checklist]) -> None:
            super().__init__()
            self.open_lists = open_lists

    class Started(Message):
        def __init__(self, checklist_id: int) -> None:
            super().__init__()
            self.checklist_id = checklist_id

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("チェックリスト", classes="dialog-title", markup=False)
            yield OptionList(Option("読み込んでいます...", disabled=True), id="checklists", markup=False)
            yield Static("Enter: 開く   Esc: 戻る", classes="note", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#checklists", OptionList).focus()
        self._find()

    @work(thread=True, exclusive=True, exit_on_error=False, group="checklist-menu")
    def _find(self) -> None:
        self.post_message(self.Found(checklists.open_checklists(self.ctx.ledger)))

    @on(Found)
    def _show(self, message: Found) -> None:
        now = self.ctx.now()
        options: list[Option] = []
        for checklist in message.open_lists:
            about = f" 投稿 #{checklist.post_id}" if checklist.post_id is not None else ""
            who = self.app.operator_name(checklist.operator).split()[0]
            when = short_time(checklist.started_at, now) if checklist.started_at else ""
            options.append(Option(f"続き: {checklist.title} #{checklist.id}{about} ({who} {when}, "
                                  f"まだ {len(checklist.missing)} 件)", id=f"open:{checklist.id}"))
        for kind in ("flaming", "impersonation", "suspension"):
            options.append(Option(f"新しく始める: {TITLES[kind]}", id=f"new:{kind}"))
        options.append(Option(f"新しく始める: {TITLES['correction']} (履歴で元の投稿を選ぶ)", id="new:correction"))
        listing = self.query_one("#checklists", OptionList)
        listing.set_options(options)
        listing.highlighted = 0

    @on(OptionList.OptionSelected, "#checklists")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        what, _, arg = (event.option.id or "").partition(":")
        if what == "open":
            self._open(int(arg))
        elif arg == "correction":
            from dutypost.tui.history import HistoryScreen

            self.dismiss(None)
            self.app.push_screen(HistoryScreen())
            self.app.notify("誤りのあった投稿を選んで Enter、詳細の画面で F6 (Ctrl+F) を押します。",
                            title="訂正・お詫び", timeout=10, markup=False)
        else:
            self._start(arg)

    @work(thread=True, exclusive=True, exit_on_error=False, group="checklist-menu")
    def _start(self, kind: str) -> None:
        checklist_id = checklists.start(self.ctx.ledger, kind=kind, operator=self.ctx.operator.id, post_id=None)
        self.post_message(self.Started(checklist_id))

    @on(Started)
    def _started(self, message: Started) -> None:
        self._open(message.checklist_id)

    def _open(self, checklist_id: int) -> None:
        self.dismiss(None)
        self.app.push_screen(ChecklistScreen(checklist_id))

    def action_cancel(self) -> None:
        self.dismiss(None)
