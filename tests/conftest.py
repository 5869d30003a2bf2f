"""Shared fixtures. Every test runs with its config, data and secrets isolated from the
developer's machine: HOME and the XDG directories point into a temporary directory, and
no DUTYPOST_ variable leaks in from the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clock import Clock

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_CONFIG = REPO / "config.example.toml"

pytest_plugins = ["fixtures_practice", "sshd_harness"]


@pytest.fixture(autouse=True)
def _isolate_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("DUTYPOST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def example_config_path() -> Path:
    return EXAMPLE_CONFIG


@pytest.fixture
def config_file(tmp_path: Path):
    """Write a config: the example town with its ledger in tmp_path, plus extra TOML text.

    ``config_file(extra="[x]\\napi_base_url = ...")`` returns the path. Sections given in
    ``replace`` (e.g. ``{"x": "..."}``) replace the example's section of that name.
    """

    def make(extra: str = "", replace: dict[str, str] | None = None) -> Path:
        text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
        for section, body in (replace or {}).items():
            text = _replace_section(text, section, body)
        ledger = tmp_path / "ledger.sqlite3"
        text = text.replace(
            '# path = "/var/lib/dutypost/ledger.sqlite3"',
            f'path = "{ledger}"',
        )
        path = tmp_path / "config.toml"
        path.write_text(text + "\n" + extra, encoding="utf-8")
        return path

    return make


def _replace_section(text: str, section: str, body: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    skipping = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            skipping = stripped == f"[{section}]"
            if skipping:
                out.append(f"[{section}]")
                out.append(body)
                continue
        elif stripped.startswith("[["):
            skipping = False
        if not skipping:
            out.append(line)
    return "\n".join(out) + "\n"
