"""The ledger at scale (issue 14): 100k posts and 500k audit events against an empty ledger.

The large ledger is built through the ledger's own write path (``Ledger.create_post``,
``record_approval``/``record_override``, ``set_state``, ``sign_off``, ``save_draft``/
``close_draft``: one transaction each, as sessions write it), over about three years of a
fake clock that ends now: 100,000 posts (every 10th a drill, every 40th under an
emergency override that lifted the approval check, signed off afterwards but for the last
few), and 50,000 drafts that were discarded, about 500,000 audit events in all. It is
cached in the temp directory (``--rebuild`` to build it again), and copied for each run.

Measured in the same run, large against empty, alternately in pairs:

- home's start-up to the full screen (``dutypost --demo`` under a real 80x24 pty until the
  recent posts, the hours and the X state are drawn);
- History (F5 on home until its list and hint are drawn);
- an idle TUI's CPU (the process's CPU time over ``--idle`` seconds once home is drawn);
- a publish (``core.publish.publish`` to the practice server on loopback, gate included);
- ``dutypost audit verify``: wall time and peak memory (``wait4``'s ``ru_maxrss``).

    .venv/bin/python bench/ledger_scale.py [--rounds 5] [--idle 10] [--rebuild]

Targets (issue 14): idle CPU not measurable; start-up, History and a publish at most 1.3x
the empty ledger; ``audit verify`` at most 100 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bytes_per_key import DUTYPOST, REPO, PtySession  # noqa: E402

from dutypost.core.ledger import SCHEMA_VERSION  # noqa: E402

POSTS = 100_000
DISCARDED_DRAFTS = 50_000
CACHE = Path(tempfile.gettempdir()) / "dutypost-bench-ledger-scale"
LARGE = CACHE / f"ledger-{POSTS}.sqlite3"
TEXT = "【避難所開設】{time}現在、中央公民館を開設しました。"
ANSI = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|[@-Z\\-_])")
F5 = "\x1b[15~"


# -- the large ledger --------------------------------------------------------------------


class FakeClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def build_large(path: Path) -> None:
    """Write the large ledger through the ledger's own API (see the module docstring)."""
    from dutypost.core.ledger import Ledger

    step = timedelta(minutes=15)
    clock = FakeClock(datetime.now(timezone.utc) - (POSTS + 2) * step)
    partial = path.with_name(path.name + ".building")
    for name in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        name.unlink(missing_ok=True)
    started = time.perf_counter()
    with Ledger(partial, now=clock) as ledger:
        for n in range(1, POSTS + 1):
            clock.at += step
            drill = n % 10 == 0
            local = clock.at + timedelta(hours=9)
            text = f"{'【訓練】' if drill else ''}第{n}報 " + TEXT.format(time=f"{local.hour}時{local.minute:02d}分")
            post_id = ledger.create_post(operator="tanaka", department="防災危機管理課", template_id="shelter-open",
                                         text=text, parts=[text], drill=drill)
            overridden = n % 40 == 0
            if overridden:
                ledger.record_override(post_id, operator="tanaka", category="生命・身体・財産の保護に必要な緊急情報",
                                       reason="夜間に土砂災害の危険が迫ったため", lifted=["hours", "approval"])
            else:
                ledger.record_approval(post_id, approver="suzuki", method="phone", recorded_by="tanaka")
            ledger.set_state(post_id, "sending")
            ledger.set_state(post_id, "sent", x_post_ids=[str(10**15 + n)],
                             url=f"https://x.com/example_town/status/{10**15 + n}")
            if overridden and n < POSTS - 200:
                ledger.sign_off(post_id, approver="suzuki", note="電話で報告を受け確認")
            if n % 2 == 0:
                draft = ledger.save_draft(operator="tanaka", template_id="shelter-open", values={"time": "3時00分"},
                                          text=text, drill=drill)
                ledger.close_draft(draft, "discarded")
            if n % 5000 == 0:
                rate = n / (time.perf_counter() - started)
                print(f"\r  building: {n:,} / {POSTS:,} posts ({rate:,.0f} posts/s)", end="", file=sys.stderr,
                      flush=True)
        events = ledger.verify().checked
    print(file=sys.stderr)
    os.replace(partial, path)
    (CACHE / "built.json").write_text(json.dumps({"posts": POSTS, "events": events, "schema": SCHEMA_VERSION}),
                                      encoding="utf-8")


def large_facts() -> dict:
    return json.loads((CACHE / "built.json").read_text(encoding="utf-8"))


