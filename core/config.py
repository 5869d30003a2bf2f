"""The config's schema (設定の形): its sections, their defaults and the checks on each value.

Plain dataclasses and constants, nothing read or written here. Where the file is found,
how it is read, validated and cached: :mod:`core.config_loader`. The X credentials are
not part of the config: :mod:`core.credentials`.

Unknown keys are errors, not silently ignored (``_STRICT_KEYS``): a typo in a policy
setting must not quietly turn a check off. The checks on values (:class:`Check`,
:class:`Bounds`) are read by pydantic when the loader validates a config, and import
pydantic only then.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, Literal

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import CoreSchema

APP_NAME = "dutypost"


def _shipped(name: str) -> Path:
    """A file shipped as package data of ``dutypost`` (in a checkout, the top of the
    repository; in any install, beside the installed code)."""
    from importlib.resources import files

    return Path(str(files("dutypost") / name))


EXAMPLE_CONFIG = _shipped("config.example.toml")
BUNDLED_TEMPLATES = _shipped("templates")

Role = Literal["poster", "approver", "manager", "security"]
MunicipalityKind = Literal["町", "市", "村", "区"]
MUNICIPALITY_KINDS = ("町", "市", "村", "区")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def default_data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP_NAME)


# -- checks pydantic runs on a value after its type ------------------------------------------


@dataclass(frozen=True)
class Check:
    """``Annotated[T, Check(fn)]``: after pydantic has made the value a ``T``, ``fn``
    returns it (perhaps changed) or raises ``ValueError`` with the fix in Japanese, which
    ``dutypost config check`` reports at the key's line. pydantic's own ``AfterValidator``
    in all but name; this one imports pydantic only when a config is validated."""

    func: Callable[[Any], Any]

    def __get_pydantic_core_schema__(self, source: Any, handler: "GetCoreSchemaHandler") -> "CoreSchema":
        from pydantic_core import core_schema

        return core_schema.no_info_after_validator_function(self.func, handler(source))


@dataclass(frozen=True)
class Bounds:
    """``Annotated[int, Bounds(ge=1)]``: pydantic checks the range itself and reports it with
    its own error types (``greater_than_equal``…), which ``dutypost config check`` words."""

    gt: float | None = None
    ge: float | None = None
    le: float | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: "GetCoreSchemaHandler") -> "CoreSchema":
        schema = handler(source)  # the int or float schema, which takes these bounds
        schema.update({k: v for k, v in (("gt", self.gt), ("ge", self.ge), ("le", self.le)) if v is not None})
        return schema


def _weekdays(value: list[str]) -> list[str]:
    bad = [d for d in value if d not in WEEKDAYS]
    if bad:
        raise ValueError(f"曜日は {', '.join(WEEKDAYS)} のいずれかで書いてください: {bad}")
    return value


def _closed_days(value: list[str]) -> list[str]:
    for item in value:
        m = re.fullmatch(r"(\d\d)-(\d\d)", item)
        if not m:
            raise ValueError(f"閉庁日は \"MM-DD\" の形で書いてください (例: \"12-29\"): {item!r}")
        try:
            dt.date(2000, int(m[1]), int(m[2]))
        except ValueError:
            raise ValueError(f"閉庁日 {item!r} はありえない日付です。\"MM-DD\" の形で書いてください") from None
    return value


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"タイムゾーン {value!r} が見つかりません。\"Asia/Tokyo\" の形で書いてください") from None
    return value


def _hashtags(value: list[str]) -> list[str]:
    bad = [h for h in value if not re.fullmatch(r"#[^\s#{}]+", h)]
    if bad:
        raise ValueError(f"ハッシュタグは # で始め、空白を入れずに書いてください (例: [\"#阿見町\"]): {bad}")
    return value


def _website(value: str) -> str:
    if value and not re.fullmatch(r"https?://[^\s/]+(?:/\S*)?", value):
        raise ValueError(f"website は https:// で始まる URL で書いてください (例: \"https://www.town.ami.lg.jp\"): {value!r}")
    return value.rstrip("/")


def _pages(value: dict[str, str]) -> dict[str, str]:
    for name, url in value.items():
        if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ValueError(f"ページ名 {name!r} は英小文字で始まる英小文字・数字・_ で書いてください (例: bosai)")
        if not re.fullmatch(r"(?:https?://|/)\S*", url):
            raise ValueError(f"ページ {name} は https:// で始まる URL か、website からの / で始まるパスで書いてください: {url!r}")
    return value


#: X's limits on a post's weighted length: 280 for every account, 25,000 for accounts
#: allowed longer posts (X Premium). Anything beyond is refused by X itself.
X_MAX_WEIGHTED_LENGTH = 25_000


def _max_weighted_length(value: int) -> int:
    if not 1 <= value <= X_MAX_WEIGHTED_LENGTH:
        raise ValueError(f"X の投稿の上限は 280 (長い投稿が許されたアカウントでも {X_MAX_WEIGHTED_LENGTH}) です。"
                         f"280 か、{X_MAX_WEIGHTED_LENGTH} 以下の値にしてください: {value}")
    return value


_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def _api_base_url(value: str) -> str:
    """https, or plain http only to this machine (the practice server): credentials and
    posts never cross a network in clear text."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if parts is None or parts.scheme not in ("https", "http") or not host:
        raise ValueError(f"API の URL は https:// で始まる URL で書いてください (例: \"https://api.x.com\"): {value!r}")
    if parts.scheme == "http" and not (host in _LOOPBACK_HOSTS or host.startswith("127.")):
        raise ValueError(f"http:// が使えるのはこの機械の練習サーバー (127.0.0.1 / localhost) だけです。"
                         f"https:// にしてください: {value!r}")
    return value


