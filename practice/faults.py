"""Faults (障害) the practice server injects on purpose, one per ``POST /2/tweets``.

Queued with ``POST /_practice/faults`` or ``PracticeServer.inject``; each applies to the
next post request and is then spent:

- ``{"kind": "status", "status": 503, "reset_in": 900}``: answer with that status and X's
  problem body, storing nothing (``reset_in`` seconds go into ``x-rate-limit-reset`` for a 429);
- ``{"kind": "timeout_after_store", "delay": 5}``: store the post, then wait before answering;
- ``{"kind": "reset_before_store"}``: reset the connection without storing or answering;
- ``{"kind": "drop_after_store"}``: store the post, then close without answering;
- ``{"kind": "store_then_500"}``: store the post, then answer 500 with X's problem body;
- ``{"kind": "store_then_reset"}``: store the post, then reset the connection (TCP RST);
- ``{"kind": "store_then_garbage", "status": 201}``: store the post, then answer 200 or 201
  with a body that is not JSON;
- ``{"kind": "slow", "delay": 2}``: wait, then store and answer normally.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

FAULT_KINDS = (
    "status", "timeout_after_store", "reset_before_store", "drop_after_store",
    "store_then_500", "store_then_reset", "store_then_garbage", "slow",
)
STORING_KINDS = frozenset(
    {"timeout_after_store", "drop_after_store", "store_then_500", "store_then_reset", "store_then_garbage", "slow"}
)
GARBAGE_BODY = b"<html><body><h1>upstream connect error or disconnect/reset before headers</h1></body></html>"


def check_fault(fault: Any) -> dict[str, Any]:
    """Validate one fault; raise ValueError with a Japanese message."""
    if not isinstance(fault, dict) or fault.get("kind") not in FAULT_KINDS:
        raise ValueError(f"障害の種類 (kind) は {', '.join(FAULT_KINDS)} のいずれかです: {fault!r}")
    kind = fault["kind"]
    if kind == "status":
        status = fault.get("status")
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise ValueError(f"status には 400〜599 の数を指定してください: {fault!r}")
        reset_in = fault.get("reset_in", 900)
        if not isinstance(reset_in, (int, float)) or reset_in < 0:
            raise ValueError(f"reset_in には 0 以上の秒数を指定してください: {fault!r}")
    if kind == "store_then_garbage" and fault.get("status", 201) not in (200, 201):
        raise ValueError(f"store_then_garbage の status は 200 か 201 です: {fault!r}")
    if kind in ("timeout_after_store", "slow"):
        delay = fault.get("delay")
        if not isinstance(delay, (int, float)) or not 0 <= delay <= 600:
            raise ValueError(f"delay には 0〜600 の秒数を指定してください: {fault!r}")
    return dict(fault)


class FaultQueue:
    """The queued faults (one per post request) and the refuse-replies switch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[dict[str, Any]] = deque()
        self.refuse_replies = False

    def inject(self, *faults: dict[str, Any]) -> None:
        checked = [check_fault(f) for f in faults]
        with self._lock:
            self._faults.extend(checked)

    def next(self) -> dict[str, Any]:
        """The fault for this request, or ``{"kind": "none"}``."""
        with self._lock:
            return self._faults.popleft() if self._faults else {"kind": "none"}

    def settings(self) -> dict[str, Any]:
        with self._lock:
            return {"queued": len(self._faults), "refuse_replies": self.refuse_replies}

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.refuse_replies = False
