"""Configuration (設定): one TOML file plus ``DUTYPOST_`` environment variables.

Discovery order for the file:
1. ``--config PATH`` on the command line;
2. the ``DUTYPOST_CONFIG`` environment variable;
3. ``config.toml`` in the platform's config directory (``dutypost config path`` prints it).

Environment variables ``DUTYPOST_<SECTION>__<KEY>`` override the file, e.g.
``DUTYPOST_X__API_BASE_URL``. X credentials come from the environment or from the
secrets file (mode 0600, written by ``dutypost auth``), never from the config file.

Unknown keys are errors, not silently ignored: a typo in a policy setting must not
quietly turn a check off.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
import sys
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import InputError

APP_NAME = "dutypost"


def _shipped(name: str) -> Path:
    """A file shipped beside the code: in the source tree (a checkout or an editable
    install), else where a wheel's data files go (``<prefix>/share/dutypost``)."""
    in_tree = Path(__file__).resolve().parent.parent / name
    if in_tree.exists():
        return in_tree
    return Path(sys.prefix) / "share" / APP_NAME / name


EXAMPLE_CONFIG = _shipped("config.example.toml")
BUNDLED_TEMPLATES = _shipped("templates")

Role = Literal["poster", "approver", "manager", "security"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def default_data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AccountConfig(_Section):
    """The municipality's X account (公式アカウント)."""

    name: str = "公式アカウント"
    handle: str = "example_town"
    drill_handle: str = ""
    web_base_url: str = "https://x.com"
    inquiry_url: str = ""


class HoursConfig(_Section):
    """Regular working hours (正規の勤務時間, R1)."""

    timezone: str = "Asia/Tokyo"
    weekdays: list[str] = ["mon", "tue", "wed", "thu", "fri"]
    start: dt.time = dt.time(8, 30)
    end: dt.time = dt.time(17, 15)
    national_holidays: bool = True
    closed_days: list[str] = ["12-29", "12-30", "12-31", "01-01", "01-02", "01-03"]
    closed_dates: list[dt.date] = []

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[str]) -> list[str]:
        bad = [d for d in value if d not in WEEKDAYS]
        if bad:
            raise ValueError(f"曜日は {', '.join(WEEKDAYS)} のいずれかで書いてください: {bad}")
        return value

    @field_validator("closed_days")
    @classmethod
    def _closed_days(cls, value: list[str]) -> list[str]:
        for item in value:
            m = re.fullmatch(r"(\d\d)-(\d\d)", item)
            if not m:
                raise ValueError(f"閉庁日は \"MM-DD\" の形で書いてください (例: \"12-29\"): {item!r}")
            dt.date(2000, int(m[1]), int(m[2]))  # raises on 13-01 and the like
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        ZoneInfo(value)
        return value

    @model_validator(mode="after")
    def _order(self) -> "HoursConfig":
        if self.start >= self.end:
            raise ValueError("start は end より前の時刻にしてください")
        return self


class XConfig(_Section):
    """The X API (SPEC §5). Credentials never live in the config file."""

    api_base_url: str = "https://api.x.com"
    timeout_seconds: float = Field(15, gt=0, le=120)
    max_weighted_length: int = Field(280, ge=1)
    price_post_usd: float = 0.015
    price_post_with_url_usd: float = 0.20
    secrets_file: Path | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None


class DrillConfig(_Section):
    """Drill mode (訓練): where drill posts go and how they are marked."""

    api_base_url: str = "http://127.0.0.1:8787"
    web_base_url: str | None = None  # where drill posts are seen; default: the practice server itself
    marker: str = "【訓練】"


class LedgerConfig(_Section):
    path: Path = Field(default_factory=lambda: default_data_dir() / "ledger.sqlite3")


class SshConfig(_Section):
    service_user: str = "dutypost"


class TuiConfig(_Section):
    """Terminal behaviour; read before textual is imported."""

    slow_link: bool = False
    escdelay_ms: int = Field(100, ge=0, le=2000)
    disable_kitty_keys: bool = True
    keymap: dict[str, str] = {}


DEFAULT_OVERRIDE_CATEGORIES = [
    "生命・身体・財産の保護に必要な緊急情報",
    "誤った投稿への対応",
    "その他やむを得ない事情",
]


class GateConfig(_Section):
    """The gate's policy settings (投稿前チェック)."""

    override_categories: list[str] = DEFAULT_OVERRIDE_CATEGORIES
    min_justification_chars: int = Field(10, ge=1)
    allow_domains: list[str] = []
    allow_phones: list[str] = []
    allow_emails: list[str] = []
    political_terms: list[str] = ["選挙運動", "投票してください", "支持政党", "政党", "候補者を応援"]
    religious_terms: list[str] = ["布教", "入信", "信者募集"]
    discriminatory_terms: list[str] = []
    obscene_terms: list[str] = []
    duplicate_window_hours: int = Field(24, ge=0)
    same_template_warn_minutes: int = Field(30, ge=0)