def _override_categories(value: list[str]) -> list[str]:
    cleaned = [c for c in value if c.strip()]
    if not cleaned:
        raise ValueError("オーバーライドの区分が空です。空にすると勤務時間外の投稿が一つもできなくなります。"
                         "この行を消して既定の 3 区分を使うか、区分を 1 つ以上書いてください")
    if len(cleaned) != len(value):
        raise ValueError("オーバーライドの区分に空の文字列があります。消してください")
    return value


def _operator_id(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value):
        raise ValueError(f"職員ID {value!r} は英数字と _ . - だけで、64 文字までで書いてください")
    return value


# -- the sections -----------------------------------------------------------------------------

#: Read by pydantic when it validates a section: an unknown key is an error.
_STRICT_KEYS = {"extra": "forbid"}


AccountKind = Literal["official", "mascot"]
ACCOUNT_KIND_LABELS = {"official": "公式", "mascot": "マスコット"}
#: What a mascot account may never publish (seed 004: はにぼん's account is opened for PR,
#: 前文 and 4(5); what the guideline does not settle goes to its manager, 2(2)).
MASCOT_RULE_SOURCE = "004 前文・4(5)"


def _account_id(value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", value):
        raise ValueError(f"アカウントID {value!r} は英小文字・数字・_ - で、32 文字までで書いてください (例: official, mascot)")
    return value


def _handle(value: str) -> str:
    if value and not re.fullmatch(r"[A-Za-z0-9_]+", value):
        raise ValueError(f"X のユーザー名 {value!r} は @ を付けず、英数字と _ だけで書いてください (例: TownAmi)")
    return value


@dataclass
class AccountConfig:
    """One X account the municipality runs (アカウント: 公式 / マスコット), a ``[[accounts]]`` row.

    ``kind = "mascot"`` (seed 004: a mascot's account is for PR) never publishes a
    life-safety (``emergency``) template; ``categories`` lists the template categories the
    account may publish (empty: all). ``approver_departments`` is the approver route: the
    departments whose approvers approve this account's posts (empty: the poster's own, 別表第1);
    ``consult_title`` is who decides what the account's policy leaves open (004 2(2):
    市民活動推進課長). ``hours`` replaces ``[hours]`` for this account. ``secrets_file`` holds
    its credentials (default: ``secrets.toml`` for the first account, ``secrets-<id>.toml``
    for the others, beside the config).
    """

    __pydantic_config__ = _STRICT_KEYS
    id: Annotated[str, Check(_account_id)] = "official"
    name: str = "公式アカウント"
    handle: Annotated[str, Check(_handle)] = "example_town"
    kind: AccountKind = "official"
    drill_handle: Annotated[str, Check(_handle)] = ""
    web_base_url: str = "https://x.com"
    inquiry_url: str = ""
    categories: list[str] = field(default_factory=list)
    approver_departments: list[str] = field(default_factory=list)
    consult_title: str = ""
    hours: HoursConfig | None = None
    secrets_file: Path | None = None

    @property
    def kind_label(self) -> str:
        """公式 or マスコット: what the screen and the records call the kind."""
        return ACCOUNT_KIND_LABELS[self.kind]

    def handle_for(self, drill: bool) -> str:
        """The handle posts go out under: the drill handle in a drill, when there is one."""
        return self.drill_handle if drill and self.drill_handle else self.handle

    def label(self, drill: bool = False) -> str:
        """「公式 阿見町公式 @TownAmi」: the kind, the name and the handle, as every screen shows it."""
        return f"{self.kind_label} {self.name} @{self.handle_for(drill)}"


@dataclass
class MunicipalityConfig:
    """The municipality (自治体): what the templates say instead of a town's name.

    Templates use these as variables (``{municipality}``, ``{municipality_kind}``…, see
    :mod:`core.templates`). A config without ``[municipality]`` takes the name from
    ``[account] name`` when that is a municipality's name (「阿見町公式」 → 阿見町), its
    kind from the name's last character, the hashtag ``#<name>`` and the website from
    ``[account] inquiry_url``; see :meth:`Settings.__post_init__`. When no name can be
    found the config still loads, and a template naming the municipality refuses to
    render, saying to write ``[municipality] name``.
    """

    __pydantic_config__ = _STRICT_KEYS
    name: str = ""                       # 阿見町
    kind: MunicipalityKind | Literal[""] = ""   # 町 | 市 | 村 | 区; default: the name's last character
    name_en: str = ""                    # Ami Town (English templates; default: name)
    hashtags: Annotated[list[str], Check(_hashtags)] = field(default_factory=list)   # default: ["#<name>"]
    website: Annotated[str, Check(_website)] = ""      # https://www.town.ami.lg.jp
    pages: Annotated[dict[str, str], Check(_pages)] = field(default_factory=dict)  # bosai = "/bousai/"
    mail_service: str = ""               # あみメール (lines naming it are left out when empty)
    manager_title: str = ""              # 秘書広聴課長 (運用管理者)

    def __post_init__(self) -> None:
        if self.name and not self.kind and self.name[-1] in MUNICIPALITY_KINDS:
            self.kind = self.name[-1]  # type: ignore[assignment]
        if self.name and not self.hashtags:
            self.hashtags = [f"#{self.name}"]

    def page_url(self, name: str) -> str | None:
        """The full URL of the page ``name`` (a path is taken from the website), or None
        (also for a path while ``website`` is empty: a link must be a whole URL)."""
        url = self.pages.get(name)
        if url is None or (url.startswith("/") and not self.website):
            return None
        return self.website.rstrip("/") + url if url.startswith("/") else url


_ACCOUNT_NAME = re.compile(r"(.+?[町市村区])(?:公式.*)?")


@dataclass
class HoursConfig:
    """Regular working hours (正規の勤務時間, R1)."""

    __pydantic_config__ = _STRICT_KEYS
    timezone: Annotated[str, Check(_timezone)] = "Asia/Tokyo"
    weekdays: Annotated[list[str], Check(_weekdays)] = field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    start: dt.time = dt.time(8, 30)
    end: dt.time = dt.time(17, 15)
    national_holidays: bool = True
    closed_days: Annotated[list[str], Check(_closed_days)] = field(
        default_factory=lambda: ["12-29", "12-30", "12-31", "01-01", "01-02", "01-03"])
    closed_dates: list[dt.date] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.start >= self.end:
            raise ValueError("start は end より前の時刻にしてください")


@dataclass
class XConfig:
    """The X API (SPEC §5). Credentials are not here: see :mod:`core.credentials`."""

    __pydantic_config__ = _STRICT_KEYS
    api_base_url: Annotated[str, Check(_api_base_url)] = "https://api.x.com"
    timeout_seconds: Annotated[float, Bounds(gt=0, le=120)] = 15
    max_weighted_length: Annotated[int, Check(_max_weighted_length)] = 280
    #: Seconds after a send during which a post missing from the timeline stays ``unknown``
    #: (X's timelines lag behind a fresh post); only a miss after it makes the post ``failed``.
    reconcile_grace_seconds: Annotated[float, Bounds(ge=0, le=86400)] = 300
    price_post_usd: float = 0.015
    price_post_with_url_usd: float = 0.20
    secrets_file: Path | None = None


@dataclass
class DrillConfig:
    """Drill mode (訓練): where drill posts go and how they are marked."""

    __pydantic_config__ = _STRICT_KEYS
    api_base_url: Annotated[str, Check(_api_base_url)] = "http://127.0.0.1:8787"
    web_base_url: str | None = None  # where drill posts are seen; default: the practice server itself
    marker: str = "【訓練】"


@dataclass
class LedgerConfig:
    __pydantic_config__ = _STRICT_KEYS
    path: Path = field(default_factory=lambda: default_data_dir() / "ledger.sqlite3")
    #: The audit chain's anchors (控え): ``ID:HASH TIME`` appended after every write, ideally
    #: on another host or the standby; ``audit verify`` checks every line. None: no file.
    anchor_file: Path | None = None
    #: A group that may read the ledger, its anchor file and the log (files 0640); None: 0600.
    group: str | None = None


@dataclass
class SshConfig:
    __pydantic_config__ = _STRICT_KEYS
    service_user: str = "dutypost"


def _replica(value: str) -> str:
    """A folder (an absolute path) or ``sftp://user@host[:port]/absolute/path``; no password."""
    from urllib.parse import urlsplit

    if not value:
        return value
    if "://" not in value:
        if not Path(value).expanduser().is_absolute():
            raise ValueError(f"replica のフォルダは絶対パスで書いてください (例: \"/srv/dutypost-replica\"): {value!r}")
        return value
    parts = urlsplit(value)
    if parts.scheme != "sftp":
        raise ValueError(f"replica はフォルダか sftp://利用者@予備機:ポート/パス の形で書いてください: {value!r}")
    if parts.password is not None:
        raise ValueError("replica の URL にパスワードを書かないでください。ssh_key に鍵ファイルの場所を書きます")
    if not parts.username or not parts.hostname or not parts.path.startswith("/") or parts.path == "/":
        raise ValueError(f"replica は sftp://利用者@予備機:ポート/絶対パス の形で書いてください "
                         f"(例: \"sftp://dutypost@standby.example:22/var/lib/dutypost/replica\"): {value!r}")
    try:
        parts.port
    except ValueError:
        raise ValueError(f"replica のポート番号が正しくありません: {value!r}") from None
    return value


@dataclass
class StandbyConfig:
    """The standby host (予備機・待機系): where Litestream replicates the ledger (issue 16)."""

    __pydantic_config__ = _STRICT_KEYS
    replica: Annotated[str, Check(_replica)] = ""
    ssh_key: Path | None = None         # the private key for an sftp:// replica
    host_key: str = ""                  # the standby's SSH host public key ("ssh-ed25519 AAAA…"); empty: not verified
    sync_interval_seconds: Annotated[float, Bounds(gt=0, le=3600)] = 1.0
    litestream: Path | None = None      # the litestream binary; default: the one dutypost[standby] installs


@dataclass
class FollowupConfig:
    """The other channels to update after an emergency post (他の媒体への連絡, 阿見町ポリシー
    第6条・第7条(3)); each is ticked on the post's outcome screen. Empty: HP, the mail
    service named in ``[municipality]``, Lアラート and 防災行政無線."""

    __pydantic_config__ = _STRICT_KEYS
    channels: list[str] = field(default_factory=list)


@dataclass
class TuiConfig:
    """Terminal behaviour; read before textual is imported."""

    __pydantic_config__ = _STRICT_KEYS
    slow_link: bool = False
    escdelay_ms: Annotated[int, Bounds(ge=0, le=2000)] = 100
    disable_kitty_keys: bool = True
    keymap: dict[str, str] = field(default_factory=dict)


DEFAULT_OVERRIDE_CATEGORIES = [
    "生命・身体・財産の保護に必要な緊急情報",
    "誤った投稿への対応",
    "その他やむを得ない事情",
]

#: Which templates each override category fits (区分と合うテンプレート), by template category;
#: ``"emergency"`` stands for every template with ``emergency = true``. An override category
#: not listed fits every template: 誤った投稿への対応 may re-post any template correctly, and
#: その他やむを得ない事情 is open by name. A mismatch is a warning (``override-fit``), not a block.
DEFAULT_OVERRIDE_FIT = {
    "生命・身体・財産の保護に必要な緊急情報": [
        "emergency", "避難情報", "避難所", "気象", "地震", "国民保護", "本部", "ライフライン", "交通", "多言語",
    ],
}


@dataclass
class GateConfig:
    """The gate's policy settings (投稿前チェック)."""

    __pydantic_config__ = _STRICT_KEYS
    override_categories: Annotated[list[str], Check(_override_categories)] = field(default_factory=lambda: list(DEFAULT_OVERRIDE_CATEGORIES))
    min_justification_chars: Annotated[int, Bounds(ge=1, le=1000)] = 10
    allow_domains: list[str] = field(default_factory=list)
    allow_phones: list[str] = field(default_factory=list)
    allow_emails: list[str] = field(default_factory=list)
    political_terms: list[str] = field(default_factory=lambda: list(DEFAULT_POLITICAL_TERMS))
    religious_terms: list[str] = field(default_factory=lambda: ["布教", "入信", "信者募集"])
    discriminatory_terms: list[str] = field(default_factory=list)
    obscene_terms: list[str] = field(default_factory=list)
    # Bounded above: a window beyond any date (99999999999 hours) is no policy, and overflows.
    duplicate_window_hours: Annotated[int, Bounds(ge=0, le=24 * 366)] = 24
    same_template_warn_minutes: Annotated[int, Bounds(ge=0, le=24 * 60)] = 30
    override_fit: dict[str, list[str]] = field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_OVERRIDE_FIT.items()})
    # Words that contain a term but are not the activity (投票所 is a place); see gate._configured_terms.
    term_exceptions: list[str] = field(default_factory=lambda: list(DEFAULT_TERM_EXCEPTIONS))
    # A 「○時○分現在」 older than this at publishing, or ahead of it, is warned about (R12); 0 = off.
    stale_time_minutes: Annotated[int, Bounds(ge=0, le=7 * 24 * 60)] = 60
    allow_self_approval: bool = False  # an approver may approve their own post (off: four eyes)


