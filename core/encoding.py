"""The terminal's character encoding (文字コード): dutypost speaks UTF-8 only.

An officer who logs in over SSH often arrives with ``LANG=C`` or no locale at all: sshd
passes the client's ``LANG`` only when the server's ``AcceptEnv`` and the client's
``SendEnv``/``SetEnv`` agree. Python 3.11 copes by itself (PEP 538 coerces the C locale
to ``C.UTF-8`` and sets ``LC_CTYPE`` accordingly; PEP 540's UTF-8 mode covers the rest),
but the terminal at the other end may still not be UTF-8, so the officer is told what to
set, in ASCII as well as Japanese — the Japanese may be exactly what does not display.

``locale_problem()`` says what is wrong (or None); ``ensure_utf8_mode()`` restarts the
program in Python's UTF-8 mode when the locale's encoding is not UTF-8, so that it carries
on in UTF-8 whatever the locale said.
"""

from __future__ import annotations

import codecs
import locale
import os
import sys
from typing import Mapping

# What PEP 538 writes into LC_CTYPE when it coerces the C locale.
_COERCION_TARGETS = ("C.UTF-8", "C.utf8", "UTF-8")
_C_LOCALES = ("", "C", "POSIX")


def _is_utf8_encoding(name: str) -> bool:
    try:
        return codecs.lookup(name).name == "utf-8"
    except LookupError:
        return False


def _is_utf8_locale(name: str) -> bool:
    """``ja_JP.UTF-8``, ``C.utf8``, ``en_US.UTF-8@euro`` yes; ``C``, ``ja_JP.eucJP`` no."""
    codeset = name.partition(".")[2].partition("@")[0] if "." in name else name
    return _is_utf8_encoding(codeset) if codeset else False


def locale_setting(environ: Mapping[str, str]) -> tuple[str, str]:
    """The variable that decides the character encoding and its value: ``LC_ALL``, else
    ``LC_CTYPE``, else ``LANG`` — ``("LANG", "")`` when none is set.

    An ``LC_CTYPE`` that Python itself put there (coercing ``LANG=C`` or no locale) does
    not count: it says nothing about the terminal.
    """
    if environ.get("LC_ALL"):
        return "LC_ALL", environ["LC_ALL"]
    ctype = environ.get("LC_CTYPE", "")
    coerced = ctype in _COERCION_TARGETS and environ.get("LANG", "") in _C_LOCALES
    if ctype and not coerced:
        return "LC_CTYPE", ctype
    return "LANG", environ.get("LANG", "")


def locale_problem(environ: Mapping[str, str] | None = None, encoding: str | None = None) -> str | None:
    """A message telling the officer how to get a UTF-8 terminal, or None when it is one.

    ``environ`` defaults to ``os.environ`` and ``encoding`` to
    ``locale.getpreferredencoding(False)``. The message is Japanese, then plain ASCII.
    """
    environ = os.environ if environ is None else environ
    encoding = encoding or locale.getpreferredencoding(False)
    variable, value = locale_setting(environ)
    if _is_utf8_locale(value) and _is_utf8_encoding(encoding):
        return None
    codec = "" if _is_utf8_encoding(encoding) else f", {encoding}"
    setting = (f"{variable}={value}" if value else "LANG unset") + codec
    setting_ja = (f"{variable}={value}" if value else "LANG 未設定") + codec
    return "\n".join([
        f"端末の文字コードが UTF-8 になっていません ({setting_ja})。文字化けするおそれがありますが、UTF-8 として続けます。",
        "直し方: 端末ソフト (Tera Term・PuTTY など) の文字コードを UTF-8 にし、export LANG=C.UTF-8 "
        "(または ja_JP.UTF-8) としてから起動し直してください。",
        "SSH で使っているときは運用管理者に連絡してください: サーバーの sshd_config に AcceptEnv LANG LC_* を書き、"
        "手元の ~/.ssh/config に SetEnv LANG=C.UTF-8 (または SendEnv LANG) を書くか、authorized_keys の鍵を "
        'command="env LANG=C.UTF-8 dutypost --operator ID",restrict,pty にします。',
        f"(ASCII) The terminal encoding is not UTF-8 ({setting}); continuing in UTF-8. "
        "Fix: set the terminal program to UTF-8 and run: export LANG=C.UTF-8 (or ja_JP.UTF-8). "
        "Over SSH: AcceptEnv LANG LC_* in the server's sshd_config and SetEnv LANG=C.UTF-8 (or SendEnv LANG) "
        'in the client\'s ~/.ssh/config, or in authorized_keys: command="env LANG=C.UTF-8 dutypost --operator ID",restrict,pty',
    ])


def ensure_utf8_mode() -> None:
    """Restart this program in Python's UTF-8 mode (``python -X utf8``) when the locale's
    encoding is not UTF-8, so that arguments, streams and file names are all UTF-8.

    Call it first thing in the entry point (not from tests calling ``main()`` in-process).
    A no-op in UTF-8 mode or a UTF-8 locale — which after PEP 538/540 is almost always.
    """
    if sys.flags.utf8_mode or _is_utf8_encoding(locale.getpreferredencoding(False)):
        return
    os.execv(sys.executable, [sys.executable, "-X", "utf8", *sys.orig_argv[1:]])
