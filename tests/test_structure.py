"""tui/ is organised by kind (issue 10): screens and dialogs never import one another, and
widgets and the shared modules import no screen and no dialog. The app owns navigation
(``app.open_…``). Every import counts, also one inside a function or under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TUI = REPO / "tui"
SCREEN_KINDS = ("screens", "modals")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("dutypost", *parts))


def imported_modules(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, anywhere in it, as absolute ``dutypost.…`` names.
    ``from a.b import c`` counts as both ``a.b`` and ``a.b.c`` (c may be a module)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def kind_of(module: str) -> str | None:
    """``screens`` or ``modals`` for a module (or the package) of that kind, else None."""
    parts = module.split(".")
    if parts[:2] == ["dutypost", "tui"] and len(parts) >= 3 and parts[2] in SCREEN_KINDS:
        return parts[2]
    return None


def violations() -> list[str]:
    found = []
    for path in sorted(TUI.rglob("*.py")):
        module = module_name(path)
        if module == "dutypost.tui.app":
            continue  # the app owns navigation: it opens every screen and dialog
        own = kind_of(module)
        is_package = path.name == "__init__.py"
        targets = imported_modules(path.read_text(encoding="utf-8"), module, is_package=is_package)
        for target in sorted(targets):
            if target == module or kind_of(target) is None or target.rpartition(".")[0] in targets - {module}:
                continue  # ``from m import Name`` is said once, as ``m``
            who = own or "shared module or widget"
            found.append(f"{path.relative_to(REPO)} ({who}) imports {target}")
    return found


def test_no_screen_or_dialog_imports_another_and_no_widget_imports_either():
    assert violations() == []


def test_the_layout_has_screens_dialogs_and_widgets():
    for kind in ("screens", "modals", "widgets"):
        assert (TUI / kind / "__init__.py").is_file()
    assert {p.stem for p in (TUI / "screens").glob("*.py")} >= {"home", "compose", "review", "post", "history",
                                                                "checklist", "approvals", "outbox"}
    assert {p.stem for p in (TUI / "modals").glob("*.py")} >= {"drafts", "override", "approval", "help"}
    assert (TUI / "words.py").is_file() and not (TUI / "labels.py").exists()


def test_the_checker_sees_imports_inside_functions_and_relative_ones():
    source = (
        "from dutypost.tui.words import first_line\n"
        "def go():\n"
        "    from dutypost.tui.screens.review import ReviewScreen\n"
        "    from . import drafts\n"
        "    from ..screens import post\n"
        "    import dutypost.tui.modals.help\n"
    )
    found = imported_modules(source, "dutypost.tui.modals.override")
    assert "dutypost.tui.screens.review" in found
    assert "dutypost.tui.modals.drafts" in found
    assert "dutypost.tui.screens.post" in found
    assert "dutypost.tui.modals.help" in found
    assert kind_of("dutypost.tui.words") is None
    assert kind_of("dutypost.tui.screens.review") == "screens"


def tui_import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in TUI.rglob("*.py")}
    graph = {}
    for module, path in paths.items():
        targets = imported_modules(path.read_text(encoding="utf-8"), module, is_package=path.name == "__init__.py")
        graph[module] = {t for t in targets if t in paths and t != module and t != "dutypost.tui"}
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (a path that comes back to its start), or []."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return path[path.index(node):] + [node]
        if node in done:
            return []
        for target in sorted(graph[node]):
            found = visit(target, path + [node])
            if found:
                return found
        done.add(node)
        return []

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return []


def test_no_tui_module_imports_one_that_imports_it_back():
    assert cycle_in(tui_import_graph()) == []


def test_the_cycle_finder_finds_a_cycle_through_a_base_class():
    graph = {"app": {"screen"}, "screen": {"base"}, "base": {"app"}, "words": set()}
    assert cycle_in(graph) == ["app", "screen", "base", "app"]
