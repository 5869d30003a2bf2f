"""Errors that reach the user, each with its exit code (SPEC §10).

Every message is Japanese first; administrators' messages may add English after it.
Messages never contain secrets.
"""

from __future__ import annotations


class DutypostError(Exception):
    """A failure the user must be told about in words, never with a traceback."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class InputError(DutypostError):
    """Bad input or config (exit 2): the message names the file and line, or the field."""

    exit_code = 2


class StorageFault(InputError):
    """The ledger (or another file of ours) could not be written: disk full, read-only, I/O
    error (exit 2, issue 17 item 4). ``path`` names the file. Raised before a request left,
    nothing was sent; after it left, the publish path reports :class:`OutcomeUnknown` instead."""

    def __init__(self, message: str, *, hint: str = "", path: object = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class NoCredentials(InputError):
    """No X credentials are configured (認証情報なし, exit 2)."""


class WrongAccount(InputError):
    """The X credentials belong to another account than the configured handle (exit 2).
    ``expected`` and ``actual`` are the two handles, without ``@``."""

    def __init__(self, message: str, *, expected: str, actual: str, hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.expected = expected
        self.actual = actual


class GateBlocked(DutypostError):
    """Blocked by the gate (exit 3): the message names the check and how to proceed."""

    exit_code = 3


class _PostError(DutypostError):
    """A publish that did not end ``sent``: ``post_id`` names the ledger entry, ``cause``
    is the X client's error (e.g. ``XRateLimited`` with its ``wait_seconds``).
    ``checklist_note``: for a checklist item's post, its record on the checklist in words."""

    checklist_note: str = ""

    def __init__(self, message: str, *, hint: str = "", post_id: int | None = None,
                 cause: Exception | None = None) -> None:
        super().__init__(message, hint=hint)
        self.post_id = post_id
        self.cause = cause


class PublishFailed(_PostError):
    """The publish failed and the post is kept in the outbox (exit 4)."""

    exit_code = 4


class OutcomeUnknown(_PostError):
    """The request may or may not have reached X (exit 5); see ``dutypost outbox``."""

    exit_code = 5


class TamperingDetected(DutypostError):
    """The audit chain is broken (exit 6): the message names the first bad event or row
    (table, id, field), or the anchor (控え) the trail no longer matches."""

    exit_code = 6
