"""Drafts (下書き): text being composed, saved on every change so that it survives a crash."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from dutypost.core.ledger.audit import AuditLog, canonical_json
from dutypost.core.ledger.connection import parse_time

DRAFT_CLOSED_STATES = ("discarded", "published")


@dataclass(frozen=True)
class DraftPurpose:
    """What a draft is written for (下書きの目的): a checklist item's post (チェックリストの投稿).

    ``kind`` is the post kind it is published as (``correction`` 訂正, ``apology`` お詫び,
    ``post``); ``reply_to_post_id`` is the original post it replies to, if any.
    """

    checklist_id: int
    item_key: str
    kind: str
    reply_to_post_id: int | None

    def as_json(self) -> str:
        return canonical_json({"checklist_id": self.checklist_id, "item_key": self.item_key, "kind": self.kind,
                               "reply_to_post_id": self.reply_to_post_id})

    @classmethod
    def from_json(cls, text: str) -> DraftPurpose:
        value = json.loads(text)
        return cls(checklist_id=value["checklist_id"], item_key=value["item_key"], kind=value["kind"],
                   reply_to_post_id=value["reply_to_post_id"])


@dataclass(frozen=True)
class Draft:
    """A draft (下書き): text being composed, saved on every change. ``purpose`` is None
    for a plain post."""

    id: str
    operator: str
    template_id: str
    values: dict[str, str]
    text: str
    drill: bool
    status: str
    created_at: datetime
    updated_at: datetime
    purpose: DraftPurpose | None
    #: The template's versions (やさしい日本語・English) were added to the post.
    with_versions: bool = False


class DraftStore(AuditLog):
    """Drafts; creating and closing one are audit events."""

    def save_draft(self, *, operator: str, template_id: str, values: dict[str, str], text: str,
                   drill: bool, draft_id: str | None = None, purpose: DraftPurpose | None = None,
                   with_versions: bool | None = None) -> str:
        """Create or update a draft; returns its id. Only creation writes an audit event.

        ``purpose`` and ``with_versions`` (the versions were added) are kept by a later
        save that does not give them."""
        stamp = self._stamp()
        values_json = canonical_json(dict(values))
        purpose_json = purpose.as_json() if purpose is not None else None
        versions = None if with_versions is None else int(with_versions)
        with self._write() as conn:
            if draft_id is not None:
                updated = conn.execute(
                    "UPDATE drafts SET template_id = ?, field_values = ?, text = ?, drill = ?, updated_at = ?,"
                    " purpose = COALESCE(?, purpose), with_versions = COALESCE(?, with_versions)"
                    " WHERE id = ? AND status = 'open'",
                    (template_id, values_json, text, int(drill), stamp, purpose_json, versions, draft_id),
                ).rowcount
                if updated:
                    return draft_id
                if conn.execute("SELECT 1 FROM drafts WHERE id = ?", (draft_id,)).fetchone():
                    raise ValueError(f"下書き {draft_id} はもう閉じられています。")
            draft_id = draft_id or uuid.uuid4().hex
            conn.execute(
                "INSERT INTO drafts (id, operator, template_id, field_values, text, drill, created_at, updated_at,"
                " purpose, with_versions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (draft_id, operator, template_id, values_json, text, int(drill), stamp, stamp, purpose_json,
                 versions or 0),
            )
            self._append(conn, operator=operator, kind="draft.created", post_id=None, at=stamp,
                         payload={"draft_id": draft_id, "template_id": template_id, "drill": drill})
        return draft_id

    def open_drafts(self, operator: str | None = None) -> list[Draft]:
        """Open drafts, newest first; all operators' when ``operator`` is None."""
        sql = "SELECT * FROM drafts WHERE status = 'open'"
        params: tuple = ()
        if operator is not None:
            sql += " AND operator = ?"
            params = (operator,)
        with self._read() as conn:
            rows = conn.execute(sql + " ORDER BY updated_at DESC, rowid DESC", params).fetchall()
        return [
            Draft(id=r["id"], operator=r["operator"], template_id=r["template_id"],
                  values=json.loads(r["field_values"]), text=r["text"], drill=bool(r["drill"]),
                  status=r["status"], created_at=parse_time(r["created_at"]),
                  updated_at=parse_time(r["updated_at"]),
                  purpose=DraftPurpose.from_json(r["purpose"]) if r["purpose"] is not None else None,
                  with_versions=bool(r["with_versions"]))
            for r in rows
        ]

    def close_draft(self, draft_id: str, status: str = "discarded") -> None:
        """Close a draft as ``discarded`` or ``published``; closing a closed draft does nothing."""
        if status not in DRAFT_CLOSED_STATES:
            raise ValueError(f"下書きの状態 {status!r} は使えません ({', '.join(DRAFT_CLOSED_STATES)})。")
        with self._write() as conn:
            row = conn.execute("SELECT operator, status FROM drafts WHERE id = ?", (draft_id,)).fetchone()
            if row is None:
                raise ValueError(f"下書き {draft_id} は記録にありません。")
            if row["status"] != "open":
                return
            stamp = self._stamp()
            conn.execute("UPDATE drafts SET status = ?, updated_at = ? WHERE id = ?", (status, stamp, draft_id))
            self._append(conn, operator=row["operator"], kind=f"draft.{status}", post_id=None, at=stamp,
                         payload={"draft_id": draft_id})

