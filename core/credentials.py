"""X credentials (認証情報): the four OAuth 1.0a values the account posts with.

They come from the ``DUTYPOST_X__CONSUMER_KEY``, ``…_CONSUMER_SECRET``, ``…_ACCESS_TOKEN``
and ``…_ACCESS_TOKEN_SECRET`` environment variables, or from the secrets file (mode 0600,
written by ``dutypost auth``), never from the config file. They are read when a post is
about to be sent, and never kept in :class:`core.config.Settings` nor in its validated
cache.

Four environment variables need no validation library: this module reads them with
``os.environ`` and the secrets file with ``tomllib``, so ``dutypost post`` does not import
pydantic on its way to the send (issue 14).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dutypost.core.config import Settings, default_config_path
from dutypost.core.errors import InputError

SECRET_KEYS = ("consumer_key", "consumer_secret", "access_token", "access_token_secret")


def env_name(key: str) -> str:
    """The environment variable of one credential: ``consumer_key`` → ``DUTYPOST_X__CONSUMER_KEY``."""
    return f"DUTYPOST_X__{key.upper()}"


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


def load_credentials(settings: Settings) -> dict[str, str] | None:
    """X credentials from ``DUTYPOST_X__*`` environment variables or the secrets file.

    A variable that is set wins over the file. Returns None when no credentials are
    configured at all; raises :class:`InputError` naming what is missing or wrong.
    """
    creds = credentials_from_environment()
    if all(v is not None for v in creds.values()):
        return {k: v for k, v in creds.items() if v is not None}
    path = secrets_path(settings)
    if not path.exists():
        if any(v is not None for v in creds.values()):
            missing = [env_name(k) for k, v in creds.items() if v is None]
            raise InputError(
                "X の認証情報が一部しか設定されていません: " + ", ".join(missing) + " がありません。",
                hint="4つすべてを環境変数で指定するか、dutypost auth で秘密情報ファイルを作ってください。",
            )
        return None
    check_secrets_file_mode(path)
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: 秘密情報ファイルの書き方に誤りがあります: {exc}",
                         hint="dutypost auth で作り直してください。") from None
    section = data.get("x", data)
    out = {}
    for k in SECRET_KEYS:
        value = creds[k] if creds[k] is not None else section.get(k)
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
