"""The emergency override (緊急オーバーライド): category, justification (理由), confirmation.

Offered only when the gate says one is needed (out of hours, or no valid approval). It
lifts those two checks for this one post, never a content problem; who, when, which
checks, the category and the justification go into the ledger, and the approval becomes
事後承認待ち. The period (期間) is this post only (この投稿だけ), or N hours (a time-boxed
session, at most 12 h: the same category and justification then cover the operator's next
posts too, each still awaiting 事後承認). The confirmation is the publish itself, and it reads differently by mode:
本番 「本番アカウントに投稿します。住民に届きます。」, 訓練 「訓練として練習サーバーに投稿します。」
Only F10 (Ctrl+O) confirms — never Enter, which is easy to press by habit. The twin is not
Ctrl+X (publish on the review screen): the justification field takes Ctrl+X for cut.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.containers import Vertical
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core.errors import DutypostError, InputError
from dutypost.core.gate import Override
from dutypost.core.publish import make_override, start_override_session
from dutypost.tui.widgets.preview import WrappedText
from dutypost.tui.widgets.typeahead import TypeAhead, TypedInput
from dutypost.tui.duty_screen import DutyModal
from dutypost.tui.keys import bind
from dutypost.tui.words import publish_confirmation


class CategoryList(TypeAhead, OptionList):
    """The override categories; Enter keeps the highlighted one and moves on to the
    justification at once, so what is typed right behind it lands there."""

    def action_select(self) -> None:
        self.screen.set_focus(self.screen.query_one("#reason", Input))


#: The period choices (期間): None is this post only, else the session's hours (12 at most).
SCOPES: tuple[tuple[str, int | None], ...] = (
    ("この投稿だけ", None), ("2時間", 2), ("4時間", 4), ("8時間", 8), ("12時間", 12),
)


class ScopeChoice(Static, can_focus=True):
    """One line: 「3. 期間: [この投稿だけ] / 2時間 / …」. Left/Right change it; the choice is
    in brackets, so it reads without colour."""

    BINDINGS = [
        bind("left,up", "move(-1)", "期間", "override.scope-previous", show=False),
        bind("right,down,space", "move(1)", "期間", "override.scope-next", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.index = 0

    def on_mount(self) -> None:
        self._show()

    def action_move(self, step: int) -> None:
        self.index = (self.index + step) % len(SCOPES)
        self._show()

    @property
    def hours(self) -> int | None:
        return SCOPES[self.index][1]

    def _show(self) -> None:
        choices = " / ".join(f"[{label}]" if i == self.index else label for i, (label, _) in enumerate(SCOPES))
        self.update(f"3. 期間 (左右キー): {choices}")


class OverrideModal(DutyModal):
    HELP = (
        "緊急オーバーライドです。勤務時間外や承認がなくても、住民の生命・身体・財産を守るための緊急情報などを"
        "投稿するための手続きです。\n"
        "1. 区分を上下の矢印キーで選んで Enter。\n"
        "2. 理由を書きます (何が緊急なのか。決められた文字数以上)。\n"
        "3. 期間を Tab で移って左右の矢印キーで選びます: この投稿だけ、または N 時間 (最長 12 時間。その間の自分の投稿にも同じ区分と理由を使い、"
        "どの投稿も事後承認が必要です。画面上部に「緊急オーバーライド中」と終わりの時刻が出ます)。\n"
        "4. 確認の文を読み、F10 (Ctrl+O) で投稿します。Enter では投稿しません。\n"
        "記録には、だれが・いつ・どの確認を外したか・区分・理由が残り、承認者の事後承認が必要になります。\n"
        "Esc でやめて確認画面に戻ります。"
    )

    class SessionStarted(Message):
        def __init__(self, override: Override | None, error: str | None = None) -> None:
            super().__init__()
            self.override = override
            self.error = error

    BINDINGS = [
        bind("f10,ctrl+o", "confirm", "オーバーライドして投稿", "override.confirm"),
        bind("escape", "cancel", "やめる", "back"),
    ]

    def __init__(self, *, category: str | None = None) -> None:
        super().__init__()
        #: The category highlighted first (for a correction: 誤った投稿への対応), if configured.
        self.first_category = category

    def compose(self) -> ComposeResult:
        settings = self.ctx.settings
        minimum = settings.gate.min_justification_chars
        with Vertical(id="dialog"):
            yield Static("緊急オーバーライド", classes="dialog-title", markup=False)
            yield WrappedText("時間外・承認なしの確認を、この投稿だけか決めた時間だけ外します。記録に残り、事後承認が必要です。")
            yield Static("1. 区分 (上下の矢印キーで選んで Enter)", markup=False)
            yield CategoryList(*(Option(c, id=str(i)) for i, c in enumerate(settings.gate.override_categories)),
                               id="categories", markup=False)
            yield Static("", id="category-chosen", markup=False)
            yield Static(f"2. 理由 ({minimum} 文字以上)", markup=False)
            reason = TypedInput(placeholder="例: 土砂災害の危険が迫っており、住民の避難が必要なため", compact=True, id="reason")
            reason.cursor_blink = False
            yield reason
            yield Static(self._count_text(""), id="reason-count", markup=False)
            yield ScopeChoice(id="scope")
            yield Static("4. 確認", markup=False)
            yield Static(Text(publish_confirmation(self.ctx.drill), style="bold"), id="confirm-text", markup=False)
            yield Static("F10 (Ctrl+O) で緊急オーバーライドして投稿します。Esc でやめます。", id="confirm-keys", markup=False)
            yield Static("", id="override-error", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        categories = self.query_one("#categories", CategoryList)
        categories.highlighted = 0
        configured = list(self.ctx.settings.gate.override_categories)
        if self.first_category in configured:
            categories.highlighted = configured.index(self.first_category)
        self.set_focus(categories)

    @property
    def session_hours(self) -> int | None:
        """The chosen period: None for this post only, else the session's hours."""
        return self.query_one("#scope", ScopeChoice).hours

    @on(OptionList.OptionHighlighted, "#categories")
    def _category_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """The choice in words too: the highlight alone is only a colour."""
        self.query_one("#category-chosen", Static).update(f"   区分: {event.option.prompt}")

    def _count_text(self, reason: str) -> str:
        minimum = self.ctx.settings.gate.min_justification_chars
        count = len(reason.strip())
        rest = f"あと {minimum - count} 文字" if count < minimum else "OK"
        return f"   {count}/{minimum} 文字 ({rest})"

    @on(Input.Changed, "#reason")
    def _reason_changed(self, event: Input.Changed) -> None:
        self.query_one("#reason-count", Static).update(self._count_text(event.value))

    @on(Input.Submitted, "#reason")
    def _reason_submitted(self) -> None:
        self.query_one("#override-error", Static).update("投稿するには F10 (Ctrl+O) を押してください。")

    def action_confirm(self) -> None:
        categories = self.query_one("#categories", CategoryList)
        option = categories.highlighted_option
        category = str(option.prompt) if option is not None else ""
        reason = self.query_one("#reason", Input).value
        try:
            override = make_override(self.ctx, category, reason)
        except InputError as exc:
            self.query_one("#override-error", Static).update(Text(exc.message, style="bold red"))
            self.set_focus(self.query_one("#reason", Input))
            return
        hours = self.session_hours
        if hours is None:
            self.dismiss(override)
            return
        self.query_one("#override-error", Static).update(f"{hours} 時間の時間枠を記録しています...")
        self._start_session(category, reason, hours)

    @work(thread=True, exclusive=True, exit_on_error=False, group="override-session")
    def _start_session(self, category: str, reason: str, hours: int) -> None:
        ctx = self.ctx
        try:
            session = start_override_session(ctx, category, reason, hours)
        except DutypostError as exc:
            self.post_message(self.SessionStarted(None, f"{exc.message} {exc.hint or ''}".strip()))
            return
        override = Override(category=session.category, reason=session.reason, operator_id=ctx.operator.id,
                            at=session.starts_at, session_id=session.id)
        self.post_message(self.SessionStarted(override))

    @on(SessionStarted)
    def _session_started(self, message: SessionStarted) -> None:
        if message.override is None:
            self.query_one("#override-error", Static).update(Text(message.error or "", style="bold red"))
            return
        self.app.poll_ledger()  # the status bar shows the session at once
        self.dismiss(message.override)

    def action_cancel(self) -> None:
        self.dismiss(None)
