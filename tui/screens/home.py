"""Home (ホーム): pick a template, see what everyone posted, reach everything else.

Templates are listed by category, each with a two-digit quick number (番号). The search
box has the focus from the start: type a number (``12``, also full-width ``１２`` from an
IME) to open that template at once, or type words to filter (タイトル・分類・id); ↑↓ move,
Enter opens. Recent posts by every operator follow the ledger (polled every second).

From here: the outbox (送信待ち), drafts (下書き), the history (履歴), the checklists
(チェックリスト) and — for approvers — the approvals inbox (承認), whose counts of pending
requests and 事後承認待ち of the department sit on the recent-posts title line.

The board (発令中) sits above the recent posts while anything is in force or an emergency
post's follow-up on other channels (他の媒体への連絡) is open: a few lines, the rest a
scroll away (Tab reaches it). ``k`` or Enter on an order opens its lift template
prefilled (解除・閉鎖); Enter on a follow-up opens the post, where each channel is
recorded. F8 (Ctrl+R) writes the handover page (引き継ぎ) and shows it.
"""

from __future__ import annotations

import unicodedata

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.message import Message
from textual.widget import AwaitMount
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core.templates import Template
from dutypost.tui.duty_screen import DutyScreen
from dutypost.tui.keys import bind
from dutypost.tui.words import first_line, short_time
from dutypost.tui.widgets.status import StatusBar
from dutypost.tui.widgets.typeahead import TypedInput

RECENT_ROWS = 5
BOARD_ROWS = 4
FOLLOWUP_PREFIX = "followup-"


def quick_number(index: int) -> str:
    """The two-digit number shown beside the ``index``-th template (0-based)."""
    return f"{index + 1:02d}"


class TemplateList(OptionList):
    """Templates with their quick numbers; ``o`` opens the outbox while the list has focus."""

    BINDINGS = [bind("o", "app.outbox", "送信待ち", "home.outbox-letter", show=False),
                bind("slash", "screen.search", "検索", "home.search")]


class BoardList(OptionList):
    """The board (発令中) and the open follow-ups; ``k`` opens a line's lift template."""

    BINDINGS = [bind("k", "screen.lift", "解除の投稿", "home.lift", show=False)]  # the title line says it


class SearchInput(TypedInput):
    """The search box (検索/番号). A quick number opens its template the moment its second
    digit is typed — not later, from a queued message — and the keys typed behind the
    number wait until the compose screen has its focus, then go on to its first field
    (``03大雨のため`` in one burst: 大雨のため in the first empty required field)."""

    _opening = None  # the compose screen being opened, until a key typed behind it waits for it

    def watch_value(self, value: str) -> None:
        if self.is_mounted and isinstance(self.screen, HomeScreen):
            self._opening = self.screen.open_number(self, value) or self._opening

    async def _on_key(self, event: Key) -> None:
        if self._opening is not None:
            opening, self._opening = self._opening, None
            await opening


