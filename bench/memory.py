"""Peak memory (メモリ使用量): resident set size of the app, against a bare Textual app.

Each measure runs in a fresh Python process, headless at 80x24, and reports the peak
resident set size (``ru_maxrss``) when it is done:

- bare: a Textual app with one Static and a Footer;
- home: dutypost's home screen, settled (templates, ledger, X connection warmed);
- publish: the whole way to a published 避難指示 with an override (bench/keys.py's path).

    .venv/bin/python bench/memory.py
"""

from __future__ import annotations

import asyncio
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent
MEASURES = ("bare", "home", "publish")


async def bare() -> None:
    from textual.app import App
    from textual.widgets import Footer, Static

    class Bare(App):
        def compose(self):
            yield Static("bare-ready")
            yield Footer()

    app = Bare()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()


async def dutypost(publish: bool) -> None:
    from keys import KeyCounter, make_context, publish_evac_l4

    from dutypost.practice import PracticeServer
    from dutypost.tui.app import make_app

    with tempfile.TemporaryDirectory() as data:
        server = PracticeServer()
        ctx = make_context(Path(data), server.start(), drill=True)
        try:
            app = make_app(ctx)
            async with app.run_test(size=(80, 24)) as pilot:
                await KeyCounter(app, pilot).settle()
                if publish:
                    await publish_evac_l4(app, pilot)
        finally:
            ctx.close()
            server.stop()


def measure(name: str) -> int:
    """Run one measure in this process; returns the peak RSS in KiB."""
    runs = {"bare": bare, "home": lambda: dutypost(publish=False), "publish": lambda: dutypost(publish=True)}
    asyncio.run(runs[name]())
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(measure(sys.argv[2]))
        return 0
    peaks = {}
    for name in MEASURES:
        out = subprocess.run([sys.executable, __file__, "--measure", name], capture_output=True, text=True,
                             check=True)
        peaks[name] = int(out.stdout.split()[-1])
    print("peak resident memory (ru_maxrss), headless 80x24, one process each")
    print(f"{'measure':<34}{'MiB':>8}{'x bare':>8}")
    labels = {"bare": "bare Textual app", "home": "dutypost home (settled)",
              "publish": "dutypost, evac-l4 published"}
    for name in MEASURES:
        print(f"{labels[name]:<34}{peaks[name] / 1024:>8.1f}{peaks[name] / peaks['bare']:>8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
