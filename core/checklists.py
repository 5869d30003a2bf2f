"""Checklists (チェックリスト) for what comes after a post: 訂正・お詫び, 炎上, なりすまし, 運用停止.

Each kind is a fixed list of items (:data:`ITEMS`), every item citing the rule and the
policy article it comes from (SPEC R3, R6–R9). An operator starts a checklist, records the
items in any order, can leave and resume it from another session, and finishes it once
every required item is done.

Storage: this module holds the items, their rules and the checks of each value; the
ledger stores them (:mod:`dutypost.core.ledger.checklists`, tables created by the ledger's
migrations). Every step writes its row and its audit event (監査記録) in one transaction
on the ledger's connection, and each item row keeps the id and the time of its audit event.

Deleting the original post (元の投稿の削除) is never a plain value: it takes
:func:`request_deletion` (with a reason), then :func:`confirm_deletion` as a separate
step, then :func:`delete_original`, which sends ``DELETE /2/tweets/{id}`` and records
the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from dutypost.core.errors import InputError, PublishFailed
# The audit event kinds of checklists are the ledger's; callers may name them from here too.
from dutypost.core.ledger.checklists import (
    EVENT_CORRECTION_LINKED,
    EVENT_DELETION_CONFIRMED,
    EVENT_DELETION_FAILED,
    EVENT_DELETION_REQUESTED,
    EVENT_FINISHED as EVENT_FINISHED,
    EVENT_STARTED as EVENT_STARTED,
    EVENT_TICK as EVENT_TICK,
    ChecklistEvent,
    StoredChecklist,
    StoredItem,
)

if TYPE_CHECKING:
    from dutypost.core.ledger import Ledger, Post
    from dutypost.core.templates import TemplateSet
    from dutypost.core.xapi import XClient

JST = ZoneInfo("Asia/Tokyo")

ItemKind = Literal["tick", "text", "choice", "who_when", "post"]

OTHER = "その他"
"""A choice that needs a note saying what it was."""

KEEP, DELETE = "残す", "削除"

DONE, NOT_APPLICABLE = "done", "na"
"""A tick item's result (結果): done (済み), or not applicable (対象外) with a note why."""
RESULTS = (DONE, NOT_APPLICABLE)


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
    return ledger.start_checklist(kind=kind, operator=operator, post_id=post_id)


def record(ledger: Ledger, checklist_id: int, item_key: str, *, operator: str,
           value: dict | str | bool | int) -> None:
    """Record (or re-record, replacing) the value of one item; each call is an audit event.

    Values by item kind: ``tick`` True/False, ``{"done", "note"}``, or a result
    ``{"result": "done" | "na", "note"}`` — ``na`` (対象外: not applicable) needs the note
    saying why, and counts as done; ``text`` a string
    or ``{"text"}``; ``choice`` a string or ``{"choice", "note"}`` (the note is required
    for その他); ``who_when`` ``{"who", "when", "note"}`` with ``when`` an ISO 8601 time
    (no offset: JST) or left out for now; ``post`` a post id or ``{"post_id"}``.
    Deleting the original post is not a value: see :func:`request_deletion`.
    """
    stored = _open_stored(ledger, checklist_id)
    item = _item(stored.kind, item_key)
    if item.key == "original":
        current = _value(stored, "original")
        if current and current.get("stage") == "deleted":
            raise InputError("元の投稿はもう削除されています。この項目は変えられません。")
        if value == DELETE or (isinstance(value, dict) and value.get("choice") == DELETE):
            raise InputError(
                "元の投稿の削除は、理由を付けた削除の申し出と、別の操作での確認の2段階で行います。",
                hint="チェックリスト画面の「元の投稿を削除」から進めてください。",
            )
    normalised = _normalise(ledger, item, value)
    ledger.record_checklist_item(checklist_id, item.key, normalised, operator=operator)


def get(ledger: Ledger, checklist_id: int) -> Checklist:
    """A checklist with every item's value, who recorded it and when."""
    return _checklist(ledger.get_checklist(checklist_id))


def open_checklists(ledger: Ledger, post_id: int | None = None) -> list[Checklist]:
    """Checklists not finished yet, newest first; only those about ``post_id`` when given."""
    return [_checklist(stored) for stored in ledger.open_checklist_records(post_id)]


