"""Checklists (チェックリスト) for what comes after a post: 訂正・お詫び, 炎上, なりすまし, 運用停止.

Each kind is a fixed list of items (:data:`ITEMS`), every item citing the rule and the
policy article it comes from (SPEC R3, R6–R9). An operator starts a checklist, records the
items in any order, can leave and resume it from another session, and finishes it once
every required item is done.

Storage: the checklist state lives in two tables of the ledger's SQLite file,
``checklists`` and ``checklist_items``, created here on first use (the ledger's schema
version is not touched). The :class:`~core.ledger.Ledger` exposes no connection, so this
module opens its own short-lived connection to the same file for each operation: WAL (set
by the ledger), a 15 s busy timeout and ``BEGIN IMMEDIATE`` for every write, so sessions
queue instead of failing. Every step is also an audit event (監査記録) written through
:meth:`Ledger.append_event`, *before* the row changes: the ledger's connection and ours
are separate transactions, and this order means a value in the table always has its
audit event (a crash in between leaves an event whose value must be recorded again).
Each item row keeps the id and the time of its audit event.

Deleting the original post (元の投稿の削除) is never a plain value: it takes
:func:`request_deletion` (with a reason), then :func:`confirm_deletion` as a separate
step, then :func:`delete_original`, which sends ``DELETE /2/tweets/{id}`` and records
the outcome.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from dutypost.core.errors import InputError, PublishFailed

if TYPE_CHECKING:
    from dutypost.core.ledger import Ledger, Post
    from dutypost.core.templates import TemplateSet
    from dutypost.core.xapi import XClient

JST = ZoneInfo("Asia/Tokyo")
BUSY_TIMEOUT_MS = 15_000

ItemKind = Literal["tick", "text", "choice", "who_when", "post"]

OTHER = "その他"
"""A choice that needs a note saying what it was."""

# Audit event kinds written here.
EVENT_STARTED = "checklist.started"
EVENT_TICK = "checklist.tick"
EVENT_FINISHED = "checklist.finished"
EVENT_DELETION_REQUESTED = "checklist.deletion_requested"
EVENT_DELETION_CONFIRMED = "checklist.deletion_confirmed"
EVENT_DELETION_FAILED = "checklist.deletion_failed"
EVENT_CORRECTION_LINKED = "post.correction_linked"

KEEP, DELETE = "残す", "削除"


@dataclass(frozen=True)
class ChecklistItem:
    """One step of a checklist (チェック項目).

    ``kind``: ``tick`` (done or not), ``text`` (a recorded text), ``choice`` (one of
    ``choices``; :data:`OTHER` needs a note), ``who_when`` (a person and a time),
    ``post`` (a post in the ledger, made from ``template``). An item is required when
    ``required`` is set, or when the choice item named in ``required_when`` holds the
    given value. ``default`` counts as recorded until something else is.
    """

    key: str
    label: str
    kind: ItemKind
    cites: str
    required: bool = True
    choices: tuple[str, ...] = ()
    template: str | None = None
    required_when: tuple[str, str] | None = None
    default: str | None = None


_R6 = "R6; 上富田町手順 5(1); 美咲町ガイドライン 第3条4"
_R7 = "R7; 上富田町手順 5(3)"
_R8 = "R8; 上富田町手順 5(2)"
_R9 = "R9; 上富田町手順 6(2)"

TITLES: dict[str, str] = {
    "correction": "訂正・お詫び",
    "flaming": "炎上",
    "impersonation": "なりすまし",
    "suspension": "運用停止",
}

ITEMS: dict[str, tuple[ChecklistItem, ...]] = {
    "correction": (
        ChecklistItem("wrong", "誤: 誤っていた内容", "text", _R6),
        ChecklistItem("right", "正: 正しい内容", "text", _R6),
        ChecklistItem("head_told", "投稿管理者 (所属長) に報告した (誰に・いつ)", "who_when",
                      "R11; 上富田町手順 4(4); 阿見町ポリシー 別表第1"),
        ChecklistItem("correction_post", "訂正の投稿 (元の投稿の日時・件名と 誤・正)", "post", _R6,
                      template="correction"),
        ChecklistItem("apology", "お詫びの投稿が要るか", "choice", _R6, choices=("必要", "不要")),
        ChecklistItem("apology_post", "お詫びの投稿", "post", _R6, template="apology",
                      required=False, required_when=("apology", "必要")),
        ChecklistItem("original", "元の投稿の扱い (残すのが原則。削除は理由を記録し、確認してから)", "choice",
                      "R6; 阿見町ポリシー 第7条(2) 様式第1号 (更新区分 削除)", choices=(KEEP, DELETE), default=KEEP),
        ChecklistItem("channel_hp", "町ホームページの同じ情報を確かめた (要れば訂正)", "tick", _R6),
        ChecklistItem("channel_mail", "メール配信サービス (あみメール) を確かめた (要れば訂正)", "tick",
                      "R6; 阿見町ポリシー 第7条(3)"),
        ChecklistItem("channel_lalert", "Lアラートを確かめた (要れば訂正)", "tick", _R6),
        ChecklistItem("channel_radio", "防災行政無線を確かめた (要れば訂正)", "tick", _R6),
        ChecklistItem("cause", "誤りの原因", "choice", _R6,
                      choices=("テンプレートの空欄", "古い文の使い回し", "アカウント・経路の誤り",
                               "訓練と本番の取り違え", "事実の誤り", OTHER)),
        ChecklistItem("form", "様式第1号 (更新区分 変更・削除) を作り運用管理者に出した", "tick",
                      "R3; 阿見町ポリシー 第7条(2)(4)"),
    ),
    "flaming": (
        ChecklistItem("no_rebuttal", "職員個人の判断で反論・抗弁しない (確認した)", "tick", _R7),
        ChecklistItem("decision", "所属としての対応", "choice", _R7,
                      choices=("説明", "訂正", "謝罪", "対応しない", OTHER)),
        ChecklistItem("decided_by", "対応を決めた人 (所属長など) と日時", "who_when", _R7),
        ChecklistItem("responding_post", "時間がかかるときは「対応中」の投稿", "post", _R7,
                      template="flaming-response", required=False),
        ChecklistItem("manager_told", "運用管理者 (秘書広聴課長) に報告した (誰に・いつ)", "who_when",
                      "R7, R11; 阿見町ポリシー 第3条(1)"),
    ),
    "impersonation": (
        ChecklistItem("fake_account", "なりすましアカウント (表示名・ユーザー名・URL)", "text", _R8),
        ChecklistItem("soumu_told", "総務課に報告した (誰に・いつ)", "who_when", _R8),
        ChecklistItem("platform_asked", "X に削除を依頼した", "tick", _R8),
        ChecklistItem("hp_notice", "町ホームページで周知した", "tick", _R8),
        ChecklistItem("warning_post", "アカウントで注意を呼びかける投稿", "post", _R8,
                      template="impersonation-warning"),
        ChecklistItem("press", "報道機関への情報提供", "choice", _R8, choices=("情報提供した", "不要")),
    ),
    "suspension": (
        ChecklistItem("hp_notice", "町ホームページで周知した", "tick", _R9),
        ChecklistItem("final_post", "アカウントでのお知らせの投稿", "post", _R9, template="suspension-notice"),
    ),
}


@dataclass(frozen=True)
class ItemState:
    """An item with what was recorded for it (``value`` None: nothing yet)."""

    item: ChecklistItem
    value: dict | None
    operator: str | None
    at: datetime | None
    audit_id: int | None
    required: bool
    done: bool


@dataclass(frozen=True)
class Checklist:
    """A started checklist (チェックリスト) and the state of each of its items.

    ``missing`` lists the keys of required items not done yet (and of a deletion that
    was requested but not carried out).
    """

    id: int
    kind: str
    title: str
    post_id: int | None
    operator: str
    started_at: datetime | None
    status: str  # open | finished
    finished_by: str | None
    finished_at: datetime | None
    items: tuple[ItemState, ...]
    missing: list[str]

    @property
    def complete(self) -> bool:
        return not self.missing

    def item(self, key: str) -> ItemState:
        return next(state for state in self.items if state.item.key == key)


# -- storage -------------------------------------------------------------------

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS checklists (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        post_id INTEGER REFERENCES posts (id),
        operator TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'finished')),
        started_at TEXT,
        audit_id INTEGER,
        finished_by TEXT,
        finished_at TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS checklists_open ON checklists (status, post_id)",
    """CREATE TABLE IF NOT EXISTS checklist_items (
        checklist_id INTEGER NOT NULL REFERENCES checklists (id),
        item_key TEXT NOT NULL,
        value TEXT NOT NULL,
        operator TEXT NOT NULL,
        at TEXT NOT NULL,
        audit_id INTEGER NOT NULL,
        PRIMARY KEY (checklist_id, item_key)
    )""",
)


@contextmanager
def _connect(ledger: Ledger) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(ledger.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)) as conn:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'checklist_items'").fetchone() is None:
            with _transaction(conn):
                for statement in _SCHEMA:
                    conn.execute(statement)
        yield conn


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _event_time(conn: sqlite3.Connection, audit_id: int) -> str:
    """The time the ledger stamped on audit event ``audit_id`` (its clock, not ours)."""
    return conn.execute("SELECT at FROM audit WHERE id = ?", (audit_id,)).fetchone()["at"]


def _row(conn: sqlite3.Connection, checklist_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM checklists WHERE id = ?", (checklist_id,)).fetchone()
    if row is None:
        raise InputError(f"チェックリスト #{checklist_id} は記録にありません。",
                         hint="続きのあるチェックリストはチェックリスト画面の一覧から選べます。")
    return row


def _open_row(conn: sqlite3.Connection, checklist_id: int) -> sqlite3.Row:
    row = _row(conn, checklist_id)
    if row["status"] != "open":
        raise InputError(f"チェックリスト #{checklist_id} はもう完了しています。",
                         hint="追加の対応があるときは、新しいチェックリストを始めてください。")
    return row


# -- the API -------------------------------------------------------------------


def start(ledger: Ledger, *, kind: str, operator: str, post_id: int | None) -> int:
    """Start a checklist of ``kind`` about ``post_id`` (required for 訂正・お詫び); returns its id."""
    if kind not in ITEMS:
        raise InputError(f"チェックリストの種類 {kind!r} はありません。",
                         hint="使える種類: " + "、".join(f"{k} ({t})" for k, t in TITLES.items()))
    if post_id is not None and ledger.get_post(post_id) is None:
        raise InputError(f"投稿 #{post_id} は記録にありません。", hint="dutypost history で番号を確かめてください。")
    if kind == "correction" and post_id is None:
        raise InputError("訂正・お詫びのチェックリストには、誤りのあった元の投稿が必要です。",
                         hint="履歴から元の投稿を選んでから始めてください。")
    with _connect(ledger) as conn:
        with _transaction(conn):
            checklist_id = conn.execute(
                "INSERT INTO checklists (kind, post_id, operator) VALUES (?, ?, ?)", (kind, post_id, operator)
            ).lastrowid
        try:
            audit_id = ledger.append_event(operator=operator, kind=EVENT_STARTED, post_id=post_id,
                                           payload={"checklist_id": checklist_id, "checklist_kind": kind})
        except BaseException:
            with _transaction(conn):
                conn.execute("DELETE FROM checklists WHERE id = ?", (checklist_id,))
            raise
        with _transaction(conn):
            conn.execute("UPDATE checklists SET started_at = ?, audit_id = ? WHERE id = ?",
                         (_event_time(conn, audit_id), audit_id, checklist_id))
    return checklist_id


def record(ledger: Ledger, checklist_id: int, item_key: str, *, operator: str,
           value: dict | str | bool | int) -> None:
    """Record (or re-record, replacing) the value of one item; each call is an audit event.

    Values by item kind: ``tick`` True/False or ``{"done", "note"}``; ``text`` a string
    or ``{"text"}``; ``choice`` a string or ``{"choice", "note"}`` (the note is required
    for その他); ``who_when`` ``{"who", "when", "note"}`` with ``when`` an ISO 8601 time
    (no offset: JST) or left out for now; ``post`` a post id or ``{"post_id"}``.
    Deleting the original post is not a value: see :func:`request_deletion`.
    """
    with _connect(ledger) as conn:
        row = _open_row(conn, checklist_id)
        item = _item(row["kind"], item_key)
        if item.key == "original":
            current = _values(conn, checklist_id).get("original")
            if current and current.get("stage") == "deleted":
                raise InputError("元の投稿はもう削除されています。この項目は変えられません。")
            if value == DELETE or (isinstance(value, dict) and value.get("choice") == DELETE):
                raise InputError(
                    "元の投稿の削除は、理由を付けた削除の申し出と、別の操作での確認の2段階で行います。",
                    hint="チェックリスト画面の「元の投稿を削除」から進めてください。",
                )
        normalised = _normalise(ledger, item, value)
        _store(ledger, conn, row, item, normalised, operator=operator)


def get(ledger: Ledger, checklist_id: int) -> Checklist:
    """A checklist with every item's value, who recorded it and when."""
    with _connect(ledger) as conn:
        row = _row(conn, checklist_id)
        items = conn.execute("SELECT * FROM checklist_items WHERE checklist_id = ?", (checklist_id,)).fetchall()
    return _checklist(row, items)


