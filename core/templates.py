"""Post templates (投稿テンプレート, SPEC §7): TOML files with typed fields and a body.

One template per file, ``templates/<id>.toml``. A template in the site directory
(config ``[templates] site_dir``) replaces the bundled template with the same id.

File format::

    id = "evac-l4"                  # the file name without .toml
    title = "警戒レベル4 避難指示 発令"
    category = "避難情報"
    emergency = true                # carries life-safety information (緊急情報)
    threads = false                 # may be split into a thread (スレッド) when too long
    order = 30                      # optional: position within the category
    description = "…"               # one line
    body = \"\"\"…{area}…\"\"\"         # {name} placeholders: fields and municipality variables
    hashtags = ["{municipality_hashtags}", "#避難指示"]
    link = "{page.bosai}"           # optional: a URL, or a variable naming one
    department = "廃棄物対策課"      # optional: the issuing department (情報配信部署, a [[departments]]
                                    # name of 別表第1) whose approver approves; default: the poster's
    expects = ["rumour"]            # optional: gate rules this template is expected to trip
                                    # (a デマ注意 post names 噂); expected warnings show as info.
                                    # "drill-marker": the drill announcement may carry 【訓練】 in
                                    # live mode, confirmed explicitly (a warning to acknowledge)
    drill_only = true               # optional: drill mode only (訓練実施中); blocked in live mode
    lifts = "evac-l4"               # optional: this post lifts that template's order (発令中の解除)
    board_key = "area"              # optional: the field naming the place on the board (発令中)
    board_level = "warning"         # optional: the field naming the kind on the board
    versions = ["evac-l4-easy", "evac-l4-en"]  # optional: its やさしい日本語 / English versions,
                                    # added to the post with one key (compose F3) or
                                    # --with-versions, as the following parts of its thread

    [[fields]]
    name = "area"                   # a-z, 0-9, _
    label = "対象地区"
    kind = "area"                   # text | choice | datetime | area | facility | number
    required = true                 # default true
    default = "…"                   # optional; datetime fields default to the current time
    choices = ["…", "…"]            # choice fields only
    source = "areas"                # area/facility only: areas | shelters | facilities
    example = "本郷地区"
    help = "…"                      # optional

Municipality variables (自治体の変数) are filled from the config's ``[municipality]``
(:class:`core.config.MunicipalityConfig`), never typed by the officer, so no bundled
template names a particular town:

    {municipality}           name                阿見町 / 流山市
    {municipality_kind}      kind                町 / 市 / 村 / 区 (「{municipality_kind}は」→「町は」)
    {municipality_en}        name_en, else name  Ami Town (English templates)
    {municipality_hashtags}  hashtags            "#阿見町" (several are joined by a space)
    {website}                website             https://www.town.ami.lg.jp
    {page.NAME}              pages.NAME          a path is appended to website: {page.bosai}
    {mail_service}           mail_service        あみメール
    {manager_title}          manager_title       秘書広聴課長

They may stand in the body, in ``link`` and in ``hashtags``. A line whose placeholders all
come out empty (an empty optional field, or ``mail_service = ""``) is left out; an empty
name or kind is an :class:`InputError` naming the config key. A page the config lacks (a
freshly initialised config has none) or a site without ``website`` leaves the link out: the
post still goes, and :func:`unfilled_pages` names the ``[municipality.pages]`` keys to
write (compose shows them as a notice). A ``{name}`` that is neither a field nor a variable
is reported with its file and line.

A version (``versions``) is a template of its own whose fields take the base's values by
name (:func:`version_values`); a field only the version has (``area_en``) is typed for it. A
``versions`` id that no template has, or a version with versions of its own, is a load
error naming the base's file and line; the base still loads, without that version.

A broken file is reported as a :class:`TemplateError` with its file and line; the other
templates still load. The drill marker 【訓練】 is never part of a template: the caller
adds it in drill mode (訓練).
"""

from __future__ import annotations

import os

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from dutypost.core.config import BUNDLED_TEMPLATES, EXAMPLE_CONFIG
from dutypost.core.errors import InputError

if TYPE_CHECKING:
    from dutypost.core.config import Settings
    from dutypost.core.ledger import Post

JST = ZoneInfo("Asia/Tokyo")

FIELD_KINDS = ("text", "choice", "datetime", "area", "facility", "number")
SOURCES = ("areas", "shelters", "facilities")
DEFAULT_SOURCE = {"area": "areas", "facility": "shelters"}

