"""Publish latency: dutypost's client against a bare signed httpx POST, in the same run.

Both talk to the practice server on 127.0.0.1 over a kept-alive connection, so the figure
is what dutypost adds on top of one HTTP round trip (signing, JSON, error mapping). A third
row is the whole publish path an officer's key press runs: gate, ledger writes before and
after the request (a real SQLite file in WAL mode), and the request. It also checks that a
publish on a pre-warmed client opens no new connection.

    .venv/bin/python bench/publish.py [--n 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

from dutypost.core.config import EXAMPLE_CONFIG
from dutypost.core.config_loader import load_settings
from dutypost.core.context import DutyContext
from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.core.gate import Override
from dutypost.core.oauth1 import authorization_header
from dutypost.core.xapi import XClient
from dutypost.practice import PracticeServer


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        start = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - start) * 1000)
    return out


def full_publish_path(url: str, tmp: Path, n: int) -> list[float]:
    from dutypost.core.publish import compose_text, publish

    settings = load_settings(EXAMPLE_CONFIG, ledger={"path": tmp / "ledger.sqlite3"}, drill={"api_base_url": url},
                             gate={"duplicate_window_hours": 0, "same_template_warn_minutes": 0})
    ctx = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=True)
    ctx.x_client().warm()
    override = Override(category=settings.gate.override_categories[0], reason="ベンチマークのための計測です",
                        operator_id="tanaka", at=datetime.now(timezone.utc))

    def one(i: int) -> None:
        text = f"【警戒レベル4】避難指示 発令\n{i}時現在\n本郷地区に避難指示を発令しました。"
        composition = compose_text(ctx, text, template_id="evac-l4", emergency=True, threads_allowed=False)
        publish(ctx, composition, override=override, acks=["cost"])

    try:
        return timed(one, n)
    finally:
        ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    n = parser.parse_args().n
    server = PracticeServer()
    url = server.start()
    try:
        client = XClient(url, DEMO_CREDENTIALS, timeout=15)
        client.warm()
        opened_after_warm = client.connections_opened
        dutypost_ms = timed(lambda i: client.create_post(f"ベンチマーク dutypost {i}"), n)
        opened_by_publishes = client.connections_opened - opened_after_warm

        bare = httpx.Client(base_url=url, timeout=15)
        bare.head("/2/openapi.json")

        def bare_post(i: int) -> None:
            target = f"{url}/2/tweets"
            headers = {"Authorization": authorization_header(DEMO_CREDENTIALS, "POST", target)}
            bare.post(target, json={"text": f"ベンチマーク bare {i}"}, headers=headers).raise_for_status()

        bare_ms = timed(bare_post, n)
        client.close()
        bare.close()

        with tempfile.TemporaryDirectory() as tmp:
            full_ms = full_publish_path(url, Path(tmp), n)
    finally:
        server.stop()

    def row(name: str, values: list[float]) -> str:
        values = sorted(values)
        p95 = values[int(len(values) * 0.95) - 1]
        return f"{name:<28} {statistics.median(values):8.2f} {p95:8.2f}"

    print(f"publishes per client: {n}")
    print(f"{'':<28} {'median':>8} {'p95':>8}  (ms)")
    print(row("dutypost XClient.create_post", dutypost_ms))
    print(row("bare signed httpx POST", bare_ms))
    print(row("whole publish path", full_ms))
    print(f"ratio (median): {statistics.median(dutypost_ms) / statistics.median(bare_ms):.2f}x")
    print(f"connections opened by warm(): {opened_after_warm}; by {n} publishes after it: {opened_by_publishes}")


if __name__ == "__main__":
    main()
