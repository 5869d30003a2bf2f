"""Validating the config with pydantic-settings (設定の検証).

Imported only when a config has to be validated (see :mod:`core.config`): pydantic and
pydantic-settings take longer to import than the first screen takes to draw.

The sources, highest first: values given in code (tests), ``DUTYPOST_`` environment
variables with ``__`` nesting, then the TOML file. The result is a
:class:`core.config.Settings`; what is wrong becomes an :class:`InputError` naming the
file, the line, the key and the fix.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar
from dataclasses import fields
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, create_model
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

import dutypost.core.config as config
from dutypost.core.config import SECRET_KEYS, Settings
from dutypost.core.errors import InputError

ADMIN_FOOTER = "(admin) Fix the keys above; `dutypost config check` re-checks the file."


class _EnvWithoutCredentials(EnvSettingsSource):
    """``DUTYPOST_`` variables, less the X credentials: :func:`credentials_from_environment`
    reads those when they are needed, so they never sit in the settings or their snapshot."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        x = data.get("x")
        if isinstance(x, dict):
            data["x"] = {k: v for k, v in x.items() if k not in SECRET_KEYS}
        return data


class _Sources(BaseSettings):
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
        env = _EnvWithoutCredentials(settings_cls, env_prefix="DUTYPOST_", env_nested_delimiter="__")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env]
        path = _toml_path.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)


_toml_path: ContextVar[Path | None] = ContextVar("_toml_path", default=None)

#: The settings class: the fields of :class:`Settings`, read from the sources above.
_SettingsSources = create_model(  # type: ignore[call-overload]
    "Settings",
    __base__=_Sources,
    __module__=config.__name__,  # the field types are names in core.config
    **{f.name: (f.type, Field(default_factory=f.default_factory)) for f in fields(Settings)},  # type: ignore[misc]
)


def validate(path: Path | None, text: str, overrides: dict[str, Any]) -> Settings:
    if path is not None:
        import tomllib

        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(
                f"{path}: TOML の書き方に誤りがあります: {exc}",
                hint="示された行と列を直してください (文字列は \"…\" で囲み、表の見出しは [x] の形です)。",
            ) from None
    token = _toml_path.set(path)
    try:
        sources = _SettingsSources(**overrides)
    except ValidationError as exc:
        raise InputError(_describe_validation_error(exc, path, text)) from None
    finally:
        _toml_path.reset(token)
    try:
        return Settings(**{f.name: getattr(sources, f.name) for f in fields(Settings)})
    except ValueError as exc:  # the cross-checks between sections (Settings.__post_init__)
        where = str(path) if path else "設定"
        raise InputError(f"{where}: 設定に誤りがあります (1 件)。\n  {where}: {exc}\n{ADMIN_FOOTER}") from None


class _Credentials(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DUTYPOST_X__", extra="ignore")

    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None


def credentials_from_environment() -> dict[str, str | None]:
    """The four ``DUTYPOST_X__*`` credentials; None for each one not set."""
    found = _Credentials()
    values = {k: getattr(found, k) for k in SECRET_KEYS}
    return {k: v.get_secret_value() if v is not None else None for k, v in values.items()}


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
                       f"環境変数 DUTYPOST_X__{loc[-1].upper()} で渡してください。")
            else:
                fix = "このキーは使えません。綴りを確かめるか、config.example.toml にあるキー名を使ってください。"
        elif kind in ("missing", "missing_argument"):
            fix = "このキーは必須です。値を書いてください。"
        else:
            fix = _japanese_reason(err)
        env_name = "DUTYPOST_" + "__".join(p.upper() for p in loc if not p.isdigit())
        source = f" (環境変数 {env_name} の値かもしれません)" if env_name in os.environ else ""
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