#: Categories in the order the home screen lists them; other categories follow, by name.
CATEGORY_ORDER = (
    "避難情報", "避難所", "気象", "地震", "国民保護", "本部", "ライフライン", "交通", "生活", "訂正・お詫び", "運用",
    "多言語",
)
DEFAULT_ORDER = 1000
SUBJECT_MAX_CHARS = 30
"""The longest 件名 (subject) of a post, as 様式第1号 and a correction name it."""

_TOP_KEYS = ("id", "title", "category", "emergency", "threads", "order", "description",
             "body", "hashtags", "link", "expects", "drill_only", "fields", "lifts", "board_key", "board_level",
             "department", "versions")
#: Gate rules (core.gate.RULES) a template may declare in ``expects``: the content warnings,
#: and drill-marker (the drill announcement). Blocking checks otherwise cannot be expected.
EXPECTABLE_RULES = (
    "obsolete-term", "personal-phone", "personal-email", "personal-address", "personal-number",
    "personal-name", "rumour", "link-domain", "mention", "political", "religious", "discriminatory",
    "no-time", "stale-time", "drill-marker",
)
_REQUIRED_TOP_KEYS = ("id", "title", "category", "emergency", "description", "body")
_FIELD_KEYS = ("name", "label", "kind", "required", "default", "choices", "source", "example", "help")
_REQUIRED_FIELD_KEYS = ("name", "label", "kind", "example")

_PLACEHOLDER = re.compile(r"\{([^{}\n]*)\}")

#: Variables filled from ``[municipality]`` (see the module docstring), by name.
MUNICIPALITY_VARIABLES = (
    "municipality", "municipality_kind", "municipality_en", "municipality_hashtags",
    "website", "mail_service", "manager_title",
)
#: Variables that must not come out empty: a post naming no one is not sent.
_REQUIRED_VARIABLES = {"municipality": "name", "municipality_kind": "kind", "municipality_en": "name"}
_PAGE_VARIABLE = re.compile(r"page\.([a-z][a-z0-9_]*)")
_HASHTAG = re.compile(r"#[^\s#{}]+|\{municipality_hashtags\}")
_LINK = re.compile(r"(?:https?://|\{[^{}\s]+\})\S*")  # a variable in it is checked by name
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]*")
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
_HEADER = re.compile(r"^\s*\[")
_TOML_LINE = re.compile(r"at line (\d+)")


@dataclass(frozen=True)
class TemplateField:
    """One typed input of a template (入力項目). ``source`` is set for area/facility kinds."""

    name: str
    label: str
    kind: str
    required: bool = True
    default: str | None = None
    choices: tuple[str, ...] = ()
    source: str | None = None
    example: str = ""
    help: str = ""


@dataclass(frozen=True)
class Template:
    """A post pattern (投稿テンプレート). ``emergency``: carries life-safety information."""

    id: str
    title: str
    category: str
    emergency: bool
    threads: bool
    description: str
    fields: tuple[TemplateField, ...]
    body: str
    hashtags: tuple[str, ...]
    link: str | None
    path: Path
    order: int = DEFAULT_ORDER
    #: The issuing department (情報配信部署, 別表第1) whose approver approves posts of this
    #: template; None: the poster's own department.
    department: str | None = None
    expects: frozenset[str] = frozenset()  # gate rules this template is expected to trip
    drill_only: bool = False  # 訓練専用 (訓練実施中): blocked in live mode
    #: The template whose order or warning this one lifts (解除・閉鎖, SPEC §2 発令中).
    lifts: str | None = None
    #: The field that names the place (地区・避難所・道路) on the board of what is in force.
    board_key: str | None = None
    #: The field that names the kind on the board (e.g. 津波警報); default: the title.
    board_level: str | None = None
    #: Its versions (やさしい日本語・English): template ids, in the order they follow it.
    versions: tuple[str, ...] = ()

    @property
    def examples(self) -> dict[str, str]:
        """Example value of every field, by field name."""
        return {f.name: f.example for f in self.fields}

    def field(self, name: str) -> TemplateField | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def variables(self) -> frozenset[str]:
        """The municipality variables the body, link and hashtags use."""
        texts = [self.body, self.link or "", *self.hashtags]
        return frozenset(n for t in texts for n in _PLACEHOLDER.findall(t) if is_variable(n))