def open_checklists(ledger: Ledger, post_id: int | None = None) -> list[Checklist]:
    """Checklists not finished yet, newest first; only those about ``post_id`` when given."""
    sql, params = "SELECT * FROM checklists WHERE status = 'open' AND audit_id IS NOT NULL", ()
    if post_id is not None:
        sql, params = sql + " AND post_id = ?", (post_id,)
    with _connect(ledger) as conn:
        rows = conn.execute(sql + " ORDER BY id DESC", params).fetchall()
        items = {
            row["id"]: conn.execute("SELECT * FROM checklist_items WHERE checklist_id = ?", (row["id"],)).fetchall()
            for row in rows
        }
    return [_checklist(row, items[row["id"]]) for row in rows]


def finish(ledger: Ledger, checklist_id: int, *, operator: str) -> None:
    """Close a checklist; refused while a required item is missing (InputError naming them)."""
    checklist = get(ledger, checklist_id)
    if checklist.status != "open":
        raise InputError(f"チェックリスト #{checklist_id} はもう完了しています。")
    if checklist.missing:
        labels = "、".join(checklist.item(key).item.label for key in checklist.missing)
        raise InputError(f"チェックリスト「{checklist.title}」にまだ済んでいない項目があります: {labels}",
                         hint="すべての必須項目を記録してから完了にしてください。")
    with _connect(ledger) as conn:
        audit_id = ledger.append_event(operator=operator, kind=EVENT_FINISHED, post_id=checklist.post_id,
                                       payload={"checklist_id": checklist_id, "checklist_kind": checklist.kind})
        with _transaction(conn):
            conn.execute(
                "UPDATE checklists SET status = 'finished', finished_by = ?, finished_at = ? WHERE id = ?",
                (operator, _event_time(conn, audit_id), checklist_id),
            )


