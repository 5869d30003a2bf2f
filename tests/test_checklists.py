"""Checklists (チェックリスト) after a post, on real SQLite files and the real practice server."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from clock import START, Clock

from dutypost.core import checklists
from dutypost.core.checklists import ITEMS, TITLES
from dutypost.core.config import BUNDLED_TEMPLATES
from dutypost.core.errors import InputError, PublishFailed
from dutypost.core.ledger import Ledger
from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.core.templates import load_templates, render
from dutypost.core.xapi import XApiError, XClient







@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite3"


@pytest.fixture
def ledger(path: Path, clock: Clock):
    with Ledger(path, now=clock) as opened:
        yield opened


def sent_post(ledger: Ledger, *, text: str = "【避難所開設】12時00分現在、中央公民館を開設しました。",
              template_id: str | None = "shelter-open", x_ids: list[str] | None = None, drill: bool = False) -> int:
    post_id = ledger.create_post(operator="tanaka", department="防災危機管理課", template_id=template_id,
                                 text=text, parts=[text], drill=drill)
    ledger.set_state(post_id, "sending")
    ids = x_ids or [str(1000 + post_id)]
    ledger.set_state(post_id, "sent", x_post_ids=ids, url=f"https://x.com/i/web/status/{ids[0]}")
    return post_id


def valid_value(ledger: Ledger, item: checklists.ChecklistItem):
    if item.kind == "tick":
        return True
    if item.kind == "text":
        return f"{item.label} の記録"
    if item.kind == "choice":
        return item.choices[0]
    if item.kind == "who_when":
        return {"who": "鈴木 花子 (防災危機管理課長)", "when": "2026-09-01T12:10"}
    return sent_post(ledger, text=f"{item.key} の投稿", template_id=item.template)


def events_of(ledger: Ledger, kind: str) -> list:
    return [e for e in ledger.events() if e.kind == kind]


# -- the items --------------------------------------------------------------------


def test_every_kind_has_items_that_cite_their_rule_and_name_real_templates():
    templates = load_templates([BUNDLED_TEMPLATES])
    assert set(ITEMS) == set(TITLES) == {"correction", "flaming", "impersonation", "suspension"}
    for kind, items in ITEMS.items():
        keys = [i.key for i in items]
        assert len(keys) == len(set(keys)), kind
        for item in items:
            assert item.cites.startswith("R"), (kind, item.key)
            assert item.label
            assert (item.kind == "choice") == bool(item.choices), (kind, item.key)
            if item.kind == "post":
                assert templates.get(item.template) is not None, (kind, item.key, item.template)


def test_the_correction_checklist_covers_the_issue():
    keys = {i.key for i in ITEMS["correction"]}
    assert {"wrong", "right", "head_told", "correction_post", "apology", "apology_post", "original",
            "channel_hp", "channel_mail", "channel_lalert", "channel_radio", "cause", "form"} <= keys
    cause = next(i for i in ITEMS["correction"] if i.key == "cause")
    assert cause.choices == ("テンプレートの空欄", "古い文の使い回し", "アカウント・経路の誤り",
                             "訓練と本番の取り違え", "事実の誤り", "その他")


# -- a whole checklist of each kind -------------------------------------------------


@pytest.mark.parametrize("kind", sorted(ITEMS))
def test_each_kind_is_started_recorded_resumed_and_finished(kind, ledger, path, clock):
    post_id = sent_post(ledger) if kind in ("correction", "flaming") else None
    checklist_id = checklists.start(ledger, kind=kind, operator="tanaka", post_id=post_id)
    to_record = [i for i in ITEMS[kind] if i.key != "original"]
    last = to_record[-1]
    for item in to_record[:-1]:
        clock.advance(minutes=1)
        checklists.record(ledger, checklist_id, item.key, operator="tanaka", value=valid_value(ledger, item))

    with pytest.raises(InputError) as refused:
        checklists.finish(ledger, checklist_id, operator="tanaka")
    if last.required:
        assert last.label in refused.value.message

    # A fresh Ledger on the same file (another session) resumes where the first left off.
    with Ledger(path, now=clock) as other:
        [resumed] = checklists.open_checklists(other, post_id=post_id)
        assert resumed.id == checklist_id and resumed.kind == kind and resumed.title == TITLES[kind]
        assert resumed.missing == [last.key]
        assert not resumed.complete
        done = [s.item.key for s in resumed.items if s.value is not None]
        assert done == [i.key for i in to_record[:-1]]
        assert all(s.operator == "tanaka" and s.at is not None for s in resumed.items if s.value is not None)
        checklists.record(other, checklist_id, last.key, operator="suzuki", value=valid_value(other, last))
        assert checklists.get(other, checklist_id).complete
        checklists.finish(other, checklist_id, operator="suzuki")

    finished = checklists.get(ledger, checklist_id)
    assert finished.status == "finished" and finished.finished_by == "suzuki"
    assert finished.item(last.key).operator == "suzuki"
    assert checklists.open_checklists(ledger) == []
    ticks = events_of(ledger, "checklist.tick")
    assert [e.payload["item"] for e in ticks] == [i.key for i in to_record]
    assert all(e.payload["checklist_id"] == checklist_id and e.post_id == post_id for e in ticks)
    assert len(events_of(ledger, "checklist.started")) == 1
    assert len(events_of(ledger, "checklist.finished")) == 1
    assert ledger.verify().ok
    with pytest.raises(InputError, match="完了しています"):
        checklists.record(ledger, checklist_id, last.key, operator="tanaka", value=valid_value(ledger, last))


def test_an_item_keeps_its_audit_event_and_the_ledgers_time(ledger, clock):
    checklist_id = checklists.start(ledger, kind="suspension", operator="tanaka", post_id=None)
    clock.advance(minutes=5)
    checklists.record(ledger, checklist_id, "hp_notice", operator="tanaka", value=True)
    state = checklists.get(ledger, checklist_id).item("hp_notice")
    [tick] = events_of(ledger, "checklist.tick")
    assert state.audit_id == tick.id
    assert state.at == START + timedelta(minutes=5) == tick.at
    assert checklists.get(ledger, checklist_id).started_at == START


def test_recording_again_replaces_the_value_and_is_a_new_audit_event(ledger):
    checklist_id = checklists.start(ledger, kind="correction", operator="tanaka", post_id=sent_post(ledger))
    checklists.record(ledger, checklist_id, "wrong", operator="tanaka", value="9月3日")
    checklists.record(ledger, checklist_id, "wrong", operator="suzuki", value={"text": " 9月4日 "})
    state = checklists.get(ledger, checklist_id).item("wrong")
    assert state.value == {"text": "9月4日"} and state.operator == "suzuki"
    assert [e.payload["value"] for e in events_of(ledger, "checklist.tick")] == [{"text": "9月3日"},
                                                                               {"text": "9月4日"}]


def test_an_unticked_tick_is_still_missing(ledger):
    checklist_id = checklists.start(ledger, kind="suspension", operator="tanaka", post_id=None)
    checklists.record(ledger, checklist_id, "hp_notice", operator="tanaka", value={"done": False, "note": "HP 担当不在"})
    checklist = checklists.get(ledger, checklist_id)
    assert checklist.item("hp_notice").value == {"done": False, "note": "HP 担当不在"}
    assert "hp_notice" in checklist.missing


def test_an_apology_post_is_required_only_when_an_apology_is_needed(ledger):
    checklist_id = checklists.start(ledger, kind="correction", operator="tanaka", post_id=sent_post(ledger))
    assert "apology_post" not in checklists.get(ledger, checklist_id).missing
    checklists.record(ledger, checklist_id, "apology", operator="tanaka", value="必要")
    assert "apology_post" in checklists.get(ledger, checklist_id).missing
    checklists.record(ledger, checklist_id, "apology", operator="tanaka", value="不要")
    assert "apology_post" not in checklists.get(ledger, checklist_id).missing


def test_who_when_defaults_to_now_and_reads_a_bare_time_as_jst(ledger):
    checklist_id = checklists.start(ledger, kind="flaming", operator="tanaka", post_id=None)
    checklists.record(ledger, checklist_id, "decided_by", operator="tanaka", value="鈴木 花子")
    assert checklists.get(ledger, checklist_id).item("decided_by").value == {"who": "鈴木 花子"}
    checklists.record(ledger, checklist_id, "manager_told", operator="tanaka",
                      value={"who": "佐藤 次郎 (秘書広聴課長)", "when": "2026-09-01T12:30", "note": "電話"})
    value = checklists.get(ledger, checklist_id).item("manager_told").value
    assert value == {"who": "佐藤 次郎 (秘書広聴課長)", "when": "2026-09-01T03:30:00+00:00", "note": "電話"}


@pytest.mark.parametrize(("key", "value", "words"), [
    ("wrong", "  ", "空にはできません"),
    ("wrong", True, "空にはできません"),
    ("channel_hp", "済", "True/False"),
    ("cause", "不注意", "どれかを選んで"),
    ("cause", "その他", "内容を書いて"),
    ("head_told", {"when": "2026-09-01T12:00"}, "誰か"),
    ("head_told", {"who": "鈴木", "when": "きのう"}, "読めません"),
    ("correction_post", 9999, "記録にありません"),
    ("correction_post", "1", "投稿の番号"),
    ("nonexistent", True, "項目 'nonexistent' はありません"),
])
def test_a_value_that_does_not_fit_its_item_is_refused(ledger, key, value, words):
    checklist_id = checklists.start(ledger, kind="correction", operator="tanaka", post_id=sent_post(ledger))
    before = len(ledger.events())
    with pytest.raises(InputError, match=words):
        checklists.record(ledger, checklist_id, key, operator="tanaka", value=value)
    assert len(ledger.events()) == before
    assert all(s.value is None for s in checklists.get(ledger, checklist_id).items)


def test_other_needs_a_note(ledger):
    checklist_id = checklists.start(ledger, kind="correction", operator="tanaka", post_id=sent_post(ledger))
    checklists.record(ledger, checklist_id, "cause", operator="tanaka",
                      value={"choice": "その他", "note": "配信先の設定の誤り"})
    assert checklists.get(ledger, checklist_id).item("cause").value == {"choice": "その他", "note": "配信先の設定の誤り"}


def test_start_refuses_unknown_kinds_and_posts_and_a_correction_without_its_original(ledger):
    with pytest.raises(InputError, match="種類"):
        checklists.start(ledger, kind="typo", operator="tanaka", post_id=None)
    with pytest.raises(InputError, match="記録にありません"):
        checklists.start(ledger, kind="flaming", operator="tanaka", post_id=42)
    with pytest.raises(InputError, match="元の投稿が必要"):
        checklists.start(ledger, kind="correction", operator="tanaka", post_id=None)
    with pytest.raises(InputError, match="記録にありません"):
        checklists.get(ledger, 7)
    assert ledger.events() == []


def test_open_checklists_lists_newest_first_and_filters_by_post(ledger):
    first = sent_post(ledger)
    second = sent_post(ledger, text="別の投稿")
    a = checklists.start(ledger, kind="correction", operator="tanaka", post_id=first)
    b = checklists.start(ledger, kind="flaming", operator="tanaka", post_id=second)
    c = checklists.start(ledger, kind="impersonation", operator="tanaka", post_id=None)
    assert [x.id for x in checklists.open_checklists(ledger)] == [c, b, a]
    assert [x.id for x in checklists.open_checklists(ledger, post_id=first)] == [a]


def test_the_tables_live_in_the_ledger_file_and_a_checklist_leaves_its_schema_version_alone(ledger, path):
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    checklists.start(ledger, kind="suspension", operator="tanaka", post_id=None)
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"checklists", "checklist_items"} <= tables
    assert conn.execute("PRAGMA user_version").fetchone()[0] == version
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- one transaction: a step's row and its audit event ------------------------------


def raw_fault(path: Path, table: str, action: str = "INSERT") -> sqlite3.Connection:
    """A real fault: a trigger that makes the next ``action`` on ``table`` fail mid-transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"CREATE TRIGGER fault BEFORE {action} ON {table} BEGIN SELECT RAISE(ABORT, 'disk fault'); END")
    return conn


