"""The duty context (当直の文脈): settings, operator, mode, and the resources built from them.

One object per process. The CLI, the TUI and the tests all build it with
:func:`build_context`; the demo builds it with :func:`core.demo.demo_context`. The ledger,
templates and X client are created on first use so that start-up stays cheap.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from dutypost.core.config import Operator, Settings
from dutypost.core.config_loader import load_settings, resolve_config_path
from dutypost.core.credentials import check_secrets_at_start, load_credentials
from dutypost.core.errors import InputError, NoCredentials, WrongAccount
from dutypost.core.identity import resolve_operator

if TYPE_CHECKING:
    from dutypost.core.ledger import Ledger
    from dutypost.core.templates import TemplateSet
    from dutypost.core.xapi import XClient


#: The ledger ``meta`` keys of the cached ``users/me`` answers start with this
#: (``x.me:<api base url>:<token identity>``); ``dutypost auth`` drops them all.
ACCOUNT_CACHE_PREFIX = "x.me:"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class DutyContext:
    settings: Settings
    operator: Operator
    drill: bool
    config_path: Path | None = None
    clock: Callable[[], datetime] = utc_now
    demo: bool = False
    notices: list[str] = field(default_factory=list)  # said once at start-up (e.g. a non-UTF-8 locale)
    #: Run once, before the first X client is made: the demo starts its practice server.
    before_x: Callable[[], None] | None = None
    _client: "XClient | None" = field(default=None, init=False, repr=False)
    _client_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _account_checked: bool = field(default=False, init=False, repr=False)

    @property
    def mode_label(self) -> str:
        return "訓練" if self.drill else "本番"

    def now(self) -> datetime:
        return self.clock()

    @cached_property
    def ledger(self) -> "Ledger":
        from dutypost.core.ledger import Ledger

        config = self.settings.ledger
        return Ledger(config.path, now=self.clock, anchor_file=config.anchor_file, group=config.group)

    @cached_property
    def templates(self) -> "TemplateSet":
        from dutypost.core.templates import bundled_dirs, load_templates

        return load_templates(bundled_dirs(self.settings))

    @property
    def api_base_url(self) -> str:
        return self.settings.api_base_url(self.drill)

    def credentials(self):
        """X credentials for this mode. Drills fall back to the practice server's demo keys."""
        from dutypost.core.oauth1 import Credentials

        values = load_credentials(self.settings)
        if values is None:
            if self.drill:
                from dutypost.core.demo_account import DEMO_CREDENTIALS

                return DEMO_CREDENTIALS
            raise NoCredentials(
                "X の認証情報が設定されていません。",
                hint=(
                    "dutypost auth で PIN ログインして秘密情報ファイルを作るか、環境変数 DUTYPOST_X__CONSUMER_KEY など"
                    "4つを設定してください。訓練なら --drill で練習サーバーに投稿できます。\n"
                    "(admin) No X credentials: run `dutypost auth` or set DUTYPOST_X__* variables."
                ),
            )
        return Credentials(**values)

    def x_client(self) -> "XClient":
        """The one X client of this process (keep-alive, pre-warmed by the TUI)."""
        with self._client_lock:
            if self._client is None:
                from dutypost.core.xapi import XClient

                if self.before_x is not None:
                    self.before_x()
                    self.before_x = None

                self._client = XClient(
                    self.api_base_url,
                    self.credentials(),
                    timeout=self.settings.x.timeout_seconds,
                    web_base_url=self.settings.web_base_url(self.drill),
                )
            return self._client

    def account_user(self) -> dict:
        """The account's ``users/me`` record, cached in the ledger (not fetched on every start:
        the old free tier allows 25 calls a day). The cache is keyed by the API's URL and the
        token's identity (a hash, never the token itself), so a new token asks again."""
        key = self._account_cache_key()
        cached = self.ledger.get_meta(key)
        if cached:
            return json.loads(cached)
        me = self.x_client().me()
        self.ledger.set_meta(key, json.dumps(me, ensure_ascii=False))
        return me

    def _account_cache_key(self) -> str:
        import hashlib

        creds = self.credentials()
        identity = hashlib.sha256(f"{creds.consumer_key}\0{creds.access_token}".encode()).hexdigest()[:16]
        return f"{ACCOUNT_CACHE_PREFIX}{self.api_base_url}:{identity}"

    @property
    def expected_handle(self) -> str:
        """The handle the credentials must belong to: ``[account] handle``, or in a drill
        ``drill_handle`` ("" when none is configured: then a drill checks nothing)."""
        account = self.settings.account
        return (account.drill_handle if self.drill else account.handle).strip().lstrip("@")

    def check_account(self) -> None:
        """Before the first publish of the process: the credentials must belong to the
        configured account (``users/me`` username against the handle), else
        :class:`WrongAccount` naming both. The answer is cached (:meth:`account_user`).

        Not checked: a drill without ``drill_handle``, and the built-in practice
        credentials (they reach only the practice server, whose account is the drill's).
        Raises :class:`NoCredentials`, or the X client's error when ``users/me`` fails.
        """
        if self._account_checked:
            return
        from dutypost.core.demo_account import DEMO_CREDENTIALS

        expected = self.expected_handle
        if not expected or self.credentials() == DEMO_CREDENTIALS:
            self._account_checked = True
            return
        self.x_client()
        actual = str(self.account_user().get("username", "")).strip().lstrip("@")
        if actual.lower() != expected.lower():
            where = "[account] drill_handle" if self.drill else "[account] handle"
            raise WrongAccount(
                f"X の認証情報は @{actual} のものですが、設定のアカウントは @{expected} です。"
                "別のアカウントに投稿しないよう、送信を止めました (何も送っていません)。",
                expected=expected, actual=actual,
                hint=(
                    f"dutypost auth で @{expected} としてログインし直してください (確かめた結果の記録も消えます)。"
                    f"設定の {where} が誤っているなら、設定ファイルを直してください。\n"
                    f"(admin) users/me answered @{actual}; the config expects @{expected}."
                ),
            )
        self._account_checked = True

    def forget_account(self) -> int:
        """Drop every cached ``users/me`` answer (``dutypost auth`` does this); how many."""
        self._account_checked = False
        return self.ledger.delete_meta(ACCOUNT_CACHE_PREFIX)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if "ledger" in self.__dict__:
            self.ledger.close()


def build_context(
    config: str | Path | None,
    *,
    operator_id: str | None = None,
    drill: bool = False,
    clock: Callable[[], datetime] = utc_now,
    os_user: str | None = None,
) -> DutyContext:
    path = resolve_config_path(config)
    settings = load_settings(path)
    check_secrets_at_start(settings)
    operator = resolve_operator(settings, operator_id, os_user=os_user)
    return DutyContext(settings=settings, operator=operator, drill=drill, config_path=path, clock=clock)