@dataclass(frozen=True)
class TemplateError:
    """A broken template file: where, and what to write instead (Japanese)."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.message}"


@dataclass
class TemplateSet:
    """The loaded templates, in display order, and the files that could not be loaded."""

    templates: list[Template]
    errors: list[TemplateError]

    def get(self, template_id: str) -> Template | None:
        return next((t for t in self.templates if t.id == template_id), None)

    def versions_of(self, template: Template) -> list[Template]:
        """The versions (やさしい日本語・English) of ``template``, in its order."""
        return [v for v in (self.get(i) for i in template.versions) if v is not None]


class MissingFieldsError(InputError):
    """Required fields (必須項目) left empty; names every one of them."""

    def __init__(self, template: Template, missing: Sequence[TemplateField]) -> None:
        self.missing = tuple(missing)
        listed = "、".join(f"{f.name} ({f.label})" for f in self.missing)
        first = self.missing[0]
        example = first.example or "…"
        super().__init__(
            f"テンプレート {template.id} の必須の項目が空です: {listed}",
            hint=f"--set {first.name}={example} のように、項目名=値 で指定してください。",
        )


def is_variable(name: str) -> bool:
    """True for a municipality variable name (``municipality``, ``page.bosai``…)."""
    return name in MUNICIPALITY_VARIABLES or _PAGE_VARIABLE.fullmatch(name) is not None


def municipality_variables(settings: Settings) -> dict[str, str]:
    """Every municipality variable's value, from ``settings.municipality`` (for :func:`render`)."""
    m = settings.municipality
    variables = {
        "municipality": m.name,
        "municipality_kind": m.kind,
        "municipality_en": m.name_en or m.name,
        "municipality_hashtags": " ".join(m.hashtags),
        "website": m.website.rstrip("/"),
        "mail_service": m.mail_service,
        "manager_title": m.manager_title,
    }
    for name in m.pages:
        variables[f"page.{name}"] = m.page_url(name) or ""
    return variables


# -- loading -------------------------------------------------------------------


def bundled_dirs(settings: Settings) -> list[Path]:
    """The bundled template directory, then the site directory if configured."""
    dirs = [BUNDLED_TEMPLATES]
    if settings.templates.site_dir is not None:
        dirs.append(settings.templates.site_dir)
    return dirs


def load_templates(dirs: Sequence[Path], *, fresh: bool = False) -> TemplateSet:
    """Load ``*.toml`` from each directory; a later directory overrides an earlier one by id.

    Unless ``fresh``, the set checked at an earlier start is used when no file has changed
    (see :mod:`core.validated_cache`): parsing every file is most of what a start-up costs here.
    """
    from dutypost.core import validated_cache

    key = validated_cache.Key("dutypost.core.templates")
    for directory in dirs:
        key.add(str(directory))
        if not directory.is_dir():
            key.add("missing")  # said as an error; a folder made later is seen at once
            continue
        try:
            os.listdir(directory)
        except OSError as exc:
            key.add(f"unreadable {exc.errno}")  # said as an error by _load
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                key.add(path.name).add(path.read_bytes())
            except OSError:
                key.add(f"unreadable {path.name}")
    name, digest = validated_cache.name_for("templates", dirs[-1] if dirs else None), key.hexdigest()
    if not fresh:
        found = validated_cache.read(name, digest, TemplateSet)
        if found is not None:
            return found
    loaded = _load(dirs)
    validated_cache.write(name, digest, loaded)
    return loaded


def check_directory(directory: Path) -> TemplateSet:
    """The templates of ``directory`` (a site directory) and its files' errors, read as a
    start reads them: on top of the bundled templates, so that a ``versions`` id may name a
    bundled version (``templates check DIR``)."""
    if directory.resolve() == BUNDLED_TEMPLATES.resolve():
        return _load([directory])
    loaded = _load([BUNDLED_TEMPLATES, directory])
    mine = directory.resolve()
    return TemplateSet([t for t in loaded.templates if t.path.parent.resolve() == mine],
                       [e for e in loaded.errors if e.path.resolve() == mine or e.path.parent.resolve() == mine])


