"""Loading the config (設定の読み込み): find the file, read it, validate it, cache what was validated.

Discovery order for the file:
1. ``--config PATH`` on the command line;
2. the ``DUTYPOST_CONFIG`` environment variable;
3. ``config.toml`` in the platform's config directory (``dutypost config path`` prints it).

Environment variables ``DUTYPOST_<SECTION>__<KEY>`` override the file, e.g.
``DUTYPOST_X__API_BASE_URL``. The sources, highest first: values given in code (tests),
``DUTYPOST_`` environment variables with ``__`` nesting, then the TOML file. The schema
is :mod:`core.config`; the X credentials are read by :mod:`core.credentials`, and are
kept out of what is validated here.

pydantic-settings validates the sections (its TOML source, the ``DUTYPOST_`` prefix and
``__`` nesting), and what it validated is kept in the user's cache directory
(:mod:`core.validated_cache`), keyed by everything that went into it: the file's bytes,
every ``DUTYPOST_`` variable, the directories the defaults come from, and the code and
library versions that validated it. The next start with the same inputs reads the cached
copy instead, so pydantic is not imported before the first screen (issue 4: start-up
within 1.5x a bare Textual app) nor before a ``dutypost post`` is sent (issue 14). Any
change to any input validates again; ``dutypost config check`` always does. pydantic is
therefore imported only inside :func:`_settings_model`, when a config is validated.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from dataclasses import fields
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dutypost.core import config, validated_cache
from dutypost.core.config import Settings, default_config_path
from dutypost.core.credentials import SECRET_KEYS, env_name
from dutypost.core.errors import InputError

if TYPE_CHECKING:
    from pydantic import ValidationError

ADMIN_FOOTER = "(admin) Fix the keys above; `dutypost config check` re-checks the file."

#: Environment variables that defaults depend on (platformdirs' data directory).
_DEFAULTS_ENV = ("HOME", "XDG_DATA_HOME")


def resolve_config_path(cli_path: str | os.PathLike[str] | None) -> Path:
    if cli_path:
        return Path(cli_path).expanduser()
    env = os.environ.get("DUTYPOST_CONFIG")
    if env:
        return Path(env).expanduser()
    return default_config_path()


def load_settings(path: Path | None, *, fresh: bool = False, **overrides: Any) -> Settings:
    """Load and validate the config; raise :class:`InputError` naming file, line and fix.

    ``overrides`` replace sections (tests). Without them, a copy validated before from the
    same inputs is used, unless ``fresh`` (see the module docstring).
    """
    data = _read_config(path)
    name = validated_cache.name_for("settings", path)
    key = _cache_key(path, data) if not overrides else ""
    if key and not fresh:
        settings = validated_cache.read(name, key, Settings)
        if settings is not None:
            return settings
    settings = validate(path, _decode(path, data), overrides)
    if key and _read_config(path) == data:  # not if the file changed while being validated
        validated_cache.write(name, key, settings)
    return settings


def _read_config(path: Path | None) -> bytes:
    if path is None:
        return b""
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise InputError(
            f"設定ファイルが見つかりません: {path}",
            hint=(
                f"dutypost config init --municipality 自治体名 で作るか、例の設定 {config.EXAMPLE_CONFIG} を "
                f"{path} にコピーして自治体に合わせて書き換えるか、--config で場所を指定してください。"
                "試すだけなら dutypost --demo を使えます。\n"
                f"(admin) Config file not found: {path}. Run `dutypost config init --municipality NAME`, "
                f"copy {config.EXAMPLE_CONFIG} there, or pass --config."
            ),
        ) from None
    except OSError as exc:
        raise InputError(
            f"設定ファイルを読めません: {path} ({exc.strerror})",
            hint=f"ファイルの権限を確かめてください。\n(admin) Cannot read config file {path}: {exc.strerror}.",
        ) from None


def _decode(path: Path | None, data: bytes) -> str:
    """The file's text; bytes that are not UTF-8 are an error naming the line (TOML is UTF-8)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}:{line}: 設定ファイルに UTF-8 でない文字があります ({exc.start + 1} バイト目)。",
            hint=(f"{path} を UTF-8 で保存し直してください (Shift_JIS などで保存されていないか確かめます)。\n"
                  f"(admin) {path}:{line}: not valid UTF-8; save the file as UTF-8."),
        ) from None


