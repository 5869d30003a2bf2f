"""Plain value types shared by the domain modules, the CLI and the TUI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["block", "warn", "info"]


@dataclass(frozen=True)
class Finding:
    """One result of a content check (SPEC §4).

    ``start``/``end`` are offsets into the checked text in code points (Python ``str``
    indices), end exclusive; both are 0 for findings about the whole text.
    """

    rule: str
    severity: Severity
    message: str
    start: int = 0
    end: int = 0

    def as_json(self) -> dict:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "start": self.start,
            "end": self.end,
        }
