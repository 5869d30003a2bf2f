"""Open drafts (下書き): restore one after a crash or a dropped session, or discard it.

Offered at start-up when this operator has open drafts in this mode, and from the home
screen with F4 (Ctrl+T). A draft of a checklist item's post says what it is for
(「訂正 (#12 への返信)」), and is restored through its checklist (tui/screens/checklist.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.tui.duty_screen import DutyModal
from dutypost.tui.keys import bind
from dutypost.tui.words import first_line, short_time

if TYPE_CHECKING:
    from dutypost.core.ledger import DraftPurpose

#: What a checklist item's post is published as, in words (訂正・お詫び).
PURPOSE_KIND_LABELS = {"correction": "訂正", "apology": "お詫び"}


def purpose_text(purpose: DraftPurpose | None) -> str:
    """What a draft is written for (下書きの目的), in words; empty for a plain post."""
    if purpose is None:
        return ""
    word = PURPOSE_KIND_LABELS.get(purpose.kind)
    if word is None:
        return f"チェックリスト #{purpose.checklist_id} の投稿"
    if purpose.reply_to_post_id is None:
        return f"{word} (チェックリスト #{purpose.checklist_id}、元の投稿は削除済み)"
    return f"{word} (#{purpose.reply_to_post_id} への返信)"


class DraftsModal(DutyModal):
    HELP = (
        "書きかけの下書きです (前回の終了時や、接続が切れたときに残ったもの)。\n"
        "上下の矢印キーで選び、Enter で復元して作成画面で続きを書きます。Del か d で破棄します。\n"
        "チェックリストの投稿 (訂正・お詫びなど) の下書きは、そのチェックリストを開いてから作成画面に戻ります。"
        "投稿はチェックリストに記録され、訂正・お詫びは元の投稿への返信になります。\n"
        "Esc で閉じます (下書きは残ります)。"
    )

    BINDINGS = [
        bind("enter", "restore", "復元する", "drafts.restore"),
        bind("delete,d", "discard", "破棄する", "drafts.discard"),
        bind("escape", "cancel", "あとで", "back"),
    ]

    def __init__(self, drafts: list) -> None:
        super().__init__()
        self.drafts = {d.id: d for d in drafts}

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("下書きがあります", classes="dialog-title", markup=False)
            yield Static("前回の続きを書けます。Enter: 復元する   Del/d: 破棄する   Esc: あとで", markup=False)
            yield OptionList(*(self._option(d) for d in self.drafts.values()), id="drafts", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def _option(self, draft) -> Option:
        template = self.ctx.templates.get(draft.template_id)
        title = template.title if template else draft.template_id
        when = short_time(draft.updated_at, self.ctx.now())
        head = "  ".join(filter(None, (when, title, purpose_text(draft.purpose))))
        return Option(f"{head}\n      {first_line(draft.text, 60) or '(本文なし)'}", id=draft.id)

    def on_mount(self) -> None:
        listing = self.query_one("#drafts", OptionList)
        listing.highlighted = 0
        listing.focus()

    def _highlighted(self):
        option = self.query_one("#drafts", OptionList).highlighted_option
        return self.drafts.get(option.id) if option is not None else None

    @on(OptionList.OptionSelected, "#drafts")
    def action_restore(self) -> None:
        draft = self._highlighted()
        if draft is not None:
            self.dismiss(draft)

    def action_discard(self) -> None:
        draft = self._highlighted()
        if draft is None:
            return
        self._close(draft.id)
        del self.drafts[draft.id]
        if not self.drafts:
            self.notify("下書きを破棄しました。", title="下書き", markup=False)
            self.dismiss(None)
            return
        listing = self.query_one("#drafts", OptionList)
        listing.set_options(self._option(d) for d in self.drafts.values())
        listing.highlighted = 0

    def _close(self, draft_id: str) -> None:
        """In a thread worker of the app's, not this dialog's: the dialog closes right after
        the last discard, and its own workers are cancelled with it (the draft would stay)."""
        ledger = self.ctx.ledger
        self.app.run_worker(lambda: ledger.close_draft(draft_id, "discarded"), thread=True,
                            exit_on_error=False, group="drafts")

    def action_cancel(self) -> None:
        self.dismiss(None)
