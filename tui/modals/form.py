"""様式第1号 (更新伺, the update request form): written for one post, as Markdown, HTML or
CSV, to ``forms/`` next to the ledger. Opened by ``app.open_form`` from a post's detail."""

from __future__ import annotations

from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from dutypost.core.context import DutyContext
from dutypost.core.errors import DutypostError
from dutypost.tui.duty_screen import DutyModal
from dutypost.tui.keys import bind

FORMATS = {"md": "Markdown (.md)", "html": "HTML (.html、A4 で印刷)", "csv": "CSV (.csv、Excel 用)"}


def forms_dir(ctx: DutyContext) -> Path:
    """Where 様式第1号 files are written: ``forms/`` next to the ledger."""
    return ctx.settings.ledger.path.parent / "forms"


def write_form(ctx: DutyContext, post_id: int, fmt: str, *, mail_linked: bool) -> Path:
    """Write 様式第1号 of ``post_id`` as ``fmt`` (md|html|csv); returns the file (runs in a worker)."""
    from dutypost.core.form import form_data, render

    form = form_data(ctx.ledger, ctx.settings, post_id, mail_linked=mail_linked, templates=ctx.templates)
    folder = forms_dir(ctx)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"form1-post{post_id}.{fmt}"
    path.write_text(render(form, fmt), encoding="utf-8", newline="")
    return path



class FormModal(DutyModal):
    """Write 様式第1号 (更新伺): pick the format; Space marks it as also sent by mail."""

    HELP = (
        "様式第1号 (ツイッター情報更新伺) を書き出します。記録から全項目を埋めます。\n"
        "・上下の矢印キーで形式を選び、Enter で書き出します。HTML は A4 にきれいに印刷できます。\n"
        "・メール配信サービスでも同じ内容を配信したときは、先に「メール配信」の行で Enter (または Space) を押して [x] にします。\n"
        "・Esc で戻ります。"
    )
    BINDINGS = [bind("escape", "cancel", "戻る", "back")]

    class Written(Message):
        def __init__(self, path: Path | None, error: str) -> None:
            super().__init__()
            self.path = path
            self.error = error

    def __init__(self, post_id: int) -> None:
        super().__init__()
        self.post_id = post_id
        self.mail_linked = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(f"様式第1号 (更新伺) を書き出す: 投稿 #{self.post_id}", classes="dialog-title", markup=False)
            yield OptionList(*self._options(), id="form-formats", markup=False)
            yield Static(f"書き出す場所: {forms_dir(self.ctx)}", classes="note", markup=False)
            yield Static("", id="form-error", classes="error", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def _options(self) -> list[Option]:
        mark = "[x]" if self.mail_linked else "[ ]"
        return [Option(f"{mark} メール配信サービスでも配信した", id="mail"),
                *(Option(f"書き出す: {label}", id=fmt) for fmt, label in FORMATS.items())]

    def on_mount(self) -> None:
        formats = self.query_one("#form-formats", OptionList)
        formats.highlighted = 1
        formats.focus()

    @on(OptionList.OptionSelected, "#form-formats")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        formats = self.query_one("#form-formats", OptionList)
        if event.option.id == "mail":
            self.mail_linked = not self.mail_linked
            formats.set_options(self._options())
            formats.highlighted = 0
            return
        self._write(event.option.id, self.mail_linked)

    def on_key(self, event) -> None:
        if event.key == "space" and self.query_one("#form-formats", OptionList).highlighted == 0:
            event.stop()
            self.query_one("#form-formats", OptionList).action_select()

    @work(thread=True, exclusive=True, exit_on_error=False, group="form")
    def _write(self, fmt: str, mail_linked: bool) -> None:
        try:
            path = write_form(self.ctx, self.post_id, fmt, mail_linked=mail_linked)
        except (DutypostError, OSError) as exc:
            message = exc.message if isinstance(exc, DutypostError) else f"ファイルに書けませんでした ({exc.strerror})。"
            self.post_message(self.Written(None, message))
            return
        self.post_message(self.Written(path, ""))

    @on(Written)
    def _written(self, message: Written) -> None:
        if message.path is None:
            self.query_one("#form-error", Static).update(message.error)
            return
        self.dismiss(message.path)

    def action_cancel(self) -> None:
        self.dismiss(None)
