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
  refuses the reply) and is recorded on its item when the outcome is known — all of it
  ``core.publish.publish``'s work, given the post's purpose (``DraftPurpose``), which the
  compose and review screens receive as an argument (``app.open_compose(…, purpose=…)``).
- The draft of such a post is saved with its purpose (下書きの目的, ``DraftPurpose``), so
  a draft restored after a crash opens this screen again, and the post goes out by the
  same rules as when the item is chosen (:meth:`ChecklistScreen.item_chosen`).
- A tick item records a result: Enter marks it done (済み) or undoes it; ``n`` marks it
  not applicable (対象外) with a note saying why. After each record the highlight moves on
  to the next item still open.
- The 様式第1号 item writes the form (the 様式第1号 dialog, for the correction post once it
  is recorded, else the original) and records the file it wrote.
- The お詫び post is prefilled from 誤 and 正 (``core.checklists.apology_values``).
- The original post is kept by default. Deleting it takes a reason (削除の申し出), then a
  separate confirmation (F10) that also sends the deletion to X, in a thread worker.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core import checklists
from dutypost.core.checklists import DELETE, DONE, KEEP, NOT_APPLICABLE, Checklist, ChecklistItem, ItemState
from dutypost.core.errors import DutypostError
from dutypost.core.ledger import POST_STATE_LABELS, Draft, DraftPurpose, Post
from dutypost.core.templates import JST
from dutypost.tui.duty_screen import DutyScreen, ReadOrder
from dutypost.tui.keys import bind
from dutypost.tui.widgets.status import StatusBar
from dutypost.tui.widgets.typeahead import TypeAhead
from dutypost.tui.words import first_line, short_time

