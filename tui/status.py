"""The status bar (状態表示): mode, account, operator, clock, hours, X, outbox, 事後承認待ち.

Two lines at the top of every screen. The mode sign is text first — 「!! 本番 LIVE !!」 or
「【訓練 DRILL】」 — so it reads without colour; the colour (red for live, yellow for
drill) only repeats it. The clock shows minutes and is redrawn once a minute: every
redraw is bytes on an SSH link.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tui.labels import clock_text

LIVE_SIGN = "!! 本番 LIVE !!"
DRILL_SIGN = "【訓練 DRILL】"


def mode_sign(drill: bool) -> str:
    return DRILL_SIGN if drill else LIVE_SIGN


class StatusBar(Vertical):
    """Shows the app's shared state (``DutypostApp``'s ``var``s) and redraws what changed."""

    def compose(self) -> ComposeResult:
        ctx = self.app.ctx
        account = ctx.settings.account
        handle = account.drill_handle if ctx.drill and account.drill_handle else account.handle
        with Horizontal(id="status-top"):
            yield Static(f" {mode_sign(ctx.drill)} ", id="mode-sign", markup=False)
            yield Static(f" {account.name} @{handle}", id="account", markup=False)
            yield Static("", id="counts", markup=False)
            yield Static(f" {ctx.operator.name} ", id="operator", markup=False)
        yield Static("", id="status-bottom", markup=False)

    def on_mount(self) -> None:
        for name in ("minute", "hours", "x_connected"):
            self.screen.watch_shared(name, self._show_bottom)
        for name in ("outbox_count", "post_hoc_count"):
            self.screen.watch_shared(name, self._show_counts)

    def _show_counts(self, _value: object = None) -> None:
        app = self.app
        self.query_one("#counts", Static).update(f"送信待ち {app.outbox_count} 事後承認待ち {app.post_hoc_count} ")

    def _show_bottom(self, _value: object = None) -> None:
        app = self.app
        hours = app.hours
        if hours is None:
            hours_text = "勤務時間: 確認中"
        elif hours.in_hours or hours.reason.startswith("勤務時間"):
            hours_text = hours.reason
        else:
            hours_text = f"時間外: {hours.reason}"
        x_text = {None: "X: 確認中", True: "X: 接続済み", False: "X: 未接続"}[app.x_connected]
        # One line of fixed size: no layout pass, so a clock tick repaints only this line.
        self.query_one("#status-bottom", Static).update(
            f" {clock_text(app.ctx.now())}   {hours_text}   {x_text}", layout=False
        )
