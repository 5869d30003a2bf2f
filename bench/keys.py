"""Keys from launch to a published 避難指示 (evac-l4) with an emergency override (キー操作数).

Drives the real app with Textual's Pilot at 80x24, out of hours (Tuesday 03:20 JST), so the
post needs the override, on a practice X server on 127.0.0.1 and a ledger in a temporary
directory. Typing the field values and the justification (理由) is not counted: every
other key is, and the table lists them step by step. Runs in 本番 (live, the practice
server standing in for X) and 訓練 (drill).

    .venv/bin/python bench/keys.py

Target (issue 4): at most 10 keys beyond the typing.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dutypost.core.config import EXAMPLE_CONFIG  # noqa: E402
from dutypost.core.config_loader import load_settings  # noqa: E402
from dutypost.core.context import DutyContext  # noqa: E402
from dutypost.core.demo_account import DEMO_CREDENTIALS  # noqa: E402
from dutypost.practice import PracticeServer  # noqa: E402

OUT_OF_HOURS = datetime(2026, 8, 31, 18, 20, tzinfo=timezone.utc)  # 2026-09-01 (火) 03:20 JST
REASON = "大雨で土砂災害の危険が高まったため"
AREA = "本郷地区"
JUSTIFICATION = "土砂災害の危険が迫り住民の避難が必要なため"


def make_context(data: Path, server_url: str, *, drill: bool) -> DutyContext:
    for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret"):
        os.environ[f"DUTYPOST_X__{name.upper()}"] = getattr(DEMO_CREDENTIALS, name)  # as an officer's would be
    settings = load_settings(EXAMPLE_CONFIG, ledger={"path": data / "ledger.sqlite3"},
                             drill={"api_base_url": server_url}, x={"api_base_url": server_url})
    return DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=drill,
                       clock=lambda: OUT_OF_HOURS)


class KeyCounter:
    """Presses keys through Pilot and counts them, step by step; typing is not counted."""

    def __init__(self, app, pilot) -> None:
        self.app, self.pilot = app, pilot
        self.steps: list[tuple[str, int]] = []

    async def settle(self) -> None:
        await self.app.workers.wait_for_complete()
        await self.pilot.pause()
        await self.app.workers.wait_for_complete()
        await self.pilot.pause()

    async def press(self, what: str, *keys: str) -> None:
        await self.pilot.press(*keys)
        self.steps.append((f"{' '.join(keys)}: {what}", len(keys)))
        await self.settle()

    async def type(self, what: str, text: str) -> None:
        await self.pilot.press(*text)
        self.steps.append((f"(type) {what}", 0))
        await self.settle()

    @property
    def total(self) -> int:
        return sum(n for _, n in self.steps)


async def publish_evac_l4(app, pilot) -> KeyCounter:
    """The officer's way from the home screen to a published evac-l4 with an override."""
    ctx = app.ctx
    counter = KeyCounter(app, pilot)
    await counter.settle()
    ids = [t.id for t in ctx.templates.templates]
    number = f"{ids.index('evac-l4') + 1:02d}"
    await counter.press("テンプレート番号 (避難指示)", *number)
    await counter.type("理由", REASON)
    await counter.press("次の項目 (対象地区)", "enter")
    await counter.type("対象地区", AREA)
    await counter.press("次の項目 (避難所, 空欄)", "enter")
    await counter.press("確認画面へ", "enter")
    await counter.press("緊急オーバーライド", "f8")
    await counter.press("区分 (1番目) を選ぶ", "enter")
    await counter.type("理由 (オーバーライド)", JUSTIFICATION)
    await counter.press("オーバーライドして投稿", "f10")
    post = ctx.ledger.list_posts(limit=1)
    if not post or post[0].state != "sent":
        raise RuntimeError("the post did not go out: the benchmark's path is out of date")
    return counter


async def count(drill: bool) -> KeyCounter:
    from dutypost.tui.app import make_app

    with tempfile.TemporaryDirectory() as data:
        server = PracticeServer()
        url = server.start()
        ctx = make_context(Path(data), url, drill=drill)
        try:
            app = make_app(ctx)
            async with app.run_test(size=(80, 24)) as pilot:
                return await publish_evac_l4(app, pilot)
        finally:
            ctx.close()
            server.stop()


def main() -> int:
    for drill in (False, True):
        counter = asyncio.run(count(drill))
        mode = "訓練 drill" if drill else "本番 live"
        print(f"{mode}: launch to a published 避難指示 with an override, out of hours")
        for step, n in counter.steps:
            print(f"  {n:>2}  {step}")
        print(f"  {counter.total:>2}  keys in all (typing not counted; target <= 10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