def _load(dirs: Sequence[Path]) -> TemplateSet:
    by_id: dict[str, Template] = {}
    errors: list[TemplateError] = []
    for directory in dirs:
        if not directory.is_dir():
            errors.append(TemplateError(
                directory, None,
                "テンプレートのフォルダが見つかりません。設定 [templates] site_dir の場所を確かめてください。",
            ))
            continue
        try:
            os.listdir(directory)  # glob() sees an unreadable folder as an empty one
        except OSError as exc:
            errors.append(TemplateError(
                directory, None,
                f"テンプレートのフォルダを読めません ({exc.strerror})。dutypost を動かす利用者が読めるように"
                f"権限を直してください (例: chmod a+rx {directory})。",
            ))
            continue
        for path in sorted(directory.glob("*.toml")):
            result = _FileParser(path).parse()
            if isinstance(result, Template):
                by_id[result.id] = result
            else:
                errors.extend(result)
    declared = dict(by_id)  # each link is checked against the files as written
    for template in declared.values():
        if template.versions:
            by_id[template.id] = _check_versions(template, declared, errors)
    return TemplateSet(sorted(by_id.values(), key=_display_key), errors)


def _check_versions(template: Template, by_id: Mapping[str, Template], errors: list[TemplateError]) -> Template:
    """``template`` with only the versions that can follow it; an error for each other one."""
    parser = _FileParser(template.path)
    try:
        parser.lines = template.path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        pass
    line = parser.line_of("versions")
    kept = []
    for version_id in template.versions:
        version = by_id.get(version_id)
        if version is None:
            problem = (f"versions の {version_id!r} というテンプレートはありません。{version_id}.toml を置くか、"
                       "綴りを直すか、versions から消してください。")
        elif version.versions:
            problem = (f"versions の {version_id} には versions があります。版 (やさしい日本語・English) は"
                       f"それ自体の版を持てません。{version.path.name} の versions を消してください。")
        else:
            problem = _choice_mismatch(template, version)
        if problem:
            errors.append(TemplateError(template.path, line, problem))
        else:
            kept.append(version_id)
    return template if len(kept) == len(template.versions) else replace(template, versions=tuple(kept))


def _choice_mismatch(base: Template, version: Template) -> str | None:
    """Why a choice of the base cannot be carried to the version's field of that name, or None."""
    for f in version.fields:
        b = base.field(f.name)
        if b is None or f.kind != "choice" or b.kind != "choice" or set(b.choices) <= set(f.choices):
            continue
        if len(b.choices) != len(f.choices):
            return (f"versions の {version.id} の項目 {f.name} の選択肢は {len(f.choices)} 個、このテンプレートでは "
                    f"{len(b.choices)} 個です。同じ順に同じ数を並べてください (選択肢は並びの順で対応させます)。")
    return None


def _display_key(template: Template) -> tuple:
    try:
        rank = CATEGORY_ORDER.index(template.category)
    except ValueError:
        rank = len(CATEGORY_ORDER)
    return (rank, template.category, template.order, template.id)