def test_every_step_has_its_audit_event_and_the_chain_holds_after_many(ledger, path, clock):
    checklist_id = checklists.start(ledger, kind="correction", operator="tanaka", post_id=sent_post(ledger))
    for n in range(60):
        clock.advance(seconds=7)
        key = ("wrong", "right", "channel_hp")[n % 3]
        value = {"done": n % 2 == 0} if key == "channel_hp" else f"{key} {n}"
        checklists.record(ledger, checklist_id, key, operator=("tanaka", "suzuki")[n % 2], value=value)
    assert ledger.verify().ok
    ticks = {e.id: e for e in events_of(ledger, "checklist.tick")}
    assert len(ticks) == 60
    for state in checklists.get(ledger, checklist_id).items:
        if state.value is None:
            continue
        tick = ticks[state.audit_id]  # the row names the event that recorded its value
        assert tick.payload["item"] == state.item.key and tick.payload["value"] == state.value
        assert (tick.at, tick.operator) == (state.at, state.operator)
        assert tick.id == max(e.id for e in ticks.values() if e.payload["item"] == state.item.key)


def test_a_tick_whose_row_cannot_be_written_leaves_no_audit_event(ledger, path):
    checklist_id = checklists.start(ledger, kind="correction", operator="tanaka", post_id=sent_post(ledger))
    before = ledger.events()
    with raw_fault(path, "checklist_items") as fault:
        with pytest.raises(sqlite3.DatabaseError, match="disk fault"):
            checklists.record(ledger, checklist_id, "wrong", operator="tanaka", value="中央公民館")
        correction = sent_post(ledger, text="【訂正】…", template_id="correction")
        before = ledger.events()
        with pytest.raises(sqlite3.DatabaseError, match="disk fault"):
            checklists.link_correction(ledger, checklist_id, correction_post_id=correction, operator="tanaka")
        fault.execute("DROP TRIGGER fault")
    assert ledger.events() == before
    assert events_of(ledger, "checklist.tick") == [] and events_of(ledger, "post.correction_linked") == []
    assert checklists.get(ledger, checklist_id).item("wrong").value is None
    assert ledger.verify().ok
    checklists.record(ledger, checklist_id, "wrong", operator="tanaka", value="中央公民館")  # and it goes on
    assert checklists.get(ledger, checklist_id).item("wrong").audit_id == ledger.events()[-1].id