class Facility(_Section):
    name: str
    address: str = ""


class ListsConfig(_Section):
    """Lists that template fields draw on (地区, 避難所 and other facilities)."""

    areas: list[str] = []
    shelters: list[Facility] = []
    facilities: list[Facility] = []


class Department(_Section):
    """A row of 別表第1: a posting department and its approver (配信承認者)."""

    name: str
    approver_title: str


class Operator(_Section):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    name: str
    department: str
    roles: list[Role] = ["poster"]
    os_user: str | None = None


class TemplatesConfig(_Section):
    site_dir: Path | None = None


_toml_path: ContextVar[Path | None] = ContextVar("_toml_path", default=None)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DUTYPOST_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    account: AccountConfig = Field(default_factory=AccountConfig)
    hours: HoursConfig = Field(default_factory=HoursConfig)
    x: XConfig = Field(default_factory=XConfig)
    drill: DrillConfig = Field(default_factory=DrillConfig)
    ledger: LedgerConfig = Field(default_factory=LedgerConfig)
    ssh: SshConfig = Field(default_factory=SshConfig)
    tui: TuiConfig = Field(default_factory=TuiConfig)
    gate: GateConfig = Field(default_factory=GateConfig)
    lists: ListsConfig = Field(default_factory=ListsConfig)
    templates: TemplatesConfig = Field(default_factory=TemplatesConfig)
    departments: list[Department] = []
    operators: list[Operator] = []

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _toml_path.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @model_validator(mode="after")
    def _cross_checks(self) -> "Settings":
        names = {d.name for d in self.departments}
        seen: set[str] = set()
        for i, op in enumerate(self.operators):
            if op.id in seen:
                raise ValueError(f"operators[{i}].id: 職員ID {op.id!r} が重複しています")
            seen.add(op.id)
            if names and op.department not in names:
                raise ValueError(
                    f"operators[{i}].department: {op.department!r} は [[departments]] にありません。"
                    "別表第1 の所属名と同じ文字列にしてください"
                )
        return self

    # -- lookups -----------------------------------------------------------

    def operator(self, operator_id: str) -> Operator | None:
        return next((o for o in self.operators if o.id == operator_id), None)

    def operator_for_os_user(self, os_user: str) -> Operator | None:
        return next((o for o in self.operators if (o.os_user or o.id) == os_user), None)

    def department(self, name: str) -> Department | None:
        return next((d for d in self.departments if d.name == name), None)

    def approvers_for(self, department: str) -> list[Operator]:
        """Operators with the approver role in ``department`` (R2)."""
        return [o for o in self.operators if o.department == department and "approver" in o.roles]

    def api_base_url(self, drill: bool) -> str:
        return (self.drill.api_base_url if drill else self.x.api_base_url).rstrip("/")

    def web_base_url(self, drill: bool) -> str:
        """Where a post's URL points: x.com, or in a drill the practice server's own pages."""
        if drill:
            if self.drill.web_base_url:
                return self.drill.web_base_url.rstrip("/")
            if self.drill.api_base_url.rstrip("/") != "https://api.x.com":
                return self.drill.api_base_url.rstrip("/")
        return self.account.web_base_url.rstrip("/")


def resolve_config_path(cli_path: str | os.PathLike[str] | None) -> Path:
    if cli_path:
        return Path(cli_path).expanduser()
    env = os.environ.get("DUTYPOST_CONFIG")
    if env:
        return Path(env).expanduser()
    return default_config_path()


def load_settings(path: Path | None, **overrides: Any) -> Settings:
    """Load and validate the config; raise :class:`InputError` naming file, line and fix."""
    if path is not None:
        if not path.is_file():
            raise InputError(
                f"設定ファイルが見つかりません: {path}",
                hint=(
                    f"config.example.toml を {path} にコピーして自治体に合わせて書き換えるか、"
                    "--config で場所を指定してください。試すだけなら dutypost --demo を使えます。\n"
                    f"(admin) Config file not found: {path}. Copy config.example.toml there or pass --config."
                ),
            )
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(
                f"{path}: TOML の書き方に誤りがあります: {exc}",
                hint="示された行と列を直してください (文字列は \"…\" で囲み、表の見出しは [x] の形です)。",
            ) from None
    else:
        text = ""
    token = _toml_path.set(path)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise InputError(_describe_validation_error(exc, path, text)) from None
    finally:
        _toml_path.reset(token)


