"""The dutypost app (当直用の投稿画面): built by :func:`make_app`, run by :func:`run`.

The CLI (``dutypost``, ``dutypost --demo``), the tests and the benchmarks all build the
app with :func:`make_app`. The app holds what every screen's status bar shows, refreshed
by thread workers that never touch widgets (they post messages; handlers change state):

- the X connection, opened ahead of the first publish (接続済み / 未接続);
- the ledger's recent posts, outbox, 事後承認待ち and — for an approver (承認者) — the
  department's pending approval requests (承認依頼), every second (cheap queries); a new
  request is announced on whatever screen the approver is on;
- what is in force (発令中) and the emergency posts whose follow-up on other channels is
  open, every two seconds;
- the clock and the working-hours status, once a minute.

Notices collected before the screen came up (``ctx.notices``, e.g. a non-UTF-8 locale)
are shown as notifications that stay long enough to be read.

Idle, the app writes nothing to the terminal: no blinking cursor, no redraw unless
something changed (a poll that finds nothing new changes nothing).

The app owns navigation: every screen and dialog is opened by one of its ``open_…``
methods (``open_compose``, ``open_review``, ``open_post``, ``open_history``,
``open_checklist``, …), which import the screen's module when it is first needed. Screens
and dialogs never import one another (tests/test_structure.py).
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from typing import TYPE_CHECKING, Callable, Iterable

from textual import on, work
from textual.app import App, SystemCommand
from textual.command import CommandInput, CommandPalette
from textual.binding import Binding
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.scrollbar import ScrollBar, ScrollBarRender

from dutypost.core.context import DutyContext
from dutypost.tui import paste
from dutypost.tui.keys import DECLARED_KEYS, bind, display_keys

if TYPE_CHECKING:
    from textual.widget import AwaitMount

    from dutypost.core.checklists import ChecklistItem
    from dutypost.core.gate import HoursStatus
    from dutypost.core.ledger import ApprovalRequest, Draft, DraftPurpose, Post
    from dutypost.core.publish import Composition
    from dutypost.core.templates import Template
    from dutypost.tui.widgets.post_view import Notice

LEDGER_POLL_SECONDS = 1.0
BOARD_POLL_SECONDS = 2.0
#: The board is read again after this long even when the ledger did not change.
BOARD_REFRESH_SECONDS = 60.0
RECENT_POSTS = 8
#: The most outbox entries the poll reads (the status bar counts them all).
OUTBOX_SHOWN = 200
NOTICE_SECONDS = 30
SLOW_LINK_THEME = "ansi-dark"


class CellSafeScrollBarRender(ScrollBarRender):
    """Scrollbars drawn with spaces only: the eighth-block glyphs are ambiguous-width."""

    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


ScrollBar.renderer = CellSafeScrollBarRender
paste.install()  # a bracketed paste is read verbatim: no key, no binding from inside it


class DutyCommandPalette(CommandPalette):
    """Textual's palette, in Japanese and without a blinking cursor (bytes over SSH)."""

    def on_mount(self) -> None:
        self.query_one(CommandInput).cursor_blink = False