class _FileParser:
    """Reads one template file and collects every problem in it, each with its line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[TemplateError] = []
        self.text = ""
        self.lines: list[str] = []

    def parse(self) -> Template | list[TemplateError]:
        try:
            self.text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return [TemplateError(self.path, None, f"ファイルを UTF-8 の文字として読めません ({exc})。")]
        self.lines = self.text.splitlines()
        import tomllib  # here, not at the top: a start with unchanged templates never parses

        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            m = _TOML_LINE.search(str(exc))
            line = int(m[1]) if m else len(self.lines) or None
            return [TemplateError(
                self.path, line,
                f"TOML の書き方に誤りがあります ({exc})。文字列は \"…\"、複数行の本文は \"\"\"…\"\"\" で囲み、"
                "キーは 名前 = 値 の形で書いてください。",
            )]
        template = self._template(data)
        return self.errors if template is None else template

    # -- reporting -------------------------------------------------------------

    def error(
        self, message: str, key: str | None = None, field_index: int | None = None, *, line: int | None = None
    ) -> None:
        self.errors.append(TemplateError(self.path, line or self.line_of(key, field_index), message))

    def line_of(self, key: str | None, field_index: int | None = None) -> int | None:
        """Line of ``key =`` at the top level, or inside the ``field_index``-th [[fields]]."""
        start, stop = 0, len(self.lines)
        if field_index is not None:
            headers = [i for i, line in enumerate(self.lines) if line.strip() == "[[fields]]"]
            if field_index >= len(headers):
                return self.line_of("fields")
            start = headers[field_index] + 1
            stop = next((i for i in range(start, len(self.lines)) if _HEADER.match(self.lines[i])), stop)
        else:
            stop = next((i for i, line in enumerate(self.lines) if _HEADER.match(line)), stop)
        if key is not None:
            key_re = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
            for i in range(start, stop):
                if key_re.match(self.lines[i]):
                    return i + 1
        return start if field_index is not None else None

    def line_containing(self, snippet: str) -> int | None:
        return next((i + 1 for i, line in enumerate(self.lines) if snippet in line), None)

    # -- the template -----------------------------------------------------------

    def _template(self, data: dict[str, Any]) -> Template | None:
        for key in data:
            if key not in _TOP_KEYS:
                self.error(
                    f"キー {key!r} は使えません。綴りを確かめてください。使えるキー: {', '.join(_TOP_KEYS)}",
                    key,
                )
        for key in _REQUIRED_TOP_KEYS:
            if key not in data:
                self.error(f"キー {key!r} がありません。{key} = … を書いてください。")
        template_id = self._string(data, "id")
        if template_id is not None:
            if not _ID.fullmatch(template_id):
                self.error("id は英小文字・数字・- だけで書いてください (例: \"evac-l4\")。", "id")
            elif template_id != self.path.stem:
                self.error(f"id はファイル名と同じにしてください: id = \"{self.path.stem}\" "
                           f"(またはファイル名を {template_id}.toml に)。", "id")
        title = self._string(data, "title")
        category = self._string(data, "category")
        description = self._string(data, "description")
        if description is not None and "\n" in description:
            self.error("description は1行で書いてください。", "description")
        body = self._string(data, "body")
        department = self._string(data, "department")
        emergency = self._bool(data, "emergency", False)
        threads = self._bool(data, "threads", False)
        order = data.get("order", DEFAULT_ORDER)
        if not isinstance(order, int) or isinstance(order, bool):
            self.error("order は整数で書いてください (例: order = 10)。", "order")
        hashtags = data.get("hashtags", [])
        if not isinstance(hashtags, list) or not all(isinstance(h, str) and _HASHTAG.fullmatch(h) for h in hashtags):
            self.error("hashtags は # で始まる文字列か \"{municipality_hashtags}\" の配列で書いてください "
                       "(例: [\"{municipality_hashtags}\", \"#避難指示\"])。", "hashtags")
            hashtags = []
        link = data.get("link")
        if link is not None and not (isinstance(link, str) and _LINK.fullmatch(link)):
            self.error("link は https:// で始まる URL か、{website}・{page.名前} を1つ書いてください。", "link")
            link = None
        expects = data.get("expects", [])
        if not isinstance(expects, list) or not all(isinstance(r, str) for r in expects):
            self.error("expects は規則名の文字列の配列で書いてください (例: expects = [\"rumour\"])。", "expects")
            expects = []
        for rule in expects:
            if rule not in EXPECTABLE_RULES:
                self.error(f"expects の {rule!r} は指定できません。指定できる規則: {', '.join(EXPECTABLE_RULES)}",
                           "expects")
        drill_only = self._bool(data, "drill_only", False)
        raw_fields = data.get("fields", [])
        fields = self._fields(raw_fields)
        if body is not None and fields is not None:
            # Names of broken fields count as declared: their own error says what is wrong.
            declared = {name for item in raw_fields if isinstance(name := item.get("name"), str)}
            self._check_placeholders(body, declared, fields)
        for key, texts in (("link", [link] if isinstance(link, str) else []), ("hashtags", hashtags)):
            for text in texts:
                for name in _PLACEHOLDER.findall(text):
                    if not is_variable(name):
                        self.error(_unknown_variable(name, "link・hashtags"), key)
        lifts = data.get("lifts")
        if lifts is not None and not (isinstance(lifts, str) and _ID.fullmatch(lifts)):
            self.error("lifts は解除する発令のテンプレート id で書いてください (例: lifts = \"evac-l4\")。", "lifts")
            lifts = None
        board = {}
        for key in ("board_key", "board_level"):
            name = data.get(key)
            if name is not None and not (isinstance(name, str) and name in {f.name for f in fields or ()}):
                self.error(f"{key} はこのテンプレートの項目名で書いてください (例: {key} = \"area\")。", key)
                name = None
            board[key] = name
        versions = data.get("versions", [])
        if not isinstance(versions, list) or not all(isinstance(v, str) and _ID.fullmatch(v) for v in versions):
            self.error("versions はテンプレート id の配列で書いてください (例: versions = [\"evac-l4-easy\", "
                       "\"evac-l4-en\"])。", "versions")
            versions = []
        elif template_id in versions or len(set(versions)) != len(versions):
            self.error("versions に同じ id を2回、またはこのテンプレート自身の id を書くことはできません。", "versions")
            versions = []
        if self.errors:
            return None
        return Template(
            id=template_id, title=title, category=category, emergency=emergency, threads=threads,
            description=description, fields=fields, body=body.strip("\n"), hashtags=tuple(hashtags),
            link=link, path=self.path, order=order, department=department, expects=frozenset(expects),
            drill_only=drill_only, lifts=lifts, versions=tuple(versions), **board,
        )

    def _string(self, data: dict[str, Any], key: str, field_index: int | None = None) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.error(f"{key} は空でない文字列 (\"…\") で書いてください。", key, field_index)
            return None
        return value

    def _bool(self, data: dict[str, Any], key: str, default: bool, field_index: int | None = None) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.error(f"{key} は true か false で書いてください。", key, field_index)
            return default
        return value

    def _fields(self, raw: Any) -> tuple[TemplateField, ...] | None:
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            self.error("項目は [[fields]] の表で書いてください。", "fields")
            return None
        fields: list[TemplateField] = []
        seen: set[str] = set()
        for index, item in enumerate(raw):
            parsed = self._field(item, index)
            if parsed is None:
                continue
            if parsed.name in seen:
                self.error(f"項目名 {parsed.name!r} が重複しています。別の name にしてください。", "name", index)
                continue
            seen.add(parsed.name)
            fields.append(parsed)
        return tuple(fields)

    def _field(self, item: dict[str, Any], index: int) -> TemplateField | None:
        before = len(self.errors)
        for key in item:
            if key not in _FIELD_KEYS:
                self.error(
                    f"[[fields]] のキー {key!r} は使えません。使えるキー: {', '.join(_FIELD_KEYS)}", key, index
                )
        for key in _REQUIRED_FIELD_KEYS:
            if key not in item:
                self.error(f"[[fields]] に {key} がありません。{key} = … を書いてください。", None, index)
        name = self._string(item, "name", index)
        if name is not None and not _FIELD_NAME.fullmatch(name):
            self.error("項目の name は英小文字で始まる英小文字・数字・_ で書いてください (例: \"area\")。",
                       "name", index)
        label = self._string(item, "label", index)
        kind = item.get("kind")
        if "kind" in item and kind not in FIELD_KINDS:
            self.error(f"kind {kind!r} は使えません。次のどれかにしてください: {', '.join(FIELD_KINDS)}",
                       "kind", index)
        required = self._bool(item, "required", True, index)
        for key in ("default", "example", "help"):
            if key in item and not isinstance(item[key], str):
                self.error(f"{key} は文字列 (\"…\") で書いてください。", key, index)
        example = item.get("example", "")
        if required and isinstance(example, str) and not example.strip():
            self.error("必須の項目には example (記入例) を書いてください。", "example", index)
        choices = self._choices(item, kind, index)
        source = item.get("source", DEFAULT_SOURCE.get(kind))
        if "source" in item and kind not in DEFAULT_SOURCE:
            self.error("source は kind = \"area\" か \"facility\" の項目にだけ書けます。", "source", index)
        elif source is not None and source not in SOURCES:
            self.error(f"source {source!r} は使えません。次のどれかにしてください: {', '.join(SOURCES)}",
                       "source", index)
        if len(self.errors) > before:
            return None
        for key in ("default", "example"):
            value = item.get(key)
            if not value:
                continue
            problem = _value_problem(kind, choices, value)
            if problem:
                self.error(f"{key} が正しくありません: {problem}", key, index)
        if len(self.errors) > before:
            return None
        return TemplateField(
            name=name, label=label, kind=kind, required=required, default=item.get("default"),
            choices=choices, source=source, example=example, help=item.get("help", ""),
        )

    def _choices(self, item: dict[str, Any], kind: Any, index: int) -> tuple[str, ...]:
        if kind != "choice":
            if "choices" in item:
                self.error("choices は kind = \"choice\" の項目にだけ書けます。", "choices", index)
            return ()
        choices = item.get("choices")
        if (
            not isinstance(choices, list)
            or not choices
            or not all(isinstance(c, str) and c.strip() for c in choices)
        ):
            self.error("kind = \"choice\" の項目には choices = [\"…\", \"…\"] (空でない文字列の配列) を書いてください。",
                       "choices" if "choices" in item else "kind", index)
            return ()
        duplicates = sorted({c for c in choices if choices.count(c) > 1})
        if duplicates:
            self.error(f"choices に同じ値が重複しています: {', '.join(duplicates)}", "choices", index)
        return tuple(choices)

    def _check_placeholders(self, body: str, declared: set[Any], fields: tuple[TemplateField, ...]) -> None:
        used = set(_PLACEHOLDER.findall(body))
        for name in sorted(used - declared):
            if is_variable(name):
                continue
            self.error(_unknown_variable(name, "本文"), line=self.line_containing(f"{{{name}}}"))
        for index, f in enumerate(fields):
            if f.name not in used:
                self.error(f"項目 {f.name} は本文で使われていません。本文に {{{f.name}}} を書くか、項目を消してください。",
                           "name", index)


def _unknown_variable(name: str, where: str) -> str:
    known = "、".join(f"{{{v}}}" for v in (*MUNICIPALITY_VARIABLES, "page.名前"))
    return (f"{where}の {{{name}}} に対応する項目も自治体の変数もありません。[[fields]] に name = \"{name}\" の"
            f"項目を足すか、綴りを直すか、消してください。自治体の変数: {known}")


# -- filling in ------------------------------------------------------------------


def format_jst_time(moment: datetime) -> str:
    """「3時20分」: the hour and minute in JST (a naive datetime is taken as JST)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(JST)
    return f"{moment.hour}時{moment.minute:02d}分"


