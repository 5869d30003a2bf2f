"""The status bar (状態表示): mode, account, operator, clock, hours, X, outbox, 事後承認待ち,
and the operator's override session (緊急オーバーライド中, with its end time) when one runs.

Two lines at the top of every screen. The mode sign is text first — 「!! 本番 LIVE !!」 or
「【訓練 DRILL】」 — so it reads without colour; the colour (red for live, yellow for
drill) only repeats it. The clock shows minutes and is redrawn once a minute: every
redraw is bytes on an SSH link.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from dutypost.tui.words import clock_text, short_time

LIVE_SIGN = "!! 本番 LIVE !!"
DRILL_SIGN = "【訓練 DRILL】"


def mode_sign(drill: bool) -> str:
    return DRILL_SIGN if drill else LIVE_SIGN


class StatusTop(Static):
    """The top line: mode sign, account, counts and operator, drawn as one line of text
    (one widget, not four: the status bar is on every screen, and is part of start-up)."""

    def __init__(self, sign: str, account: str, operator: str) -> None:
        super().__init__(id="status-top", markup=False)
        self.sign = sign
        self.account = account
        self.operator = operator
        self.counts = ""

    def render(self) -> Text:
        right = Text(f"{self.counts}{self.operator} ")
        left = Text.assemble((f" {self.sign} ", "bold reverse"))
        room = self.size.width - left.cell_len - right.cell_len
        account = Text(self.account)
        account.truncate(max(room, 0), overflow="ellipsis")
        return Text.assemble(left, account, " " * max(room - account.cell_len, 0), right)


class StatusBar(Vertical):
    """Shows the app's shared state (``DutypostApp``'s ``var``s) and redraws what changed."""

    def compose(self) -> ComposeResult:
        ctx = self.app.ctx
        account = ctx.settings.account
        handle = account.drill_handle if ctx.drill and account.drill_handle else account.handle
        yield StatusTop(mode_sign(ctx.drill), f" {account.name} @{handle}", f" {ctx.operator.name}")
        yield Static("", id="status-bottom", markup=False)

    def on_mount(self) -> None:
        for name in ("minute", "hours", "x_connected", "x_problem", "override_session"):
            self.screen.watch_shared(name, self._show_bottom)
        for name in ("outbox_count", "post_hoc_count"):
            self.screen.watch_shared(name, self._show_counts)

    def _show_counts(self, _value: object = None) -> None:
        app = self.app
        top = self.query_one(StatusTop)
        top.counts = f"送信待ち {app.outbox_count} 事後承認待ち {app.post_hoc_count} "
        top.refresh()

    def _show_bottom(self, _value: object = None) -> None:
        app = self.app
        hours = app.hours
        if hours is None:
            hours_text = "勤務時間: 確認中"
        elif hours.in_hours or hours.reason.startswith("勤務時間"):
            hours_text = hours.reason
        else:
            hours_text = f"時間外: {hours.reason}"
        session = app.override_session
        if session is not None:
            # Where the hours go: a session is what lets the posts out tonight.
            until = short_time(session.until, app.ctx.now())
            prefix = "時間外・" if hours is not None and not hours.in_hours else ""
            hours_text = f"{prefix}緊急オーバーライド中 ({until} まで)"
        x_text = {None: "X: 確認中", True: "X: 接続済み", False: "X: 未接続"}[app.x_connected]
        if app.x_connected is False and app.x_problem:
            x_text += f" ({app.x_problem})"  # why: 認証情報なし, 401 認証エラー, 接続できません, …
        # One line of fixed size: no layout pass, so a clock tick repaints only this line.
        self.query_one("#status-bottom", Static).update(
            f" {clock_text(app.ctx.now())}   {hours_text}   {x_text}", layout=False
        )