def test_an_audit_event_that_cannot_be_written_leaves_no_row(ledger, path):
    checklist_id = checklists.start(ledger, kind="suspension", operator="tanaka", post_id=None)
    with raw_fault(path, "audit") as fault:
        with pytest.raises(sqlite3.DatabaseError, match="disk fault"):
            checklists.record(ledger, checklist_id, "hp_notice", operator="tanaka", value=True)
        with pytest.raises(sqlite3.DatabaseError, match="disk fault"):
            checklists.start(ledger, kind="impersonation", operator="tanaka", post_id=None)
        fault.execute("DROP TRIGGER fault")
        assert fault.execute("SELECT count(*) FROM checklist_items").fetchone()[0] == 0
        assert fault.execute("SELECT count(*) FROM checklists").fetchone()[0] == 1
    assert [c.id for c in checklists.open_checklists(ledger)] == [checklist_id]
    assert ledger.verify().ok


def test_a_finish_that_cannot_be_written_leaves_the_checklist_open(ledger, path):
    checklist_id = checklists.start(ledger, kind="suspension", operator="tanaka", post_id=None)
    checklists.record(ledger, checklist_id, "hp_notice", operator="tanaka", value=True)
    checklists.record(ledger, checklist_id, "final_post", operator="tanaka", value=sent_post(ledger))
    with raw_fault(path, "checklists", "UPDATE") as fault:
        with pytest.raises(sqlite3.DatabaseError, match="disk fault"):
            checklists.finish(ledger, checklist_id, operator="tanaka")
        fault.execute("DROP TRIGGER fault")
    assert events_of(ledger, "checklist.finished") == []
    assert checklists.get(ledger, checklist_id).status == "open"
    checklists.finish(ledger, checklist_id, operator="tanaka")
    assert checklists.get(ledger, checklist_id).status == "finished" and ledger.verify().ok