def _describe_validation_error(exc: ValidationError, path: Path | None, text: str) -> str:
    where = str(path) if path else "設定"
    lines = [f"{where}: 設定に誤りがあります ({exc.error_count()} 件)。"]
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        key = ".".join(loc) or "(全体)"
        line = _line_of(text, loc) if text else None
        at = f"{where}:{line}" if line else where
        kind = err["type"]
        if kind == "extra_forbidden":
            fix = "このキーは使えません。綴りを確かめるか、config.example.toml にあるキー名を使ってください。"
        elif kind == "missing":
            fix = "このキーは必須です。値を書いてください。"
        else:
            fix = _japanese_reason(err)
        env_name = "DUTYPOST_" + "__".join(p.upper() for p in loc if not p.isdigit())
        source = f" (環境変数 {env_name} の値かもしれません)" if env_name in os.environ else ""
        lines.append(f"  {at}: [{key}] {fix}{source}")
    lines.append("(admin) Fix the keys above; `dutypost config check` re-checks the file.")
    return "\n".join(lines)


def _japanese_reason(err: dict) -> str:
    kind = err["type"]
    msg = err.get("msg", "")
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    table = {
        "string_type": "文字列 (\"…\") で書いてください。",
        "int_parsing": "整数で書いてください。",
        "int_type": "整数で書いてください。",
        "float_parsing": "数値で書いてください。",
        "float_type": "数値で書いてください。",
        "bool_parsing": "true か false で書いてください。",
        "bool_type": "true か false で書いてください。",
        "list_type": "配列 ([\"…\", \"…\"]) で書いてください。",
        "time_parsing": "時刻は \"08:30\" の形で書いてください。",
        "time_type": "時刻は \"08:30\" の形で書いてください。",
        "date_parsing": "日付は 2026-12-28 の形で書いてください。",
        "date_from_datetime_parsing": "日付は 2026-12-28 の形で書いてください。",
        "literal_error": f"使える値は次のとおりです: {err.get('ctx', {}).get('expected', '')}",
        "string_pattern_mismatch": "英数字と _ . - だけで書いてください。",
        "greater_than": f"{err.get('ctx', {}).get('gt')} より大きい値にしてください。",
        "greater_than_equal": f"{err.get('ctx', {}).get('ge')} 以上にしてください。",
        "less_than_equal": f"{err.get('ctx', {}).get('le')} 以下にしてください。",
        "model_type": "表 ([section]) の形で書いてください。",
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


# -- secrets ---------------------------------------------------------------

SECRET_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


def default_secrets_path() -> Path:
    return default_config_path().parent / "secrets.toml"


def secrets_path(settings: Settings) -> Path:
    return settings.x.secrets_file or default_secrets_path()


def check_secrets_file_mode(path: Path) -> None:
    """Refuse a secrets file that group or others can read (SPEC §9)."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise InputError(
            f"秘密情報ファイル {path} が他の利用者から読める状態です (権限 {mode:04o})。",
            hint=(
                f"次を実行してから起動し直してください: chmod 600 {path}\n"
                f"(admin) Secrets file {path} is readable by group/others (mode {mode:04o}); run: chmod 600 {path}"
            ),
        )


def load_credentials(settings: Settings) -> dict[str, str] | None:
    """X credentials from the environment (already in ``settings``) or the secrets file.

    Returns None when no credentials are configured at all.
    """
    creds = {k: getattr(settings.x, k) for k in SECRET_KEYS}
    if all(v is not None for v in creds.values()):
        return {k: v.get_secret_value() for k, v in creds.items()}
    path = secrets_path(settings)
    if not path.exists():
        if any(v is not None for v in creds.values()):
            missing = [f"DUTYPOST_X__{k.upper()}" for k, v in creds.items() if v is None]
            raise InputError(
                "X の認証情報が一部しか設定されていません: " + ", ".join(missing) + " がありません。",
                hint="4つすべてを環境変数で指定するか、dutypost auth で秘密情報ファイルを作ってください。",
            )
        return None
    check_secrets_file_mode(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: 秘密情報ファイルの書き方に誤りがあります: {exc}",
                         hint="dutypost auth で作り直してください。") from None
    section = data.get("x", data)
    out = {}
    for k in SECRET_KEYS:
        env_value = creds[k]
        value = env_value.get_secret_value() if env_value is not None else section.get(k)
        if not isinstance(value, str) or not value:
            raise InputError(f"{path}: [x] {k} がありません。", hint="dutypost auth で作り直してください。")
        out[k] = value
    return out


def write_secrets(path: Path, values: dict[str, str]) -> None:
    """Write the secrets file with mode 0600 from the start (no window where it is readable)."""
    import tomli_w

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump({"x": values}, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
