"""Compose (作成): fill a template's fields and watch the post take shape.

The form is one compact line per field (no borders: a bordered input costs five times the
bytes per keystroke over SSH). Choice fields step through their choices on the line itself
(no pop-up list); area and facility fields take free text with suggestions from the config
lists (地区・避難所・施設), so several areas can be named; Tab and Enter take the suggestion
shown (tui/widgets/place_field.py), pressed again they move on. Datetime fields start at the
current time (「3時20分」). Keys typed ahead — a burst over a slow link, an IME commit —
land in the field they were typed for (:class:`TypeAhead`).

The preview (text, weighted count, thread split, findings) comes from ``core.publish``
in a thread worker, with each field's room left (残り, ``core.publish.field_rooms``: the
focused field's is shown under the form), a moment after typing pauses — one redraw per burst of typing rather
than one per character — and only its changed lines are redrawn (tui/widgets/preview.py). The draft (下書き) is saved to the ledger at most a second
behind the typing, so a crash or a dropped SSH session loses nothing — with its purpose
(下書きの目的, ``DraftPurpose``) when it is a checklist item's post, so a restored correction
still goes out as one. The purpose comes as an argument (``app.open_compose(template,
purpose=…)``) and goes on to the review screen (``app.open_review``).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Mapping

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import DescendantFocus
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

from dutypost.core.context import DutyContext
from dutypost.core.errors import InputError
from dutypost.core.length import Room
from dutypost.core.media import MAX_IMAGES, PostImage, check_image
from dutypost.core.models import Finding
from dutypost.core.publish import Composition, compose, field_rooms, review
from dutypost.core.templates import (MissingFieldsError, Template, TemplateField, default_value, field_choices,
                                     version_fields)
from dutypost.tui.duty_screen import DutyScreen
from dutypost.tui.keys import bind
from dutypost.tui.widgets.choice_field import ChoiceField
from dutypost.tui.widgets.image_field import ImageAltInput, ImagePathInput
from dutypost.tui.widgets.place_field import PlaceSuggester
from dutypost.tui.widgets.preview import PreviewPane
from dutypost.tui.widgets.status import StatusBar
from dutypost.tui.widgets.typeahead import TypedInput
from dutypost.tui.words import GATE_ONLY_RULES, SEVERITY_LABELS, composition_text, count_text, room_text

if TYPE_CHECKING:
    from dutypost.core.ledger import DraftPurpose

#: The field labels' column (cells): at least this wide, at most the second (the input keeps 16).
LABEL_CELLS, MAX_LABEL_CELLS = 16, 22
#: How long an error notification stays: long enough to read twice on a slow link.
ERROR_NOTICE_SECONDS = 12


@dataclass(frozen=True)
class Preview:
    """What the preview pane shows for one version of the values."""

    version: int
    composition: Composition | None
    findings: tuple[Finding, ...]
    error: str
    rooms: Mapping[str, Room] = field(default_factory=dict)  # each field's room left (残り)


def preview_values(template: Template, values: dict[str, str], ctx: DutyContext) -> dict[str, str]:
    """The values with every empty required field shown as 「{label}」 in the preview."""
    now = ctx.now()
    shown = dict(values)
    for f in template.fields:
        empty = not values.get(f.name, "").strip() and not default_value(f, now)
        if f.required and empty and f.kind != "choice":
            shown[f.name] = "{" + f.label + "}"
    return shown


def findings_text(findings: tuple[Finding, ...]) -> Text:
    """One line per finding: severity word first, so colour is never the only signal."""
    text = Text()
    for f in findings:
        style = {"block": "bold red", "warn": "yellow", "info": "dim"}[f.severity]
        text.append(f"[{SEVERITY_LABELS[f.severity]}]", style=style)
        text.append(f.message + "\n")
    text.rstrip()
    return text


class FieldInput(TypedInput):
    """A text field: Enter moves on to the next field (the review after the last one).

    In an area or facility field, Tab and Enter first take the suggestion shown (候補を確定);
    pressed again, they move on."""

    BINDINGS = [bind("tab", "accept_suggestion", "候補を確定", "field.accept-suggestion", show=False)]

    def accept_suggestion(self) -> bool:
        """Take the suggestion for the name being typed; False if there is none to take."""
        suggester = self.suggester
        if not isinstance(suggester, PlaceSuggester) or not self.cursor_at_end:
            return False
        suggestion = suggester.suggest(self.value)
        if suggestion is None:
            return False
        self.value = suggestion
        self.cursor_position = len(suggestion)
        return True

    def action_accept_suggestion(self) -> None:
        if not self.accept_suggestion():
            self.screen.focus_next()

    def watch_value(self, value: str) -> None:
        """Tell the screen at once, not through a queued message: if the session drops
        right now, the draft saved on the way out has this keystroke in it."""
        if self.is_mounted and isinstance(self.screen, ComposeScreen):
            self.screen.note_value(self.id.removeprefix("field-"), value)

    async def action_submit(self) -> None:
        if not self.accept_suggestion():
            self.screen.next_field(self)


class ComposeScreen(DutyScreen):
    HELP = (
        "作成画面です。テンプレートの項目を入力すると、右のプレビューに投稿の本文、文字数 (X の重み付き)、"
        "チェックの結果が出ます。\n"
        "・Tab か Enter で次の項目へ、Shift+Tab で前の項目へ。最後の項目で Enter を押すと確認画面へ進みます。\n"
        "・F2 (Ctrl+N) でいつでも確認画面へ進みます。\n"
        "・地区・避難所の項目は候補が薄く表示されます。Tab か Enter (または右矢印キー) で候補を確定し、"
        "もう一度押すと次の項目へ進みます。「、」で区切って続けて書くと、次の名前の候補が出ます。\n"
        "・選択肢の項目は左右 (または上下) の矢印キーで選びます。最初の文字を打つとその選択肢に移ります"
        " (例: 震度は 5 を2回で 5強)。Backspace で選択を消します。\n"
        "・画像 (避難所の地図、通行止めの写真など。PNG か JPEG、4 枚まで): 項目の下の「画像」に"
        "ファイルのパスを入力します (Tab で補完)。「代替テキスト」に画像の内容を書いて Enter で追加します。"
        "代替テキストは必須です。F6 (Ctrl+R) で最後に追加した画像を外します。\n"
        "・F3 (Ctrl+L): やさしい日本語と English の版 (避難情報・避難所・地震・津波のテンプレート) を、"
        "投稿の続き (スレッドの返信) として足します。同じ値が入ります。英語の地区名など版だけの項目は、"
        "足したときに出る欄に入力します。もう一度押すと外します。\n"
        "・入力は下書きとして自動で保存されます。Esc でホームに戻っても、F4 (Ctrl+T) で続きを開けます。"
        " (画像は下書きに残りません)"
    )

    BINDINGS = [
        bind("f2,ctrl+n", "review", "確認へ", "compose.review"),
        bind("f6,ctrl+r", "remove_image", "画像を外す", "compose.remove-image", show=False),
        bind("f3,ctrl+l", "versions", "やさしい日本語・英語", "compose.versions"),
        bind("escape", "back", "戻る", "back"),
    ]

    #: Seconds after the last keystroke before the preview is redrawn (bytes over SSH).
    PREVIEW_DELAY = 0.3
    SLOW_LINK_PREVIEW_DELAY = 1.0
    #: The draft is saved at most this many seconds behind the typing.
    DRAFT_SAVE_DELAY = 1.0

    class PreviewReady(Message):
        def __init__(self, preview: Preview) -> None:
            super().__init__()
            self.preview = preview

    def __init__(self, template: Template, *, values: dict[str, str] | None = None,
                 draft_id: str | None = None, purpose: DraftPurpose | None = None,
                 with_versions: bool = False) -> None:
        super().__init__()
        self.template = template
        #: The template's versions (やさしい日本語・English) are added to the post (F3).
        self.with_versions = with_versions
        self._saved_with_versions = with_versions
        self.draft_id = draft_id or uuid.uuid4().hex
        self._initial = values
        self._version = 0
        self._shown_version = -1
        self._seen_values: dict[str, str] | None = None
        self._preview_timer = None
        self._rooms: Mapping[str, Room] = {}  # the shown preview's room left per field
        self._draft_timer = None
        self._last_values: dict[str, str] = {}   # what the fields hold now
        self._saved_values: dict[str, str] = {}  # what the ledger's draft holds, or will
        self.purpose = purpose  # the checklist item it is for, if any
        self.images: list[PostImage] = []  # 画像, each with its alt text, in the order added
        #: Draft writes one at a time, each with the newest values: an older save finishing
        #: late never overwrites a newer one.
        self._draft_lock = threading.Lock()

    # -- layout -----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar()
        t = self.template
        mark = "【訓練】" if self.ctx.drill else "本番"
        title = f" {mark} 作成: {t.title}" + ("  [緊急]" if t.emergency else "")
        yield Static(title, id="screen-title", markup=False)
        with Horizontal(id="compose-body"):
            with Vertical(id="form-pane"):
                with VerticalScroll(id="form", can_focus=False):
                    for f in t.fields:
                        with Horizontal(classes="field-row"):
                            yield Static(f.label + ("*" if f.required else ""), classes="field-label",
                                         id=f"label-{f.name}", markup=False)
                            yield self._field_widget(f)
                    for f in self.version_fields:  # shown while the versions are added
                        row = Horizontal(classes="field-row version-field")
                        row.display = self.with_versions
                        with row:
                            yield Static(f.label + ("*" if f.required else ""), classes="field-label",
                                         id=f"label-{f.name}", markup=False)
                            yield self._field_widget(f)
                    with Horizontal(classes="field-row"):
                        yield Static("画像", classes="field-label", id="label-image-path", markup=False)
                        yield ImagePathInput(placeholder="PNG/JPEG のパス (Tab 補完)", id="image-path")
                    with Horizontal(classes="field-row"):
                        yield Static("代替テキスト", classes="field-label", id="label-image-alt", markup=False)
                        yield ImageAltInput(placeholder="画像の内容 (Enter 追加)", id="image-alt")
                    yield Static("", id="image-list", markup=False)
                    yield Static(self._versions_note(), id="versions-note", markup=False)
                yield Static("", id="field-room", markup=False)
                yield Static("", id="field-help", markup=False)
            yield PreviewPane(id="preview")
        yield Footer(compact=True, show_command_palette=False)

    def _field_widget(self, f: TemplateField) -> Widget:
        value = (self._initial or {}).get(f.name)
        if value is None:
            value = default_value(f, self.ctx.now())
        choices = field_choices(f, self.ctx.settings)
        if f.kind == "choice":
            return ChoiceField(choices, value, id=f"field-{f.name}")
        suggester = PlaceSuggester(choices) if choices else None
        placeholder = f"例:{f.example}" if f.example else ""
        widget = FieldInput(value, placeholder=placeholder, suggester=suggester, compact=True,
                            select_on_focus=False, id=f"field-{f.name}")
        widget.cursor_blink = False
        return widget

    def on_mount(self) -> None:
        # Notices from Home (a start-up notice stays 30 s) would sit over the preview's findings.
        self.app.clear_notifications()
        # Each label whole (「開設している避難所」 is 18 cells): the labels' column is as wide
        # as the longest, within the form's 40 cells at 80 columns.
        widest = max((cell_len(f.label + "*") for f in self.fields), default=0)
        for label in self.query(".field-label"):
            label.styles.width = min(max(widest + 1, LABEL_CELLS), MAX_LABEL_CELLS)
        values = self.values()
        self._seen_values = dict(values)
        self._last_values = dict(values)
        # A restored draft is in the ledger already; a fresh form is not worth saving yet.
        self._saved_values = dict(values)
        first_empty = next((f for f in self.fields if f.required and not values[f.name].strip()), None)
        target = first_empty or (self.template.fields[0] if self.template.fields else None)
        if target is not None:
            self.set_focus(self.query_one(f"#field-{target.name}"))
        self._run_preview()

    # -- values -------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        return {f.name: self.query_one(f"#field-{f.name}").value for f in self.fields}

    # -- versions (やさしい日本語・English, F3) ---------------------------------------------

    @cached_property
    def versions(self) -> list[Template]:
        """The template's versions (its ``versions``), whether added or not."""
        return self.ctx.templates.versions_of(self.template)

    @cached_property
    def version_fields(self) -> tuple[TemplateField, ...]:
        """The fields only the versions have (対象地区 (英語)): typed while they are added."""
        return version_fields(self.template, self.versions)

    @property
    def fields(self) -> tuple[TemplateField, ...]:
        """The fields the post takes now: the template's, and the versions' own while added."""
        return self.template.fields + (self.version_fields if self.with_versions else ())

    def _versions_note(self) -> str:
        names = "・".join(v.title.partition(":")[0] for v in self.versions)
        if not names:
            return ""
        if self.with_versions:
            return f"版: {names} を続けて投稿します (F3 で外す)"
        return f"F3: {names} の版を足せます"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "versions":
            return bool(self.versions)  # a template without versions: the key is not shown
        return super().check_action(action, parameters)

    def action_versions(self) -> None:
        """F3: add the versions to the post as the following parts of its thread, or take them off."""
        if not self.versions:
            self.app.bell()
            return
        self.with_versions = not self.with_versions
        focused = self.focused
        for row in self.query(".version-field"):
            if not self.with_versions and focused is not None and focused in row.children:
                self.set_focus(self.query_one(f"#field-{self.template.fields[-1].name}"))
            row.display = self.with_versions
        self.query_one("#versions-note", Static).update(self._versions_note())
        values = self.values()
        self._seen_values = dict(values)
        self._last_values = dict(values)
        self._version += 1
        if self._draft_timer is None:
            self._draft_timer = self.set_timer(self.DRAFT_SAVE_DELAY, self._save_draft_now)
        self._run_preview()
        names = "・".join(v.title.partition(":")[0] for v in self.versions)
        self.notify(f"{names} の版を{'足しました' if self.with_versions else '外しました'}。", title="版", markup=False)
        if self.with_versions:  # on to a field only the versions have, while it is empty
            empty = next((f for f in self.version_fields if f.required and not values[f.name].strip()), None)
            if empty is not None:
                self.set_focus(self.query_one(f"#field-{empty.name}"))

    def note_value(self, name: str, value: str) -> None:
        self._last_values[name] = value

    @property
    def _draft_dirty(self) -> bool:
        return self._last_values != self._saved_values or self.with_versions != self._saved_with_versions

    @on(Input.Changed)
    @on(ChoiceField.Changed)
    def _changed(self, event: Input.Changed | ChoiceField.Changed) -> None:
        if isinstance(event.control, (ImagePathInput, ImageAltInput)):
            return  # not a template field: neither the draft nor the preview changes
        values = self.values()
        if values == self._seen_values:
            return  # the fields' own start-up events, or a change already handled
        self._seen_values = values
        self._last_values = dict(values)
        self._version += 1
        if self._draft_timer is None:
            self._draft_timer = self.set_timer(self.DRAFT_SAVE_DELAY, self._save_draft_now)
        if self._preview_timer is not None:
            self._preview_timer.stop()
        delay = self.SLOW_LINK_PREVIEW_DELAY if self.app.slow_link else self.PREVIEW_DELAY
        if delay <= 0:
            self._run_preview()
        else:
            self._preview_timer = self.set_timer(delay, self._run_preview)

    def next_field(self, widget: Widget) -> None:
        """Enter in a field: the next field, or the review screen after the last one.

        At once (not ``focus()``, which waits behind the keys already queued): the keys
        typed behind the Enter belong to the next field."""
        last = self.fields[-1]
        if widget.id == f"field-{last.name}":
            self.action_review()
        else:
            self.focus_next()

    @on(DescendantFocus)
    def _show_field_help(self, event: DescendantFocus) -> None:
        if event.widget.id in ("image-path", "image-alt"):
            for label in self.query(".field-label"):
                label.set_class(label.id == f"label-{event.widget.id}", "-current")
            self.query_one("#field-help", Static).update(
                f"画像 (任意、PNG か JPEG、{MAX_IMAGES} 枚まで): パスは Tab で補完します。"
                "代替テキスト (画像の内容) を書いて Enter で追加します。F6 (Ctrl+R) で最後の画像を外します。")
            self._show_room()
            return
        name = (event.widget.id or "").removeprefix("field-")
        f = next((f for f in self.fields if f.name == name), None)
        if f is None:
            return
        for label in self.query(".field-label"):
            label.set_class(label.id == f"label-{name}", "-current")
        parts = [f.help] if f.help else []
        if f.example and "例" not in (f.help or ""):  # an example once: the help may give its own
            parts.append(f"例: {f.example}")
        choices = field_choices(f, self.ctx.settings)
        if f.kind == "choice":
            parts.append("選択肢 (左右キー): " + " / ".join(choices))
        elif choices:
            parts.append("候補: " + "、".join(choices))
        if not f.required:
            parts.append("(空欄なら、その行を省きます)")
        self.query_one("#field-help", Static).update(" ".join(parts))
        self._show_room()

    def _show_room(self) -> None:
        """The focused field's room left (残り), from the last preview (item 5 of issue 12)."""
        focused = self.focused
        name = (focused.id or "").removeprefix("field-") if focused is not None else ""
        room = self._rooms.get(name)
        self.query_one("#field-room", Static).update(room_text(room) if room is not None else "")

    # -- preview ---------------------------------------------------------------------

    def _run_preview(self) -> None:
        self._preview_timer = None
        self._preview(self._version, self.values(), self.with_versions)

    @work(thread=True, exclusive=True, exit_on_error=False, group="preview")
    def _preview(self, version: int, values: dict[str, str], with_versions: bool = False) -> None:
        ctx = self.ctx
        shown = preview_values(self.template, values, ctx)
        for v in self.versions if with_versions else ():  # a version's own empty field, as 「{label}」
            shown |= {k: value for k, value in preview_values(v, values, ctx).items() if self.template.field(k) is None}
        rooms = field_rooms(ctx, self.template, {k: v for k, v in shown.items() if self.template.field(k) is not None})
        try:
            composition = compose(ctx, self.template, shown, versions=with_versions)
        except MissingFieldsError as exc:  # only choice fields: the others show 「{label}」
            labels = "、".join(f"「{f.label}」" for f in exc.missing)
            self.post_message(self.PreviewReady(Preview(version, None, (), f"{labels}を選んでください。", rooms)))
            return
        except InputError as exc:
            self.post_message(self.PreviewReady(Preview(version, None, (), exc.message, rooms)))
            return
        result = review(ctx, composition)
        findings = tuple(f for f in result.decision.findings if f.rule not in GATE_ONLY_RULES)
        if result.same_template is not None:
            findings += (result.same_template,)
        self.post_message(self.PreviewReady(Preview(version, composition, findings, "", rooms)))

    @on(PreviewReady)
    def _show_preview(self, message: PreviewReady) -> None:
        preview = message.preview
        if preview.version < self._shown_version:
            return
        self._shown_version = preview.version
        self._rooms = preview.rooms
        self._show_room()
        pane = self.query_one("#preview", PreviewPane)
        if preview.composition is None:
            pane.show([Text("プレビュー", style="bold reverse"), Text(preview.error, style="bold red")])
            return
        limit = self.ctx.settings.x.max_weighted_length
        findings = preview.findings
        pane.show([
            Text(f"プレビュー  {count_text(preview.composition, limit)}", style="bold reverse"),
            Text(composition_text(preview.composition)),
            Text(""),
            findings_text(findings) if findings else Text("チェック: 本文の問題は見つかりません。"),
        ])

    # -- drafts ----------------------------------------------------------------------

    def _save_draft_now(self) -> None:
        self._draft_timer = None
        if self._draft_dirty:
            self._saved_values = dict(self._last_values)
            self._saved_with_versions = self.with_versions
            self._save_draft()

    @work(thread=True, exit_on_error=False, group="draft")
    def _save_draft(self) -> None:
        self._store_draft()

    def _store_draft(self) -> None:
        """Write ``_saved_values`` (the newest values handed to a save) to the ledger."""
        ctx = self.ctx
        with self._draft_lock:
            values, with_versions = self._saved_values, self._saved_with_versions
            try:
                text = compose(ctx, self.template, values, versions=with_versions).text
            except InputError:
                text = ""
            try:
                ctx.ledger.save_draft(operator=ctx.operator.id, template_id=self.template.id, values=values,
                                      text=text, drill=ctx.drill, draft_id=self.draft_id, purpose=self.purpose,
                                      with_versions=with_versions)
            except ValueError:
                pass  # the draft was closed meanwhile (published or discarded): nothing to keep

    def on_unmount(self) -> None:
        """Leaving (Esc, Ctrl+Q, SIGHUP) while typing: keep what was typed, now. A save
        still waiting for its worker would be cancelled with this screen, so it is done
        here instead."""
        waiting = any(w.node is self and w.group == "draft" and not w.is_finished for w in self.app.workers)
        if self._draft_dirty or waiting:
            self._saved_values = dict(self._last_values)
            self._saved_with_versions = self.with_versions
            self._store_draft()

    def flush_draft(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._save_draft_now()

    # -- images ----------------------------------------------------------------------

    def add_image(self) -> bool:
        """Enter in the alt text field: check the image (core.media) and add it to the post.
        Both fields empty: on to the review screen, as Enter after the last field does."""
        path_input = self.query_one("#image-path", ImagePathInput)
        alt_input = self.query_one("#image-alt", ImageAltInput)
        path, alt = path_input.value.strip(), alt_input.value.strip()
        if not path and not alt:
            self.action_review()
            return False
        if len(self.images) >= MAX_IMAGES:
            self._image_error(f"画像は {MAX_IMAGES} 枚までです。F6 (Ctrl+R) で外してから追加してください。")
            return False
        if not path:
            self._image_error("画像のパスを入力してください。")
            self.set_focus(path_input)
            return False
        try:
            image = check_image(path, alt, number=len(self.images) + 1)
        except InputError as exc:
            self._image_error(f"{exc.message} {exc.hint}".strip())
            self.set_focus(alt_input if path and not alt else path_input)
            return False
        self.images.append(image)
        path_input.value = alt_input.value = ""
        self._show_images()
        self.set_focus(path_input)
        return True

    def action_remove_image(self) -> None:
        if not self.images:
            self.app.bell()
            return
        removed = self.images.pop()
        self._show_images()
        self.notify(f"画像を外しました: {removed.path.name}", title="画像", markup=False)

    def _show_images(self) -> None:
        lines = [f"画像 {n}/{MAX_IMAGES}: {image.label}" for n, image in enumerate(self.images, 1)]
        self.query_one("#image-list", Static).update("\n".join(lines))

    def _image_error(self, message: str) -> None:
        self.notify(message, title="画像", severity="error", timeout=ERROR_NOTICE_SECONDS, markup=False)

    def _pending_image(self) -> bool:
        """A path typed but not added yet (F2 with the fields filled): add it now, or say why not."""
        path = self.query_one("#image-path", ImagePathInput).value.strip()
        alt = self.query_one("#image-alt", ImageAltInput).value.strip()
        if not path and not alt:
            return True
        return self.add_image()

    # -- actions -----------------------------------------------------------------------

    def action_back(self) -> None:
        if self._draft_dirty:  # stored as the screen closes (on_unmount)
            self.notify("下書きを保存しました。F4 (Ctrl+T) で続きを開けます。", title="下書き", markup=False)
        self.app.pop_screen()

    def action_review(self) -> None:
        if not self._pending_image():
            return
        values = self.values()
        try:
            composition = compose(self.ctx, self.template, values, versions=self.with_versions)
        except MissingFieldsError as exc:
            labels = "、".join(f.label for f in exc.missing)
            self.notify(f"必須の項目が空です: {labels}。入力してから、もう一度 F2 (Ctrl+N) を押してください。",
                        title="未入力の項目", severity="error", timeout=ERROR_NOTICE_SECONDS, markup=False)
            self.set_focus(self.query_one(f"#field-{exc.missing[0].name}"))
            return
        except InputError as exc:
            self.notify(exc.message, title="入力の誤り", severity="error", timeout=ERROR_NOTICE_SECONDS, markup=False)
            return
        self._last_values = dict(values)
        self._saved_values = {}  # the publish needs the draft in the ledger: save it now
        self.flush_draft()
        self.app.open_review(self.template, composition, draft_id=self.draft_id, purpose=self.purpose,
                             images=tuple(self.images))
