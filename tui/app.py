"""The dutypost app (当直用の投稿画面): built by :func:`make_app`, run by :func:`run`.

The CLI (``dutypost``, ``dutypost --demo``), the tests and the benchmarks all build the
app with :func:`make_app`. The app holds what every screen's status bar shows, refreshed
by thread workers that never touch widgets (they post messages; handlers change state):

- the X connection, opened ahead of the first publish (接続済み / 未接続);
- the ledger's recent posts, outbox, 事後承認待ち and — for an approver (承認者) — the
  department's pending approval requests (承認依頼), every second (cheap queries); a new
  request is announced on whatever screen the approver is on;
- the clock and the working-hours status, once a minute.

Notices collected before the screen came up (``ctx.notices``, e.g. a non-UTF-8 locale)
are shown as notifications that stay long enough to be read.

Idle, the app writes nothing to the terminal: no blinking cursor, no redraw unless
something changed (a poll that finds nothing new changes nothing).
"""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from typing import TYPE_CHECKING, Iterable

from textual import on, work
from textual.app import App, SystemCommand
from textual.command import CommandInput, CommandPalette
from textual.binding import Binding
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.scrollbar import ScrollBar, ScrollBarRender

from dutypost.core.context import DutyContext
from dutypost.tui.keys import DECLARED_KEYS, bind, display_keys

if TYPE_CHECKING:
    from dutypost.core.gate import HoursStatus

