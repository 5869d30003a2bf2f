"""Start-up time (起動時間): from exec to the first full home screen, against a bare Textual app.

Both run under a real pseudo-terminal of 80x24, measured in the same run, alternately:

- bare: a Textual app with one Static and a Footer (the floor for any Textual app);
- bare + load config: the same after ``core.config.load_settings`` (pydantic-settings),
  which every dutypost command pays before any screen exists;
- dutypost: ``dutypost --demo`` (config, ledger, templates, practice server, the home
  screen with its templates and recent posts).

The clock stops when the screen's last piece of text has been written (the home
screen's 「最近の投稿」 panel; the bare app's label). A warm-up round of each comes first
(bytecode caches, the demo's ledger).

    .venv/bin/python bench/startup.py [--rounds 7]

Target (issue 4): dutypost at most 1.5x the bare app.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile

from bytes_per_key import DUTYPOST, PtySession

BARE_APP = """
from textual.app import App
from textual.widgets import Footer, Static

class Bare(App):
    def compose(self):
        yield Static("bare-ready")
        yield Footer()

Bare().run()
"""

# The same bare app after loading the example config the way every dutypost command does
# (pydantic-settings): the share of start-up that belongs to core, not to the screen.
BARE_WITH_CONFIG = "from core.config import EXAMPLE_CONFIG, load_settings\nload_settings(EXAMPLE_CONFIG)\n" + BARE_APP


def time_to(argv: list[str], marker: str, home: str) -> float:
    session = PtySession(argv, env={"HOME": home})
    try:
        return session.wait_for(marker)
    finally:
        session.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    runs = {
        "bare Textual app": ([sys.executable, "-c", BARE_APP], "bare-ready"),
        "bare + load config": ([sys.executable, "-c", BARE_WITH_CONFIG], "bare-ready"),
        "dutypost --demo": ([str(DUTYPOST), "--demo"], "最近の投稿"),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    with tempfile.TemporaryDirectory() as home:
        for argv, marker in runs.values():
            time_to(argv, marker, home)  # warm-up
        for _ in range(args.rounds):
            for name, (argv, marker) in runs.items():
                times[name].append(time_to(argv, marker, home))
    bare = statistics.median(times["bare Textual app"])
    print(f"start-up to the first full screen, 80x24, median of {args.rounds}")
    with_config = statistics.median(times["bare + load config"])
    print(f"{'program':<22}{'median ms':>11}{'min ms':>9}{'x bare':>8}{'x bare+config':>15}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<22}{median * 1000:>11.0f}{min(values) * 1000:>9.0f}{median / bare:>8.2f}"
              f"{median / with_config:>15.2f}")
    print("target: dutypost <= 1.5x the bare app")
    return 0


if __name__ == "__main__":
    sys.exit(main())