def format_jst_datetime(moment: datetime) -> str:
    """「9月1日 3時20分」: month, day, hour and minute in JST (naive is taken as JST).

    The form a correction (訂正) uses for 元の投稿日時."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(JST)
    return f"{moment.month}月{moment.day}日 {format_jst_time(moment)}"


def post_subject(post: Post, templates: TemplateSet) -> str:
    """件名 of a post: its template's title, else the first line of its text (without the
    drill marker and the 【】 around a heading), at most 30 characters."""
    template = templates.get(post.template_id) if post.template_id else None
    if template is not None:
        return template.title
    first = next((line.strip() for line in post.text.splitlines() if line.strip()), "")
    if post.drill:
        first = first.replace("【訓練】", "", 1).strip()
    if first.startswith("【") and first.endswith("】") and first.count("【") == 1:
        first = first[1:-1]
    return first if len(first) <= SUBJECT_MAX_CHARS else first[: SUBJECT_MAX_CHARS - 1] + "…"


def default_value(field: TemplateField, now: datetime) -> str:
    """The field's ``default``; a datetime field without one defaults to ``now`` (「3時20分」)."""
    if field.default is not None:
        return field.default
    if field.kind == "datetime":
        return format_jst_time(now)
    return ""


def version_values(base: Template, version: Template, values: Mapping[str, str]) -> dict[str, str]:
    """The values for ``version`` (やさしい日本語・English) from the values of its ``base``.

    A field of the same name takes the base's value; a choice the version words otherwise
    (English 「5 lower」 for 5弱) is taken by its position in the list. A field only the
    version has (``area_en``) takes what ``values`` give it under its name, else its default."""
    carried: dict[str, str] = {}
    for f in version.fields:
        value = values.get(f.name, "")
        b = base.field(f.name)
        if (b is not None and f.kind == "choice" and b.kind == "choice" and value not in f.choices
                and value in b.choices and len(b.choices) == len(f.choices)):
            value = f.choices[b.choices.index(value)]
        carried[f.name] = value
    return carried