def link_correction(ledger: Ledger, checklist_id: int, *, correction_post_id: int, operator: str) -> None:
    """Record the correction post (訂正の投稿) of a 訂正・お詫び checklist.

    The link between the original and its correction is kept as the item value and as an
    audit event ``post.correction_linked`` on each of the two posts.
    """
    with _connect(ledger) as conn:
        row = _open_row(conn, checklist_id)
        if row["kind"] != "correction":
            raise InputError(f"チェックリスト #{checklist_id} は訂正・お詫びのチェックリストではありません。")
        item = _item("correction", "correction_post")
        value = _normalise(ledger, item, correction_post_id)
        original_id = row["post_id"]
        if correction_post_id == original_id:
            raise InputError("訂正の投稿に元の投稿そのものは選べません。")
        link = {"checklist_id": checklist_id, "original_post_id": original_id,
                "correction_post_id": correction_post_id}
        for post_id in (original_id, correction_post_id):
            ledger.append_event(operator=operator, kind=EVENT_CORRECTION_LINKED, post_id=post_id, payload=link)
        _store(ledger, conn, row, item, value, operator=operator)


def request_deletion(ledger: Ledger, checklist_id: int, *, operator: str, reason: str) -> None:
    """First step of deleting the original post (削除の申し出): the reason (理由) is mandatory."""
    reason = reason.strip()
    if not reason:
        raise InputError("元の投稿を削除する理由を書いてください。",
                         hint="原則は残して訂正します (上富田町手順 5(1))。削除するときは理由の記録が必要です。")
    with _connect(ledger) as conn:
        row = _open_row(conn, checklist_id)
        if row["kind"] != "correction":
            raise InputError("元の投稿の削除は、訂正・お詫びのチェックリストから行います。")
        current = _values(conn, checklist_id).get("original") or {}
        if current.get("stage") == "deleted":
            raise InputError("元の投稿はもう削除されています。")
        post = ledger.get_post(row["post_id"])
        if post is None or post.state != "sent":
            raise InputError(f"元の投稿 #{row['post_id']} は送信済みではないので、X から削除できません。")
        value = {"choice": DELETE, "stage": "requested", "reason": reason, "requested_by": operator}
        ledger.append_event(operator=operator, kind=EVENT_DELETION_REQUESTED, post_id=row["post_id"],
                            payload={"checklist_id": checklist_id, "reason": reason})
        _store(ledger, conn, row, _item("correction", "original"), value, operator=operator)


