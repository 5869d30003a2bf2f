"""The ledger (記録・台帳): one SQLite file shared by every session on the host (SPEC §2, §6).

It holds drafts (下書き), posts (投稿) and their states, approvals (承認), emergency
overrides (緊急オーバーライド), in-app approval requests, checklists (チェックリスト), a small
key/value cache, and the audit trail (監査記録): append-only and hash-chained.

The package, by concern (each store is a mixin of :class:`Ledger`, all on one connection):

- :mod:`~dutypost.core.ledger.connection`: open, WAL, busy timeout, ``BEGIN IMMEDIATE``,
  and the schema migrations in one ordered list (every table is created there);
- :mod:`~dutypost.core.ledger.audit`: the hash-chained audit trail and ``verify``;
- :mod:`~dutypost.core.ledger.posts`: posts and their states;
- :mod:`~dutypost.core.ledger.drafts`: drafts;
- :mod:`~dutypost.core.ledger.approvals`: approvals, approval requests and overrides;
- :mod:`~dutypost.core.ledger.sessions`: time-boxed override sessions (緊急オーバーライドの時間枠);
- :mod:`~dutypost.core.ledger.checklists`: the checklists' rows (the items and their rules
  are :mod:`dutypost.core.checklists`);
- :mod:`~dutypost.core.ledger.followups`: the follow-up on other channels after an emergency
  post, and the posts the board of what is in force (発令中) reads;
- :mod:`~dutypost.core.ledger.backup`: ``ledger backup`` and ``ledger restore``.

A file that cannot be used (damaged, a folder, unwritable, the disk full, locked by another
program, from a newer version) raises :class:`LedgerError` (exit 2), naming the file and
what to do next.

A change and its audit event are always written in one transaction.

Times are stored as UTC ISO 8601 strings with an offset (``2026-09-01T03:00:00+00:00``)
and returned as aware datetimes.
"""

from __future__ import annotations

from dutypost.core.ledger.approvals import APPROVAL_METHODS, ApprovalRequest, ApprovalStore
from dutypost.core.ledger.audit import (
    GENESIS_HASH,
    ROW_TABLES,
    Anchor,
    AuditEvent,
    VerifyResult,
    canonical_json,
    event_hash,
    parse_anchor,
    read_anchor_file,
)
from dutypost.core.ledger.checklists import ChecklistEvent, ChecklistStore, StoredChecklist, StoredItem
from dutypost.core.ledger.connection import BUSY_TIMEOUT_SECONDS, MIGRATIONS, SCHEMA_VERSION, LedgerError
from dutypost.core.ledger.drafts import DRAFT_CLOSED_STATES, Draft, DraftPurpose, DraftStore
from dutypost.core.ledger.followups import EVENT_FOLLOWUP, FOLLOWUP_RESULTS, FollowupRecord, FollowupStore
from dutypost.core.ledger.posts import (
    OUTBOX_STATES,
    POST_STATE_LABELS,
    POST_STATES,
    TRANSITIONS,
    Post,
    SameTemplateTaken,
)
from dutypost.core.ledger.sessions import MAX_SESSION_HOURS, OverrideSession, OverrideSessionStore

_MIGRATIONS = MIGRATIONS  # the name the tests of schema upgrades have always used

__all__ = [
    "APPROVAL_METHODS", "BUSY_TIMEOUT_SECONDS", "DRAFT_CLOSED_STATES", "GENESIS_HASH", "MAX_SESSION_HOURS",
    "MIGRATIONS", "OUTBOX_STATES", "POST_STATES", "POST_STATE_LABELS", "ROW_TABLES", "SCHEMA_VERSION", "TRANSITIONS",
    "Anchor", "ApprovalRequest", "AuditEvent", "ChecklistEvent", "Draft", "DraftPurpose", "Ledger", "LedgerError", "OverrideSession",
    "Post", "SameTemplateTaken", "StoredChecklist", "StoredItem", "VerifyResult", "canonical_json", "event_hash",
    "parse_anchor", "read_anchor_file", "EVENT_FOLLOWUP", "FOLLOWUP_RESULTS", "FollowupRecord",
]


class Ledger(DraftStore, ApprovalStore, ChecklistStore, FollowupStore, OverrideSessionStore):
    """The ledger (記録・台帳). Safe to share between threads; many processes may open one file.

    One connection (:class:`~dutypost.core.ledger.connection.LedgerConnection`) under every
    store: drafts, posts, approvals, checklists and the audit trail
    (:class:`~dutypost.core.ledger.audit.AuditLog`).
    """