def version_fields(base: Template, versions: Sequence[Template]) -> tuple[TemplateField, ...]:
    """The fields the versions need that ``base`` lacks (e.g. 対象地区 (英語)), each once."""
    found: dict[str, TemplateField] = {}
    for version in versions:
        for f in version.fields:
            if base.field(f.name) is None:
                found.setdefault(f.name, f)
    return tuple(found.values())


def field_choices(field: TemplateField, settings: Settings) -> list[str]:
    """What the operator picks from: the field's choices, or the names in its config list."""
    if field.kind == "choice":
        return list(field.choices)
    if field.source == "areas":
        return list(settings.lists.areas)
    if field.source in ("shelters", "facilities"):
        return [facility.name for facility in getattr(settings.lists, field.source)]
    return []


def render(
    template: Template,
    values: Mapping[str, str],
    *,
    now: datetime | None = None,
    variables: Mapping[str, str] | None = None,
) -> str:
    """Fill the body, then add the link and the hashtags (the last line).

    ``variables`` are the municipality variables (:func:`municipality_variables`); without
    them a ``{municipality}`` and the like stays as written, which the gate blocks as an
    unfilled placeholder. Empty fields take :func:`default_value`. A line whose
    placeholders all come out empty is left out, and so is a link to a page the config
    lacks (:func:`unfilled_pages`). Raises :class:`MissingFieldsError` for
    empty required fields and :class:`InputError` for unknown names, invalid values, and a
    variable the config leaves empty (naming the ``[municipality]`` key).
    """
    names = [f.name for f in template.fields]
    unknown = [name for name in values if name not in names]
    if unknown:
        raise InputError(
            f"テンプレート {template.id} にない項目です: {', '.join(unknown)}",
            hint="使える項目: " + ("、".join(f"{f.name} ({f.label})" for f in template.fields) or "なし"),
        )
    now = now or datetime.now(JST)
    filled: dict[str, str] = {}
    missing: list[TemplateField] = []
    problems: list[str] = []
    for f in template.fields:
        value = (values.get(f.name) or default_value(f, now)).strip()
        if not value and f.required:
            missing.append(f)
        elif value:
            problem = _value_problem(f.kind, f.choices, value)
            if problem:
                problems.append(f"{f.name} ({f.label}): {problem}")
        filled[f.name] = value
    if missing:
        raise MissingFieldsError(template, missing)
    if problems:
        raise InputError("項目の値が正しくありません。\n" + "\n".join(problems))
    if variables is not None:
        _check_variables(template, variables)

    def value_of(name: str) -> str | None:
        """The text for ``{name}``; None to leave it as written (no variables given)."""
        if name in filled:
            return filled[name]
        if variables is None:
            return None
        return variables.get(name, "")

    def fill(text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: v if (v := value_of(m[1])) is not None else m[0], text)

    lines = []
    for line in template.body.splitlines():
        used = _PLACEHOLDER.findall(line)
        if used and all(value_of(name) == "" for name in used):
            continue
        lines.append(fill(line))
    text = "\n".join(lines).strip()
    link = template.link or ""
    if variables is not None and any(is_variable(n) and not variables.get(n) for n in _PLACEHOLDER.findall(link)):
        link = ""  # a page the config lacks: the post goes without its link (unfilled_pages)
    link = fill(link)
    if link:
        text += "\n" + link
    hashtags = [tag for tag in (fill(h) for h in template.hashtags) if tag]
    if hashtags:
        text += "\n" + " ".join(hashtags)
    return text


