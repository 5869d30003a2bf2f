"""core/ is the domain and never imports textual; the headless commands stay headless."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_every_core_module_never_imports_textual():
    names = sorted(p.stem for p in (REPO / "core").glob("*.py") if p.stem != "__init__")
    modules = _modules_after("\n".join(f"import dutypost.core.{n}" for n in names))
    assert not {m for m in modules if m == "textual" or m.startswith("textual.")}


def test_headless_commands_never_import_textual(tmp_path):
    probe = (
        "import sys, runpy\n"
        "from dutypost.core.cli import main\n"
        "main(['templates', 'list'])\n"
        "main(['count', 'テスト'])\n"
        "main(['render', 'evac-l4', '--set', 'time=3時', '--set', 'reason=雨のため', '--set', 'area=本郷地区'])\n"
        "main(['post', 'evac-l4'])\n"
        "assert 'textual' not in sys.modules, 'textual was imported'\n"
        "print('clean')\n"
    )
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "c"), "XDG_DATA_HOME": str(tmp_path / "d"),
           "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("clean")


def test_core_sources_do_not_import_textual():
    for path in (REPO / "core").glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            assert not stripped.startswith(("import textual", "from textual")), f"{path}: {line}"


def test_the_way_to_the_first_screen_imports_none_of_the_slow_libraries():
    """Start-up (issue 4): what the home screen needs before its first frame is cheap to
    import. pydantic validates only when the config's cached copy is stale; httpx, the
    ledger's sqlite3, holidays and the practice server load after the first frame."""
    modules = _modules_after("import dutypost.core.cli, dutypost.core.demo, dutypost.core.context, dutypost.core.config, dutypost.core.templates, dutypost.tui.app, dutypost.tui.screens.home")
    slow = {"pydantic", "pydantic_settings", "httpx", "tweepy", "holidays", "sqlite3", "http.server", "emoji", "tomllib"}
    assert not modules & slow, modules & slow


def test_core_never_imports_the_practice_server_until_the_demo_or_cli_starts_it():
    """Issue 10: the practice server is not part of the domain; core reaches it only from
    the demo's start and ``dutypost practice-server``, never at import."""
    names = sorted(p.stem for p in (REPO / "core").glob("*.py") if p.stem != "__init__")
    modules = _modules_after("\n".join(f"import dutypost.core.{n}" for n in names))
    assert not {m for m in modules if m.startswith("dutypost.practice")}


def test_the_practice_server_imports_no_textual_and_no_tui():
    modules = _modules_after("import dutypost.practice")
    assert not {m for m in modules if m == "textual" or m.startswith(("textual.", "dutypost.tui"))}