class DutypostApp(App[int]):
    CSS_PATH = "dutypost.tcss"
    TITLE = "dutypost"
    INHERIT_BINDINGS = False
    BINDINGS = [
        bind("f1,ctrl+g", "help", "ヘルプ", "help"),
        bind("ctrl+p", "command_palette", "コマンド", "command-palette", show=False, priority=True),
        bind("ctrl+q", "quit", "終了", "quit", show=False, priority=True),
        # Priority: a text field's own Ctrl+C (copy) would otherwise swallow the hint.
        Binding("ctrl+c", "ctrl_c", show=False, system=True, priority=True),
    ]

    # Shared state the screens watch. ``var``, not ``reactive``: a change must redraw only
    # the widgets that show it, never the whole screen (that is kilobytes over SSH).
    minute: var[int] = var(0)
    hours: var["HoursStatus | None"] = var(None)
    x_connected: var[bool | None] = var(None)
    #: Why X is 未接続, in a few words (認証情報なし, 401 認証エラー, 接続できません, …); "" when fine.
    x_problem: var[str] = var("")
    outbox_count: var[int] = var(0)
    post_hoc_count: var[int] = var(0)
    recent_posts: var[tuple] = var(())
    outbox_posts: var[tuple] = var(())
    #: Overridden posts awaiting 事後承認 (all departments), oldest first.
    post_hoc_posts: var[tuple] = var(())
    #: Pending 承認依頼 of this approver's department (empty for non-approvers).
    approval_requests: var[tuple] = var(())
    #: What is in force (発令中) in this mode, oldest first (core.in_force.InForce).
    board: var[tuple] = var(())
    #: Emergency posts of this mode whose follow-up on other channels is open (core.followups.Followup).
    open_followups: var[tuple] = var(())
    #: This operator's active override session (緊急オーバーライドの時間枠), or None.
    override_session: var[object | None] = var(None)

    class LedgerPolled(Message):
        def __init__(self, recent: tuple, outbox: tuple, post_hoc: tuple, requests: tuple,
                     outbox_count: int, session: object | None = None) -> None:
            super().__init__()
            self.recent = recent
            self.outbox = outbox
            self.post_hoc = post_hoc
            self.requests = requests
            self.outbox_count = outbox_count
            self.session = session

    class LedgerFailed(Message):
        """The ledger cannot be used (damaged, a folder, unwritable, full, locked, newer)."""

        def __init__(self, error) -> None:
            super().__init__()
            self.error = error

    class BoardPolled(Message):
        def __init__(self, board: tuple, followups: tuple) -> None:
            super().__init__()
            self.board = board
            self.followups = followups

    class XChecked(Message):
        def __init__(self, connected: bool, problem: str = "") -> None:
            super().__init__()
            self.connected = connected
            self.problem = problem

    class ChecklistStarted(Message):
        def __init__(self, checklist_id: int) -> None:
            super().__init__()
            self.checklist_id = checklist_id

    class HoursChecked(Message):
        def __init__(self, status: "HoursStatus") -> None:
            super().__init__()
            self.status = status

    def __init__(self, ctx: DutyContext, *, slow_link: bool = False) -> None:
        # ANSI colours go out as ANSI codes, so the mode bands are the terminal's own red and
        # yellow (in 16 colours too), not a theme's orange rounded to red.
        super().__init__(ansi_color=True)
        self.ctx = ctx
        self.slow_link = slow_link
        #: Held by a worker while a request that publishes is in flight; :func:`run` waits
        #: for it before the context (ledger, X client) is closed.
        self.sending = threading.Lock()
        self._announced_requests: set[int] = set()
        self._background_started = False
        #: The ledger's change token at the last poll (see :meth:`poll_ledger`).
        self._ledger_token: tuple | None = None
        self._board_token: tuple | None = None
        self._board_read_at = 0.0
        self.ledger_failed = False
        self._account_probed = False  # the account check (users/me) is tried once per process
        self._account_problem = ""  # what it, or a publish, learned: kept until a post goes out
        if slow_link:
            self.theme = SLOW_LINK_THEME
        else:
            from dutypost.core.tui_state import saved_theme

            theme = saved_theme(ctx.settings)
            if theme and theme in self.available_themes:
                self.theme = theme
        self.set_keymap(ctx.settings.tui.keymap)

    # -- start-up ------------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        """Home is the bottom of the screen stack, drawn first: not pushed over an empty
        default screen, which would cost start-up a screen of its own."""
        from dutypost.tui.screens.home import HomeScreen

        return HomeScreen()

    def on_mount(self) -> None:
        if not self.slow_link:  # the slow-link theme is the link's, not a choice to keep
            self.theme_changed_signal.subscribe(self, self._keep_theme)
        for notice in self.ctx.notices:
            self.notify(notice, title="お知らせ", severity="warning", timeout=NOTICE_SECONDS, markup=False)
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._hang_up)
        except (NotImplementedError, RuntimeError, AttributeError):
            pass  # no SIGHUP on this platform, or not the main thread

    def start_background_work(self) -> None:
        """Called by the home screen once it has been drawn: the workers' imports (httpx,
        pydantic for the credentials, holidays) and I/O would only delay the first frame."""
        if self._background_started:
            return
        self._background_started = True
        self.warm_x()
        self.check_recovery()
        self._check_hours()
        self.poll_ledger()
        self.set_interval(LEDGER_POLL_SECONDS, self.poll_ledger)
        self.poll_board()
        self.set_interval(BOARD_POLL_SECONDS, self.poll_board)
        self._schedule_tick()

    # -- after a restore on the standby (issue 16) ------------------------------------------

    class RecoveryNeeded(Message):
        def __init__(self, restored_at: str, backup: str = "") -> None:
            super().__init__()
            self.restored_at = restored_at
            self.backup = backup  # the backup file it was restored from; "" for the standby's replica

    @work(thread=True, exclusive=True, exit_on_error=False, group="recovery")
    def check_recovery(self) -> None:
        """A ledger restored from a replica may lack posts that reached X just before the
        primary died, one restored from a backup those after the backup: offer ``recover``
        before anything else is posted."""
        from dutypost.core.standby import needs_recovery, restored_marker

        ledger = self.ctx.ledger
        if needs_recovery(ledger):
            marker = restored_marker(ledger) or {}
            backup = str(marker.get("from") or "") if marker.get("source") == "backup" else ""
            self.post_message(self.RecoveryNeeded(str(marker.get("at", ""))[:16].replace("T", " "), backup))

    @on(RecoveryNeeded)
    def _offer_recovery(self, message: RecoveryNeeded) -> None:
        from dutypost.tui.modals.recovery import RecoveryModal

        def chosen(run: bool | None) -> None:
            if run:
                self.run_recovery()
            else:
                self.notify("復旧後の取り込みをあとにしました。投稿の前に dutypost recover を実行してください。",
                            title="復元した記録", severity="warning", markup=False)

        self.push_screen(RecoveryModal(message.restored_at, backup=message.backup), chosen)

    @work(thread=True, exclusive=True, exit_on_error=False, group="recovery")
    def run_recovery(self) -> None:
        from dutypost.core.errors import DutypostError
        from dutypost.core.recover import recover

        try:
            report = recover(self.ctx)
        except DutypostError as exc:
            self.call_from_thread(self.notify, f"{exc.message}\n{exc.hint}".strip(), title="復旧後の取り込み",
                                  severity="error", timeout=NOTICE_SECONDS, markup=False)
            return
        words = (f"X のタイムライン {report.timeline_count} 件を確かめ、記録になかった投稿 {len(report.recovered)} 件を"
                 f"取り込みました。結果不明の照合 {len(report.reconciled)} 件。")
        if report.skipped:
            words += f" まだ照合できない投稿が {len(report.skipped)} 件あります (送信待ちで確かめてください)。"
        self.call_from_thread(self.notify, words, title="復旧後の取り込み", timeout=NOTICE_SECONDS, markup=False)
        self.call_from_thread(self.poll_ledger)

    def on_unmount(self) -> None:
        try:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        except (NotImplementedError, RuntimeError, AttributeError):
            pass

    def _hang_up(self) -> None:
        """The SSH session dropped: leave cleanly. A publish in flight runs to its end
        (:func:`run` waits for it), so it is sent or left 結果不明 for the next session to
        reconcile; the draft being typed is saved as the screens unmount."""
        self.exit(return_code=129)

    # -- shared state, from thread workers -------------------------------------------------

    @property
    def is_approver(self) -> bool:
        return "approver" in self.ctx.operator.roles

    @work(thread=True, exclusive=True, exit_on_error=False, group="x")
    def warm_x(self) -> None:
        """Open (or keep open) the connection to X, so a publish is one round trip, and say
        why X cannot be used when it cannot: no credentials, unreachable, and — once per
        process, from the account check (``users/me``, cached per token, so not on every
        start) — a 401, spent credits or another account's token."""
        from dutypost.core.errors import DutypostError
        from dutypost.tui.words import x_problem_text

        try:
            connected = self.ctx.x_client().warm()
            if connected and not self._account_probed:
                self._account_probed = True
                try:
                    self.ctx.check_account()
                except DutypostError as exc:
                    self._account_problem = x_problem_text(exc) or self._account_problem
            problem = "" if connected else "接続できません"
            problem = problem or self._account_problem
        except DutypostError as exc:
            problem = x_problem_text(exc) or "設定の誤り"
        self.post_message(self.XChecked(not problem, problem))

    @on(XChecked)
    def _x_checked(self, message: XChecked) -> None:
        self.x_problem = message.problem
        self.x_connected = message.connected

    def note_x_problem(self, problem: str, *, sent: bool = False) -> None:
        """What a publish learned about X: a reason it cannot be used (kept until a post
        goes out), or — ``sent`` — that it can."""
        if sent:
            self._account_problem = ""
        elif problem:
            self._account_problem = problem
        else:
            return
        self.x_problem = self._account_problem
        self.x_connected = not self._account_problem

    @work(thread=True, exclusive=True, exit_on_error=False, group="ledger-poll")
    def poll_ledger(self) -> None:
        """Read what the status bar and home show, only when the ledger changed since the
        last poll (``PRAGMA data_version``): an idle session costs one cheap statement a
        second. Counts and the newest rows only, so the cost does not grow with the years."""
        from dutypost.core.errors import DutypostError
        from dutypost.core.ledger import OUTBOX_STATES

        if self.ledger_failed:
            return
        try:
            ledger = self.ctx.ledger
            token = ledger.change_token()
            session = self.override_session
            expired = session is not None and self.ctx.now() >= session.until
            if token == self._ledger_token and not expired:
                return  # nothing changed (an override session ending with time is read again)
            recent = tuple(ledger.list_posts(limit=RECENT_POSTS))
            outbox = tuple(ledger.outbox(limit=OUTBOX_SHOWN))
            outbox_count = len(outbox) if len(outbox) < OUTBOX_SHOWN else ledger.count_posts(OUTBOX_STATES)
            post_hoc = tuple(reversed(ledger.awaiting_post_hoc_approval()))
            requests = (tuple(ledger.pending_approval_requests(self.ctx.operator.department))
                        if self.is_approver else ())
            session = ledger.active_override_session(self.ctx.operator.id, self.ctx.now(), self.ctx.drill)
        except DutypostError as exc:
            self.post_message(self.LedgerFailed(exc))
            return
        self._ledger_token = token
        self.post_message(self.LedgerPolled(recent, outbox, post_hoc, requests, outbox_count, session))

    @on(LedgerFailed)
    def _ledger_failed(self, message: LedgerFailed) -> None:
        from dutypost.tui.screens.fault import LedgerFaultScreen

        if not self.ledger_failed:
            self.ledger_failed = True
            self.push_screen(LedgerFaultScreen(message.error))

    @on(LedgerPolled)
    def _ledger_polled(self, message: LedgerPolled) -> None:
        self.recent_posts = message.recent
        self.outbox_posts = message.outbox
        self.outbox_count = message.outbox_count
        self.post_hoc_posts = message.post_hoc
        self.post_hoc_count = len(message.post_hoc)
        self.approval_requests = message.requests
        self.override_session = message.session
        self._announce_requests(message.requests)

    @work(thread=True, exclusive=True, exit_on_error=False, group="board-poll")
    def poll_board(self) -> None:
        """What is in force (発令中) and the open follow-ups, for Home."""
        from dutypost.core.followups import open_followups
        from dutypost.core.in_force import in_force

        from dutypost.core.errors import DutypostError

        if self.ledger_failed:
            return
        ctx = self.ctx
        try:
            # Like the ledger poll, one cheap statement while nothing changed; read again at
            # least every BOARD_REFRESH_SECONDS, since follow-ups close with time alone.
            token = ctx.ledger.change_token()
            moment = time.monotonic()
            if token == self._board_token and moment - self._board_read_at < BOARD_REFRESH_SECONDS:
                return
            board = tuple(in_force(ctx.ledger, ctx.templates, drill=ctx.drill))
            follow = tuple(open_followups(ctx.ledger, ctx.settings, ctx.templates, drill=ctx.drill, now=ctx.now()))
        except DutypostError as exc:
            self.post_message(self.LedgerFailed(exc))
            return
        self._board_token, self._board_read_at = token, moment
        self.post_message(self.BoardPolled(board, follow))

    @on(BoardPolled)
    def _board_polled(self, message: BoardPolled) -> None:
        if message.board != self.board:
            self.board = message.board
        if [(f.post.id, f.missing) for f in message.followups] != [(f.post.id, f.missing) for f in self.open_followups]:
            self.open_followups = message.followups

    def _announce_requests(self, requests: tuple) -> None:
        """A request from someone else, seen for the first time: say so on any screen."""
        new = [r for r in requests if r.id not in self._announced_requests and r.requested_by != self.ctx.operator.id]
        if not new:
            return
        from dutypost.tui.screens.approvals import ApprovalsScreen

        self._announced_requests.update(r.id for r in new)
        if isinstance(self.screen, ApprovalsScreen):
            return
        names = "、".join(dict.fromkeys(self.operator_name(r.requested_by) for r in new))
        self.notify(f"{names}さんから承認依頼が {len(new)} 件届きました。F7 (Ctrl+Y) で承認の画面を開きます (ホームから)。",
                    title="承認依頼", timeout=NOTICE_SECONDS, markup=False)

    def operator_name(self, operator_id: str) -> str:
        operator = self.ctx.settings.operator(operator_id)
        return operator.name if operator else operator_id

    @work(thread=True, exclusive=True, exit_on_error=False, group="hours")
    def _check_hours(self) -> None:
        from dutypost.core.gate import hours_status  # off the start-up path: it is not needed for the first frame

        self.post_message(self.HoursChecked(hours_status(self.ctx.now(), self.ctx.hours)))

    @on(HoursChecked)
    def _hours_checked(self, message: HoursChecked) -> None:
        self.hours = message.status

    def _schedule_tick(self) -> None:
        self.set_timer(60 - time.time() % 60 + 0.05, self._tick)

    def _tick(self) -> None:
        self.minute += 1
        self._check_hours()
        self.warm_x()  # X drops an idle connection after two minutes; keep it open
        self._schedule_tick()

    # -- keys, help and commands -----------------------------------------------------------

    def get_key_display(self, binding: Binding) -> str:
        keys = self._keymap.get(binding.id or "") or DECLARED_KEYS.get(binding.id or "")
        return display_keys(keys) if keys else super().get_key_display(binding)

    def action_help(self) -> None:
        from dutypost.tui.modals.help import HelpModal

        if not isinstance(self.screen, HelpModal):
            self.push_screen(HelpModal(self.screen))

    def action_command_palette(self) -> None:
        if not CommandPalette.is_open(self):
            self.push_screen(DutyCommandPalette(id="--command-palette",
                                                placeholder="コマンドを検索 (例: 送信待ち、下書き、ヘルプ)"))

    def action_ctrl_c(self) -> None:
        """Ctrl+C never quits (a reflex at 03:00 must not lose the screen): it copies the
        selected text of a field, as the field would, and says how to quit."""
        from textual.widgets import Input

        focused = self.focused
        if isinstance(focused, Input) and not focused.selection.is_empty:
            focused.action_copy()
        self.notify("終了は Ctrl+Q です (Ctrl+C では終了しません)。", title="Ctrl+C", markup=False)

    def action_outbox(self) -> None:
        self.open_outbox()

    def action_drafts(self) -> None:
        from dutypost.tui.screens.home import HomeScreen

        self.go_home()
        home = self.screen
        if isinstance(home, HomeScreen):
            home.action_drafts()

    def action_history(self) -> None:
        self.open_history()

    def action_checklists(self) -> None:
        self.open_checklists()

    def action_approvals(self) -> None:
        self.open_approvals()

    def action_handover(self) -> None:
        self.open_handover()

    def _keep_theme(self, theme) -> None:
        from dutypost.core.tui_state import save_theme

        save_theme(self.ctx.settings, theme.name)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("ヘルプ (F1)", "この画面の説明とキーの一覧", self.action_help)
        yield SystemCommand("ホームへ", "テンプレートの一覧に戻る (書きかけは下書きに残ります)", self.go_home)
        yield SystemCommand("送信待ち (F3)", "失敗・結果不明の投稿の一覧", self.action_outbox)
        yield SystemCommand("下書き (F4)", "書きかけの下書きを開く", self.action_drafts)
        yield SystemCommand("履歴 (F5)", "全職員の投稿の一覧。訂正・お詫び、様式第1号", self.action_history)
        yield SystemCommand("チェックリスト (F6)", "訂正・お詫び、炎上、なりすまし、運用停止", self.action_checklists)
        yield SystemCommand("引き継ぎ (F8)", "引き継ぎをファイルに書き出して表示する", self.action_handover)
        if self.is_approver:
            yield SystemCommand("承認 (F7)", "承認依頼と事後承認待ちの一覧", self.action_approvals)
        yield SystemCommand("テーマを変える", "画面の色を変える", self.action_change_theme)
        yield SystemCommand("終了 (Ctrl+Q)", "dutypost を終了する", self.action_quit)

    # -- navigation: every screen and dialog is opened here ------------------------------

    def open_compose(self, template: Template, *, values: dict[str, str] | None = None,
                     draft_id: str | None = None, purpose: DraftPurpose | None = None,
                     with_versions: bool = False) -> AwaitMount:
        """The compose screen (作成) for ``template``; ``purpose`` when it is a checklist item's post;
        ``with_versions`` when its versions (やさしい日本語・English) are added (a restored draft)."""
        from dutypost.tui.screens.compose import ComposeScreen

        return self.push_screen(ComposeScreen(template, values=values, draft_id=draft_id, purpose=purpose,
                                              with_versions=with_versions))

    def open_review(self, template: Template, composition: Composition, *, draft_id: str,
                    purpose: DraftPurpose | None = None, images: tuple = ()) -> AwaitMount:
        """The review screen (確認) of a composed post, with the purpose it is made for and
        its images (``core.media.PostImage``, each with its alt text)."""
        from dutypost.tui.screens.review import ReviewScreen

        return self.push_screen(ReviewScreen(template, composition, draft_id=draft_id, purpose=purpose,
                                             images=images))

    def open_post(self, post_id: int, notice: Notice | None = None, *, start: str | None = None) -> AwaitMount:
        """A post's screen (投稿の結果); ``start`` is an action to run once it is loaded."""
        from dutypost.tui.screens.post import PostScreen

        return self.push_screen(PostScreen(post_id, notice, start=start))

    def open_post_detail(self, post_id: int) -> AwaitMount:
        """History's detail of one post (投稿の詳細)."""
        from dutypost.tui.screens.history import PostDetailScreen

        return self.push_screen(PostDetailScreen(post_id))

    def open_outbox(self) -> None:
        from dutypost.tui.screens.outbox import OutboxScreen

        self.push_screen(OutboxScreen())

    def open_history(self) -> None:
        from dutypost.tui.screens.history import HistoryScreen

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())

    def open_approvals(self) -> None:
        from dutypost.tui.screens.approvals import ApprovalsScreen

        if not self.is_approver:
            self.notify(f"{self.ctx.operator.name}さんには承認者の役割がありません。", title="承認",
                        severity="warning", markup=False)
        elif not isinstance(self.screen, ApprovalsScreen):
            self.push_screen(ApprovalsScreen())

    def open_checklists(self) -> None:
        """The checklists menu: resume an open checklist, or start one."""
        from dutypost.tui.modals.checklist_menu import ChecklistMenuModal

        if not isinstance(self.screen, ChecklistMenuModal):
            self.push_screen(ChecklistMenuModal())

    def open_checklist(self, checklist_id: int, *, draft: Draft | None = None) -> None:
        """One checklist; ``draft`` is a restored draft of one of its posts, opened once loaded."""
        from dutypost.tui.screens.checklist import ChecklistScreen

        self.push_screen(ChecklistScreen(checklist_id, draft=draft))

    def start_checklist(self, kind: str, post_id: int | None) -> None:
        """Open the open checklist of ``kind`` about ``post_id`` (from any session), or a new one."""
        self._start_checklist(kind, post_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="checklist-start")
    def _start_checklist(self, kind: str, post_id: int | None) -> None:
        from dutypost.core import checklists
        from dutypost.core.errors import DutypostError

        ledger = self.ctx.ledger
        try:
            found = ([c.id for c in checklists.open_checklists(ledger, post_id) if c.kind == kind]
                     if post_id is not None else [])
            checklist_id = found[0] if found else checklists.start(ledger, kind=kind, operator=self.ctx.operator.id,
                                                                   post_id=post_id)
        except DutypostError as exc:
            self.notify(exc.message, title=checklists.TITLES.get(kind, "チェックリスト"), severity="error",
                        markup=False)
            return
        self.post_message(self.ChecklistStarted(checklist_id))

    @on(ChecklistStarted)
    def _checklist_started(self, message: ChecklistStarted) -> None:
        self.open_checklist(message.checklist_id)

    def open_lift(self, line) -> AwaitMount | None:
        """The lift template of a line of the board (発令中), prefilled: the place, the kind."""
        from dutypost.core.in_force import lift_values

        lift = self.ctx.templates.get(line.lift_template) if line.lift_template else None
        if lift is None:
            self.notify(f"{line.title} を解除するテンプレートがありません。", severity="error", markup=False)
            return None
        return self.open_compose(lift, values=lift_values(line, lift))

    def open_handover(self) -> None:
        """The handover page (引き継ぎ), written to a file and shown."""
        from dutypost.tui.screens.handover import HandoverScreen

        if not isinstance(self.screen, HandoverScreen):
            self.push_screen(HandoverScreen())

    def open_note(self, label: str, callback: Callable) -> None:
        """A short note (メモ), e.g. why a channel or a checklist item is not applicable (対象外)."""
        from dutypost.tui.modals.checklist_items import TextModal

        self.push_screen(TextModal(label, ""), callback)

    def open_drafts(self, drafts: list, callback: Callable) -> None:
        """The open drafts (下書き) to restore or discard."""
        from dutypost.tui.modals.drafts import DraftsModal

        self.push_screen(DraftsModal(drafts), callback)

    def open_approval(self, callback: Callable, *, department: str | None = None) -> None:
        """Record a verbal approval (電話・対面) by an approver of ``department`` (the issuing
        department, 情報配信部署; default: the operator's own)."""
        from dutypost.tui.modals.approval import ApprovalModal

        self.push_screen(ApprovalModal(department), callback)

    def open_override(self, callback: Callable, *, category: str | None = None) -> AwaitMount:
        """The emergency override (緊急オーバーライド); ``category`` is highlighted first."""
        from dutypost.tui.modals.override import OverrideModal

        return self.push_screen(OverrideModal(category=category), callback)

    def open_account_switch(self) -> None:
        """Switch the account posts go to (アカウントの切り替え), confirmed with F10 in a dialog."""
        from dutypost.tui.modals.account import AccountModal

        if not isinstance(self.screen, AccountModal):
            self.push_screen(AccountModal(), self._account_chosen)

    def _account_chosen(self, account_id: str | None) -> None:
        if not account_id or account_id == self.ctx.account.id:
            return
        from dutypost.tui.widgets.status import StatusTop

        self.ctx.select_account(account_id)
        for screen in self.screen_stack:
            for top in screen.query(StatusTop):
                top.show_account(self.ctx)
        self.x_connected = None
        self.warm_x()  # the new account's credentials
        self._check_hours()  # the new account's hours
        self.notify(f"投稿するアカウントを {self.ctx.account_label} に切り替えました。", title="アカウント",
                    severity="warning", markup=False)

    def open_cancel(self, post: Post, callback: Callable) -> None:
        """Cancel a post (取消) with a reason."""
        from dutypost.tui.modals.cancel import CancelModal

        self.push_screen(CancelModal(post), callback)

    def open_form(self, post_id: int, callback: Callable) -> None:
        """Write 様式第1号 (更新伺) of a post."""
        from dutypost.tui.modals.form import FormModal

        self.push_screen(FormModal(post_id), callback)

    def open_decision(self, request: ApprovalRequest, callback: Callable) -> None:
        """Approve or send back an in-app approval request (承認 / 差し戻し)."""
        from dutypost.tui.modals.decision import DecisionModal

        self.push_screen(DecisionModal(request), callback)

    def open_sign_off(self, post: Post, callback: Callable) -> None:
        """Sign off an overridden post (事後承認)."""
        from dutypost.tui.modals.decision import SignOffModal

        self.push_screen(SignOffModal(post), callback)

    def open_item_dialog(self, item: ChecklistItem, value: dict | None, callback: Callable) -> None:
        """The dialog that records a text, choice or who-and-when item of a checklist."""
        from dutypost.tui.modals.checklist_items import ChoiceModal, TextModal, WhoWhenModal

        if item.kind == "text":
            modal = TextModal(item.label, (value or {}).get("text", ""))
        elif item.kind == "choice":
            modal = ChoiceModal(item.label, item.choices, value)
        else:
            modal = WhoWhenModal(item.label, value)
        self.push_screen(modal, callback)

    def open_original_choice(self, callback: Callable) -> None:
        """What happens to a checklist's original post: kept, or its deletion asked for."""
        from dutypost.tui.modals.checklist_items import OriginalModal

        self.push_screen(OriginalModal(), callback)

    def open_delete_confirm(self, original: Post | None, value: dict, callback: Callable) -> None:
        """The separate confirmation of the original post's deletion."""
        from dutypost.tui.modals.checklist_items import DeleteConfirmModal

        self.push_screen(DeleteConfirmModal(original, value), callback)

    def go_home(self) -> None:
        from dutypost.tui.screens.home import HomeScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()

    def go_back_to(self, screen: Screen | None) -> None:
        """Pop screens until ``screen`` is on top; home when it is not in the stack."""
        if screen is None or screen not in self.screen_stack:
            self.go_home()
            return
        while self.screen is not screen:
            self.pop_screen()

    def _checklist_screen(self, checklist_id: int) -> Screen | None:
        """The checklist's screen in the stack, if it is open (the newest one)."""
        from dutypost.tui.screens.checklist import ChecklistScreen

        return next((s for s in reversed(self.screen_stack)
                     if isinstance(s, ChecklistScreen) and s.checklist_id == checklist_id), None)

    def show_outcome(self, outcome, *, purpose: DraftPurpose | None = None) -> None:
        """After a publish: back to the checklist the post was made for (``purpose``) or
        home, then the post's result screen on top of it."""
        from dutypost.tui.widgets.post_view import Notice

        if outcome.state == "sent":
            headline = "訓練投稿を練習サーバーに送りました。" if self.ctx.drill else "本番アカウントに投稿しました。"
            notice = Notice(headline, outcome.detail)
        elif outcome.state == "unknown":
            detail = "再送はしないでください。F5 (Ctrl+R) でタイムラインを照合します。"
            notice = Notice(outcome.message, "\n".join(filter(None, (detail, outcome.detail))), error=True)
        else:
            notice = Notice(outcome.message, "\n".join(filter(None, (outcome.hint, outcome.detail))), error=True)
        self.go_back_to(self._checklist_screen(purpose.checklist_id) if purpose is not None else None)
        self.open_post(outcome.post_id, notice)
        self.poll_ledger()
        self.poll_board()


def make_app(ctx: DutyContext, *, slow_link: bool = False) -> DutypostApp:
    """The one factory: the CLI, ``--demo``, the tests and the benchmarks all use it."""
    return DutypostApp(ctx, slow_link=slow_link)


def run(ctx: DutyContext, *, slow_link: bool = False) -> int:
    """Run the TUI until the operator quits; returns the exit code.

    A publish still in flight when the app exits (Ctrl+Q, a dropped SSH session) is waited
    for, so the caller does not close the ledger or the X client under it.
    """
    app = make_app(ctx, slow_link=slow_link)
    app.run(mouse=not slow_link)
    if app.sending.acquire(timeout=2 * ctx.settings.x.timeout_seconds + 5):
        app.sending.release()
    return app.return_code or 0
