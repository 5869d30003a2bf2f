"""Replication lag of the standby (予備機): from a committed publish to the replica holding it.

For a folder replica and for an ``sftp://`` replica on a loopback OpenSSH server (the test
harness's), it runs ``dutypost standby replicate`` (the real ``litestream``) on a real
ledger, publishes to the practice server through the whole publish path, and times from
the moment the publish returns (its ``sent`` state committed) until a new LTX file in the
replica carries it: each new L0 file is restored with ``litestream restore`` and counted
only if its newest audit event is the publish's. The time stamp is taken when the file is
seen, before the restore, so the restore's own cost is not counted. Publishes are spread
across Litestream's sync tick (a pause of a different fraction of the interval before each).

    .venv/bin/python bench/standby_lag.py [--n 10] [--interval 1.0] [--only folder|sftp]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from dutypost.core.config import EXAMPLE_CONFIG  # noqa: E402
from dutypost.core.config_loader import load_settings  # noqa: E402
from dutypost.core.context import DutyContext  # noqa: E402
from dutypost.core.gate import Override  # noqa: E402
from dutypost.practice import PracticeServer  # noqa: E402
from dutypost.core.publish import compose_text, publish  # noqa: E402
from dutypost.core.standby import audit_head, replicate_argv, restore_copy  # noqa: E402


def _l0(folder: Path) -> set[Path]:
    return set((folder / "ltx" / "0").glob("*.ltx"))


def measure(kind: str, n: int, interval: float) -> list[float]:
    tmp = Path(tempfile.mkdtemp(prefix=f"dp-lag-{kind}-"))
    folder = tmp / "replica"
    server = PracticeServer()
    url = server.start()
    sshd = None
    standby: dict = {"sync_interval_seconds": interval}
    if kind == "folder":
        standby["replica"] = str(folder)
    else:
        from sshd_harness import LoopbackSshd, make_key, service_user

        (tmp / "sshd").mkdir()
        key = make_key(tmp / "sshd" / "replica_ed25519", "dutypost-lag")
        sshd = LoopbackSshd(directory=tmp / "sshd", client_key=key, user=service_user(),
                            extra_config=("Subsystem sftp internal-sftp",))
        sshd.authorize(None, options="restrict")
        sshd.start({})
        standby.update(replica=f"sftp://{sshd.user}@127.0.0.1:{sshd.port}{folder}", ssh_key=str(key),
                       host_key=(tmp / "sshd" / "host_ed25519.pub").read_text().strip())
    settings = load_settings(EXAMPLE_CONFIG, ledger={"path": tmp / "ledger.sqlite3"}, drill={"api_base_url": url},
                             gate={"duplicate_window_hours": 0, "same_template_warn_minutes": 0}, standby=standby)
    ctx = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=True)
    override = Override(category=settings.gate.override_categories[0], reason="ベンチマークのための計測です",
                        operator_id="tanaka", at=datetime.now(timezone.utc))

    def one(i: int) -> None:
        text = f"【警戒レベル4】避難指示 発令\n3時20分現在 (計測 {kind} {i})\n本郷地区に避難指示を発令しました。"
        publish(ctx, compose_text(ctx, text, template_id="evac-l4", emergency=True, threads_allowed=False),
                override=override, acks=["cost"])

    one(-1)  # the ledger exists before Litestream starts, as on a primary in service
    log = (tmp / "replicate.log").open("wb")
    proc = subprocess.Popen(replicate_argv(settings), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    lags: list[float] = []
    try:
        deadline = time.monotonic() + 30
        while not _l0(folder):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"{kind}: the replica never appeared; see {tmp / 'replicate.log'}")
            time.sleep(0.05)
        time.sleep(2 * interval)
        for i in range(n):
            time.sleep(interval * (1 + (i % 5) / 5))  # a different phase of the sync tick each time
            seen = _l0(folder)
            one(i)
            committed = time.perf_counter()
            want = audit_head(settings.ledger.path).id
            deadline = time.monotonic() + 30 + 5 * interval
            while True:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{kind}: publish {i} never reached the replica")
                new = _l0(folder) - seen
                if not new:
                    time.sleep(0.002)
                    continue
                arrived = time.perf_counter()
                seen |= new
                copy = tmp / f"check-{i}-{len(seen)}.sqlite3"
                head = audit_head(restore_copy(settings, copy))
                if head and head.id >= want:
                    lags.append((arrived - committed) * 1000)
                    break
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()
        ctx.close()
        server.stop()
        if sshd is not None:
            sshd.stop()
    return lags


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0, help="[standby] sync_interval_seconds")
    parser.add_argument("--only", choices=["folder", "sftp"])
    args = parser.parse_args()
    print(f"sync_interval_seconds = {args.interval}, {args.n} publishes each")
    print(f"{'replica':<8} {'median':>9} {'min':>9} {'max':>9}  (ms from the committed publish to the replica)")
    for kind in [args.only] if args.only else ["folder", "sftp"]:
        lags = measure(kind, args.n, args.interval)
        print(f"{kind:<8} {statistics.median(lags):9.0f} {min(lags):9.0f} {max(lags):9.0f}")


if __name__ == "__main__":
    main()