class HomeScreen(DutyScreen):
    _credentials_notice = ""  # the security role's 認証情報の更新時期, once checked

    HELP = (
        "ホーム画面です。投稿に使うテンプレートを選びます。\n"
        "・テンプレートの番号 (2桁) を入力すると、そのテンプレートを開きます (例: 02)。"
        "1桁なら番号のあとに Enter (例: 3 Enter で 03)。\n"
        "・文字を入力すると一覧を絞り込みます (タイトル・分類・id)。上下の矢印キーで選び、Enter で開きます。\n"
        "・Esc で検索の文字を消します。一覧にいるときは / で検索欄に戻ります。\n"
        "・下の「最近の投稿」には、全職員の投稿が2秒ごとに表示されます。\n"
        "・送信待ち (失敗・結果不明の投稿) は F3 (Ctrl+O)、書きかけの下書きは F4 (Ctrl+T) で開きます。\n"
        "・履歴 (全職員の投稿、訂正・お詫び、様式第1号) は F5 (Ctrl+L) で開きます。\n"
        "・チェックリスト (訂正・お詫び、炎上、なりすまし、運用停止) は F6 (Ctrl+F) で開きます。\n"
        "・承認者は F7 (Ctrl+Y) で承認依頼と事後承認待ちの一覧を開きます。\n"
        "・発令中 (発令して、まだ解除していない避難情報・避難所・通行止めなど) があると、最近の投稿の上に出ます。"
        "Tab で一覧に移り、k か Enter でその解除のテンプレートを、地区などを入れた状態で開きます。\n"
        "・緊急の投稿のあと、他の媒体 (HP・メール配信・Lアラート・防災行政無線) への連絡が済んでいないものも"
        "そこに出ます。Enter で投稿を開き、媒体ごとに記録します。\n"
        "・F8 (Ctrl+R) で引き継ぎ (投稿・発令中・送信待ち・事後承認待ち・未完了のもの) をファイルに書き出して表示します。\n"
        "・投稿するアカウント (公式・マスコット) は F9 (Ctrl+N) で切り替えます (確認してから F10)。"
        "いまのアカウントは画面の一番上に出ています。"
    )

    BINDINGS = [
        bind("f3,ctrl+o", "app.outbox", "送信待ち", "home.outbox"),
        bind("f4,ctrl+t", "drafts", "下書き", "home.drafts"),
        bind("f5,ctrl+l", "app.history", "履歴", "home.history"),
        bind("f6,ctrl+f", "app.checklists", "チェック", "home.checklists"),
        bind("f7,ctrl+y", "approvals", "承認", "home.approvals"),
        bind("f8,ctrl+r", "app.handover", "引継", "home.handover"),
        # Not in the footer: at 80 columns it would push ヘルプ off; help (F1) and the top line say it.
        bind("f9,ctrl+n", "account", "アカウント", "home.account", show=False),
        bind("escape", "clear_search", "検索を消す", "back", show=False),
    ]

    class DraftsFound(Message):
        def __init__(self, drafts: list) -> None:
            super().__init__()
            self.drafts = drafts

    def compose(self) -> ComposeResult:
        yield StatusBar()
        with Horizontal(id="search-row"):
            yield Static("検索/番号:", id="search-label", markup=False)
            yield SearchInput(placeholder="番号2桁か言葉 (例: 02, 避難指示)", id="search", compact=True)
        yield TemplateList(id="templates", markup=False)
        with Vertical(id="board-panel"):
            yield Static("", id="board-title", markup=False)
            yield BoardList(id="board", markup=False)
        with Vertical(id="recent"):
            yield Static("最近の投稿 (全職員)", id="recent-title", markup=False)
            yield Static("", id="recent-list", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        search = self.query_one("#search", Input)
        search.cursor_blink = False
        self._show_templates("")
        self.watch_shared("recent_posts", self._show_recent)
        self.watch_shared("board", self._show_board)
        self.watch_shared("open_followups", self._show_board)
        if self.app.is_approver:
            self.watch_shared("approval_requests", self._show_approvals)
            self.watch_shared("post_hoc_posts", self._show_approvals)
        self.set_focus(search)
        self.call_after_refresh(self.check_drafts)
        self.call_after_refresh(self.app.start_background_work)
        if "security" in self.ctx.operator.roles:
            self.call_after_refresh(self.check_credentials)
        errors = self.ctx.templates.errors
        if errors:
            self.notify(f"{errors[0]}" + (f" ほか {len(errors) - 1} 件" if len(errors) > 1 else ""),
                        title="読み込めないテンプレートがあります (運用管理者へ: dutypost templates check)",
                        severity="warning", timeout=30, markup=False)

    def on_screen_resume(self) -> None:
        """Back on Home: an empty search box with the focus, so a quick number typed now
        opens its template (a search left from before would make 07 find nothing)."""
        search = self.query_one("#search", Input)
        if search.value:
            search.value = ""
            self._show_templates("")
        self.set_focus(search)

    # -- templates ------------------------------------------------------------

    @property
    def templates(self) -> list[Template]:
        return self.ctx.templates.templates

    def _show_templates(self, query: str) -> None:
        words = unicodedata.normalize("NFKC", query).lower().split()
        options: list[Option] = []
        category = None
        for index, template in enumerate(self.templates):
            number = quick_number(index)
            haystack = f"{number} {template.title} {template.category} {template.id}".lower()
            if not all(word in haystack for word in words):
                continue
            if template.category != category:
                category = template.category
                options.append(Option(Text(f"-- {category} --", style="bold"), disabled=True))
            label = Text.assemble((number, "bold"), " ", template.title)
            if template.emergency:
                label.append("  [緊急]")
            options.append(Option(label, id=template.id))
        if not options:
            options.append(Option("該当するテンプレートはありません。Esc で検索を消します。", disabled=True))
        listing = self.query_one("#templates", TemplateList)
        listing.set_options(options)
        listing.highlighted = next((i for i, o in enumerate(options) if not o.disabled), None)

    def _numbered(self, query: str) -> Template | None:
        """The template whose quick number is ``query`` (``12``, ``１２``, or ``3`` for 03)."""
        number = unicodedata.normalize("NFKC", query).strip()
        if number.isdigit() and 1 <= int(number) <= len(self.templates):
            return self.templates[int(number) - 1]
        return None

    def open_number(self, search: SearchInput, typed: str) -> AwaitMount | None:
        """Two digits typed in the search box: empty it and open that template (the
        returned awaitable is done once the compose screen is ready). Else None."""
        template = self._numbered(typed)
        if template is None or len(unicodedata.normalize("NFKC", typed).strip()) != 2:
            return None
        search.value = ""
        return self.open_template(template)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._show_templates(event.input.value)

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        template = self._numbered(event.value)
        if template is not None:
            event.input.value = ""
            self.open_template(template)
        else:
            self._open_highlighted()

    @on(OptionList.OptionSelected, "#templates")
    def _template_selected(self) -> None:
        self._open_highlighted()

    def on_key(self, event: Key) -> None:
        """↑↓ in the search box move the highlight in the list below it."""
        if self.focused is not self.query_one("#search"):
            return
        listing = self.query_one("#templates", TemplateList)
        moves = {"up": listing.action_cursor_up, "down": listing.action_cursor_down,
                 "pageup": listing.action_page_up, "pagedown": listing.action_page_down}
        if event.key in moves:
            moves[event.key]()
            event.stop()

    def _open_highlighted(self) -> None:
        option = self.query_one("#templates", TemplateList).highlighted_option
        if option is not None and option.id:
            self.open_template(self.ctx.templates.get(option.id))

    def open_template(self, template: Template, values: dict[str, str] | None = None,
                      draft_id: str | None = None, with_versions: bool = False) -> AwaitMount:
        return self.app.open_compose(template, values=values, draft_id=draft_id, with_versions=with_versions)

    def action_search(self) -> None:
        self.set_focus(self.query_one("#search", Input))

    def action_clear_search(self) -> None:
        search = self.query_one("#search", Input)
        search.value = ""
        self.set_focus(search)

    # -- the age of the credentials (セキュリティ監督者, R10) ----------------------

    class CredentialsDue(Message):
        def __init__(self, notices: list[str]) -> None:
            super().__init__()
            self.notices = notices

    @work(thread=True, exclusive=True, exit_on_error=False, group="credentials")
    def check_credentials(self) -> None:
        from dutypost.core.credentials import rotation_notices

        notices = rotation_notices(self.ctx.settings, self.ctx.now())
        if notices:
            self.post_message(self.CredentialsDue(notices))

    @on(CredentialsDue)
    def _credentials_due(self, message: CredentialsDue) -> None:
        """Shown to the security role (セキュリティ監督者) on Home: on the title line and as a notice."""
        self._credentials_notice = f"認証情報の更新時期: {len(message.notices)} 件"
        self._show_approvals()
        self.notify("\n".join(message.notices), title="認証情報の更新 (3か月ごと)", severity="warning",
                    timeout=60, markup=False)

    # -- outbox and drafts ----------------------------------------------------

    def action_drafts(self) -> None:
        self.check_drafts(always=True)

    @work(thread=True, exclusive=True, exit_on_error=False, group="drafts")
    def check_drafts(self, always: bool = False) -> None:
        drafts = [d for d in self.ctx.ledger.open_drafts(self.ctx.operator.id) if d.drill == self.ctx.drill]
        if drafts or always:
            self.post_message(self.DraftsFound(drafts))

    @on(DraftsFound)
    def _offer_drafts(self, message: DraftsFound) -> None:
        if not message.drafts:
            self.notify("開いている下書きはありません。", title="下書き", markup=False)
            return

        def restore(draft) -> None:
            template = self.ctx.templates.get(draft.template_id) if draft else None
            if draft is not None and template is None:
                self.notify(f"下書きのテンプレート {draft.template_id} が見つかりません。", severity="error", markup=False)
            elif draft is not None and draft.purpose is not None:
                # A checklist item's post: its checklist opens it, by the item's rules.
                self.app.open_checklist(draft.purpose.checklist_id, draft=draft)
            elif draft is not None:
                self.open_template(template, values=draft.values, draft_id=draft.id,
                                   with_versions=draft.with_versions)

        self.app.open_drafts(message.drafts, restore)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "approvals":
            return self.app.is_approver  # not an approver: the key is not shown at all
        if action == "account":
            return len(self.ctx.settings.accounts) > 1  # one account: nothing to switch to
        return True

    def action_account(self) -> None:
        self.app.open_account_switch()

    # -- approvals (承認者) ------------------------------------------------------

    def action_approvals(self) -> None:
        self.app.action_approvals()

    def _show_approvals(self, _value: object = None) -> None:
        department = self.ctx.operator.department
        requests = len(self.app.approval_requests)
        post_hoc = sum(1 for p in self.app.post_hoc_posts if p.department == department)
        title = "最近の投稿 (全職員)"
        if self.app.is_approver and (requests or post_hoc):
            title += f"   承認依頼 {requests} 件・事後承認待ち {post_hoc} 件: F7 (Ctrl+Y)"
        if self._credentials_notice:
            title += f"   {self._credentials_notice}"
        self.query_one("#recent-title", Static).update(title)

    # -- the board (発令中) and the open follow-ups ---------------------------------

    def _show_board(self, _value: object = None) -> None:
        board, follow = self.app.board, self.app.open_followups
        panel = self.query_one("#board-panel")
        panel.display = bool(board or follow)
        if not panel.display:
            return
        now = self.ctx.now()
        options: list[Option] = []
        for index, line in enumerate(board):
            place = line.place or "(場所の記録なし)"
            head = f"{line.title}  {place}"
            label = Text(first_line(head, 60), style="bold")
            label.append(f"  {short_time(line.since, now)}から")
            options.append(Option(label, id=f"line-{index}"))
        for item in follow:
            missing = "、".join(item.missing)
            head = f"連絡未了 #{item.post.id} {first_line(item.post.text, 24)}  未: "
            options.append(Option(head + first_line(missing, 74 - cell_len(head)), id=f"{FOLLOWUP_PREFIX}{item.post.id}"))
        listing = self.query_one("#board", BoardList)
        highlighted = listing.highlighted
        listing.set_options(options)
        if options:
            listing.highlighted = min(highlighted or 0, len(options) - 1)
        title = f"発令中 {len(board)} 件" if board else "発令中なし"
        if follow:
            title += f"・他の媒体への連絡が未了 {len(follow)} 件"
        hidden = len(options) - BOARD_ROWS
        if hidden > 0:
            title += f" (他 {hidden} 件)"
        title += "   Tab で選び k: 解除 / Enter: 開く"
        self.query_one("#board-title", Static).update(title)  # one line: cut at the edge

    @on(OptionList.OptionSelected, "#board")
    def _board_selected(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or ""
        if option_id.startswith(FOLLOWUP_PREFIX):
            self.app.open_post(int(option_id.removeprefix(FOLLOWUP_PREFIX)))
        else:
            self.action_lift()

    def action_lift(self) -> None:
        """The highlighted order's lift template, prefilled (解除の投稿)."""
        option = self.query_one("#board", BoardList).highlighted_option
        if option is None or not (option.id or "").startswith("line-"):
            self.app.bell()
            return
        index = int(option.id.removeprefix("line-"))
        if index < len(self.app.board):
            self.app.open_lift(self.app.board[index])

    # -- recent posts -----------------------------------------------------------

    def _show_recent(self, posts: tuple) -> None:
        if not posts:
            self.query_one("#recent-list", Static).update("まだ投稿はありません。")
            return
        from dutypost.core.ledger import POST_STATE_LABELS  # the ledger is opened after the first frame

        now = self.ctx.now()
        lines = Text()
        for post in posts[:RECENT_ROWS]:
            who = self.ctx.settings.operator(post.operator)
            name = who.name.split()[0] if who else post.operator
            state = POST_STATE_LABELS.get(post.state, post.state)
            head = f"{short_time(post.created_at, now):>10} {state}{' ' * (8 - cell_len(state))} {name} "
            lines.append(head)
            lines.append(first_line(post.text, 78 - cell_len(head)))
            lines.append("\n")
        lines.rstrip()
        self.query_one("#recent-list", Static).update(lines)