def _cache_key(path: Path | None, data: bytes) -> str:
    """A digest of every input to validation: change any of them and the key changes."""
    key = validated_cache.Key("dutypost.core.config", "dutypost.core.config_loader", "dutypost.core.credentials",
                              "pydantic", "pydantic_settings")
    key.add(str(path.resolve()) if path is not None else "").add(data)
    credentials = {env_name(k) for k in SECRET_KEYS}  # not in Settings: not in the key
    for name in sorted(os.environ):
        if (name.upper().startswith("DUTYPOST_") and name.upper() not in credentials) or name in _DEFAULTS_ENV:
            key.add(name).add(os.environ[name])
    return key.hexdigest()


# -- validating with pydantic-settings ----------------------------------------------------

_toml_path: ContextVar[Path | None] = ContextVar("_toml_path", default=None)


@cache
def _settings_model() -> type:
    """The settings class: the fields of :class:`Settings`, read from the sources above.

    Built on first use: pydantic and pydantic-settings take longer to import than the first
    screen takes to draw, and a start with a valid cached copy never needs them."""
    from pydantic import Field, create_model
    from pydantic_settings import (
        BaseSettings,
        EnvSettingsSource,
        PydanticBaseSettingsSource,
        SettingsConfigDict,
        TomlConfigSettingsSource,
    )

    class EnvWithoutCredentials(EnvSettingsSource):
        """``DUTYPOST_`` variables, less the X credentials: :mod:`core.credentials` reads
        those when they are needed, so they never sit in the settings or their cached copy."""

        def __call__(self) -> dict[str, Any]:
            data = super().__call__()
            x = data.get("x")
            if isinstance(x, dict):
                data["x"] = {k: v for k, v in x.items() if k not in SECRET_KEYS}
            return data

    class Sources(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="DUTYPOST_", env_nested_delimiter="__", extra="forbid")

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            env = EnvWithoutCredentials(settings_cls, env_prefix="DUTYPOST_", env_nested_delimiter="__")
            sources: list[PydanticBaseSettingsSource] = [init_settings, env]
            path = _toml_path.get()
            if path is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
            return tuple(sources)

    return create_model(  # type: ignore[call-overload]
        "Settings",
        __base__=Sources,
        __module__=config.__name__,  # the field types are names in core.config
        **{f.name: (f.type, Field(default_factory=f.default_factory)) for f in fields(Settings)},  # type: ignore[misc]
    )


def validate(path: Path | None, text: str, overrides: dict[str, Any]) -> Settings:
    """Validate ``text`` (the bytes of ``path``) and ``overrides``; always, never from the cache."""
    from pydantic import ValidationError

    if path is not None:
        import tomllib

        try:
            parsed = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(
                f"{path}: TOML の書き方に誤りがあります: {exc}",
                hint="示された行と列を直してください (文字列は \"…\" で囲み、表の見出しは [x] の形です)。",
            ) from None
        except RecursionError:  # tomllib recurses once per level of [[…]] / {…}
            raise InputError(
                f"{path}: 配列か表の入れ子が深すぎて読めません。",
                hint=f"設定の値は 2〜3 段の入れ子で足ります。{config.EXAMPLE_CONFIG} の形に直してください。",
            ) from None
        if not parsed and not overrides:
            raise InputError(
                f"{path}: 設定ファイルが空です (キーが一つもありません)。",
                hint=(f"dutypost config init --municipality 自治体名 で例の設定から作るか、"
                      f"{config.EXAMPLE_CONFIG} をコピーして書き換えてください。"),
            )
    _check_environment()
    model = _settings_model()
    token = _toml_path.set(path)
    try:
        sources = model(**overrides)
    except ValidationError as exc:
        raise InputError(_describe_validation_error(exc, path, text)) from None
    finally:
        _toml_path.reset(token)
    try:
        return Settings(**{f.name: getattr(sources, f.name) for f in fields(Settings)})
    except ValueError as exc:  # the cross-checks between sections (Settings.__post_init__)
        where = str(path) if path else "設定"
        raise InputError(f"{where}: 設定に誤りがあります (1 件)。\n  {where}: {exc}\n{ADMIN_FOOTER}") from None


