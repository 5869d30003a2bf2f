"""The ledger (記録・台帳) and its audit trail (監査記録), on real SQLite files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from clock import START, Clock

from dutypost.core import checklists
from dutypost.core.errors import InputError
from dutypost.core.ledger import (
    _MIGRATIONS,
    GENESIS_HASH,
    POST_STATES,
    SCHEMA_VERSION,
    DraftPurpose,
    Ledger,
    canonical_json,
    event_hash,
)

REPO = Path(__file__).resolve().parent.parent






@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "ledger.sqlite3"


@pytest.fixture
def ledger(path: Path, clock: Clock):
    with Ledger(path, now=clock) as opened:
        yield opened


def new_post(ledger: Ledger, **overrides) -> int:
    fields = dict(operator="tanaka", department="防災危機管理課", template_id="shelter-open",
                  text="【避難所開設】3時00分現在、中央公民館を開設しました。", drill=False)
    fields.update(overrides)
    fields.setdefault("parts", [fields["text"]])
    return ledger.create_post(**fields)


def raw(path: Path) -> sqlite3.Connection:
    """A plain connection to the file, as an attacker with file access would use."""
    return sqlite3.connect(path, isolation_level=None)


# -- the file --------------------------------------------------------------------------


def test_the_file_is_created_in_wal_mode_with_its_schema_version(path: Path, ledger: Ledger) -> None:
    assert path.exists()
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_ledger_from_a_newer_version_is_refused_with_its_path(path: Path, ledger: Ledger) -> None:
    ledger.close()
    with raw(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(InputError) as raised:
        Ledger(path)
    assert str(path) in raised.value.message


def test_times_must_carry_a_timezone(ledger: Ledger) -> None:
    with pytest.raises(ValueError):
        ledger.list_posts(since=datetime(2026, 9, 1, 3, 0))


# -- drafts (下書き) -----------------------------------------------------------------------


def test_a_draft_is_upserted_and_survives_reopening(path: Path, clock: Clock) -> None:
    with Ledger(path, now=clock) as ledger:
        draft_id = ledger.save_draft(operator="tanaka", template_id="shelter-open", values={"place": "中央"},
                                     text="中央", drill=False)
        clock.advance(seconds=1)
        again = ledger.save_draft(operator="tanaka", template_id="shelter-open", values={"place": "中央公民館"},
                                  text="中央公民館", drill=False, draft_id=draft_id)
        assert again == draft_id
        assert [e.kind for e in ledger.events()] == ["draft.created"]  # saves are not audit events
    with Ledger(path, now=clock) as reopened:
        [draft] = reopened.open_drafts("tanaka")
    assert draft.id == draft_id
    assert draft.values == {"place": "中央公民館"}
    assert draft.text == "中央公民館"
    assert draft.updated_at == START + timedelta(seconds=1)
    assert draft.created_at == START


def test_open_drafts_are_newest_first_and_closed_ones_drop_out(ledger: Ledger, clock: Clock) -> None:
    first = ledger.save_draft(operator="tanaka", template_id="a", values={}, text="一", drill=False)
    clock.advance(seconds=5)
    second = ledger.save_draft(operator="suzuki", template_id="b", values={}, text="二", drill=True)
    assert [d.id for d in ledger.open_drafts()] == [second, first]
    assert [d.id for d in ledger.open_drafts("suzuki")] == [second]
    ledger.close_draft(second, "published")
    assert [d.id for d in ledger.open_drafts()] == [first]
    with pytest.raises(ValueError):
        ledger.save_draft(operator="suzuki", template_id="b", values={}, text="二", drill=True, draft_id=second)
    assert ledger.events()[-1].kind == "draft.published"


def test_a_draft_keeps_its_purpose_across_saves_and_reopening(path: Path, clock: Clock) -> None:
    purpose = DraftPurpose(checklist_id=3, item_key="correction_post", kind="correction", reply_to_post_id=12)
    with Ledger(path, now=clock) as ledger:
        plain = ledger.save_draft(operator="tanaka", template_id="shelter-open", values={}, text="", drill=False)
        draft_id = ledger.save_draft(operator="tanaka", template_id="correction", values={"wrong": "本郷"},
                                     text="", drill=False, purpose=purpose)
        ledger.save_draft(operator="tanaka", template_id="correction", values={"wrong": "本郷小学校"}, text="",
                          drill=False, draft_id=draft_id)  # a later save that does not give it
    with Ledger(path, now=clock) as reopened:
        drafts = {d.id: d for d in reopened.open_drafts("tanaka")}
        assert drafts[draft_id].purpose == purpose
        assert drafts[draft_id].values == {"wrong": "本郷小学校"}
        assert drafts[plain].purpose is None
        deleted_meanwhile = DraftPurpose(checklist_id=3, item_key="correction_post", kind="correction",
                                         reply_to_post_id=None)
        reopened.save_draft(operator="tanaka", template_id="correction", values={}, text="", drill=False,
                            draft_id=draft_id, purpose=deleted_meanwhile)
        assert {d.id: d for d in reopened.open_drafts("tanaka")}[draft_id].purpose == deleted_meanwhile


def test_a_version_1_file_is_migrated_and_keeps_its_drafts(path: Path, clock: Clock) -> None:
    path.parent.mkdir(parents=True)
    with raw(path) as conn:  # the file as dutypost with schema 1 left it
        for statement in _MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO drafts (id, operator, template_id, field_values, text, drill, created_at, updated_at)"
                     " VALUES ('old', 'tanaka', 'shelter-open', '{\"shelter\":\"中央公民館\"}', '開設', 0,"
                     " '2026-09-01T01:00:00+00:00', '2026-09-01T01:00:00+00:00')")
    purpose = DraftPurpose(checklist_id=1, item_key="apology_post", kind="apology", reply_to_post_id=7)
    with Ledger(path, now=clock) as ledger:
        [old] = ledger.open_drafts()
        assert (old.id, old.values, old.purpose) == ("old", {"shelter": "中央公民館"}, None)
        ledger.save_draft(operator="tanaka", template_id="apology", values={}, text="", drill=False,
                          draft_id="old", purpose=purpose)
        assert ledger.open_drafts()[0].purpose == purpose
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(_MIGRATIONS)
        assert "purpose" in [r[1] for r in conn.execute("PRAGMA table_info(drafts)")]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"checklists", "checklist_items"} <= tables


# The checklist tables exactly as the previous release (schema 2) created them on first use,
# from core/checklists.py, outside the ledger's migrations.
SCHEMA_2_CHECKLIST_TABLES = (
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
OLD_TEXT = "【避難所開設】3時00分現在、中央公民館を開設しました。"


def append_raw_event(conn: sqlite3.Connection, *, at: str, kind: str, post_id: int | None, payload: dict) -> int:
    """Append an audit event as dutypost with schema 2 wrote it: chained, with the head in meta."""
    row = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    event_id, prev_hash = (row[0] + 1, row[1]) if row else (1, GENESIS_HASH)
    digest = event_hash(id=event_id, at=at, operator="tanaka", kind=kind, post_id=post_id, payload=payload,
                        prev_hash=prev_hash)
    conn.execute("INSERT INTO audit (id, at, operator, kind, post_id, payload, prev_hash, hash)"
                 " VALUES (?, ?, 'tanaka', ?, ?, ?, ?, ?)",
                 (event_id, at, kind, post_id, canonical_json(payload), prev_hash, digest))
    conn.execute("INSERT INTO meta (key, value) VALUES ('audit_head', ?)"
                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 (canonical_json({"id": event_id, "hash": digest}),))
    return event_id


def write_schema_2_file(path: Path, *, with_checklist: bool) -> None:
    """A ledger as the previous release left it: schema 2, one sent post; with
    ``with_checklist``, also the checklist tables it created on first use, holding a
    started 訂正・お詫び checklist with one recorded item."""
    path.parent.mkdir(parents=True)
    with raw(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        for statements in _MIGRATIONS[:2]:
            for statement in statements:
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 2")
        at = "2026-09-01T03:00:00+00:00"
        conn.execute("INSERT INTO posts (state, kind, template_id, text, parts, operator, department, drill,"
                     " created_at, updated_at, sent_at, x_post_ids) VALUES ('sent', 'post', 'shelter-open', ?, ?,"
                     " 'tanaka', '防災危機管理課', 0, ?, ?, ?, '[\"1001\"]')",
                     (OLD_TEXT, canonical_json([OLD_TEXT]), at, at, at))
        append_raw_event(conn, at=at, kind="post.queued", post_id=1, payload={"text": OLD_TEXT})
        if not with_checklist:
            return
        for statement in SCHEMA_2_CHECKLIST_TABLES:
            conn.execute(statement)
        conn.execute("INSERT INTO checklists (kind, post_id, operator) VALUES ('correction', 1, 'tanaka')")
        started = append_raw_event(conn, at="2026-09-01T03:10:00+00:00", kind="checklist.started", post_id=1,
                                   payload={"checklist_id": 1, "checklist_kind": "correction"})
        conn.execute("UPDATE checklists SET started_at = '2026-09-01T03:10:00+00:00', audit_id = ? WHERE id = 1",
                     (started,))
        value = {"text": "中央公民館"}
        tick = append_raw_event(conn, at="2026-09-01T03:11:00+00:00", kind="checklist.tick", post_id=1,
                                payload={"checklist_id": 1, "checklist_kind": "correction", "item": "wrong",
                                         "value": value})
        conn.execute("INSERT INTO checklist_items (checklist_id, item_key, value, operator, at, audit_id)"
                     " VALUES (1, 'wrong', ?, 'tanaka', '2026-09-01T03:11:00+00:00', ?)",
                     (canonical_json(value), tick))


def test_a_version_2_file_with_checklists_is_migrated_and_keeps_them(path: Path, clock: Clock) -> None:
    write_schema_2_file(path, with_checklist=True)
    with Ledger(path, now=clock) as ledger:
        assert ledger.verify().ok
        [kept] = checklists.open_checklists(ledger, post_id=1)
        wrong = kept.item("wrong")
        assert (kept.id, kept.kind, kept.operator) == (1, "correction", "tanaka")
        assert kept.started_at == datetime.fromisoformat("2026-09-01T03:10:00+00:00")
        assert (wrong.value, wrong.operator, wrong.audit_id) == ({"text": "中央公民館"}, "tanaka", 3)
        assert wrong.at == datetime.fromisoformat("2026-09-01T03:11:00+00:00")
        # The migrated checklist goes on: its next step chains on to the old events.
        checklists.record(ledger, 1, "right", operator="suzuki", value="本郷ふれあいセンター")
        assert checklists.get(ledger, 1).item("right").audit_id == 4
        assert ledger.verify().ok and ledger.verify().checked == 4
        assert ledger.get_post(1).text == OLD_TEXT
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == len(_MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM checklist_items").fetchone()[0] == 2


def test_a_version_2_file_without_checklists_gains_their_tables(path: Path, clock: Clock) -> None:
    write_schema_2_file(path, with_checklist=False)
    with raw(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "checklists" not in tables
    with Ledger(path, now=clock) as ledger:
        assert checklists.open_checklists(ledger) == []
        checklist_id = checklists.start(ledger, kind="correction", operator="tanaka", post_id=1)
        checklists.record(ledger, checklist_id, "wrong", operator="tanaka", value="中央公民館")
        assert checklists.get(ledger, checklist_id).item("wrong").value == {"text": "中央公民館"}
        assert ledger.verify().ok and ledger.verify().checked == 3
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"checklists", "checklist_items"} <= tables


# -- posts (投稿) ---------------------------------------------------------------------------


def test_a_post_goes_from_queued_to_sent_and_every_step_is_audited(ledger: Ledger, clock: Clock) -> None:
    post_id = new_post(ledger, acks=["rumour"], findings=[{"rule": "rumour", "severity": "warn"}])
    assert ledger.get_post(post_id).state == "queued"
    assert [p.id for p in ledger.outbox()] == [post_id]
    ledger.set_state(post_id, "sending")
    clock.advance(seconds=2)
    ledger.set_state(post_id, "sent", x_post_ids=["1901", "1902"], url="https://x.com/town/status/1901")
    post = ledger.get_post(post_id)
    assert (post.state, post.x_post_ids, post.url) == ("sent", ["1901", "1902"], "https://x.com/town/status/1901")
    assert post.sent_at == START + timedelta(seconds=2)
    assert post.acks == ["rumour"]
    assert ledger.outbox() == []
    events = ledger.events(post_id)
    assert [e.kind for e in events] == ["post.queued", "post.sending", "post.sent"]
    assert events[0].payload["text"] == post.text
    assert events[0].payload["parts"] == post.parts
    assert events[0].payload["acks"] == ["rumour"]
    assert events[2].payload["x_post_ids"] == ["1901", "1902"]


def test_a_failed_post_can_be_resent_and_an_unknown_one_resolved(ledger: Ledger) -> None:
    post_id = new_post(ledger)
    ledger.set_state(post_id, "sending")
    ledger.set_state(post_id, "failed", error="X のサーバーで障害が起きています。")
    assert ledger.get_post(post_id).error == "X のサーバーで障害が起きています。"
    ledger.set_state(post_id, "sending")
    assert ledger.get_post(post_id).error is None
    ledger.set_state(post_id, "unknown", x_post_ids=["77"], error="応答がありません。")
    assert [p.state for p in ledger.outbox()] == ["unknown"]
    ledger.set_state(post_id, "sent", url="https://x.com/town/status/77")
    post = ledger.get_post(post_id)
    assert post.x_post_ids == ["77"]  # kept when not given
    ledger.set_state(post_id, "deleted")
    assert ledger.get_post(post_id).state == "deleted"


@pytest.mark.parametrize(
    ("path_taken", "illegal"),
    [
        ([], "sent"),
        ([], "failed"),
        (["sending"], "queued"),
        (["sending"], "cancelled"),
        (["sending", "sent"], "sending"),
        (["sending", "sent"], "failed"),
        (["cancelled"], "sending"),
        ([], "no-such-state"),
    ],
)
def test_illegal_transitions_are_refused(ledger: Ledger, path_taken: list[str], illegal: str) -> None:
    post_id = new_post(ledger)
    for state in path_taken:
        ledger.set_state(post_id, state)
    before = len(ledger.events())
    with pytest.raises(ValueError):
        ledger.set_state(post_id, illegal)
    assert ledger.get_post(post_id).state == (path_taken[-1] if path_taken else "queued")
    assert len(ledger.events()) == before


def test_setting_the_state_of_a_missing_post_is_refused(ledger: Ledger) -> None:
    with pytest.raises(ValueError):
        ledger.set_state(99, "sending")


def test_as_json_has_the_stable_shape(ledger: Ledger) -> None:
    post_id = new_post(ledger)
    ledger.set_state(post_id, "sending")
    ledger.set_state(post_id, "sent", x_post_ids=["1901", "1902"], url="https://x.com/town/status/1901")
    shown = ledger.get_post(post_id).as_json()
    assert list(shown)[:10] == ["id", "state", "template", "text", "operator", "created_at", "x_post_id", "url",
                                "override", "approval"]
    assert shown["id"] == post_id
    assert shown["template"] == "shelter-open"
    assert shown["x_post_id"] == "1901"
    assert shown["created_at"] == "2026-09-01T03:00:00+00:00"
    assert shown["override"] is None and shown["approval"] is None
    assert "draft" in POST_STATES and "cancelled" in POST_STATES


def test_list_posts_filters_and_puts_the_newest_first(ledger: Ledger, clock: Clock) -> None:
    a = new_post(ledger, operator="tanaka", template_id="t1")
    clock.advance(minutes=10)
    b = new_post(ledger, operator="suzuki", template_id="t2")
    ledger.set_state(b, "cancelled")
    clock.advance(minutes=10)
    c = new_post(ledger, operator="tanaka", template_id="t1")
    assert [p.id for p in ledger.list_posts()] == [c, b, a]
    assert [p.id for p in ledger.list_posts(operator="tanaka")] == [c, a]
    assert [p.id for p in ledger.list_posts(template_id="t2")] == [b]
    assert [p.id for p in ledger.list_posts(states=["cancelled"])] == [b]
    assert [p.id for p in ledger.list_posts(since=START + timedelta(minutes=5))] == [c, b]
    assert [p.id for p in ledger.list_posts(limit=1)] == [c]


def test_recent_texts_and_the_last_post_of_a_template_respect_time_and_mode(ledger: Ledger, clock: Clock) -> None:
    old = new_post(ledger, text="【訓練】古い投稿")
    ledger.set_state(old, "sending")
    ledger.set_state(old, "sent")
    clock.advance(hours=25)
    drill = new_post(ledger, text="【訓練】新しい投稿", drill=True, template_id="level4")
    ledger.set_state(drill, "sending")
    ledger.set_state(drill, "sent")
    live = new_post(ledger, text="本番の投稿", template_id="level4")
    ledger.set_state(live, "cancelled")
    since = clock() - timedelta(hours=24)
    assert ledger.recent_sent_texts(since, drill=True) == [("【訓練】新しい投稿", clock())]
    assert ledger.recent_sent_texts(since, drill=False) == []
    assert ledger.last_post_of_template("level4", clock() - timedelta(minutes=30), drill=True).id == drill
    assert ledger.last_post_of_template("level4", clock() - timedelta(minutes=30), drill=False) is None  # cancelled


# -- approvals (承認) and overrides (緊急オーバーライド) ---------------------------------------


def test_a_verbal_approval_is_stored_and_shown(ledger: Ledger) -> None:
    post_id = new_post(ledger)
    given = START - timedelta(minutes=3)
    ledger.record_approval(post_id, approver="kacho", method="phone", at=given, recorded_by="tanaka")
    post = ledger.get_post(post_id)
    assert post.approval == {"approver": "kacho", "method": "phone", "at": given, "post_hoc": False}
    assert post.as_json()["approval"] == {"approver": "kacho", "method": "phone"}
    [event] = [e for e in ledger.events(post_id) if e.kind == "approval.recorded"]
    assert event.operator == "tanaka"
    assert event.payload["approver"] == "kacho"
    with pytest.raises(ValueError):
        ledger.record_approval(post_id, approver="kacho", method="fax", recorded_by="tanaka")


def test_an_override_is_stored_verbatim_and_shown(ledger: Ledger) -> None:
    post_id = new_post(ledger)
    reason = "台風接近のため夜間に避難指示を発令。課長に電話がつながらない。"
    ledger.record_override(post_id, operator="tanaka", category="生命・身体・財産の保護に必要な緊急情報",
                           reason=reason, lifted=["hours", "approval"])
    post = ledger.get_post(post_id)
    assert post.override["reason"] == reason
    assert post.override["lifted"] == ["hours", "approval"]
    assert post.override["operator"] == "tanaka"
    assert post.as_json()["override"] == {"category": "生命・身体・財産の保護に必要な緊急情報", "reason": reason}
    [event] = [e for e in ledger.events(post_id) if e.kind == "override.used"]
    assert event.payload == {"category": "生命・身体・財産の保護に必要な緊急情報", "reason": reason,
                             "lifted": ["hours", "approval"]}
    with pytest.raises(ValueError):
        ledger.record_override(post_id, operator="tanaka", category="その他", reason=reason, lifted=["hours"])


def test_an_overridden_post_awaits_post_hoc_approval_until_signed_off(ledger: Ledger) -> None:
    lifted_approval = new_post(ledger)
    hours_only = new_post(ledger)
    for post_id, lifted in ((lifted_approval, ["hours", "approval"]), (hours_only, ["hours"])):
        ledger.record_override(post_id, operator="tanaka", category="誤った投稿への対応",
                               reason="誤った避難所名を訂正するため", lifted=lifted)
    assert ledger.awaiting_post_hoc_approval() == []  # not sent yet
    for post_id in (lifted_approval, hours_only):
        ledger.set_state(post_id, "sending")
        ledger.set_state(post_id, "sent", x_post_ids=[str(post_id)])
    assert [p.id for p in ledger.awaiting_post_hoc_approval()] == [lifted_approval]

    ledger.sign_off(lifted_approval, approver="kacho", note="内容を確認した")
    assert ledger.awaiting_post_hoc_approval() == []
    post = ledger.get_post(lifted_approval)
    assert post.post_hoc_signed_off["approver"] == "kacho"
    assert post.post_hoc_signed_off["note"] == "内容を確認した"
    assert post.approval["post_hoc"] is True
    assert ledger.events(lifted_approval)[-1].kind == "approval.post_hoc"
    with pytest.raises(ValueError):
        ledger.sign_off(lifted_approval, approver="kacho")
    not_overridden = new_post(ledger)
    with pytest.raises(ValueError):
        ledger.sign_off(not_overridden, approver="kacho")


def test_in_app_approval_flows_between_two_sessions_on_one_file(path: Path, clock: Clock) -> None:
    with Ledger(path, now=clock) as poster, Ledger(path, now=clock) as approver:
        draft_id = poster.save_draft(operator="tanaka", template_id="level4", values={}, text="避難指示", drill=False)
        for_draft = poster.request_approval(draft_id=draft_id, post_id=None, requested_by="tanaka",
                                            department="防災危機管理課", text="避難指示")
        post_id = new_post(poster)
        for_post = poster.request_approval(draft_id=None, post_id=post_id, requested_by="tanaka",
                                           department="防災危機管理課", text="避難所開設")
        other = poster.request_approval(draft_id=None, post_id=None, requested_by="sato", department="建設課",
                                        text="通行止め")

        inbox = approver.pending_approval_requests("防災危機管理課")
        assert [r.id for r in inbox] == [for_draft, for_post]
        approver.decide_approval_request(for_draft, approver="kacho", approved=True)
        approver.decide_approval_request(for_post, approver="kacho", approved=True, note="了解")
        approver.decide_approval_request(other, approver="kensetsu-kacho", approved=False, note="表現を直して")
        with pytest.raises(ValueError):
            approver.decide_approval_request(for_post, approver="kacho", approved=False)

        decided = poster.get_approval_request(for_draft)
        assert (decided.status, decided.decided_by, decided.decided_at) == ("approved", "kacho", START)
        assert poster.get_approval_request(other).status == "rejected"
        assert poster.pending_approval_requests() == []
        approval = poster.get_post(post_id).approval
        assert (approval["approver"], approval["method"]) == ("kacho", "in-app")
        assert poster.verify().ok


# -- audit trail (監査記録) ----------------------------------------------------------------


def fill(ledger: Ledger, count: int) -> None:
    for n in range(count):
        ledger.append_event(operator="tanaka", kind="checklist.step", payload={"step": n, "memo": "確認済み"})


def test_the_chain_verifies_and_can_be_rechecked_from_the_export(ledger: Ledger) -> None:
    assert ledger.verify().ok
    fill(ledger, 5)
    result = ledger.verify()
    assert (result.ok, result.checked, result.first_bad_id) == (True, 5, None)
    exported = ledger.export()
    prev = GENESIS_HASH
    for event in exported:
        assert event["prev_hash"] == prev
        fields = {k: event[k] for k in ("id", "at", "operator", "kind", "post_id", "payload", "prev_hash")}
        assert event["hash"] == event_hash(**fields)
        prev = event["hash"]
    assert [e["id"] for e in exported] == [1, 2, 3, 4, 5]


def test_the_database_refuses_to_change_or_delete_audit_rows(path: Path, ledger: Ledger) -> None:
    fill(ledger, 2)
    with raw(path) as conn:
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute("UPDATE audit SET payload = '{}' WHERE id = 1")
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute("DELETE FROM audit WHERE id = 2")
    assert ledger.verify().ok


def drop_triggers(conn: sqlite3.Connection) -> None:
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("DROP TRIGGER audit_no_delete")


def test_an_edited_payload_is_found(path: Path, ledger: Ledger) -> None:
    fill(ledger, 10)
    with raw(path) as conn:
        drop_triggers(conn)
        conn.execute("""UPDATE audit SET payload = '{"memo":"未確認","step":6}' WHERE id = 7""")
    result = ledger.verify()
    assert (result.ok, result.first_bad_id, result.checked) == (False, 7, 6)
    assert "#7" in result.reason and "書き換え" in result.reason


def test_a_deleted_middle_row_is_found(path: Path, ledger: Ledger) -> None:
    fill(ledger, 10)
    with raw(path) as conn:
        drop_triggers(conn)
        conn.execute("DELETE FROM audit WHERE id = 4")
    result = ledger.verify()
    assert (result.ok, result.first_bad_id) == (False, 4)
    assert "#4" in result.reason and "削除" in result.reason


def test_a_deleted_last_row_is_found_through_the_head(path: Path, ledger: Ledger) -> None:
    fill(ledger, 10)
    with raw(path) as conn:
        drop_triggers(conn)
        conn.execute("DELETE FROM audit WHERE id = 10")
    result = ledger.verify()
    assert (result.ok, result.first_bad_id) == (False, 10)
    # and appending afterwards does not paper over the hole
    fill(ledger, 1)
    assert ledger.verify().first_bad_id == 10


def test_swapped_rows_are_found(path: Path, ledger: Ledger) -> None:
    fill(ledger, 10)
    with raw(path) as conn:
        drop_triggers(conn)
        conn.execute("UPDATE audit SET id = -1 WHERE id = 5")
        conn.execute("UPDATE audit SET id = 5 WHERE id = 6")
        conn.execute("UPDATE audit SET id = 6 WHERE id = -1")
    result = ledger.verify()
    assert (result.ok, result.first_bad_id) == (False, 5)


def test_a_rewritten_and_rehashed_tail_is_found_through_the_head(path: Path, ledger: Ledger) -> None:
    fill(ledger, 3)
    last = ledger.export()[-1]
    forged = dict(last, payload={"step": 2, "memo": "書き換え"})
    forged_hash = event_hash(**{k: forged[k] for k in ("id", "at", "operator", "kind", "post_id", "payload",
                                                       "prev_hash")})
    with raw(path) as conn:
        drop_triggers(conn)
        conn.execute("UPDATE audit SET payload = ?, hash = ? WHERE id = 3",
                     ('{"memo":"書き換え","step":2}', forged_hash))
    result = ledger.verify()
    assert (result.ok, result.first_bad_id) == (False, 3)


def test_dropped_triggers_alone_make_verify_fail(path: Path, ledger: Ledger) -> None:
    fill(ledger, 2)
    with raw(path) as conn:
        drop_triggers(conn)
    result = ledger.verify()
    assert (result.ok, result.first_bad_id) == (False, None)
    assert "トリガー" in result.reason


# -- sharing ------------------------------------------------------------------------------

WORKER = """
import sys, time
from pathlib import Path
from dutypost.core.ledger import Ledger
path, go, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
while not go.exists():
    time.sleep(0.005)