# -- the correction and its link ----------------------------------------------------


def test_link_correction_records_the_link_on_both_posts(ledger):
    original = sent_post(ledger)
    checklist_id = checklists.start(ledger, kind="correction", operator="tanaka", post_id=original)
    correction = sent_post(ledger, text="【訂正】…", template_id="correction")
    checklists.link_correction(ledger, checklist_id, correction_post_id=correction, operator="tanaka")
    for post_id in (original, correction):
        [link] = [e for e in ledger.events(post_id) if e.kind == "post.correction_linked"]
        assert link.payload == {"checklist_id": checklist_id, "original_post_id": original,
                                "correction_post_id": correction}
    assert checklists.get(ledger, checklist_id).item("correction_post").value == {"post_id": correction}
    with pytest.raises(InputError, match="元の投稿そのもの"):
        checklists.link_correction(ledger, checklist_id, correction_post_id=original, operator="tanaka")
    assert ledger.verify().ok


def test_link_correction_only_on_a_correction_checklist(ledger):
    checklist_id = checklists.start(ledger, kind="flaming", operator="tanaka", post_id=sent_post(ledger))
    with pytest.raises(InputError, match="訂正・お詫びのチェックリストではありません"):
        checklists.link_correction(ledger, checklist_id, correction_post_id=sent_post(ledger, text="x"),
                                   operator="tanaka")