def confirm_deletion(ledger: Ledger, checklist_id: int, *, operator: str) -> None:
    """Second, separate step (削除の確認): only after :func:`request_deletion`."""
    with _connect(ledger) as conn:
        row = _open_row(conn, checklist_id)
        current = _values(conn, checklist_id).get("original") or {}
        if current.get("stage") != "requested":
            raise InputError("確認する削除の申し出がありません。",
                             hint="先に理由を付けて削除を申し出てください。")
        value = {**current, "stage": "confirmed", "confirmed_by": operator}
        ledger.append_event(operator=operator, kind=EVENT_DELETION_CONFIRMED, post_id=row["post_id"],
                            payload={"checklist_id": checklist_id, "reason": current["reason"]})
        _store(ledger, conn, row, _item("correction", "original"), value, operator=operator)


def delete_original(ledger: Ledger, client: XClient, checklist_id: int, *, operator: str) -> None:
    """Delete the original post on X after the deletion was confirmed, and record the outcome.

    Every part of a thread is deleted, newest first; parts already deleted are skipped when
    this is tried again. On success the post's state becomes ``deleted`` (audit event
    ``post.deleted``) and the item records it; on failure the item keeps the error, an
    ``checklist.deletion_failed`` event is written and the X error is raised — deleting
    again is safe.
    """
    from dutypost.core.xapi import XApiError

    with _connect(ledger) as conn:
        row = _open_row(conn, checklist_id)
        current = _values(conn, checklist_id).get("original") or {}
        if current.get("stage") != "confirmed":
            raise InputError("元の投稿の削除は、理由を付けた申し出と確認が済んでから行えます。")
        post_id = row["post_id"]
        post = ledger.get_post(post_id)
        if post is None or post.state != "sent":
            raise InputError(f"元の投稿 #{post_id} は送信済みではないので、X から削除できません。")
        gone = list(current.get("deleted_x_post_ids", []))
        item = _item("correction", "original")
        try:
            for x_id in reversed(post.x_post_ids):
                if x_id in gone:
                    continue
                if not client.delete_post(x_id):
                    raise PublishFailed(f"X は投稿 {x_id} を削除したと答えませんでした。",
                                        hint="アカウントのタイムラインで確かめ、残っていればもう一度削除してください。")
                gone.append(x_id)
        except (XApiError, PublishFailed) as exc:
            failed = {**current, "deleted_x_post_ids": gone, "error": exc.message}
            ledger.append_event(operator=operator, kind=EVENT_DELETION_FAILED, post_id=post_id,
                                payload={"checklist_id": checklist_id, "error": exc.message,
                                         "deleted_x_post_ids": gone})
            _store(ledger, conn, row, item, failed, operator=operator)
            raise
        ledger.set_state(post_id, "deleted", operator=operator)
        done = {key: v for key, v in current.items() if key != "error"}
        _store(ledger, conn, row, item, {**done, "stage": "deleted", "deleted_x_post_ids": gone}, operator=operator)