#: Political and election terms (R5; 002 第3条7(8), 7(9)): warned about, never blocked.
DEFAULT_POLITICAL_TERMS = ("選挙", "投票", "候補", "政党", "支持政党", "後援会", "公約")
#: Words that contain a term but name a place or a thing (投票所 may move in a disaster).
DEFAULT_TERM_EXCEPTIONS = ("投票所", "期日前投票所", "候補地", "候補日")


@dataclass
class Facility:
    __pydantic_config__ = _STRICT_KEYS
    name: str
    address: str = ""


@dataclass
class ListsConfig:
    """Lists that template fields draw on (地区, 避難所 and other facilities)."""

    __pydantic_config__ = _STRICT_KEYS
    areas: list[str] = field(default_factory=list)
    shelters: list[Facility] = field(default_factory=list)
    facilities: list[Facility] = field(default_factory=list)
    #: Short forms the town uses (通称・略称) → the configured name: 「本郷小」 = 「本郷小学校」.
    #: A field value naming one passes the unknown-place check (core.gate.check_places).
    short_names: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = {*self.areas, *(f.name for f in self.shelters), *(f.name for f in self.facilities)}
        for short, name in self.short_names.items():
            if name not in names:
                raise ValueError(
                    f"short_names: 略称「{short}」の正式な名前「{name}」が [lists] の areas・shelters・facilities"
                    " にありません。設定された名前と同じ文字列にしてください")