def test_correction_values_fill_the_correction_template(ledger):
    original = sent_post(ledger)
    values = checklists.correction_values(ledger, original, wrong="中央公民館", right="本郷ふれあいセンター")
    assert values == {"original_date": "9月1日 12時00分", "subject": "避難所 開設",
                      "wrong": "中央公民館", "right": "本郷ふれあいセンター"}
    template = load_templates([BUNDLED_TEMPLATES]).get("correction")
    text = render(template, values)
    assert "9月1日 12時00分に投稿した「避難所 開設」に誤りがありました。" in text
    assert "誤：中央公民館" in text and "正：本郷ふれあいセンター" in text
    assert checklists.standalone_fallback_text(ledger, original, text) == text


def test_a_free_text_original_is_named_by_its_first_line(ledger):
    original = sent_post(ledger, text="【訓練】【お知らせ】\n本日の訓練は終了しました。", template_id=None, drill=True)
    values = checklists.correction_values(ledger, original, wrong="a", right="b")
    assert values["subject"] == "お知らせ"


def test_the_fallback_names_the_original_when_the_text_does_not(ledger, clock):
    original = sent_post(ledger)
    clock.advance(hours=1)
    fallback = checklists.standalone_fallback_text(ledger, original, "【訂正】\n誤: 中央公民館\n正: 本郷")
    assert fallback == "【訂正】\n9月1日 12時00分に投稿した「避難所 開設」の訂正です。\n誤: 中央公民館\n正: 本郷"
    with pytest.raises(InputError, match="記録にありません"):
        checklists.correction_values(ledger, 999, wrong="a", right="b")


# -- deleting the original: two steps and a reason -----------------------------------


