"""``dutypost post`` against ``curl`` of the same request (issue 14 item 3), whole processes.

Both send one post to the practice server on 127.0.0.1 (started here, in this process):

- dutypost: ``dutypost --config CONFIG post evac-l4 --set … --approver suzuki
  --approval-method phone --drill``, the whole command as automation runs it (config from
  the validated cache, the gate, the ledger before and after, the signed request, the
  answer printed). The config is the example town's in a temp dir, in hours all day, its
  drill posting to the practice server with the built-in practice credentials;
- curl: ``curl`` sending the same ``POST /2/tweets``: the same JSON body (the text dutypost
  sent, with its run number) and an OAuth 1.0a ``Authorization`` header signed with the
  project's own code (``core/oauth1.py``) before the clock starts, a fresh one for each
  request. Only curl is timed.

Each text differs by a run number (the practice server refuses a duplicate, as X does).
Measured in pairs, each pair in the other order than the last, after one warm-up of each:
wall time from exec to exit, and the CPU time the kernel accounted for the finished process
(``wait4``). Two cases: the project's bytecode compiled (as pip installs a
wheel), and without it (the project's ``__pycache__`` removed and
``PYTHONDONTWRITEBYTECODE=1``, so every run compiles the modules it imports); curl is the
same program in both.

    .venv/bin/python bench/cli_post.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bytes_per_key import DUTYPOST, REPO  # noqa: E402
from startup import compile_bytecode, remove_bytecode  # noqa: E402

from dutypost.core.config import EXAMPLE_CONFIG  # noqa: E402
from dutypost.core.demo_account import DEMO_CREDENTIALS  # noqa: E402
from dutypost.core.oauth1 import authorization_header  # noqa: E402
from dutypost.core.templates import format_jst_time  # noqa: E402
from dutypost.practice import PracticeServer  # noqa: E402

CURL = shutil.which("curl") or "curl"
ALWAYS_OPEN = """[hours]
timezone = "Asia/Tokyo"
weekdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
start = "00:00"
end = "23:59"
national_holidays = false
closed_days = []
closed_dates = []
"""
REASON = "土砂災害の危険が高まったため (計測 {n})"


def town_config(root: Path, url: str) -> Path:
    """The example town's config in ``root``: its ledger there, in hours all day, the drill
    posting to ``url``, run as this OS user."""
    lines, skipping = [], False
    for line in EXAMPLE_CONFIG.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            skipping = stripped == "[hours]"
            if skipping:
                lines.append(ALWAYS_OPEN)
        if not skipping:
            lines.append(line)
    text = "\n".join(lines) + "\n"
    text = text.replace('api_base_url = "http://127.0.0.1:8787"', f'api_base_url = "{url}"')
    text = text.replace('# path = "/var/lib/dutypost/ledger.sqlite3"', f'path = "{root / "ledger.sqlite3"}"')
    text = text.replace('os_user = "tanaka"', f'os_user = "{getpass.getuser()}"')
    path = root / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


class Run:
    """One finished process: wall seconds, CPU seconds (user + sys), exit code, output.

    No peak memory: a child's ``ru_maxrss`` counts the pages of this (forking) process too."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        self.output = process.stdout.read().decode("utf-8", errors="replace")
        _, status, usage = os.wait4(process.pid, 0)
        self.wall = time.perf_counter() - started
        process.stdout.close()
        process.returncode = self.code = os.waitstatus_to_exitcode(status)
        self.cpu = usage.ru_utime + usage.ru_stime