@dataclass
class Department:
    """A row of 別表第1: a posting department and its approver (配信承認者)."""

    __pydantic_config__ = _STRICT_KEYS
    name: str
    approver_title: str


@dataclass
class Operator:
    __pydantic_config__ = _STRICT_KEYS
    id: Annotated[str, Check(_operator_id)]
    name: str
    department: str
    roles: list[Role] = field(default_factory=lambda: ["poster"])
    os_user: str | None = None


@dataclass
class TemplatesConfig:
    __pydantic_config__ = _STRICT_KEYS
    site_dir: Path | None = None


@dataclass
class Settings:
    """The whole config. Built by :func:`core.config_loader.load_settings`, which validates it."""

    #: The old single ``[account]`` section (read as one official account), and after
    #: loading always the default account: the first official one of ``accounts``.
    account: AccountConfig | None = None
    accounts: list[AccountConfig] = field(default_factory=list)
    municipality: MunicipalityConfig = field(default_factory=MunicipalityConfig)
    hours: HoursConfig = field(default_factory=HoursConfig)
    x: XConfig = field(default_factory=XConfig)
    drill: DrillConfig = field(default_factory=DrillConfig)
    ledger: LedgerConfig = field(default_factory=LedgerConfig)
    ssh: SshConfig = field(default_factory=SshConfig)
    standby: StandbyConfig = field(default_factory=StandbyConfig)
    tui: TuiConfig = field(default_factory=TuiConfig)
    followup: FollowupConfig = field(default_factory=FollowupConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    lists: ListsConfig = field(default_factory=ListsConfig)
    templates: TemplatesConfig = field(default_factory=TemplatesConfig)
    departments: list[Department] = field(default_factory=list)
    operators: list[Operator] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._settle_accounts()
        self._derive_municipality()
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

    def _settle_accounts(self) -> None:
        """``[account]`` alone is one official account; ``account`` becomes the default one.

        A config may not have both ``[account]`` and ``[[accounts]]`` (the loader says so,
        naming the file); given both in code (``dataclasses.replace``), ``account`` replaces
        the row of ``accounts`` with its id."""
        if not self.accounts:
            self.accounts = [self.account or AccountConfig()]
        elif self.account is not None:
            self.accounts = [self.account if a.id == self.account.id else a for a in self.accounts]
        seen: set[str] = set()
        for i, acc in enumerate(self.accounts):
            if acc.id in seen:
                raise ValueError(f"accounts[{i}].id: アカウントID {acc.id!r} が重複しています。別の id にしてください")
            seen.add(acc.id)
        default = next((a for a in self.accounts if a.kind == "official"), None)
        if default is None:
            raise ValueError("accounts: 公式アカウント (kind = \"official\") が 1 つもありません。"
                             "町の公式アカウントを [[accounts]] の最初に書いてください")
        names = {d.name for d in self.departments}
        for i, acc in enumerate(self.accounts):
            bad = [d for d in acc.approver_departments if names and d not in names]
            if bad:
                raise ValueError(f"accounts[{i}].approver_departments: {bad} は [[departments]] にありません。"
                                 "別表第1 の所属名と同じ文字列にしてください")
        self.account = default

    def account_by_id(self, account_id: str | None) -> AccountConfig:
        """The account ``account_id`` (None: the default, the first official account), or
        :class:`ValueError` naming the ids there are."""
        if account_id is None:
            assert self.account is not None
            return self.account
        found = next((a for a in self.accounts if a.id == account_id), None)
        if found is None:
            ids = ", ".join(a.id for a in self.accounts)
            raise ValueError(f"アカウント {account_id!r} は設定の [[accounts]] にありません。使える id: {ids}")
        return found

    def _derive_municipality(self) -> None:
        """An old config without ``[municipality]``: take what ``[account]`` says."""
        m = self.municipality
        if m.name:
            return
        assert self.account is not None
        found = _ACCOUNT_NAME.fullmatch(self.account.name.strip())
        if found is None:
            return
        m.name = found[1]
        m.__post_init__()
        if not m.website and self.account.inquiry_url:
            site = re.match(r"https?://[^/\s]+", self.account.inquiry_url)
            m.website = site[0] if site else ""

    # -- lookups -----------------------------------------------------------

    def operator(self, operator_id: str) -> Operator | None:
        return next((o for o in self.operators if o.id == operator_id), None)

    def operator_for_os_user(self, os_user: str) -> Operator | None:
        return next((o for o in self.operators if (o.os_user or o.id) == os_user), None)

    def department(self, name: str) -> Department | None:
        return next((d for d in self.departments if d.name == name), None)

    def find_department(self, name: str) -> Department | None:
        """A 別表第1 row by its full name, or by the first name of a joint row
        (「廃棄物対策課」 for 「廃棄物対策課・霞クリーンセンター・さくらクリーンセンター」) when one row has it."""
        exact = self.department(name)
        if exact is not None:
            return exact
        matches = [d for d in self.departments if d.name.split("・")[0] == name]
        return matches[0] if len(matches) == 1 else None

    def approvers_for(self, department: str) -> list[Operator]:
        """Operators with the approver role in ``department`` (R2)."""
        return [o for o in self.operators if o.department == department and "approver" in o.roles]

    def followup_channels(self) -> list[str]:
        """The channels to update after an emergency post (``[followup] channels``, else the default four)."""
        if self.followup.channels:
            return list(dict.fromkeys(c.strip() for c in self.followup.channels if c.strip()))
        mail = self.municipality.mail_service
        return ["HP", f"メール配信 ({mail})" if mail else "メール配信", "Lアラート", "防災行政無線"]

    def api_base_url(self, drill: bool) -> str:
        return (self.drill.api_base_url if drill else self.x.api_base_url).rstrip("/")

    def web_base_url(self, drill: bool, account: AccountConfig | None = None) -> str:
        """Where a post's URL points: x.com, or in a drill the practice server's own pages."""
        if drill:
            if self.drill.web_base_url:
                return self.drill.web_base_url.rstrip("/")
            if self.drill.api_base_url.rstrip("/") != "https://api.x.com":
                return self.drill.api_base_url.rstrip("/")
        return (account or self.account_by_id(None)).web_base_url.rstrip("/")

    def hours_for(self, account: AccountConfig | None = None) -> HoursConfig:
        """The working hours of ``account`` (its own ``hours``, else ``[hours]``)."""
        account = account or self.account_by_id(None)
        return account.hours or self.hours