@pytest.fixture
def on_x(ledger: Ledger, x_client: XClient):
    """A correction checklist whose original is a real post on the practice server."""
    created = x_client.create_post("【避難所開設】12時00分現在、中央公民館を開設しました。")
    post_id = sent_post(ledger, x_ids=[created.id])
    checklist_id = checklists.start(ledger, kind="correction", operator="tanaka", post_id=post_id)
    return post_id, checklist_id, created.id


def test_deletion_takes_a_reason_and_a_separate_confirmation(ledger, on_x, practice_server, x_client):
    post_id, checklist_id, x_id = on_x
    with pytest.raises(InputError, match="2段階"):
        checklists.record(ledger, checklist_id, "original", operator="tanaka", value="削除")
    with pytest.raises(InputError, match="理由"):
        checklists.request_deletion(ledger, checklist_id, operator="tanaka", reason="   ")
    with pytest.raises(InputError, match="申し出がありません"):
        checklists.confirm_deletion(ledger, checklist_id, operator="tanaka")
    with pytest.raises(InputError, match="申し出と確認"):
        checklists.delete_original(ledger, x_client, checklist_id, operator="tanaka")

    checklists.request_deletion(ledger, checklist_id, operator="tanaka", reason="個人の電話番号を載せてしまったため")
    assert "original" in checklists.get(ledger, checklist_id).missing
    with pytest.raises(InputError, match="申し出と確認"):
        checklists.delete_original(ledger, x_client, checklist_id, operator="tanaka")
    assert [p["id"] for p in practice_server.posts()] == [x_id]

    checklists.confirm_deletion(ledger, checklist_id, operator="suzuki")
    checklists.delete_original(ledger, x_client, checklist_id, operator="suzuki")

    assert practice_server.posts() == []
    assert ledger.get_post(post_id).state == "deleted"
    value = checklists.get(ledger, checklist_id).item("original").value
    assert value == {"choice": "削除", "stage": "deleted", "reason": "個人の電話番号を載せてしまったため",
                     "requested_by": "tanaka", "confirmed_by": "suzuki", "deleted_x_post_ids": [x_id]}
    assert "original" not in checklists.get(ledger, checklist_id).missing
    kinds = [e.kind for e in ledger.events(post_id)]
    assert kinds.index("checklist.deletion_requested") < kinds.index("checklist.deletion_confirmed") \
        < kinds.index("post.deleted")
    assert ledger.verify().ok
    with pytest.raises(InputError, match="もう削除"):
        checklists.record(ledger, checklist_id, "original", operator="tanaka", value="残す")


def test_a_requested_deletion_can_be_withdrawn_by_keeping_the_original(ledger, on_x):
    _, checklist_id, _ = on_x
    assert checklists.get(ledger, checklist_id).item("original").done  # 残す is the default
    checklists.request_deletion(ledger, checklist_id, operator="tanaka", reason="誤った地区名のため")
    checklists.record(ledger, checklist_id, "original", operator="tanaka", value="残す")
    checklist = checklists.get(ledger, checklist_id)
    assert checklist.item("original").value == {"choice": "残す"}
    assert "original" not in checklist.missing
    with pytest.raises(InputError, match="申し出がありません"):
        checklists.confirm_deletion(ledger, checklist_id, operator="tanaka")


def test_a_deletion_whose_outcome_cannot_be_recorded_leaves_the_post_sent(ledger, on_x, path, x_client,
                                                                         practice_server):
    post_id, checklist_id, _ = on_x
    checklists.request_deletion(ledger, checklist_id, operator="tanaka", reason="誤った地区名のため")
    checklists.confirm_deletion(ledger, checklist_id, operator="tanaka")
    with raw_fault(path, "checklist_items", "UPDATE") as fault:
        with pytest.raises(sqlite3.DatabaseError, match="disk fault"):
            checklists.delete_original(ledger, x_client, checklist_id, operator="tanaka")
        fault.execute("DROP TRIGGER fault")
    assert practice_server.posts() == []  # X did delete it
    assert ledger.get_post(post_id).state == "sent"  # but neither the state nor the item moved
    assert events_of(ledger, "post.deleted") == []
    assert checklists.get(ledger, checklist_id).item("original").value["stage"] == "confirmed"
    # Trying again records what X answers now (the post is gone) instead of a half outcome.
    with pytest.raises(PublishFailed):
        checklists.delete_original(ledger, x_client, checklist_id, operator="tanaka")
    assert [e.post_id for e in events_of(ledger, "checklist.deletion_failed")] == [post_id]
    assert checklists.get(ledger, checklist_id).item("original").value["error"]
    assert ledger.get_post(post_id).state == "sent"
    assert ledger.verify().ok