# -- names that are not ours ----------------------------------------------------------

#: ``DUTYPOST_`` variables that are not settings: read elsewhere (the credentials, the file).
_OTHER_VARIABLES = frozenset({"DUTYPOST_CONFIG", *(env_name(k) for k in SECRET_KEYS)})


def suggest(word: str, known: list[str]) -> str | None:
    """The known name closest to a misspelt ``word`` ("did you mean"), or None."""
    import difflib

    found = difflib.get_close_matches(word.lower(), [k.lower() for k in known], n=1, cutoff=0.6)
    return next((k for k in known if k.lower() == found[0]), None) if found else None


def _section_fields(loc: list[str]) -> list[str] | None:
    """The field names of the section at ``loc`` (e.g. ``["x"]``, ``["operators", "0"]``)."""
    import dataclasses
    import typing

    cls: Any = Settings
    for part in loc:
        if part.isdigit():
            continue
        hints = typing.get_type_hints(cls, include_extras=False)
        kind = hints.get(part)
        while kind is not None and typing.get_origin(kind) in (list, typing.Union, type(int | None)):
            args = [a for a in typing.get_args(kind) if a is not type(None)]
            kind = args[0] if args else None
        if kind is None or not dataclasses.is_dataclass(kind):
            return None
        cls = kind
    return [f.name for f in fields(cls)]


def _known_keys(loc: list[str]) -> list[str]:
    return _section_fields(loc) or []


def known_variables() -> list[str]:
    """Every ``DUTYPOST_<SECTION>__<KEY>`` that overrides a setting, and the others read."""
    names = set(_OTHER_VARIABLES)
    for section in fields(Settings):
        names.add(f"DUTYPOST_{section.name.upper()}")
        for key in _section_fields([section.name]) or []:
            names.add(f"DUTYPOST_{section.name.upper()}__{key.upper()}")
    return sorted(names)


def _check_environment() -> None:
    """An unknown ``DUTYPOST_`` variable is an error, as an unknown key in the file is: a
    misspelt override must not leave the file's value quietly in force."""
    known = set(known_variables())
    for name in sorted(os.environ):
        upper = name.upper()
        if not upper.startswith("DUTYPOST_") or upper in known:
            continue
        if any(upper.startswith(k + "__") for k in known if "__" in k):
            continue  # inside a table value (DUTYPOST_MUNICIPALITY__PAGES__BOSAI): pydantic checks it
        near = suggest(upper, sorted(known))
        raise InputError(
            f"環境変数 {name} は dutypost の設定にありません。",
            hint=((f"{near} の間違いではありませんか? " if near else "")
                  + f"綴りを直すか、この変数を消してください (unset {name})。設定は DUTYPOST_<表>__<キー> の形です "
                  "(例: DUTYPOST_X__API_BASE_URL)。\n"
                  f"(admin) Unknown environment variable {name}; fix its name or unset it."),
        )


# -- what is wrong, in Japanese ---------------------------------------------------------


