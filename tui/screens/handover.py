"""The handover page (引き継ぎ): written to a file next to the ledger and shown.

For the next officer and the account manager: what was posted in the last shift, what is
in force (発令中), the outbox, what awaits 事後承認, the open follow-ups and checklists
(:mod:`dutypost.core.handover`). The file is ``handover/handover-YYYYMMDD-HHMM.md`` beside
the ledger; the first line names it. ``c`` copies the page to the clipboard.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Static

from dutypost.tui.duty_screen import DutyScreen
from dutypost.tui.keys import bind
from dutypost.tui.widgets.status import StatusBar


class HandoverScreen(DutyScreen):
    HELP = (
        "引き継ぎです。次の当直と運用管理者のために、この 12 時間の投稿、発令中のもの、"
        "送信待ち・失敗・結果不明、事後承認待ち、他の媒体への連絡が済んでいない緊急の投稿、"
        "完了していないチェックリストをまとめます。\n"
        "・開くたびに記録のフォルダーの handover/ にファイル (Markdown) を書き出します。場所は1行目に出ます。\n"
        "・上下の矢印キーで読み進めます。c で全文をクリップボードにコピーします。\n"
        "・Esc でホームに戻ります。"
    )

    BINDINGS = [
        bind("c", "copy_page", "全文コピー", "handover.copy"),
        bind("escape", "back", "戻る", "back"),
    ]

    class Written(Message):
        def __init__(self, text: str, path: Path | None, error: str) -> None:
            super().__init__()
            self.text = text
            self.path = path
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.text = ""

    def compose(self) -> ComposeResult:
        yield StatusBar()
        yield Static(" 引き継ぎ", id="screen-title", markup=False)
        with VerticalScroll(id="handover-body"):
            yield Static("引き継ぎをまとめています...", id="handover-where", markup=False)
            yield Static("", id="handover-text", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one("#handover-body").focus()
        self._write()

    @work(thread=True, exclusive=True, exit_on_error=False, group="handover")
    def _write(self) -> None:
        from dutypost.core.handover import handover_data, render, write_file

        ctx = self.ctx
        now = ctx.now()
        page = handover_data(ctx.ledger, ctx.settings, ctx.templates, drill=ctx.drill, operator=ctx.operator.id,
                             now=now)
        path, error = None, ""
        try:
            path = write_file(page, ctx.settings.ledger.path.parent / "handover", now=now)
        except OSError as exc:
            error = f"ファイルに書き出せませんでした ({exc.strerror or type(exc).__name__})。c でコピーして使ってください。"
        self.post_message(self.Written(render(page, "md"), path, error))

    @on(Written)
    def _show(self, message: Written) -> None:
        self.text = message.text
        where = self.query_one("#handover-where", Static)
        if message.path is not None:
            # Relative to the ledger's folder, which the account manager knows (and which
            # `dutypost config path` leads to): the line stays short at 80 columns.
            ledger = self.ctx.settings.ledger.path
            where.update(Text.assemble(("書き出しました: ", "bold"), f"{message.path.parent.name}/{message.path.name}",
                                       f" ({ledger.name} の隣)"))
        else:
            where.update(Text(message.error, style="bold red"))
        self.query_one("#handover-text", Static).update(_on_screen(message.text))

    def action_copy_page(self) -> None:
        if self.text:
            self.app.copy_to_clipboard(self.text)
            self.notify("引き継ぎをクリップボードにコピーしました (端末が対応している場合)。", title="コピー", markup=False)

    def action_back(self) -> None:
        self.app.pop_screen()


def _on_screen(markdown: str) -> Text:
    """The Markdown page as the screen shows it: headings in bold, without their ``#``."""
    text = Text()
    for line in markdown.splitlines():
        if line.startswith("#"):
            text.append(line.lstrip("#").strip(), style="bold")
        else:
            text.append(line.rstrip())
        text.append("\n")
    text.rstrip()
    return text