def test_a_failed_deletion_is_recorded_and_can_be_tried_again(ledger, on_x, closed_port_url, x_client,
                                                             practice_server):
    post_id, checklist_id, _ = on_x
    checklists.request_deletion(ledger, checklist_id, operator="tanaka", reason="誤った地区名のため")
    checklists.confirm_deletion(ledger, checklist_id, operator="tanaka")
    with XClient(closed_port_url, DEMO_CREDENTIALS, timeout=2) as unreachable:
        with pytest.raises(XApiError):
            checklists.delete_original(ledger, unreachable, checklist_id, operator="tanaka")
    assert ledger.get_post(post_id).state == "sent"
    value = checklists.get(ledger, checklist_id).item("original").value
    assert value["stage"] == "confirmed" and value["error"]
    [failed] = events_of(ledger, "checklist.deletion_failed")
    assert failed.post_id == post_id

    checklists.delete_original(ledger, x_client, checklist_id, operator="tanaka")
    assert ledger.get_post(post_id).state == "deleted"
    assert "error" not in checklists.get(ledger, checklist_id).item("original").value
    assert practice_server.posts() == []


def test_a_tick_records_its_result_done_or_not_applicable_with_a_note(ledger):
    original = sent_post(ledger)
    checklist_id = checklists.start(ledger, kind="correction", operator="tanaka", post_id=original)
    with pytest.raises(InputError, match="理由"):
        checklists.record(ledger, checklist_id, "channel_lalert", operator="tanaka", value={"result": "na"})
    checklists.record(ledger, checklist_id, "channel_lalert", operator="tanaka",
                      value={"result": "na", "note": "Lアラートには出していない"})
    checklists.record(ledger, checklist_id, "channel_hp", operator="tanaka", value={"result": "done"})
    checklist = checklists.get(ledger, checklist_id)
    lalert, hp = checklist.item("channel_lalert"), checklist.item("channel_hp")
    assert lalert.done and lalert.value == {"done": True, "result": "na", "note": "Lアラートには出していない"}
    assert hp.done and hp.value == {"done": True, "result": "done"}
    assert "channel_lalert" not in checklist.missing and "channel_mail" in checklist.missing
    tick = [e for e in events_of(ledger, "checklist.tick") if e.payload["item"] == "channel_lalert"]
    assert tick[-1].payload["value"]["result"] == "na"
    with pytest.raises(InputError):
        checklists.record(ledger, checklist_id, "channel_radio", operator="tanaka", value={"result": "maybe"})


def test_the_apology_is_prefilled_from_what_was_wrong_and_what_is_right(ledger):
    original = sent_post(ledger)
    values = checklists.apology_values(ledger, original, wrong="本郷小学校", right="君原小学校")
    assert values["apology"] == "「本郷小学校」と誤ってお知らせしました。正しくは「君原小学校」です"
    assert values["subject"] == "避難所 開設" and values["original_date"] == "9月1日 12時00分"
    templates = load_templates([BUNDLED_TEMPLATES])
    text = render(templates.get("apology"), values)
    assert "について、「本郷小学校」と誤ってお知らせしました。正しくは「君原小学校」です。" in text
    assert "apology" not in checklists.apology_values(ledger, original, wrong="", right="")