# -- places to run ------------------------------------------------------------------------


def demo_home(root: Path, ledger: Path | None) -> dict[str, str]:
    """A HOME (and XDG dirs) whose demo ledger is a fresh copy of ``ledger`` (or empty)."""
    shutil.rmtree(root, ignore_errors=True)
    data = root / "data" / "dutypost" / "demo"
    data.mkdir(parents=True)
    if ledger is not None:
        shutil.copyfile(ledger, data / "ledger.sqlite3")
    return {"HOME": str(root), "XDG_DATA_HOME": str(root / "data"), "XDG_CACHE_HOME": str(root / "cache"),
            "XDG_CONFIG_HOME": str(root / "config"), "XDG_STATE_HOME": str(root / "state")}


def screen_text(session: PtySession, since: int = 0) -> str:
    return ANSI.sub(b"", bytes(session.output[since:])).decode("utf-8", errors="replace")


def wait_until(session: PtySession, done, timeout: float = 60, since: int = 0) -> float:
    """Read the pty until ``done(text written since ``since``)``; seconds since the start."""
    import select

    deadline = time.monotonic() + timeout
    while not done(screen_text(session, since)):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(screen_text(session, since)[-2000:])
        ready, _, _ = select.select([session.master], [], [], left)
        if ready:
            try:
                chunk = os.read(session.master, 65536)
            except OSError:
                raise TimeoutError("the program ended") from None
            session.total += len(chunk)
            session.output += chunk
    return time.perf_counter() - session.started


HOURS_DRAWN = re.compile(r"勤務時間[内外] \(|時間外: ")  # in hours, after hours (「勤務時間外 (08:30 から)」), a closed day
X_DRAWN = re.compile(r"X: (接続済み|未接続)")


def home_complete(recent: str):
    """Home is complete when the recent posts (``recent`` drawn), the hours and the X state are."""
    return lambda text: recent in text and HOURS_DRAWN.search(text) and X_DRAWN.search(text)


def history_complete(text: str) -> bool:
    return "Enter: 詳細" in text or "該当する投稿はありません" in text


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tui_round(env: dict[str, str], recent: str, idle: float) -> tuple[float, float, float]:
    """One TUI run: (start-up s, History s, idle CPU share of a core)."""
    session = PtySession([str(DUTYPOST), "--demo"], env=env)
    try:
        startup = wait_until(session, home_complete(recent))
        session.settle(timeout=5)
        before, at = cpu_seconds(session.process.pid), time.monotonic()
        session.read(idle)
        cpu = (cpu_seconds(session.process.pid) - before) / (time.monotonic() - at)
        mark = len(session.output)
        pressed = time.perf_counter()
        session.send(F5)
        opened = wait_until(session, history_complete, since=mark)
        history = opened - (pressed - session.started)
        return startup, history, cpu
    finally:
        session.close()