def _describe_validation_error(exc: ValidationError, path: Path | None, text: str) -> str:
    where = str(path) if path else "設定"
    lines = [f"{where}: 設定に誤りがあります ({exc.error_count()} 件)。"]
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        key = ".".join(loc) or "(全体)"
        line = _line_of(text, loc) if text else None
        at = f"{where}:{line}" if line else where
        kind = err["type"]
        if kind in ("extra_forbidden", "unexpected_keyword_argument"):
            if loc[:1] == ["x"] and loc[-1] in SECRET_KEYS:
                fix = ("X の認証情報は設定ファイルに書けません。この行を消し、dutypost auth で秘密情報ファイルを作るか、"
                       f"環境変数 {env_name(loc[-1])} で渡してください。")
            else:
                near = suggest(loc[-1], _known_keys(loc[:-1]))
                fix = (f"このキーは使えません。{near} の間違いではありませんか?" if near else
                       f"このキーは使えません。綴りを確かめるか、{config.EXAMPLE_CONFIG} にあるキー名を使ってください。")
        elif kind in ("missing", "missing_argument"):
            fix = "このキーは必須です。値を書いてください。"
        else:
            fix = _japanese_reason(err)
        variable = "DUTYPOST_" + "__".join(p.upper() for p in loc if not p.isdigit())
        source = f" (環境変数 {variable} の値かもしれません)" if variable in os.environ else ""
        lines.append(f"  {at}: [{key}] {fix}{source}")
    lines.append(ADMIN_FOOTER)
    return "\n".join(lines)


def _japanese_reason(err: Any) -> str:
    kind = err["type"]
    msg = err.get("msg", "")
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    ctx = err.get("ctx", {})
    table = {
        "string_type": "文字列 (\"…\") で書いてください。",
        "int_parsing": "整数で書いてください。",
        "int_type": "整数で書いてください。",
        "int_from_float": "整数で書いてください。",
        "float_parsing": "数値で書いてください。",
        "float_type": "数値で書いてください。",
        "bool_parsing": "true か false で書いてください。",
        "bool_type": "true か false で書いてください。",
        "list_type": "配列 ([\"…\", \"…\"]) で書いてください。",
        "dict_type": "表 ({ キー = \"値\" }) の形で書いてください。",
        "time_parsing": "時刻は \"08:30\" の形で書いてください。",
        "time_type": "時刻は \"08:30\" の形で書いてください。",
        "date_parsing": "日付は 2026-12-28 の形で書いてください。",
        "date_from_datetime_parsing": "日付は 2026-12-28 の形で書いてください。",
        "path_type": "パスを文字列 (\"…\") で書いてください。",
        "literal_error": f"使える値は次のとおりです: {ctx.get('expected', '')}",
        "greater_than": f"{ctx.get('gt')} より大きい値にしてください。",
        "greater_than_equal": f"{ctx.get('ge')} 以上にしてください。",
        "less_than_equal": f"{ctx.get('le')} 以下にしてください。",
        "model_type": "表 ([section]) の形で書いてください。",
        "dataclass_type": "表 ([section]) の形で書いてください。",
        "dataclass_args_type": "表 ([section]) の形で書いてください。",
    }
    return table.get(kind, f"値が正しくありません ({msg})。")


def _line_of(text: str, loc: list[str]) -> int | None:
    """Best-effort line number of the key ``loc`` in the TOML text (1-based)."""
    names = [p for p in loc if not p.isdigit()]
    if not names:
        return None
    lines = text.splitlines()
    index = [int(p) for p in loc if p.isdigit()]
    section_re = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*$")
    # Find the header of the section, counting array-of-table occurrences.
    want_section = names[0]
    occurrence = index[0] if index and len(loc) > 1 and loc[1].isdigit() else 0
    start = None
    count = -1
    for i, raw in enumerate(lines):
        m = section_re.match(raw)
        if m and m.group(1).split(".")[0] == want_section:
            count += 1
            if count == occurrence:
                start = i
                break
    key = names[-1]
    key_re = re.compile(rf"^\s*{re.escape(key)}\s*=")
    if start is None:
        for i, raw in enumerate(lines):
            if key_re.match(raw):
                return i + 1
        return None
    for i in range(start + 1, len(lines)):
        if section_re.match(lines[i]):
            break
        if key_re.match(lines[i]):
            return i + 1
    return start + 1
