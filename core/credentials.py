"""X credentials (認証情報): the four OAuth 1.0a values the account posts with.

They come from the ``DUTYPOST_X__CONSUMER_KEY``, ``…_CONSUMER_SECRET``, ``…_ACCESS_TOKEN``
and ``…_ACCESS_TOKEN_SECRET`` environment variables, or from the secrets file (mode 0600,
written by ``dutypost auth``), never from the config file. Each account
(``[[accounts]]``) has its own secrets file; the environment variables are the default
(first official) account's only, so a mascot account never posts with the town's token.

The secrets file records when its token was issued (``issued_at``): the policy wants
credentials changed at least every 3 months (R10; seed 001 3(7), seed 003), so from
:data:`ROTATION_DAYS` days on :func:`rotation_notice` says they are due, and
``dutypost auth --account ID`` renews them. They are read when a post is
about to be sent, and never kept in :class:`core.config.Settings` nor in its validated
cache.

Four environment variables need no validation library: this module reads them with
``os.environ`` and the secrets file with ``tomllib``, so ``dutypost post`` does not import
pydantic on its way to the send (issue 14).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from dutypost.core.config import AccountConfig, Settings, default_config_path
from dutypost.core.errors import InputError

SECRET_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
#: From this many days after ``issued_at``, the credentials are due for rotation (R10: every 3 months).
ROTATION_DAYS = 90


def env_name(key: str) -> str:
    """The environment variable of one credential: ``consumer_key`` → ``DUTYPOST_X__CONSUMER_KEY``."""
    return f"DUTYPOST_X__{key.upper()}"


def default_secrets_path() -> Path:
    return default_config_path().parent / "secrets.toml"


def secrets_path(settings: Settings, account: AccountConfig | None = None) -> Path:
    """The secrets file of ``account`` (None: the default account).

    The account's own ``secrets_file``; else, for the default account, ``[x] secrets_file``
    or ``secrets.toml`` beside the config; for any other, ``secrets-<id>.toml`` beside that."""
    default = settings.account_by_id(None)
    account = account or default
    if account.secrets_file is not None:
        return account.secrets_file
    base = settings.x.secrets_file or default_secrets_path()
    if account.id == default.id:
        return base
    return base.parent / f"secrets-{account.id}.toml"


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


def check_secrets_at_start(settings: Settings) -> None:
    """SPEC §9: a secrets file others can read stops the app when it starts, not only when
    a post is about to be sent. No file is fine here (credentials may come from the
    environment, or a drill needs none)."""
    path = secrets_path(settings)
    try:
        present = path.is_file()
    except OSError:
        present = False
    if present:
        check_secrets_file_mode(path)


def credentials_from_environment() -> dict[str, str | None]:
    """The four ``DUTYPOST_X__*`` credentials; None for each one not set.

    Names are matched ignoring case, as pydantic-settings matches the other ``DUTYPOST_``
    variables (and as this function did when pydantic-settings read these too)."""
    by_name = {name.upper(): value for name, value in os.environ.items()}
    return {k: by_name.get(env_name(k)) for k in SECRET_KEYS}


def _is_default(settings: Settings, account: AccountConfig | None) -> bool:
    return account is None or account.id == settings.account_by_id(None).id


def _read_secrets(path: Path) -> dict:
    check_secrets_file_mode(path)
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: 秘密情報ファイルの書き方に誤りがあります: {exc}",
                         hint="dutypost auth で作り直してください。") from None
    section = data.get("x", data)
    return section if isinstance(section, dict) else {}


def load_credentials(settings: Settings, account: AccountConfig | None = None) -> dict[str, str] | None:
    """X credentials of ``account`` (None: the default account).

    The default account's come from ``DUTYPOST_X__*`` environment variables or its secrets
    file (a variable that is set wins over the file); any other account's from its own
    secrets file only. Returns None when none are configured; raises :class:`InputError`
    naming what is missing or wrong.
    """
    default = _is_default(settings, account)
    creds = credentials_from_environment() if default else dict.fromkeys(SECRET_KEYS)
    if all(v is not None for v in creds.values()):
        return {k: v for k, v in creds.items() if v is not None}
    path = secrets_path(settings, account)
    flag = "" if default else f" --account {account.id}"  # type: ignore[union-attr]
    if not path.exists():
        if any(v is not None for v in creds.values()):
            missing = [env_name(k) for k, v in creds.items() if v is None]
            raise InputError(
                "X の認証情報が一部しか設定されていません: " + ", ".join(missing) + " がありません。",
                hint="4つすべてを環境変数で指定するか、dutypost auth で秘密情報ファイルを作ってください。",
            )
        return None
    section = _read_secrets(path)
    out = {}
    for k in SECRET_KEYS:
        value = creds[k] if creds[k] is not None else section.get(k)
        if not isinstance(value, str) or not value:
            raise InputError(f"{path}: [x] {k} がありません。", hint=f"dutypost auth{flag} で作り直してください。")
        out[k] = value
    return out


def write_secrets(path: Path, values: dict[str, str], *, issued_at: datetime | None = None) -> None:
    """Write the secrets file with mode 0600 from the start (no window where it is readable).

    ``issued_at`` (default: now) is recorded with the values: when the token was issued."""
    import tomli_w

    issued = (issued_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        tomli_w.dump({"x": {**values, "issued_at": issued.isoformat(timespec="seconds")}}, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


# -- the age of the credentials (R10) ----------------------------------------------------


@dataclass(frozen=True)
class CredentialAge:
    """How old one account's credentials are (認証情報の経過日数)."""

    account: AccountConfig
    path: Path
    issued_at: datetime | None  # None: the file does not say (written before issued_at was recorded)
    days: int | None

    @property
    def due(self) -> bool:
        return self.days is None or self.days >= ROTATION_DAYS

    def notice(self) -> str:
        """The Japanese notice: due for rotation, and the command that renews them."""
        who = f"{self.account.kind_label} {self.account.name} (@{self.account.handle})"
        renew = f"dutypost auth --account {self.account.id}"
        if self.days is None:
            return (f"{who} の認証情報は発行日が記録されていません ({self.path})。"
                    f"3か月ごとの変更 (上富田町 3(7)) のため、{renew} で更新してください。")
        issued = self.issued_at.date().isoformat() if self.issued_at else "?"
        return (f"{who} の認証情報は {issued} の発行から {self.days} 日たっています。"
                f"3か月 ({ROTATION_DAYS} 日) ごとの変更の時期です (上富田町 3(7))。{renew} で更新してください。")


def credential_age(settings: Settings, account: AccountConfig, now: datetime) -> CredentialAge | None:
    """The age of ``account``'s secrets file; None when it has none (environment variables or
    no credentials yet: nothing here says when those were issued)."""
    path = secrets_path(settings, account)
    if not path.exists():
        return None
    raw = _read_secrets(path).get("issued_at")
    issued: datetime | None = None
    if isinstance(raw, datetime):
        issued = raw
    elif isinstance(raw, str):
        try:
            issued = datetime.fromisoformat(raw)
        except ValueError:
            issued = None
    if issued is not None and issued.tzinfo is None:
        issued = issued.replace(tzinfo=timezone.utc)
    days = (now - issued).days if issued is not None else None
    return CredentialAge(account=account, path=path, issued_at=issued, days=days)


def rotation_notices(settings: Settings, now: datetime) -> list[str]:
    """One notice for each account whose credentials are due for rotation (R10)."""
    notices = []
    for account in settings.accounts:
        try:
            age = credential_age(settings, account, now)
        except InputError as exc:
            notices.append(exc.message)
            continue
        if age is not None and age.due:
            notices.append(age.notice())
    return notices