#: The ledger's post kind for the posts of these items; they reply to the original.
REPLY_KINDS = {"correction_post": "correction", "apology_post": "apology"}


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
        if value.get("result") == NOT_APPLICABLE:
            return f"対象外: {value.get('note', '')}"
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
    dialog it opens); ``n`` marks a tick item not applicable (対象外), with a note."""

    BINDINGS = [bind("n", "screen.not_applicable", "対象外", "checklist.not-applicable")]

    def action_select(self) -> None:
        option = self.highlighted_option
        if option is not None and isinstance(self.screen, ChecklistScreen):
            self.screen.item_chosen(option.id)


class ChecklistScreen(DutyScreen):
    HELP = (
        "チェックリストです。上下の矢印キーで項目を選び、Enter で記録します。記録はすべて監査記録に残ります。\n"
        "・[x] は済み、[ ] はまだです。(任意) の項目は、なくても完了にできます。\n"
        "・済みにする項目は Enter で [x] と [ ] が切り替わります。その項目が当てはまらないときは n で理由を書いて"
        "「対象外」([-]) にします。記録すると次のまだの項目に移ります。\n"
        "・様式第1号の項目は、Enter で様式第1号を書き出し、書き出したファイルを記録します。\n"
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
        def __init__(self, checklist: Checklist, original: Post | None, posts: dict[int, Post], read: int) -> None:
            super().__init__()
            self.read = read  # the order in which the ledger read began (see _post_loaded)
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
        #: The item just recorded: once it is done, the highlight moves on to the next open one.
        self._advance_from: str | None = None
        self._reads = ReadOrder()

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
        """Read the checklist and the posts it mentions, and hand them to the screen.

        Loads and records run in different threads, so a load that began before a record
        committed can arrive after the record's own fresh read. Each read is numbered when
        it begins; the screen shows a read only if none begun later has been shown.
        """
        read = self._reads.begin()
        ledger = self.ctx.ledger
        checklist = checklists.get(ledger, self.checklist_id)
        original = ledger.get_post(checklist.post_id) if checklist.post_id is not None else None
        posts = {}
        for state in checklist.items:
            if state.item.kind == "post" and state.value:
                post = ledger.get_post(state.value["post_id"])
                if post is not None:
                    posts[post.id] = post
        self.post_message(self.Loaded(checklist, original, posts, read))

    @on(Loaded)
    def _show(self, message: Loaded) -> None:
        if not self._reads.fresh(message.read):
            return  # older than what the screen shows already
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
        listing.highlighted = self._next_highlight(checklist, highlighted)
        self._show_hint()
        self.refresh_bindings()
        if self.draft is not None:
            draft, self.draft = self.draft, None
            self.item_chosen(draft.purpose.item_key, draft)

    def _next_highlight(self, checklist: Checklist, highlighted: int | None) -> int:
        """Where the highlight goes: on from the item just recorded, if it is done now, to
        the next item still open (wrapping round); else where it was."""
        key = self._advance_from
        keys = [state.item.key for state in checklist.items]
        if key not in keys or not checklist.item(key).done:
            # Not done in what was read: a load that began before the record committed; the
            # record's own load moves the highlight on (kept until then, cleared on failure).
            return highlighted if highlighted is not None else 0
        self._advance_from = None
        start = keys.index(key)
        order = keys[start + 1:] + keys[:start]
        following = [k for k in order if not checklist.item(k).done and checklist.item(k).required] or \
                    [k for k in order if not checklist.item(k).done]
        return keys.index(following[0]) if following else start

    def _row(self, state: ItemState) -> Option:
        row = Text()
        not_applicable = (state.value or {}).get("result") == NOT_APPLICABLE
        row.append("[-]" if not_applicable else "[x]" if state.done else "[ ]", style="bold" if state.done else "")
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
        self._advance_from = None
        self._show_hint()
        self.refresh_bindings()
        self.notify("\n".join(filter(None, (message.message, message.hint))), title="記録できませんでした",
                    severity="error", timeout=15, markup=False)

    # -- recording ----------------------------------------------------------------

    @work(thread=True, exit_on_error=False, group="checklist-record")
    def record(self, key: str, value: object) -> None:
        self._advance_from = key
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
        elif item.key == "form" and not state.done:
            self._form_chosen()
        elif item.kind == "tick":
            self.record(item.key, not (value or {}).get("done", False))
        elif item.kind in ("text", "choice", "who_when"):
            self._ask(item, value)
        else:
            self._post_chosen(item.key, self.posts.get((value or {}).get("post_id")), draft)

    def action_not_applicable(self) -> None:
        """``n``: the highlighted tick item does not apply here (対象外), with the reason."""
        option = self.query_one("#items", ItemList).highlighted_option
        checklist = self.checklist
        if option is None or checklist is None or self.busy or checklist.status != "open":
            self.app.bell()
            return
        item = checklist.item(option.id).item
        if item.kind != "tick":
            self.notify("対象外にできるのは、済みにする項目だけです。", title="チェックリスト", markup=False)
            return

        def noted(note: str | None) -> None:
            if note:
                self.record(item.key, {"result": NOT_APPLICABLE, "note": note})

        self.app.open_note(f"「{item.label}」を対象外にする理由", noted)

    def _form_chosen(self) -> None:
        """様式第1号: written for the correction post once it is recorded, else the original;
        the item records the file."""
        checklist = self.checklist
        correction = (checklist.item("correction_post").value or {}).get("post_id") \
            if checklist.kind == "correction" else None
        post_id = correction or checklist.post_id
        if post_id is None:
            self.record("form", True)
            return

        def written(path) -> None:
            if path is not None:
                self.record("form", {"result": DONE, "note": f"様式第1号: {path.name} (投稿 #{post_id})"})

        self.app.open_form(post_id, written)

    def _post_chosen(self, key: str, linked: Post | None, draft: Draft | None) -> None:
        """A post item: make the post, unless one is recorded (a cancelled one may be redone)."""
        if linked is None or linked.state == "cancelled":
            self._prepare_post(key, draft)
            return
        state = POST_STATE_LABELS.get(linked.state, linked.state)
        self.notify(f"この項目には投稿 #{linked.id} ({state}) が記録されています。失敗・結果不明なら"
                    "送信待ち (ホームで F3) で照合・再送してください。", title="チェックリスト", markup=False)

    def _ask(self, item: ChecklistItem, value: dict | None) -> None:
        """Open the dialog for an item; record what it answers (None: nothing to record)."""

        def answered(answer: object) -> None:
            if answer is not None:
                self.record(item.key, answer)

        self.app.open_item_dialog(item, value, answered)

    # -- posts for items -----------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="checklist-compose")
    def _prepare_post(self, key: str, draft: Draft | None) -> None:
        """Open the compose screen for a post item: with a restored draft's values, else
        prefilled from what the checklist recorded (read again: the screen may be a load behind)."""
        ctx = self.ctx
        checklist = checklists.get(ctx.ledger, self.checklist_id)
        item = checklist.item(key).item
        original = ctx.ledger.get_post(checklist.post_id) if checklist.post_id is not None else None
        values = dict(draft.values) if draft is not None else self._prefilled(checklist, item, original)
        reply_to = None
        if key in REPLY_KINDS:
            if original is None or original.state not in ("sent", "deleted"):
                self.post_message(self.Failed(f"元の投稿 #{checklist.post_id} は送信済みではないので、訂正・お詫びを返信にできません。"))
                return
            # A deleted original cannot be replied to: the text names it instead.
            reply_to = original.id if original.state == "sent" else None
        self.post_message(self.ComposeReady(key, item.template, values, reply_to, draft.id if draft else None))

    def _prefilled(self, checklist: Checklist, item: ChecklistItem, original: Post | None) -> dict[str, str]:
        """A post item's template values from what the checklist recorded (runs in a worker)."""
        ctx = self.ctx
        texts = {s.item.key: (s.value or {}).get("text", "") for s in checklist.items}
        values: dict[str, str] = {}
        if original is not None:
            wrong, right = texts.get("wrong", ""), texts.get("right", "")
            if item.key == "apology_post":
                values = checklists.apology_values(ctx.ledger, original.id, wrong=wrong, right=right,
                                                   templates=ctx.templates)
            else:
                about = checklists.correction_values(ctx.ledger, original.id, wrong=wrong, right=right,
                                                     templates=ctx.templates)
                values = about if item.key == "correction_post" else {k: about[k] for k in ("original_date", "subject")}
        if item.template == "flaming-response":
            values["department"] = ctx.operator.department
        if item.template == "impersonation-warning":
            values["fake"] = texts.get("fake_account", "")
        return values

    @on(ComposeReady)
    def _open_compose(self, message: ComposeReady) -> None:
        template = self.ctx.templates.get(message.template_id)
        if template is None:
            self.notify(f"テンプレート {message.template_id} が見つかりません。運用管理者に連絡してください。",
                        severity="error", markup=False)
            return
        purpose = DraftPurpose(checklist_id=self.checklist_id, item_key=message.item_key,
                               kind=REPLY_KINDS.get(message.item_key, "post"), reply_to_post_id=message.reply_to)
        self.app.open_compose(template, values=message.values, draft_id=message.draft_id or uuid.uuid4().hex,
                              purpose=purpose)

    # -- the original post: keep, or delete in two steps ------------------------------

    def _original_chosen(self, value: dict | None) -> None:
        stage = (value or {}).get("stage")
        if stage == "deleted":
            self.notify("元の投稿はもう削除されています。", title="元の投稿", markup=False)
        elif stage in ("requested", "confirmed"):
            self.app.open_delete_confirm(self.original, value, self._delete_answered)
        else:
            self.app.open_original_choice(self._original_answered)

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
