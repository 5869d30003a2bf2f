"""An injectable clock the tests move by hand (the ledger and the context take ``now=``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

START = datetime(2026, 9, 1, 3, 0, tzinfo=timezone.utc)  # a Tuesday, 12:00 JST


class Clock:
    def __init__(self, at: datetime = START) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)
