"""Start-up time (起動時間): from exec to the complete home screen, against a bare Textual app.

All run under a real pseudo-terminal of 80x24, measured in the same run, in pairs, each
pair in the other order than the last (bare first, then dutypost first):

- bare: a Textual app with a DataTable of a few rows and a Footer (the floor for a Textual
  app that shows a table);
- dutypost: ``dutypost --demo`` as it starts every time but the first (config, ledger,
  templates, the home screen with its templates and recent posts), the validated config
  and the parsed templates read from the validated cache (core/validated_cache.py);
- dutypost, first start: the same with an empty cache directory, so the config is
  validated with pydantic-settings and every template file parsed, as after any change
  to the config, the templates, the environment or the code.

The clock stops when home is complete: the recent posts (or 「まだ投稿はありません」), the
working-hours status and the X connection state all drawn — not at the first panel title
(issue 14). The bare app's clock stops when its table's last cell is drawn. A warm-up round
of each comes first (the demo's ledger and cached copies).

Two bytecode cases: compiled (the project's bytecode written first, as pip does when it
installs a wheel), and without compiled bytecode: the project's ``__pycache__`` removed and
``PYTHONDONTWRITEBYTECODE=1`` (common on some machines), so dutypost compiles its modules at
every start; textual's own bytecode is there in both cases, as pip installs it.

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
from ledger_scale import home_complete, wait_until

BARE_APP = """
from textual.app import App
from textual.widgets import DataTable, Footer

class Bare(App):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self):
        yield DataTable()
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("時刻", "状態", "本文")
        for i in range(8):
            table.add_row(f"10:{i:02d}", "送信済み", f"row-{i}")
        table.add_row("10:59", "送信済み", "bare-ready")

Bare().run()
"""
BARE_DONE = lambda text: "bare-ready" in text  # noqa: E731
HOME_DONE = home_complete("まだ投稿はありません")


def time_to(argv: list[str], done, env: dict[str, str]) -> float:
    session = PtySession(argv, env=env)
    try:
        return wait_until(session, done)
    finally:
        session.close()


def remove_bytecode() -> None:
    for package in ("core", "tui"):
        for cache in (REPO / package).rglob("__pycache__"):
            shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(REPO / "__pycache__", ignore_errors=True)


def compile_bytecode() -> None:
    for package in ("core", "tui"):
        compileall.compile_dir(REPO / package, quiet=1)
    compileall.compile_file(REPO / "__init__.py", quiet=1)


def measure(runs: dict, rounds: int) -> dict[str, list[float]]:
    """Each program ``rounds`` times, in pairs with the bare app, alternating who goes first."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for argv, done, run_env, before in runs.values():  # warm-up
        before()
        time_to(argv, done, run_env)
    bare, *others = runs
    for round_no in range(rounds):
        for other in others:
            pair = [bare, other] if round_no % 2 == 0 else [other, bare]
            for name in pair:
                argv, done, run_env, before = runs[name]
                before()
                times[name].append(time_to(argv, done, run_env))
    return times


def report(title: str, times: dict[str, list[float]], rounds: int) -> None:
    bare = statistics.median(times["bare Textual app"])
    print(f"{title}, 80x24, median of {rounds} (bare: of {len(times['bare Textual app'])})")
    print(f"{'program':<22}{'median ms':>11}{'min ms':>9}{'x bare':>8}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<22}{median * 1000:>11.0f}{min(values) * 1000:>9.0f}{median / bare:>8.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        cache = Path(home, ".cache")
        first_cache = Path(home, "first-start-cache")
        env = {"HOME": home, "XDG_CACHE_HOME": str(cache)}
        nothing = lambda: None  # noqa: E731
        forget = lambda: shutil.rmtree(first_cache, ignore_errors=True)  # noqa: E731
        runs = {
            "bare Textual app": ([sys.executable, "-c", BARE_APP], BARE_DONE, env, nothing),
            "dutypost --demo": ([str(DUTYPOST), "--demo"], HOME_DONE, env, nothing),
            "  first start": ([str(DUTYPOST), "--demo"], HOME_DONE, {**env, "XDG_CACHE_HOME": str(first_cache)},
                              forget),
        }
        compile_bytecode()
        compiled = measure(runs, args.rounds)
        no_bytecode_env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
        remove_bytecode()
        try:
            plain = measure({
                "bare Textual app": ([sys.executable, "-c", BARE_APP], BARE_DONE, no_bytecode_env, nothing),
                "dutypost --demo": ([str(DUTYPOST), "--demo"], HOME_DONE, no_bytecode_env, nothing),
            }, args.rounds)
        finally:
            compile_bytecode()
    report("start-up to the complete home screen (recent posts, hours, X state), bytecode compiled", compiled,
           args.rounds)
    print()
    report("the same without the project's compiled bytecode (PYTHONDONTWRITEBYTECODE=1)", plain, args.rounds)
    print("target: dutypost <= 1.5x the bare app")
    return 0


if __name__ == "__main__":
    sys.exit(main())