# -- the correction text -------------------------------------------------------


def correction_values(ledger: Ledger, original_post_id: int, *, wrong: str, right: str,
                      templates: TemplateSet | None = None) -> dict[str, str]:
    """Field values for the 訂正 template (``correction``): the original's date in JST
    (「11月22日 3時20分」), its subject (件名), 誤 and 正.

    ``templates`` gives the subject from the original's template title; without it the
    bundled templates are used.
    """
    from dutypost.core.form import post_subject
    from dutypost.core.templates import format_jst_datetime

    original = _original(ledger, original_post_id)
    return {
        "original_date": format_jst_datetime(original.sent_at or original.created_at),
        "subject": post_subject(original, templates or _bundled_templates()),
        "wrong": wrong.strip(),
        "right": right.strip(),
    }


def standalone_fallback_text(ledger: Ledger, original_post_id: int, correction_text: str, *,
                             templates: TemplateSet | None = None) -> str:
    """The correction as a standalone post, for when X refuses the reply (SPEC §5).

    A reply shows what it corrects; a standalone post must say it in words. The text
    made from the 訂正 template already names the original's date and subject and is
    returned as it is; otherwise a line naming them goes after the first line.
    """
    values = correction_values(ledger, original_post_id, wrong="", right="", templates=templates)
    date, subject = values["original_date"], values["subject"]
    if date in correction_text and subject in correction_text:
        return correction_text
    first, _, rest = correction_text.partition("\n")
    naming = f"{date}に投稿した「{subject}」の訂正です。"
    return "\n".join(part for part in (first, naming, rest) if part)