ledger = Ledger(path)
for n in range(50):
    post_id = ledger.create_post(operator=name, department="防災危機管理課", template_id="t", text=f"{name} {n}",
                                 parts=[f"{name} {n}"], drill=True)
    ledger.set_state(post_id, "sending", operator=name)
    ledger.append_event(operator=name, kind="checklist.step", payload={"n": n}, post_id=post_id)
ledger.close()
"""


def test_four_processes_share_one_file_without_locking_errors(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "ledger.sqlite3"  # a fresh file: the processes race to create it
    go = tmp_path / "go"
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(path), str(go), f"op{n}"], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    go.touch()
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        assert "locked" not in err
    with Ledger(path) as ledger:
        result = ledger.verify()
        assert result.ok, result.reason
        assert result.checked == 4 * 50 * 3
        posts = ledger.list_posts()
        assert len(posts) == 200
        assert {p.state for p in posts} == {"sending"}
        for n in range(4):
            assert len(ledger.list_posts(operator=f"op{n}")) == 50


def test_threads_share_one_ledger(ledger: Ledger) -> None:
    def work(name: str) -> None:
        for n in range(25):
            ledger.append_event(operator=name, kind="checklist.step", payload={"n": n})
            ledger.list_posts(limit=5)

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result = ledger.verify()
    assert (result.ok, result.checked) == (True, 100)


# -- cache ----------------------------------------------------------------------------------


def test_meta_is_a_small_cache_that_survives_reopening(path: Path, ledger: Ledger) -> None:
    assert ledger.get_meta("users_me") is None
    ledger.set_meta("users_me", '{"id": "1"}')
    ledger.set_meta("users_me", '{"id": "2"}')
    ledger.close()
    with Ledger(path) as reopened:
        assert reopened.get_meta("users_me") == '{"id": "2"}'
        with pytest.raises(ValueError):
            reopened.set_meta("audit_head", "{}")


# -- rows against the trail (issue 17 item 3) ------------------------------------------------
# An attacker with the file edits the tables History and 様式第1号 show, after dropping every
# protective trigger, with plain sqlite3. verify names the table, the row and the field.


def drop_all_triggers(conn: sqlite3.Connection) -> None:
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")


def a_sent_post_with_approval_and_override(ledger: Ledger) -> int:
    post_id = new_post(ledger)
    ledger.record_approval(post_id, approver="kacho", method="phone", recorded_by="tanaka")
    ledger.record_override(post_id, operator="tanaka", category="生命・身体・財産の保護に必要な緊急情報",
                           reason="台風の接近で土砂災害の危険が高まったため", lifted=["hours"])
    ledger.set_state(post_id, "sending")
    ledger.set_state(post_id, "sent", x_post_ids=["1901"], url="https://x.com/town/status/1901")
    return post_id


ROW_EDITS = {
    "post text": ("UPDATE posts SET text = '【避難所開設】中央公民館は閉鎖しました。' WHERE id = 1", "posts", "text", "本文"),
    "post state": ("UPDATE posts SET state = 'failed' WHERE id = 1", "posts", "state", "状態"),
    "post x_post_id": ("UPDATE posts SET x_post_ids = '[\"9999\"]' WHERE id = 1", "posts", "x_post_ids", "X の投稿ID"),
    "override reason": ("UPDATE overrides SET reason = '特になし' WHERE id = 1", "overrides", "reason", "理由"),
    "override lifted": ("UPDATE overrides SET lifted = '[\"hours\",\"approval\"]' WHERE id = 1", "overrides", "lifted",
                        "外した確認"),
    "approval approver": ("UPDATE approvals SET approver = 'bucho' WHERE id = 1", "approvals", "approver", "承認者"),
    "approval method": ("UPDATE approvals SET method = 'in-person' WHERE id = 1", "approvals", "method", "承認の方法"),
}


@pytest.mark.parametrize("edit", ROW_EDITS.values(), ids=ROW_EDITS.keys())
def test_an_edited_row_is_found_with_its_table_id_and_field(path: Path, ledger: Ledger, edit) -> None:
    sql, table, field, label = edit
    a_sent_post_with_approval_and_override(ledger)
    assert ledger.verify().ok, ledger.verify().reason
    with raw(path) as conn:
        drop_all_triggers(conn)
        conn.execute(sql)
    result = ledger.verify()
    assert not result.ok
    assert (result.table, result.row_id, result.field) == (table, 1, field)
    assert f"#1 の{label} ({field})" in result.reason and "書き換えられています" in result.reason


def test_a_deleted_approval_or_override_is_found(path: Path, ledger: Ledger) -> None:
    a_sent_post_with_approval_and_override(ledger)
    with raw(path) as conn:
        drop_all_triggers(conn)
        conn.execute("DELETE FROM approvals WHERE id = 1")
    result = ledger.verify()
    assert (result.ok, result.table, result.row_id) == (False, "approvals", 1)
    assert "承認 #1 が削除されています" in result.reason
    with raw(path) as conn:
        conn.execute("DELETE FROM overrides")
        conn.execute("INSERT INTO approvals (post_id, approver, method, at, recorded_by, post_hoc)"
                     " VALUES (1, 'kacho', 'phone', '2026-09-01T03:00:00+00:00', 'tanaka', 0)")
    result = ledger.verify()
    assert (result.ok, result.table, result.row_id) == (False, "approvals", 2)
    assert "承認 #2 は監査記録にありません" in result.reason


def test_a_row_added_without_an_event_is_found(path: Path, ledger: Ledger) -> None:
    a_sent_post_with_approval_and_override(ledger)
    with raw(path) as conn:
        conn.execute("INSERT INTO posts (state, kind, template_id, text, parts, operator, department, drill,"
                     " created_at, updated_at) VALUES ('sent', 'post', 'shelter-open', '偽の投稿', '[\"偽の投稿\"]',"
                     " 'tanaka', '防災危機管理課', 0, '2026-09-01T03:00:00+00:00', '2026-09-01T03:00:00+00:00')")
    result = ledger.verify()
    assert (result.ok, result.table, result.row_id, result.field) == (False, "posts", 2, None)
    assert "投稿 #2 は監査記録にありません" in result.reason


def test_the_tables_history_shows_refuse_deletes_and_rewrites(path: Path, ledger: Ledger) -> None:
    a_sent_post_with_approval_and_override(ledger)
    with raw(path) as conn:
        for sql in ("DELETE FROM posts WHERE id = 1", "UPDATE approvals SET approver = 'bucho'",
                    "DELETE FROM approvals", "UPDATE overrides SET reason = 'x'", "DELETE FROM overrides"):
            with pytest.raises(sqlite3.DatabaseError):
                conn.execute(sql)
    assert ledger.verify().ok


def test_every_writer_of_those_rows_leaves_them_as_the_trail_has_them(ledger: Ledger) -> None:
    post_id = a_sent_post_with_approval_and_override(ledger)
    other = new_post(ledger, template_id="correction", kind="correction", reply_to_post_id=post_id)
    ledger.use_standalone_text(other, "【訂正】先ほどの投稿の避難所名に誤りがありました。", operator="tanaka")
    ledger.set_state(other, "sending")
    ledger.set_state(other, "unknown", error="timeout")
    ledger.set_state(other, "sent", x_post_ids=["1902"])
    ledger.set_state(post_id, "deleted")
    recovered = ledger.record_recovered_post(operator="tanaka", department="防災危機管理課", text="復旧した投稿",
                                             x_post_id="1903", url="https://x.com/town/status/1903", drill=False,
                                             x_text="復旧した投稿", x_created_at=None)
    request = ledger.request_approval(draft_id=None, post_id=recovered, requested_by="tanaka",
                                      department="防災危機管理課", text="復旧した投稿")
    ledger.decide_approval_request(request, approver="kacho", approved=True)
    result = ledger.verify()
    assert result.ok, result.reason
    assert result.rows_checked == 3 + 2 + 1 and result.rows_before_check == 0


def test_own_requests_and_posts_are_not_approved_without_the_setting(ledger: Ledger) -> None:
    post_id = new_post(ledger, operator="kacho")
    request = ledger.request_approval(draft_id=None, post_id=post_id, requested_by="kacho",
                                      department="防災危機管理課", text="本文")
    with pytest.raises(ValueError, match="ご自分の依頼"):
        ledger.decide_approval_request(request, approver="kacho", approved=True)
    ledger.decide_approval_request(request, approver="kacho", approved=True, allow_self_approval=True)
    assert ledger.get_post(post_id).approval["approver"] == "kacho"
    overridden = new_post(ledger, operator="kacho")
    ledger.record_override(overridden, operator="kacho", category="誤った投稿への対応",
                           reason="誤った避難所名を訂正するため", lifted=["approval"])
    with pytest.raises(ValueError, match="ご自分の投稿"):
        ledger.sign_off(overridden, approver="kacho")


# -- anchors (控え) ----------------------------------------------------------------------


def rehash_from(conn: sqlite3.Connection, first: int) -> None:
    """Recompute every hash from event ``first`` on, and the head: what an attacker who knows
    the format does after editing or adding events."""
    rows = conn.execute("SELECT * FROM audit WHERE id >= ? ORDER BY id", (first,)).fetchall()
    prev = conn.execute("SELECT hash FROM audit WHERE id = ?", (first - 1,)).fetchone()
    prev_hash = prev[0] if prev else GENESIS_HASH
    for row in rows:
        event_id, at, operator, kind, post_id, payload, _, _, images = row
        digest = event_hash(id=event_id, at=at, operator=operator, kind=kind, post_id=post_id,
                            payload=json_loads(payload), prev_hash=prev_hash,
                            rows=json_loads(images) if images else None)
        conn.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", (prev_hash, digest, event_id))
        prev_hash = digest
    last = conn.execute("SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1").fetchone()
    conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (canonical_json({"id": last[0], "hash": last[1]}),))


def json_loads(text: str):
    import json

    return json.loads(text)


def test_a_recomputed_chain_passes_alone_and_is_caught_by_an_anchor(path: Path, ledger: Ledger) -> None:
    fill(ledger, 6)
    anchor = ledger.head()
    assert (anchor.id, len(anchor.hash)) == (6, 64)
    with raw(path) as conn:
        drop_triggers(conn)
        conn.execute("""UPDATE audit SET payload = '{"memo":"未確認","step":2}' WHERE id = 3""")
        rehash_from(conn, 3)
        conn.execute("CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'x'); END")
        conn.execute("CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'x'); END")
    assert ledger.verify().ok  # the chain alone cannot tell
    result = ledger.verify(anchors=[anchor])
    assert (result.ok, result.first_bad_id) == (False, 6)
    assert "#6 が控え" in result.reason and "作り直されて" in result.reason


def test_a_deleted_tail_with_a_rewritten_head_is_caught_by_an_anchor(path: Path, ledger: Ledger) -> None:
    fill(ledger, 8)
    anchor = ledger.head()
    with raw(path) as conn:
        drop_triggers(conn)
        conn.execute("DELETE FROM audit WHERE id > 5")
        rehash_from(conn, 6)  # only the head is left to rewrite
    assert ledger.verify().ok is False  # the dropped triggers still show
    result = ledger.verify(anchors=[anchor])
    assert (result.ok, result.first_bad_id) == (False, 6)
    assert "#6 以降が削除されています" in result.reason and "#8" in result.reason


def test_the_anchor_file_gets_every_head_and_catches_a_forged_last_event(path: Path, tmp_path: Path,
                                                                         clock: Clock) -> None:
    anchors = tmp_path / "standby" / "anchors.txt"
    with Ledger(path, now=clock, anchor_file=anchors) as ledger:
        fill(ledger, 3)
        post_id = a_sent_post_with_approval_and_override(ledger)
        lines = anchors.read_text(encoding="utf-8").splitlines()
        assert [line.split(":")[0] for line in lines] == [str(n) for n in range(1, 9)]
        assert lines[-1].split()[0] == str(ledger.head())
        assert anchors.stat().st_mode & 0o777 == 0o600
        assert ledger.verify(anchor_file=anchors).anchors_checked == 8
        forged = ledger.export()[-1]
    with raw(path) as conn:  # a forged post-hoc approval, appended and hashed as dutypost would
        conn.execute("INSERT INTO approvals (post_id, approver, method, at, recorded_by, post_hoc)"
                     " VALUES (?, 'kacho', 'in-app', ?, 'kacho', 1)", (post_id, forged["at"]))
        image = dict(zip(("id", "post_id", "approver", "method", "at", "recorded_by", "post_hoc", "note"),
                         conn.execute("SELECT * FROM approvals WHERE id = 2").fetchone()))
        rows = {"approvals:2": image}
        payload = {"approver": "kacho", "method": "in-app", "at": forged["at"], "recorded_by": "kacho",
                   "post_hoc": True}
        digest = event_hash(id=9, at=forged["at"], operator="kacho", kind="approval.post_hoc", post_id=post_id,
                            payload=payload, prev_hash=forged["hash"], rows=rows)
        conn.execute("INSERT INTO audit (id, at, operator, kind, post_id, payload, prev_hash, hash, rows)"
                     " VALUES (9, ?, 'kacho', 'approval.post_hoc', ?, ?, ?, ?, ?)",
                     (forged["at"], post_id, canonical_json(payload), forged["hash"], digest, canonical_json(rows)))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'", (canonical_json({"id": 9, "hash": digest}),))
    with Ledger(path, now=clock, anchor_file=anchors) as ledger:
        assert ledger.verify().ok  # chain, head and rows agree: only the anchor file tells
        result = ledger.verify(anchor_file=anchors)
        assert (result.ok, result.first_bad_id) == (False, 9)
        assert f"#9 以降が控えファイル {anchors} にありません" in result.reason


def test_an_anchor_is_parsed_strictly() -> None:
    from dutypost.core.ledger import parse_anchor

    assert parse_anchor(f" 12:{'a' * 64} ") == (12, "a" * 64)
    for bad in ("12", f"0:{'a' * 64}", f"x:{'a' * 64}", "12:abc", f"12:{'g' * 64}"):
        with pytest.raises(ValueError, match="番号:ハッシュ"):
            parse_anchor(bad)


# -- the files (issue 17 item 4) -----------------------------------------------------------


def test_the_ledger_and_its_wal_and_shm_are_created_0600(path: Path, ledger: Ledger) -> None:
    new_post(ledger)
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    assert all(f.exists() for f in files)
    assert [f.stat().st_mode & 0o777 for f in files] == [0o600] * 3


def test_with_a_group_the_ledger_and_anchor_file_are_0640_for_that_group(tmp_path: Path, clock: Clock) -> None:
    import grp
    import os

    group = grp.getgrgid(os.getegid()).gr_name
    path, anchors = tmp_path / "g" / "ledger.sqlite3", tmp_path / "g" / "anchors.txt"
    with Ledger(path, now=clock, anchor_file=anchors, group=group) as ledger:
        new_post(ledger)
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"), anchors]
        assert [f.stat().st_mode & 0o777 for f in files] == [0o640] * 4
        assert {f.stat().st_gid for f in files} == {grp.getgrnam(group).gr_gid}
    with pytest.raises(InputError, match="no-such-group-here"):
        Ledger(tmp_path / "h" / "ledger.sqlite3", group="no-such-group-here")


def test_a_full_disk_is_a_storage_fault_naming_the_file_and_nothing_is_half_written(tmp_path: Path,
                                                                                   clock: Clock) -> None:
    from disk import fill, small_disk

    from dutypost.core.errors import StorageFault

    with small_disk(tmp_path / "disk") as disk:
        path = disk / "ledger.sqlite3"
        with Ledger(path, now=clock) as ledger:
            post_id = new_post(ledger)
            filler = fill(disk)
            with pytest.raises(StorageFault) as caught:
                for n in range(200):  # until the WAL needs a page the disk no longer has
                    ledger.append_event(operator="tanaka", kind="checklist.step", payload={"n": n, "pad": "x" * 2000})
            assert caught.value.exit_code == 2 and caught.value.path == path
            assert str(path) in caught.value.message and "df -h" in caught.value.hint
            with pytest.raises(StorageFault):
                ledger.set_state(post_id, "sending")
            filler.unlink()
            assert ledger.get_post(post_id).state == "queued"
            ledger.set_state(post_id, "sending")
            result = ledger.verify()
            assert result.ok, result.reason
