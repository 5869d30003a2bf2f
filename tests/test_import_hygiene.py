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
    modules = _modules_after("import dutypost.core.cli, dutypost.core.demo, dutypost.core.context, dutypost.core.config, dutypost.core.templates, dutypost.tui.app, dutypost.tui.home")
    slow = {"pydantic", "pydantic_settings", "httpx", "tweepy", "holidays", "sqlite3", "http.server", "emoji", "tomllib"}
    assert not modules & slow, modules & slow


def _core_imports() -> dict[str, set[str]]:
    """Every module of core/ and the core modules it imports, at the top or inside a function."""
    import ast

    names = {p.stem for p in (REPO / "core").glob("*.py")} - {"__init__"}
    graph: dict[str, set[str]] = {}
    for name in names:
        found: set[str] = set()
        for node in ast.walk(ast.parse((REPO / "core" / f"{name}.py").read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        graph[name] = {m.removeprefix("dutypost.core.") for m in found if m.startswith("dutypost.core.")} & names - {name}
    return graph


def test_no_core_module_imports_one_that_imports_it_back():
    """Issue 10: no import cycles in core/, also through imports inside functions."""
    graph = _core_imports()
    assert graph["config_loader"] >= {"config", "credentials", "validated_cache"}  # the scan sees imports

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(graph[name])
        return seen

    in_a_cycle = {name for name in graph if name in reachable(name)}
    # checklists <-> form (a constant and a helper) is not yet split; nothing else may join it.
    assert in_a_cycle <= {"checklists", "form"}, sorted(in_a_cycle)