# -- internals -----------------------------------------------------------------


def _item(kind: str, key: str) -> ChecklistItem:
    for item in ITEMS[kind]:
        if item.key == key:
            return item
    keys = "、".join(i.key for i in ITEMS[kind])
    raise InputError(f"チェックリスト「{TITLES[kind]}」に項目 {key!r} はありません。", hint=f"項目: {keys}")


def _original(ledger: Ledger, post_id: int) -> Post:
    post = ledger.get_post(post_id)
    if post is None:
        raise InputError(f"投稿 #{post_id} は記録にありません。", hint="dutypost history で番号を確かめてください。")
    return post


def _bundled_templates() -> TemplateSet:
    from dutypost.core.config import BUNDLED_TEMPLATES
    from dutypost.core.templates import load_templates

    return load_templates([BUNDLED_TEMPLATES])


def _values(conn: sqlite3.Connection, checklist_id: int) -> dict[str, dict]:
    rows = conn.execute("SELECT item_key, value FROM checklist_items WHERE checklist_id = ?", (checklist_id,))
    return {r["item_key"]: json.loads(r["value"]) for r in rows}


def _store(ledger: Ledger, conn: sqlite3.Connection, row: sqlite3.Row, item: ChecklistItem, value: dict, *,
           operator: str) -> None:
    """Audit event first, then the row (see the module docstring)."""
    audit_id = ledger.append_event(
        operator=operator, kind=EVENT_TICK, post_id=row["post_id"],
        payload={"checklist_id": row["id"], "checklist_kind": row["kind"], "item": item.key, "value": value},
    )
    with _transaction(conn):
        conn.execute(
            "INSERT INTO checklist_items (checklist_id, item_key, value, operator, at, audit_id)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (checklist_id, item_key) DO UPDATE SET"
            " value = excluded.value, operator = excluded.operator, at = excluded.at, audit_id = excluded.audit_id",
            (row["id"], item.key, json.dumps(value, ensure_ascii=False), operator, _event_time(conn, audit_id),
             audit_id),
        )