def finish(ledger: Ledger, checklist_id: int, *, operator: str) -> None:
    """Close a checklist; refused while a required item is missing (InputError naming them)."""
    checklist = get(ledger, checklist_id)
    if checklist.status != "open":
        raise InputError(f"チェックリスト #{checklist_id} はもう完了しています。")
    if checklist.missing:
        labels = "、".join(checklist.item(key).item.label for key in checklist.missing)
        raise InputError(f"チェックリスト「{checklist.title}」にまだ済んでいない項目があります: {labels}",
                         hint="すべての必須項目を記録してから完了にしてください。")
    ledger.finish_checklist(checklist_id, operator=operator)


def link_correction(ledger: Ledger, checklist_id: int, *, correction_post_id: int, operator: str) -> None:
    """Record the correction post (訂正の投稿) of a 訂正・お詫び checklist.

    The link between the original and its correction is kept as the item value and as an
    audit event ``post.correction_linked`` on each of the two posts.
    """
    stored = _open_stored(ledger, checklist_id)
    if stored.kind != "correction":
        raise InputError(f"チェックリスト #{checklist_id} は訂正・お詫びのチェックリストではありません。")
    item = _item("correction", "correction_post")
    value = _normalise(ledger, item, correction_post_id)
    original_id = stored.post_id
    if correction_post_id == original_id:
        raise InputError("訂正の投稿に元の投稿そのものは選べません。")
    link = {"checklist_id": checklist_id, "original_post_id": original_id,
            "correction_post_id": correction_post_id}
    events = [ChecklistEvent(EVENT_CORRECTION_LINKED, post_id, link) for post_id in (original_id, correction_post_id)]
    ledger.record_checklist_item(checklist_id, item.key, value, operator=operator, events=events)


def request_deletion(ledger: Ledger, checklist_id: int, *, operator: str, reason: str) -> None:
    """First step of deleting the original post (削除の申し出): the reason (理由) is mandatory."""
    reason = reason.strip()
    if not reason:
        raise InputError("元の投稿を削除する理由を書いてください。",
                         hint="原則は残して訂正します (上富田町手順 5(1))。削除するときは理由の記録が必要です。")
    stored = _open_stored(ledger, checklist_id)
    if stored.kind != "correction":
        raise InputError("元の投稿の削除は、訂正・お詫びのチェックリストから行います。")
    current = _value(stored, "original") or {}
    if current.get("stage") == "deleted":
        raise InputError("元の投稿はもう削除されています。")
    post = ledger.get_post(stored.post_id)
    if post is None or post.state != "sent":
        raise InputError(f"元の投稿 #{stored.post_id} は送信済みではないので、X から削除できません。")
    value = {"choice": DELETE, "stage": "requested", "reason": reason, "requested_by": operator}
    event = ChecklistEvent(EVENT_DELETION_REQUESTED, stored.post_id, {"checklist_id": checklist_id, "reason": reason})
    ledger.record_checklist_item(checklist_id, "original", value, operator=operator, events=[event])


def confirm_deletion(ledger: Ledger, checklist_id: int, *, operator: str) -> None:
    """Second, separate step (削除の確認): only after :func:`request_deletion`."""
    stored = _open_stored(ledger, checklist_id)
    current = _value(stored, "original") or {}
    if current.get("stage") != "requested":
        raise InputError("確認する削除の申し出がありません。",
                         hint="先に理由を付けて削除を申し出てください。")
    value = {**current, "stage": "confirmed", "confirmed_by": operator}
    event = ChecklistEvent(EVENT_DELETION_CONFIRMED, stored.post_id,
                           {"checklist_id": checklist_id, "reason": current["reason"]})
    ledger.record_checklist_item(checklist_id, "original", value, operator=operator, events=[event])


def delete_original(ledger: Ledger, client: XClient, checklist_id: int, *, operator: str) -> None:
    """Delete the original post on X after the deletion was confirmed, and record the outcome.

    Every part of a thread is deleted, newest first; parts already deleted are skipped when
    this is tried again. On success the post's state becomes ``deleted`` (audit event
    ``post.deleted``) and the item records it; on failure the item keeps the error, an
    ``checklist.deletion_failed`` event is written and the X error is raised — deleting
    again is safe.
    """
    from dutypost.core.xapi import XApiError

    stored = _open_stored(ledger, checklist_id)
    current = _value(stored, "original") or {}
    if current.get("stage") != "confirmed":
        raise InputError("元の投稿の削除は、理由を付けた申し出と確認が済んでから行えます。")
    post_id = stored.post_id
    post = ledger.get_post(post_id)
    if post is None or post.state != "sent":
        raise InputError(f"元の投稿 #{post_id} は送信済みではないので、X から削除できません。")
    gone = list(current.get("deleted_x_post_ids", []))
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
        event = ChecklistEvent(EVENT_DELETION_FAILED, post_id,
                               {"checklist_id": checklist_id, "error": exc.message, "deleted_x_post_ids": gone})
        ledger.record_checklist_item(checklist_id, "original", failed, operator=operator, events=[event])
        raise
    done = {key: v for key, v in current.items() if key != "error"}
    ledger.record_post_deleted(checklist_id, "original", {**done, "stage": "deleted", "deleted_x_post_ids": gone},
                               operator=operator)


