"""The wheel installs one package, ``dutypost``, and it works outside the checkout (issue 10).

Built with pip as a user would (``pip wheel``), installed into a fresh ``--target`` folder,
and run from another directory with a fresh HOME: the bundled templates and the example
config must come from the installed package, not from this repository.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    [built] = out.glob("dutypost-*.whl")
    return built


def test_the_wheel_holds_one_top_level_package_with_its_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"dutypost"}
    for needed in ("dutypost/__init__.py", "dutypost/config.example.toml", "dutypost/templates/evac-l4.toml",
                   "dutypost/core/ledger/__init__.py", "dutypost/practice/server.py",
                   "dutypost/tui/dutypost.tcss", "dutypost/tui/screens/home.py", "dutypost/core/tlds.txt"):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("dutypost/tests/", "dutypost/bench/", "dutypost/.ci/"))]


def test_the_installed_package_finds_its_templates_and_example_config(wheel, tmp_path):
    target = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    home = tmp_path / "home"
    home.mkdir()
    # The installed copy first; the dependencies (textual, httpx, ...) from this environment.
    env = {"HOME": str(home), "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(target),
           "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local/share"),
           "XDG_CACHE_HOME": str(home / ".cache"), "LANG": "C.UTF-8"}
    probe = ("import dutypost, dutypost.core.config as c; "
             "print(dutypost.__file__); print(c.BUNDLED_TEMPLATES); print(c.EXAMPLE_CONFIG)")
    where = subprocess.run([sys.executable, "-c", probe], cwd=home, env=env, capture_output=True, text=True,
                           timeout=60)
    assert where.returncode == 0, where.stderr
    for line in where.stdout.split():
        assert Path(line).is_relative_to(target), line
    listed = subprocess.run([sys.executable, "-m", "dutypost.core.cli", "templates", "list", "--json"], cwd=home,
                            env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert '"evac-l4"' in listed.stdout


def test_the_wheel_carries_the_license_and_metadata(wheel):
    archive = zipfile.ZipFile(wheel)
    metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert "License: MIT" in metadata and "Classifier: Natural Language :: Japanese" in metadata
    assert any(n.endswith(".dist-info/LICENSE") or "/licenses/LICENSE" in n for n in archive.namelist())
