"""Who is at the keyboard (操作者). Never typed in (SPEC §2, §9).

Run directly, the operator is the one whose ``os_user`` (or id) is the OS user. In the SSH
deployment every operator's key forces ``dutypost --operator ID``; that flag is honoured
only when the process runs as ``[ssh] service_user``, so nobody can claim another
operator's identity from a shell of their own.
"""

from __future__ import annotations

import getpass
import os

from dutypost.core.config import Operator, Settings
from dutypost.core.errors import InputError


def current_os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def check_operator_flag(settings: Settings, operator_id: str | None, *, os_user: str | None = None) -> None:
    """Refuse ``--operator`` unless the process runs as ``[ssh] service_user`` (SPEC §9). Every
    command calls this, the read-only ones too (issue 17 item 5)."""
    if operator_id is None:
        return
    user = os_user or current_os_user()
    if user != settings.ssh.service_user:
        raise InputError(
            f"--operator はサービスアカウント ({settings.ssh.service_user}) で動かすときだけ使えます。"
            f"いまの OS ユーザーは {user} です。",
            hint=(
                "自分のユーザーで使うときは --operator を付けずに起動してください (身元は OS ユーザーで決まります)。\n"
                f"(admin) --operator is honoured only when running as [ssh] service_user "
                f"({settings.ssh.service_user}); current OS user: {user}."
            ),
        )


def resolve_operator(settings: Settings, operator_id: str | None, *, os_user: str | None = None) -> Operator:
    user = os_user or current_os_user()
    if operator_id is not None:
        check_operator_flag(settings, operator_id, os_user=user)
        operator = settings.operator(operator_id)
        if operator is None:
            raise InputError(
                f"職員 ID {operator_id!r} は設定の [[operators]] にありません。",
                hint=(
                    "運用管理者に連絡して、authorized_keys の command= と [[operators]] の id を揃えてもらってください。\n"
                    f"(admin) Operator {operator_id!r} is not in [[operators]]."
                ),
            )
        return operator
    operator = settings.operator_for_os_user(user)
    if operator is None:
        raise InputError(
            f"OS ユーザー {user} に対応する職員が設定の [[operators]] にありません。",
            hint=(
                f"運用管理者に、[[operators]] に os_user = \"{user}\" の職員を追加してもらってください。\n"
                f"(admin) No operator has os_user = {user!r}; add one to [[operators]]."
            ),
        )
    return operator