def unfilled_pages(template: Template, variables: Mapping[str, str]) -> tuple[str, ...]:
    """The web pages the template links that the config does not give, as variable names
    (``page.shelters``, ``website``): :func:`render` leaves their link out."""
    return tuple(name for name in sorted(template.variables)
                 if (name == "website" or _PAGE_VARIABLE.fullmatch(name)) and not variables.get(name))


def unfilled_page_hint(name: str) -> str:
    """What to write in the config for the page variable ``name`` (``page.shelters``, ``website``)."""
    page = _PAGE_VARIABLE.fullmatch(name)
    if page is None:
        return "[municipality] website にホームページの URL (例: \"https://www.city.example.lg.jp\") を書いてください。"
    return (f"[municipality.pages] に {page[1]} = \"/…/\" (ホームページからのパスか https:// からの URL) を書き、"
            "パスなら [municipality] website も書いてください。")


def _check_variables(template: Template, variables: Mapping[str, str]) -> None:
    for name in sorted(template.variables):
        if variables.get(name):
            continue
        if name in _REQUIRED_VARIABLES:
            key = _REQUIRED_VARIABLES[name]
            raise InputError(
                f"テンプレート {template.id} は自治体名を使いますが、設定の [municipality] {key} がありません。",
                hint="設定ファイルに [municipality] の表を書き、name = \"阿見町\"、kind = \"町\" のように"
                     f"自治体名と種類 (町・市・村・区) を書いてください。{EXAMPLE_CONFIG} に例があります。",
            )


def _value_problem(kind: str, choices: Sequence[str], value: str) -> str | None:
    if kind == "number" and not _NUMBER.fullmatch(unicodedata.normalize("NFKC", value)):
        return f"「{value}」は数ではありません。数字で書いてください (例: 1200)。"
    if kind == "choice" and value not in choices:
        return f"「{value}」は選べません。次のどれかにしてください: {'、'.join(choices)}"
    return None


def describe(template: Template) -> dict:
    """The ``templates list --json`` shape (SPEC §10)."""
    return {
        "id": template.id,
        "title": template.title,
        "category": template.category,
        "emergency": template.emergency,
        "fields": [
            {"name": f.name, "label": f.label, "kind": f.kind, "required": f.required, "example": f.example}
            for f in template.fields
        ],
    }