class Bench:
    def __init__(self, root: Path, url: str, server: PracticeServer) -> None:
        self.url, self.server, self.n = url, server, 0
        self.config = town_config(root, url)
        self.env = {**os.environ, "HOME": str(root), "XDG_CACHE_HOME": str(root / "cache"),
                    "XDG_CONFIG_HOME": str(root / "config"), "XDG_DATA_HOME": str(root / "data"),
                    "XDG_STATE_HOME": str(root / "state")}
        for name in [k for k in self.env if k.startswith("DUTYPOST_")]:
            del self.env[name]  # the practice credentials, no credentials from this shell
        self.body = root / "body.json"
        self.sent_text, self.sent_n = "", 0  # what dutypost sent in its last run, and that run's number

    def dutypost(self, env: dict[str, str]) -> Run:
        self.n += 1
        argv = [str(DUTYPOST), "--config", str(self.config), "post", "evac-l4",
                "--set", f"time={format_jst_time(self._now())}", "--set", f"reason={REASON.format(n=self.n)}",
                "--set", "area=本郷地区", "--set", "shelter=本郷小学校",
                "--approver", "suzuki", "--approval-method", "phone", "--drill"]
        run = Run(argv, env)
        newest = self.server.posts()[0]["text"] if self.server.posts() else ""
        if run.code != 0 or REASON.format(n=self.n) not in newest:
            raise RuntimeError(f"dutypost post exited {run.code} without the post reaching the server:\n{run.output}")
        self.sent_text, self.sent_n = newest, self.n
        return run

    def curl(self, env: dict[str, str]) -> Run:
        """The request dutypost sent last, with a new run number, signed afresh before the clock."""
        self.n += 1
        text = self.sent_text.replace(REASON.format(n=self.sent_n), REASON.format(n=self.n))
        self.body.write_text(json.dumps({"text": text}, ensure_ascii=False), encoding="utf-8")
        target = f"{self.url}/2/tweets"
        header = authorization_header(DEMO_CREDENTIALS, "POST", target)
        argv = [CURL, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-H", f"Authorization: {header}",
                "-H", "Content-Type: application/json", "--data-binary", f"@{self.body}", target]
        run = Run(argv, env)
        if run.code != 0 or run.output.strip() != "201":
            raise RuntimeError(f"curl exited {run.code}, HTTP {run.output.strip()}")
        return run

    @staticmethod
    def _now():
        from datetime import datetime, timezone

        return datetime.now(timezone.utc)

    def measure(self, rounds: int, env: dict[str, str]) -> dict[str, list[Run]]:
        self.dutypost(env)  # warm-up: the validated cache, the ledger, the page cache
        self.curl(env)
        runs: dict[str, list[Run]] = {"dutypost post": [], "curl": []}
        for round_no in range(rounds):
            pair = ("dutypost post", "curl") if round_no % 2 == 0 else ("curl", "dutypost post")
            for name in pair:  # curl always follows a dutypost run's text: sign it after that run
                runs[name].append(self.dutypost(env) if name == "dutypost post" else self.curl(env))
        return runs


def report(title: str, runs: dict[str, list[Run]]) -> None:
    print(f"{title}, {len(runs['curl'])} pairs")
    print(f"{'':<16}{'wall median ms':>16}{'min':>8}{'max':>8}{'CPU median ms':>15}")
    for name, done in runs.items():
        walls = [r.wall * 1000 for r in done]
        print(f"{name:<16}{statistics.median(walls):>16.0f}{min(walls):>8.0f}{max(walls):>8.0f}"
              f"{statistics.median(r.cpu * 1000 for r in done):>15.0f}")
    ratios = [a.wall / b.wall for a, b in zip(runs["dutypost post"], runs["curl"])]
    medians = statistics.median(r.wall for r in runs["dutypost post"]) / statistics.median(r.wall for r in runs["curl"])
    print(f"dutypost post / curl, wall: {medians:.1f}x (medians); pair by pair {statistics.median(ratios):.1f}x"
          f" (min {min(ratios):.1f}x, max {max(ratios):.1f}x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="pairs per case")
    args = parser.parse_args()
    if shutil.which(CURL) is None:
        print("curl がありません (apt-get install curl)。", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    server = PracticeServer()
    url = server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="dutypost-cli-post-") as root:
            bench = Bench(Path(root), url, server)
            compile_bytecode()
            compiled = bench.measure(args.rounds, bench.env)
            remove_bytecode()
            try:
                cold = bench.measure(args.rounds, {**bench.env, "PYTHONDONTWRITEBYTECODE": "1"})
            finally:
                compile_bytecode()
    finally:
        server.stop()
    load = " ".join(f"{x:.2f}" for x in load_before) + " -> " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min) before -> after: {load}; {os.cpu_count()} CPUs")
    report("one post to the practice server on 127.0.0.1, bytecode compiled", compiled)
    print()
    report("the same without the project's compiled bytecode (PYTHONDONTWRITEBYTECODE=1)", cold)
    return 0


if __name__ == "__main__":
    sys.exit(main())