def _normalise(ledger: Ledger, item: ChecklistItem, value: dict | str | bool | int) -> dict:
    """Check ``value`` against the item's kind and return the dict that is stored."""
    what = f"「{item.label}」"
    if item.kind == "tick":
        if isinstance(value, bool):
            return {"done": value}
        if isinstance(value, dict) and isinstance(value.get("done"), bool):
            return {"done": value["done"], **_note(value)}
        raise InputError(f"{what} は済んだかどうか (True/False) で記録します。")
    if item.kind == "text":
        text = value.get("text") if isinstance(value, dict) else value
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{what} を書いてください (空にはできません)。")
        return {"text": text.strip()}
    if item.kind == "choice":
        choice = value.get("choice") if isinstance(value, dict) else value
        if choice not in item.choices:
            raise InputError(f"{what} は次のどれかを選んでください: {'、'.join(item.choices)}")
        note = _note(value) if isinstance(value, dict) else {}
        if choice == OTHER and not note:
            raise InputError(f"{what} で「{OTHER}」を選んだときは、内容を書いてください。")
        return {"choice": choice, **note}
    if item.kind == "who_when":
        if isinstance(value, str):
            value = {"who": value}
        who = value.get("who") if isinstance(value, dict) else None
        if not isinstance(who, str) or not who.strip():
            raise InputError(f"{what} は誰か (氏名・役職) を書いてください。")
        out = {"who": who.strip(), **_note(value)}
        if value.get("when"):
            out["when"] = _parse_when(value["when"], what)
        return out
    post_id = value.get("post_id") if isinstance(value, dict) else value
    if isinstance(post_id, bool) or not isinstance(post_id, int):
        raise InputError(f"{what} は記録にある投稿の番号で指定してください。")
    _original(ledger, post_id)
    return {"post_id": post_id}


def _note(value: dict) -> dict:
    note = value.get("note")
    if note is not None and not isinstance(note, str):
        raise InputError("メモ (note) は文字で書いてください。")
    return {"note": note.strip()} if note and note.strip() else {}


def _parse_when(when: object, what: str) -> str:
    try:
        moment = when if isinstance(when, datetime) else datetime.fromisoformat(str(when))
    except ValueError:
        raise InputError(f"{what} の日時 {when!r} が読めません。", hint="2026-11-22T03:20 の形で書いてください (日本時間)。") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=JST)
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def _checklist(row: sqlite3.Row, item_rows: list[sqlite3.Row]) -> Checklist:
    recorded = {r["item_key"]: r for r in item_rows}
    values = {key: json.loads(r["value"]) for key, r in recorded.items()}
    states: list[ItemState] = []
    missing: list[str] = []
    for item in ITEMS[row["kind"]]:
        r = recorded.get(item.key)
        value = values.get(item.key)
        if value is None and item.default is not None:
            value = {"choice": item.default}
        required = item.required or (
            item.required_when is not None
            and (values.get(item.required_when[0]) or {}).get("choice") == item.required_when[1]
        )
        done = _done(item, value)
        if (required and not done) or (value is not None and not done and "stage" in value):
            missing.append(item.key)
        states.append(ItemState(
            item=item, value=values.get(item.key), operator=r["operator"] if r else None,
            at=datetime.fromisoformat(r["at"]) if r else None, audit_id=r["audit_id"] if r else None,
            required=required, done=done,
        ))
    return Checklist(
        id=row["id"], kind=row["kind"], title=TITLES[row["kind"]], post_id=row["post_id"],
        operator=row["operator"], started_at=_time(row["started_at"]), status=row["status"],
        finished_by=row["finished_by"], finished_at=_time(row["finished_at"]), items=tuple(states),
        missing=missing,
    )


def _done(item: ChecklistItem, value: dict | None) -> bool:
    """Whether a value completes its item: a tick must be ticked, a deletion carried out."""
    if value is None:
        return False
    if item.kind == "tick":
        return value["done"]
    if "stage" in value:
        return value["stage"] == "deleted"
    return True


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