# -- the correction text -------------------------------------------------------


def correction_values(ledger: Ledger, original_post_id: int, *, wrong: str, right: str,
                      templates: TemplateSet | None = None) -> dict[str, str]:
    """Field values for the 訂正 template (``correction``): the original's date in JST
    (「11月22日 3時20分」), its subject (件名), 誤 and 正.

    ``templates`` gives the subject from the original's template title; without it the
    bundled templates are used.
    """
    from dutypost.core.templates import format_jst_datetime, post_subject

    original = _original(ledger, original_post_id)
    return {
        "original_date": format_jst_datetime(original.sent_at or original.created_at),
        "subject": post_subject(original, templates or _bundled_templates()),
        "wrong": wrong.strip(),
        "right": right.strip(),
    }


def apology_values(ledger: Ledger, original_post_id: int, *, wrong: str, right: str,
                   templates: TemplateSet | None = None) -> dict[str, str]:
    """Field values for the お詫び template (``apology``): the original's date and subject,
    and what is apologised for, said from 誤 and 正 (「「本郷小学校」と誤ってお知らせしました。
    正しくは「君原小学校」です」). Without 誤, the officer writes it."""
    about = correction_values(ledger, original_post_id, wrong=wrong, right=right, templates=templates)
    values = {"original_date": about["original_date"], "subject": about["subject"]}
    if about["wrong"]:
        values["apology"] = f"「{about['wrong']}」と誤ってお知らせしました" + (
            f"。正しくは「{about['right']}」です" if about["right"] else "")
    return values


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


def _open_stored(ledger: Ledger, checklist_id: int) -> StoredChecklist:
    stored = ledger.get_checklist(checklist_id)
    if stored.status != "open":
        raise InputError(f"チェックリスト #{checklist_id} はもう完了しています。",
                         hint="追加の対応があるときは、新しいチェックリストを始めてください。")
    return stored


def _value(stored: StoredChecklist, key: str) -> dict | None:
    recorded = stored.items.get(key)
    return recorded.value if recorded else None


def _normalise(ledger: Ledger, item: ChecklistItem, value: dict | str | bool | int) -> dict:
    """Check ``value`` against the item's kind and return the dict that is stored."""
    what = f"「{item.label}」"
    if item.kind == "tick":
        if isinstance(value, bool):
            return {"done": value}
        if isinstance(value, dict) and value.get("result") in RESULTS:
            note = _note(value)
            if value["result"] == NOT_APPLICABLE and not note:
                raise InputError(f"{what} を対象外にするときは、理由をメモに書いてください。",
                                 hint="例: 「この情報はホームページに載せていない」")
            return {"done": True, "result": value["result"], **note}
        if isinstance(value, dict) and isinstance(value.get("done"), bool):
            return {"done": value["done"], **_note(value)}
        raise InputError(f"{what} は済んだかどうか (True/False) か、結果 (done / na と理由) で記録します。")
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


def _checklist(stored: StoredChecklist) -> Checklist:
    recorded: dict[str, StoredItem] = stored.items
    values = {key: r.value for key, r in recorded.items()}
    states: list[ItemState] = []
    missing: list[str] = []
    for item in ITEMS[stored.kind]:
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
            item=item, value=values.get(item.key), operator=r.operator if r else None,
            at=r.at if r else None, audit_id=r.audit_id if r else None, required=required, done=done,
        ))
    return Checklist(
        id=stored.id, kind=stored.kind, title=TITLES[stored.kind], post_id=stored.post_id,
        operator=stored.operator, started_at=stored.started_at, status=stored.status,
        finished_by=stored.finished_by, finished_at=stored.finished_at, items=tuple(states),
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

