"""The terminal's encoding (文字コード): dutypost works and explains itself under LANG=C."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dutypost.core.encoding import locale_problem, locale_setting

DUTYPOST = Path(sys.executable).with_name("dutypost")


def run_clean(argv: list[str], tmp_path: Path, input: str | None = None, **variables: str) -> subprocess.CompletedProcess:
    """Run with nothing of this machine's environment but PATH (as sshd would start it)."""
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **variables}
    return subprocess.run(argv, env=env, input=input, capture_output=True, timeout=60)


LOCALES = [
    pytest.param({"LANG": "C"}, id="LANG=C"),
    pytest.param({"LANG": "C.UTF-8"}, id="LANG=C.UTF-8"),
    pytest.param({}, id="no-locale"),
    pytest.param({"LC_ALL": "C"}, id="LC_ALL=C"),
]


@pytest.mark.parametrize("variables", LOCALES)
def test_templates_list_under_any_locale(tmp_path, variables):
    result = run_clean([str(DUTYPOST), "templates", "list"], tmp_path, **variables)

    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in result.stderr
    assert "警戒レベル4 避難指示" in result.stdout.decode("utf-8")


@pytest.mark.parametrize("variables", LOCALES)
def test_count_under_any_locale(tmp_path, variables):
    argument = run_clean([str(DUTYPOST), "count", "本郷地区"], tmp_path, **variables)
    piped = run_clean([str(DUTYPOST), "count"], tmp_path, input="本郷地区に避難指示\n".encode("utf-8"), **variables)

    assert (argument.returncode, piped.returncode) == (0, 0)
    assert b"Traceback" not in argument.stderr + piped.stderr
    assert argument.stdout.decode("utf-8").startswith("8/280 (投稿できます)")
    assert piped.stdout.decode("utf-8").startswith("18/280")


def test_count_with_python_utf8_handling_switched_off(tmp_path):
    """LANG=C with neither PEP 538 nor PEP 540 to save it: the streams are ASCII.

    dutypost must switch to UTF-8 itself (``core.encoding.ensure_utf8_mode``, called by the
    CLI's entry point) instead of dying on the first Japanese character.
    """
    result = run_clean([str(DUTYPOST), "count", "本郷地区"], tmp_path,
                       LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")

    assert b"Traceback" not in result.stderr
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")
    assert result.stdout.decode("utf-8").startswith("8/280 (投稿できます)")


# -- what the officer is told ----------------------------------------------------


@pytest.mark.parametrize("environ, encoding", [
    ({"LANG": "C.UTF-8"}, "UTF-8"),
    ({"LANG": "ja_JP.UTF-8"}, "UTF-8"),
    ({"LANG": "C", "LC_ALL": "ja_JP.utf8"}, "utf-8"),
    ({"LANG": "C", "LC_CTYPE": "en_US.UTF-8"}, "UTF-8"),
    ({"LC_CTYPE": "UTF-8", "LANG": "ja_JP.UTF-8"}, "utf-8"),
])
def test_no_problem_in_a_utf8_locale(environ, encoding):
    assert locale_problem(environ, encoding) is None


@pytest.mark.parametrize("environ, encoding, shown", [
    ({"LANG": "C"}, "ANSI_X3.4-1968", "LANG=C"),
    ({}, "ANSI_X3.4-1968", "LANG unset"),
    ({"LANG": "ja_JP.eucJP"}, "EUC-JP", "LANG=ja_JP.eucJP"),
    ({"LANG": "ja_JP.UTF-8", "LC_ALL": "ja_JP.SJIS"}, "SHIFT_JIS", "LC_ALL=ja_JP.SJIS"),
    ({"LANG": "ja_JP"}, "EUC-JP", "LANG=ja_JP"),
    # What Python's PEP 538 leaves behind after coercing LANG=C: still the C locale.
    ({"LANG": "C", "LC_CTYPE": "C.UTF-8"}, "utf-8", "LANG=C"),
    ({"LC_CTYPE": "C.UTF-8"}, "utf-8", "LANG unset"),
])
def test_the_problem_says_what_is_set_and_what_to_set(environ, encoding, shown):
    message = locale_problem(environ, encoding)

    assert message is not None
    japanese, ascii_part = message.rsplit("\n", 1)
    assert ascii_part.isascii()
    for text in (japanese, ascii_part):
        assert shown.replace("LANG unset", "LANG") in text
        assert "export LANG=C.UTF-8" in text
        assert "ja_JP.UTF-8" in text
        assert "AcceptEnv LANG" in text
        assert 'command="env LANG=C.UTF-8 dutypost --operator ID",restrict,pty' in text
    assert "文字コード" in japanese
    assert shown in ascii_part


def test_a_user_set_ctype_counts_but_a_coerced_one_does_not():
    assert locale_setting({"LANG": "ja_JP.eucJP", "LC_CTYPE": "C.UTF-8"}) == ("LC_CTYPE", "C.UTF-8")
    assert locale_setting({"LANG": "C", "LC_CTYPE": "C.UTF-8"}) == ("LANG", "C")
    assert locale_setting({"LC_ALL": "C", "LC_CTYPE": "ja_JP.UTF-8"}) == ("LC_ALL", "C")


@pytest.mark.parametrize("variables, expected", [
    ({"LANG": "C"}, True),
    ({}, True),
    ({"LANG": "C.UTF-8"}, False),
])
def test_locale_problem_in_a_real_process(tmp_path, variables, expected):
    """In a fresh interpreter, after Python's own locale coercion has run."""
    code = "from dutypost.core.encoding import locale_problem; print(locale_problem() is not None)"
    result = run_clean([sys.executable, "-c", code], tmp_path, **variables)

    assert result.stdout.decode().strip() == str(expected), result.stderr.decode("utf-8", "replace")


def test_ensure_utf8_mode_restarts_python_in_utf8_mode(tmp_path):
    code = "from dutypost.core.encoding import ensure_utf8_mode; ensure_utf8_mode(); import sys; print(sys.flags.utf8_mode, sys.argv[1])"
    result = run_clean([sys.executable, "-c", code, "本郷地区"], tmp_path,
                       LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")

    assert result.stdout.decode("utf-8").split() == ["1", "本郷地区"], result.stderr.decode("utf-8", "replace")