def publish_round(env: dict[str, str], publishes: int) -> list[float]:
    """Publish ``publishes`` posts in-process through core.publish (the gate, the ledger, X)."""
    import subprocess

    script = f"""
import json, os, sys, time
from dutypost.core.demo import demo_context
from datetime import datetime, timezone
from dutypost.core.publish import compose, make_approval, make_override, publish
from dutypost.core.templates import format_jst_time
ctx, server = demo_context()
times = []
try:
    template = ctx.templates.get("shelter-open")
    category = ctx.settings.gate.override_categories[0]
    ctx.ledger.list_posts(limit=1); ctx.x_client().warm()
    for i in range({publishes}):
        composition = compose(ctx, template, {{"time": format_jst_time(datetime.now(timezone.utc)), "shelter": f"中央公民館 第{{os.getpid()}}-{{i}}会場"}})
        started = time.perf_counter()
        publish(ctx, composition, approval=make_approval(ctx, "suzuki", "phone"),
                override=make_override(ctx, category, "台風の接近で避難所の開設を急ぐため"))
        times.append(time.perf_counter() - started)
finally:
    ctx.close(); server.stop()
print(json.dumps(times))
"""
    out = subprocess.run([sys.executable, "-c", script], env={**os.environ, **env}, cwd=REPO, capture_output=True,
                         text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def verify_round(env: dict[str, str], ledger: Path | None) -> tuple[float, float, str]:
    """``dutypost audit verify`` on the demo's ledger: (seconds, peak MiB, what it printed)."""
    import subprocess

    from dutypost.core.config import EXAMPLE_CONFIG

    root = Path(env["HOME"])
    config = root / "config.toml"
    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    text = text.replace('# path = "/var/lib/dutypost/ledger.sqlite3"',
                        f'path = "{root / "data" / "dutypost" / "demo" / "ledger.sqlite3"}"')
    import getpass

    config.write_text(text.replace('os_user = "tanaka"', f'os_user = "{getpass.getuser()}"'), encoding="utf-8")
    started = time.perf_counter()
    process = subprocess.Popen([str(DUTYPOST), "--config", str(config), "audit", "verify"], env={**os.environ, **env},
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = process.stdout.read().decode("utf-8", errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(output)
    return elapsed, usage.ru_maxrss / 1024, output.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle TUI per round")
    parser.add_argument("--publishes", type=int, default=10, help="publishes per round")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    stale = not LARGE.exists() or not (CACHE / "built.json").exists() or large_facts().get("schema") != SCHEMA_VERSION
    if args.rebuild or stale:  # a ledger cached by another build of dutypost is built again
        print(f"building the large ledger in {LARGE} (once; cached) ...", file=sys.stderr)
        started = time.perf_counter()
        build_large(LARGE)
        print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    facts = large_facts()
    size = LARGE.stat().st_size / 2**20
    print(f"large ledger: {facts['posts']:,} posts, {facts['events']:,} audit events, {size:.0f} MiB")
    from dutypost.core.ledger import Ledger

    with Ledger(LARGE) as ledger:
        newest = ledger.list_posts(limit=1)[0].text
    recent_marker = newest.split(" ", 1)[0]  # 「【訓練】第100000報」: the newest post's row
    cases = {"empty": (None, "まだ投稿はありません"), "large": (LARGE, recent_marker)}
    work = Path(tempfile.mkdtemp(prefix="dutypost-scale-"))
    results: dict[str, dict[str, list[float]]] = {name: {"startup": [], "history": [], "idle_cpu": [], "publish": []}
                                                  for name in cases}
    verify: dict[str, tuple[float, float, str]] = {}
    try:
        # One copy per case for the screens (they write nothing) and one for the publishes,
        # made before any clock runs and flushed, so no copy's write-back lands in a measurement.
        screens = {name: demo_home(work / name, ledger) for name, (ledger, _) in cases.items()}
        publishing = {name: demo_home(work / f"{name}-publish", ledger) for name, (ledger, _) in cases.items()}
        os.sync()
        for name in cases:  # warm-up: the cache snapshots, the page cache
            tui_round(screens[name], cases[name][1], 1)
            publish_round(publishing[name], 2)
        for round_no in range(args.rounds):
            order = list(cases) if round_no % 2 == 0 else list(reversed(cases))  # pairs, alternately
            for name in order:
                startup, history, cpu = tui_round(screens[name], cases[name][1], args.idle)
                results[name]["startup"].append(startup)
                results[name]["history"].append(history)
                results[name]["idle_cpu"].append(cpu)
            for name in order:
                results[name]["publish"] += publish_round(publishing[name], args.publishes)
            print(f"  round {round_no + 1}/{args.rounds} done", file=sys.stderr)
        for name, (ledger, _) in cases.items():
            verify[name] = verify_round(screens[name], ledger)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def median(name: str, what: str) -> float:
        return statistics.median(results[name][what])

    print(f"\nmedians of {args.rounds} rounds (publish: {args.rounds * args.publishes} each), large vs empty")
    print(f"{'measure':<34}{'empty':>10}{'large':>10}{'ratio':>8}  target")
    for what, label in (("startup", "home start-up to full screen, ms"), ("history", "History opened, ms"),
                        ("publish", "a publish (gate, ledger, X), ms")):
        empty, large = median("empty", what), median("large", what)
        print(f"{label:<34}{empty * 1000:>10.0f}{large * 1000:>10.0f}{large / empty:>8.2f}  <= 1.3x")
    empty_cpu, large_cpu = median("empty", "idle_cpu"), median("large", "idle_cpu")
    print(f"{'idle TUI, % of a core':<34}{empty_cpu * 100:>10.2f}{large_cpu * 100:>10.2f}{'':>8}  not measurable")
    (e_time, e_mem, _), (l_time, l_mem, l_said) = verify["empty"], verify["large"]
    print(f"{'audit verify, s':<34}{e_time:>10.2f}{l_time:>10.2f}{l_time / e_time:>8.1f}")
    print(f"{'audit verify, peak MiB':<34}{e_mem:>10.0f}{l_mem:>10.0f}{l_mem / e_mem:>8.2f}  <= 100 MB")
    print(f"  ({l_said})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
