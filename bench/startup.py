"""Start-up time (起動時間): from exec to the first full home screen, against a bare Textual app.

All run under a real pseudo-terminal of 80x24, measured in the same run, alternately:

- bare: a Textual app with one Static and a Footer (the floor for any Textual app);
- dutypost: ``dutypost --demo`` as it starts every time but the first (config, ledger,
  templates, the home screen with its templates and recent posts), the validated config
  and the parsed templates read from the validated cache (core/validated_cache.py);
- dutypost, first start: the same with an empty cache directory, so the config is
  validated with pydantic-settings and every template file parsed, as after any change
  to the config, the templates, the environment or the code.

The clock stops when the screen's last piece of text has been written (the home
screen's 「最近の投稿」 panel; the bare app's label). A warm-up round of each comes first
(the demo's ledger and cached copies). The project's bytecode is compiled first, as pip does
when it installs a wheel: textual's own is, and PYTHONDONTWRITEBYTECODE (set on some
machines) would otherwise make dutypost alone compile its modules at every start.

    .venv/bin/python bench/startup.py [--rounds 7]

Target (issue 4): dutypost at most 1.5x the bare app.
"""

from __future__ import annotations

import argparse
import compileall
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bytes_per_key import DUTYPOST, REPO, PtySession

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Static

class Bare(App):
    def compose(self):
        yield Static("bare-ready")
        yield Footer()

Bare().run()
"""

def time_to(argv: list[str], marker: str, env: dict[str, str]) -> float:
    session = PtySession(argv, env=env)
    try:
        return session.wait_for(marker)
    finally:
        session.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    for package in ("core", "tui"):
        compileall.compile_dir(REPO / package, quiet=1)
    with tempfile.TemporaryDirectory() as home:
        cache = Path(home, ".cache")
        first_cache = Path(home, "first-start-cache")
        env = {"HOME": home, "XDG_CACHE_HOME": str(cache)}
        runs = {
            "bare Textual app": ([sys.executable, "-c", BARE_APP], "bare-ready", env),
            "dutypost --demo": ([str(DUTYPOST), "--demo"], "最近の投稿", env),
            "  first start": ([str(DUTYPOST), "--demo"], "最近の投稿", {**env, "XDG_CACHE_HOME": str(first_cache)}),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        for argv, marker, run_env in runs.values():
            time_to(argv, marker, run_env)  # warm-up
        for _ in range(args.rounds):
            for name, (argv, marker, run_env) in runs.items():
                shutil.rmtree(first_cache, ignore_errors=True)
                times[name].append(time_to(argv, marker, run_env))
    bare = statistics.median(times["bare Textual app"])
    print(f"start-up to the first full screen, 80x24, median of {args.rounds}")
    print(f"{'program':<22}{'median ms':>11}{'min ms':>9}{'x bare':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<22}{median * 1000:>11.0f}{min(values) * 1000:>9.0f}{median / bare:>8.2f}")
    print("target: dutypost <= 1.5x the bare app")
    return 0


if __name__ == "__main__":
    sys.exit(main())