LEDGER_POLL_SECONDS = 1.0
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
        Binding("ctrl+c", "ctrl_c", show=False, system=True),
    ]

    # Shared state the screens watch. ``var``, not ``reactive``: a change must redraw only
    # the widgets that show it, never the whole screen (that is kilobytes over SSH).
    minute: var[int] = var(0)
    hours: var["HoursStatus | None"] = var(None)
    x_connected: var[bool | None] = var(None)
    outbox_count: var[int] = var(0)
    post_hoc_count: var[int] = var(0)
    recent_posts: var[tuple] = var(())
    outbox_posts: var[tuple] = var(())
    #: Overridden posts awaiting 事後承認 (all departments), oldest first.
    post_hoc_posts: var[tuple] = var(())
    #: Pending 承認依頼 of this approver's department (empty for non-approvers).
    approval_requests: var[tuple] = var(())

    class LedgerPolled(Message):
        def __init__(self, recent: tuple, outbox: tuple, post_hoc: tuple, requests: tuple,
                     outbox_count: int) -> None:
            super().__init__()
            self.recent = recent
            self.outbox = outbox
            self.post_hoc = post_hoc
            self.requests = requests
            self.outbox_count = outbox_count

    class LedgerFailed(Message):
        """The ledger cannot be used (damaged, a folder, unwritable, full, locked, newer)."""

        def __init__(self, error) -> None:
            super().__init__()
            self.error = error

    class XChecked(Message):
        def __init__(self, connected: bool) -> None:
            super().__init__()
            self.connected = connected

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
        #: Posts being made for a checklist item, by draft id (see tui/checklist.py).
        self.checklist_posts: dict = {}
        self._announced_requests: set[int] = set()
        self._background_started = False
        #: The ledger's change token at the last poll (see :meth:`poll_ledger`).
        self._ledger_token: tuple | None = None
        self.ledger_failed = False
        if slow_link:
            self.theme = SLOW_LINK_THEME
        self.set_keymap(ctx.settings.tui.keymap)

    # -- start-up ------------------------------------------------------------------------

    def get_default_screen(self) -> Screen:
        """Home is the bottom of the screen stack, drawn first: not pushed over an empty
        default screen, which would cost start-up a screen of its own."""
        from dutypost.tui.home import HomeScreen

        return HomeScreen()

    def on_mount(self) -> None:
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
        self._check_hours()
        self.poll_ledger()
        self.set_interval(LEDGER_POLL_SECONDS, self.poll_ledger)
        self._schedule_tick()

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
        """Open (or keep open) the connection to X, so a publish is one round trip."""
        from dutypost.core.errors import DutypostError

        try:
            connected = self.ctx.x_client().warm()
        except DutypostError:
            connected = False  # no credentials: said again, in words, at publish time
        self.post_message(self.XChecked(connected))

    @on(XChecked)
    def _x_checked(self, message: XChecked) -> None:
        self.x_connected = message.connected

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
            if token == self._ledger_token:
                return
            recent = tuple(ledger.list_posts(limit=RECENT_POSTS))
            outbox = tuple(ledger.outbox(limit=OUTBOX_SHOWN))
            outbox_count = len(outbox) if len(outbox) < OUTBOX_SHOWN else ledger.count_posts(OUTBOX_STATES)
            post_hoc = tuple(reversed(ledger.awaiting_post_hoc_approval()))
            requests = (tuple(ledger.pending_approval_requests(self.ctx.operator.department))
                        if self.is_approver else ())
        except DutypostError as exc:
            self.post_message(self.LedgerFailed(exc))
            return
        self._ledger_token = token
        self.post_message(self.LedgerPolled(recent, outbox, post_hoc, requests, outbox_count))

    @on(LedgerFailed)
    def _ledger_failed(self, message: LedgerFailed) -> None:
        from dutypost.tui.fault import LedgerFaultScreen

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
        self._announce_requests(message.requests)

    def _announce_requests(self, requests: tuple) -> None:
        """A request from someone else, seen for the first time: say so on any screen."""
        new = [r for r in requests if r.id not in self._announced_requests and r.requested_by != self.ctx.operator.id]
        if not new:
            return
        from dutypost.tui.approvals import ApprovalsScreen

        self._announced_requests.update(r.id for r in new)
        if isinstance(self.screen, ApprovalsScreen):
            return
        names = "、".join(dict.fromkeys(self.operator_name(r.requested_by) for r in new))
        self.notify(f"{names} さんから承認依頼が {len(new)} 件届きました。F7 (Ctrl+Y) で承認の画面を開きます (ホームから)。",
                    title="承認依頼", timeout=NOTICE_SECONDS, markup=False)

    def operator_name(self, operator_id: str) -> str:
        operator = self.ctx.settings.operator(operator_id)
        return operator.name if operator else operator_id

    @work(thread=True, exclusive=True, exit_on_error=False, group="hours")
    def _check_hours(self) -> None:
        from dutypost.core.gate import hours_status  # off the start-up path: it is not needed for the first frame

        self.post_message(self.HoursChecked(hours_status(self.ctx.now(), self.ctx.settings.hours)))

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
        from dutypost.tui.help import HelpModal

        if not isinstance(self.screen, HelpModal):
            self.push_screen(HelpModal(self.screen))

    def action_command_palette(self) -> None:
        if not CommandPalette.is_open(self):
            self.push_screen(DutyCommandPalette(id="--command-palette",
                                                placeholder="コマンドを検索 (例: 送信待ち、下書き、ヘルプ)"))

    def action_ctrl_c(self) -> None:
        self.notify("終了は Ctrl+Q です。", title="Ctrl+C", markup=False)

    def action_outbox(self) -> None:
        from dutypost.tui.outbox import OutboxScreen

        self.push_screen(OutboxScreen())

    def action_drafts(self) -> None:
        from dutypost.tui.home import HomeScreen

        self.go_home()
        home = self.screen
        if isinstance(home, HomeScreen):
            home.action_drafts()

    def action_history(self) -> None:
        from dutypost.tui.history import HistoryScreen

        if not isinstance(self.screen, HistoryScreen):
            self.push_screen(HistoryScreen())

    def action_checklists(self) -> None:
        from dutypost.tui.checklist import ChecklistMenuModal

        if not isinstance(self.screen, ChecklistMenuModal):
            self.push_screen(ChecklistMenuModal())

    def action_approvals(self) -> None:
        from dutypost.tui.approvals import ApprovalsScreen

        if not self.is_approver:
            self.notify(f"{self.ctx.operator.name} さんには承認者の役割がありません。", title="承認",
                        severity="warning", markup=False)
        elif not isinstance(self.screen, ApprovalsScreen):
            self.push_screen(ApprovalsScreen())

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("ヘルプ (F1)", "この画面の説明とキーの一覧", self.action_help)
        yield SystemCommand("ホームへ", "テンプレートの一覧に戻る (書きかけは下書きに残ります)", self.go_home)
        yield SystemCommand("送信待ち (F3)", "失敗・結果不明の投稿の一覧", self.action_outbox)
        yield SystemCommand("下書き (F4)", "書きかけの下書きを開く", self.action_drafts)
        yield SystemCommand("履歴 (F5)", "全職員の投稿の一覧。訂正・お詫び、様式第1号", self.action_history)
        yield SystemCommand("チェックリスト (F6)", "訂正・お詫び、炎上、なりすまし、運用停止", self.action_checklists)
        if self.is_approver:
            yield SystemCommand("承認 (F7)", "承認依頼と事後承認待ちの一覧", self.action_approvals)
        yield SystemCommand("テーマを変える", "画面の色を変える", self.action_change_theme)
        yield SystemCommand("終了 (Ctrl+Q)", "dutypost を終了する", self.action_quit)

    # -- navigation ------------------------------------------------------------------------

    def go_home(self) -> None:
        from dutypost.tui.home import HomeScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()

    def go_back_to(self, screen: Screen | None) -> None:
        """Pop screens until ``screen`` is on top; home when it is not in the stack."""
        if screen is None or screen not in self.screen_stack:
            self.go_home()
            return
        while self.screen is not screen:
            self.pop_screen()

    def show_outcome(self, outcome, *, back_to: Screen | None = None) -> None:
        """After a publish: back to ``back_to`` (e.g. the checklist the post was made for)
        or home, then the post's result screen on top of it."""
        from dutypost.tui.post import Notice, PostScreen

        if outcome.state == "sent":
            headline = "訓練投稿を練習サーバーに送りました。" if self.ctx.drill else "本番アカウントに投稿しました。"
            notice = Notice(headline, outcome.detail)
        elif outcome.state == "unknown":
            detail = "再送はしないでください。F5 (Ctrl+R) でタイムラインを照合します。"
            notice = Notice(outcome.message, "\n".join(filter(None, (detail, outcome.detail))), error=True)
        else:
            notice = Notice(outcome.message, "\n".join(filter(None, (outcome.hint, outcome.detail))), error=True)
        self.go_back_to(back_to)
        self.push_screen(PostScreen(outcome.post_id, notice))
        self.poll_ledger()


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
