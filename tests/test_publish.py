"""The publish path itself (core/publish.py) for corrections: reply, fallback, resend."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from clock import Clock
from dutypost.core.checklists import standalone_fallback_text
from dutypost.core.config_loader import load_settings
from dutypost.core.context import DutyContext
from dutypost.core.errors import GateBlocked, InputError, OutcomeUnknown, PublishFailed
from dutypost.core.form import form_data
from dutypost.core.publish import (
    active_override_session,
    compose,
    compose_text,
    end_override_session,
    make_approval,
    make_override,
    publish,
    reconcile,
    resend,
    review,
    start_override_session,
)

REPO = Path(__file__).resolve().parent.parent
JST = timezone(timedelta(hours=9))


@pytest.fixture
def ctx(config_file, practice_server):
    path = config_file(replace={"drill": f'api_base_url = "{practice_server.url}"'})
    settings = load_settings(path)
    context = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=True, clock=Clock())
    yield context
    context.close()


def _override(ctx):
    return make_override(ctx, "誤った投稿への対応", "避難所の名前を誤って投稿したため")


def _post(ctx, text, **kwargs):
    composition = compose_text(ctx, text, template_id=None, emergency=False, threads_allowed=False)
    return publish(ctx, composition, override=_override(ctx), acks=["cost"], **kwargs)


def test_a_correction_replies_to_the_original(ctx, practice_server):
    original = _post(ctx, "中央公民館を開設しました。")
    correction = _post(ctx, "訂正: 開設したのは本郷小学校です。", kind="correction", reply_to_post_id=original.post_id,
                       fallback_text="別の文")
    stored = {p["id"]: p for p in practice_server.posts()}
    assert stored[correction.x_post_ids[0]]["reply_to"] == original.x_post_ids[0]
    assert not correction.reply_fallback


def test_a_correction_of_an_unsent_post_is_refused_before_anything_is_recorded(ctx):
    with pytest.raises(InputError):
        _post(ctx, "訂正です。", kind="correction", reply_to_post_id=999)
    assert ctx.ledger.list_posts() == []


def test_a_resent_correction_still_falls_back_when_x_refuses_the_reply(ctx, practice_server):
    original = _post(ctx, "中央公民館を開設しました。")
    practice_server.inject({"kind": "status", "status": 503})
    text = "【訓練】訂正: 開設したのは本郷小学校です。"
    with pytest.raises(PublishFailed) as failed:
        _post(ctx, text, kind="correction", reply_to_post_id=original.post_id,
              fallback_text=standalone_fallback_text(ctx.ledger, original.post_id, text))
    practice_server.set_refuse_replies(True)
    result = resend(ctx, failed.value.post_id, override=_override(ctx))  # a resend passes the gate again
    assert result.reply_fallback
    sent = practice_server.posts()[0]
    assert sent["reply_to"] is None
    assert sent["text"] == standalone_fallback_text(ctx.ledger, original.post_id, text)
    assert len(practice_server.posts()) == 2


def test_a_refused_reply_records_the_text_that_went_out(ctx, practice_server):
    original = _post(ctx, "中央公民館を開設しました。")
    text = "【訓練】訂正: 開設したのは本郷小学校です。"
    fallback = standalone_fallback_text(ctx.ledger, original.post_id, text)
    practice_server.set_refuse_replies(True)
    result = _post(ctx, text, kind="correction", reply_to_post_id=original.post_id, fallback_text=fallback)
    post = ctx.ledger.get_post(result.post_id)
    assert (post.text, list(post.parts), post.state) == (fallback, [fallback], "sent")
    [refused] = [e for e in ctx.ledger.events(result.post_id) if e.kind == "post.reply_refused"]
    assert refused.payload == {"reply_text": text, "fallback_text": fallback}
    assert ctx.ledger.verify().ok


def test_an_unknown_outcome_of_the_standalone_text_is_found_on_the_timeline_not_sent_twice(ctx, practice_server):
    original = _post(ctx, "中央公民館を開設しました。")
    text = "【訓練】訂正: 開設したのは本郷小学校です。"
    fallback = standalone_fallback_text(ctx.ledger, original.post_id, text)
    practice_server.set_refuse_replies(True)
    # the reply is refused; the standalone post is stored, and its answer never arrives
    practice_server.inject({"kind": "slow", "delay": 0})
    practice_server.inject({"kind": "drop_after_store"})
    with pytest.raises(OutcomeUnknown) as unknown:
        _post(ctx, text, kind="correction", reply_to_post_id=original.post_id, fallback_text=fallback)
    found = reconcile(ctx, unknown.value.post_id)
    assert found.found and ctx.ledger.get_post(unknown.value.post_id).state == "sent"
    assert [p["text"] for p in practice_server.posts()].count(fallback) == 1


def test_a_drill_post_links_to_the_practice_server_not_to_x(ctx, practice_server):
    result = _post(ctx, "中央公民館を開設しました。")
    assert result.url == f"{practice_server.url}/i/web/status/{result.x_post_ids[0]}"
    import httpx

    page = httpx.get(result.url)
    assert page.status_code == 200 and "中央公民館" in page.text


# -- a night of overrides (緊急オーバーライドの時間枠) and the issuing department (issue 12 items 7-8) --

NIGHT = datetime(2026, 9, 1, 13, 0, tzinfo=timezone.utc)  # Tuesday 22:00 JST, out of hours
LIFE = "生命・身体・財産の保護に必要な緊急情報"
NIGHT_REASON = "台風の接近で夜通し避難情報を出す必要があり、課長に連絡がつかないため"
WASTE = "廃棄物対策課・霞クリーンセンター・さくらクリーンセンター"
GARBAGE_OPERATOR = """
[[operators]]
id = "kato"
name = "加藤 五郎"
department = "廃棄物対策課・霞クリーンセンター・さくらクリーンセンター"
roles = ["poster", "approver"]
"""


@pytest.fixture
def night(config_file, practice_server, tmp_path):
    """Tanaka (防災危機管理課, poster only) in drill mode on the practice server, with an
    approver of 廃棄物対策課 and a site template for ごみ収集 issued by 廃棄物対策課."""
    site = tmp_path / "site-templates"
    site.mkdir()
    garbage = (REPO / "templates" / "garbage-change.toml").read_text(encoding="utf-8")
    (site / "garbage-change.toml").write_text('department = "廃棄物対策課"\n' + garbage, encoding="utf-8")
    path = config_file(replace={"drill": f'api_base_url = "{practice_server.url}"',
                                "templates": f'site_dir = "{site}"'},
                       extra=GARBAGE_OPERATOR)
    settings = load_settings(path)
    clock = Clock(NIGHT)
    context = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=True, clock=clock)
    yield context, clock
    context.close()


def _night_post(ctx, text, **kwargs):
    composition = compose_text(ctx, text, template_id=None, emergency=True, threads_allowed=False,
                               category="避難情報")
    return publish(ctx, composition, acks=["cost"], **kwargs)


def test_a_session_covers_three_posts_over_a_night_and_each_awaits_post_hoc_approval(night, practice_server):
    ctx, clock = night
    session = start_override_session(ctx, LIFE, NIGHT_REASON, hours=10)
    assert session.ends_at == NIGHT + timedelta(hours=10)
    post_ids = []
    for hour, text in ((22, "22時00分現在、本郷地区に避難指示を発令しています。"),
                       (1, "1時00分現在、本郷地区の避難指示を継続しています。"),
                       (4, "4時00分現在、本郷地区の避難指示を継続しています。")):
        assert ctx.now().astimezone(JST).hour == hour
        post_ids.append(_night_post(ctx, text).post_id)
        clock.advance(hours=3)
    assert len(practice_server.posts()) == 3
    for post_id in post_ids:
        post = ctx.ledger.get_post(post_id)
        assert post.state == "sent"
        assert (post.override["category"], post.override["reason"]) == (LIFE, NIGHT_REASON)
        assert post.override["session_id"] == session.id
        assert set(post.override["lifted"]) == {"hours", "approval"}
        assert post.as_json()["override_session_id"] == session.id
        [used] = [e for e in ctx.ledger.events(post_id) if e.kind == "override.used"]
        assert used.payload["session_id"] == session.id
    assert sorted(p.id for p in ctx.ledger.awaiting_post_hoc_approval()) == sorted(post_ids)
    rows = dict(form_data(ctx.ledger, ctx.settings, post_ids[1], templates=ctx.templates).rows())
    assert f"緊急オーバーライド (時間枠 #{session.id}): {LIFE} / 理由: {NIGHT_REASON}" in rows["備考"]
    assert rows["決裁欄 課長"] == "事後承認待ち"
    started = [e for e in ctx.ledger.events() if e.kind == "override_session.started"]
    assert [e.payload["session_id"] for e in started] == [session.id]
    assert started[0].payload["reason"] == NIGHT_REASON
    # 08:30 the next morning the session (22:00 + 10 h) is over: a post without approval stops.
    clock.at = NIGHT + timedelta(hours=10, minutes=30)
    assert active_override_session(ctx) is None
    with pytest.raises(GateBlocked) as blocked:
        _night_post(ctx, "8時30分現在、本郷地区の避難指示を継続しています。")
    assert "承認" in blocked.value.message + blocked.value.hint
    assert len(practice_server.posts()) == 3
    assert ctx.ledger.verify().ok


def test_a_resend_in_the_night_passes_the_gate_under_the_session_and_links_its_override(night, practice_server):
    ctx, clock = night
    practice_server.inject({"kind": "status", "status": 503})
    with pytest.raises(GateBlocked):  # no session yet: out of hours and unapproved
        _night_post(ctx, "22時00分現在、本郷地区に避難指示を発令しています。")
    session = start_override_session(ctx, LIFE, NIGHT_REASON, hours=8)
    with pytest.raises(PublishFailed) as failed:
        _night_post(ctx, "22時00分現在、本郷地区に避難指示を発令しています。")
    post_id = failed.value.post_id
    assert ctx.ledger.get_post(post_id).override["session_id"] == session.id
    clock.advance(minutes=10)  # a resend is a publish: the gate runs again, under the same session
    result = resend(ctx, post_id, acks=["stale-time"])
    assert ctx.ledger.get_post(result.post_id).state == "sent"
    [resent] = [e for e in ctx.ledger.events(post_id) if e.kind == "post.resend"]
    assert resent.payload["override"] == {"category": LIFE, "reason": NIGHT_REASON, "session_id": session.id}
    end_override_session(ctx)
    assert ctx.ledger.verify().ok


def test_a_session_longer_than_twelve_hours_is_refused(night):
    ctx, _ = night
    with pytest.raises(InputError) as refused:
        start_override_session(ctx, LIFE, NIGHT_REASON, hours=12.5)
    assert "12 時間まで" in refused.value.message
    with pytest.raises(ValueError):
        ctx.ledger.start_override_session(operator="tanaka", category=LIFE, reason=NIGHT_REASON, starts_at=NIGHT,
                                          ends_at=NIGHT + timedelta(hours=13), drill=True)
    with pytest.raises(InputError):
        start_override_session(ctx, LIFE, "短い", hours=8)  # the justification rule still holds
    assert ctx.ledger.list_override_sessions() == []
    assert start_override_session(ctx, LIFE, NIGHT_REASON, hours=12).ends_at == NIGHT + timedelta(hours=12)
    with pytest.raises(InputError):  # one at a time
        start_override_session(ctx, LIFE, NIGHT_REASON, hours=2)


def test_an_ended_session_no_longer_applies(night, practice_server):
    ctx, clock = night
    session = start_override_session(ctx, LIFE, NIGHT_REASON, hours=8)
    _night_post(ctx, "22時00分現在、本郷地区に避難指示を発令しています。")
    clock.advance(minutes=40)
    ended = end_override_session(ctx)
    assert ended.id == session.id and ended.until == NIGHT + timedelta(minutes=40)
    [event] = [e for e in ctx.ledger.events() if e.kind == "override_session.ended"]
    assert event.payload["session_id"] == session.id and event.operator == "tanaka"
    clock.advance(minutes=5)
    assert active_override_session(ctx) is None
    with pytest.raises(GateBlocked) as blocked:
        _night_post(ctx, "22時45分現在、本郷地区の避難指示を継続しています。")
    assert "時間外" in blocked.value.message + blocked.value.hint
    assert len(practice_server.posts()) == 1
    with pytest.raises(InputError):
        end_override_session(ctx)
    assert ctx.ledger.verify().ok


def test_a_drill_session_does_not_cover_a_live_post(night):
    ctx, _ = night
    start_override_session(ctx, LIFE, NIGHT_REASON, hours=8)
    live = DutyContext(settings=ctx.settings, operator=ctx.operator, drill=False, clock=ctx.clock)
    try:
        assert active_override_session(live) is None
        composition = compose_text(live, "22時00分現在、避難指示を発令しています。", template_id=None, emergency=True,
                                   threads_allowed=False)
        assert review(live, composition, acks=["cost"]).decision.needs_override
    finally:
        live.close()


def test_an_override_category_that_does_not_fit_the_template_is_a_warning(night, practice_server):
    ctx, _ = night
    start_override_session(ctx, LIFE, NIGHT_REASON, hours=8)
    garbage = ctx.templates.get("garbage-change")
    composition = compose(ctx, garbage, garbage.examples)
    result = review(ctx, composition, acks=["cost"])
    assert [f.rule for f in result.unacknowledged] == ["override-fit"]
    [fit] = result.unacknowledged
    assert fit.severity == "warn" and LIFE in fit.message and "生活" in fit.message
    assert "--ack override-fit" in result.explain()
    with pytest.raises(GateBlocked):
        publish(ctx, composition, acks=["cost"])
    assert practice_server.posts() == []
    # Acknowledged, it goes out under the session; the fitting category gives no warning.
    sent = publish(ctx, composition, acks=["cost", "override-fit"])
    assert ctx.ledger.get_post(sent.post_id).override["session_id"] is not None
    evac = compose_text(ctx, "22時00分現在、避難指示を発令しています。", template_id=None, emergency=True,
                        threads_allowed=False, category="避難情報")
    assert "override-fit" not in {f.rule for f in review(ctx, evac, acks=["cost"]).decision.findings}
    other = make_override(ctx, "その他やむを得ない事情", NIGHT_REASON)
    assert "override-fit" not in {f.rule for f in review(ctx, composition, override=other).decision.findings}


def test_the_issuing_departments_approver_is_required_not_the_posters_own(night, practice_server):
    ctx, clock = night
    clock.at = NIGHT - timedelta(hours=10)  # Tuesday 12:00 JST, in hours: only approval is in question
    garbage = ctx.templates.get("garbage-change")
    assert garbage.department == "廃棄物対策課"
    composition = compose(ctx, garbage, garbage.examples)
    own = make_approval(ctx, "suzuki", "phone")  # 防災危機管理課長: tanaka's own department
    result = review(ctx, composition, approval=own, acks=["cost"])
    assert result.department == WASTE
    assert "廃棄物対策課" in (result.decision.approval_problem or "")
    with pytest.raises(GateBlocked):
        publish(ctx, composition, approval=own, acks=["cost"])
    assert practice_server.posts() == []
    sent = publish(ctx, composition, approval=make_approval(ctx, "kato", "phone"), acks=["cost"])
    post = ctx.ledger.get_post(sent.post_id)
    assert post.department == WASTE and post.approval["approver"] == "kato"
    rows = dict(form_data(ctx.ledger, ctx.settings, sent.post_id, templates=ctx.templates).rows())
    assert rows["情報配信部署"] == WASTE
    assert "防災危機管理課" in rows["起案者"]
    # The officer names the department for a post from no template; the default stays the poster's.
    text = compose_text(ctx, "9月2日の燃やせるごみの収集は中止します。", template_id=None, emergency=False,
                        threads_allowed=False)
    assert review(ctx, text, approval=own, acks=["cost"]).decision.approval_problem is None
    assert review(ctx, text, approval=own, acks=["cost"], department="廃棄物対策課").decision.approval_problem
    with pytest.raises(InputError) as unknown:
        review(ctx, text, approval=own, department="ごみ課")
    assert "ごみ課" in unknown.value.message and "[[departments]]" in unknown.value.message


# -- a checklist item's post: publish takes its purpose (DraftPurpose) -----------------------


def _correction_checklist(ctx, original_post_id):
    from dutypost.core import checklists

    return checklists.start(ctx.ledger, kind="correction", operator="tanaka", post_id=original_post_id)


def test_a_correction_with_its_purpose_replies_and_is_recorded_on_its_checklist(ctx, practice_server):
    from dutypost.core import checklists
    from dutypost.core.ledger import DraftPurpose

    original = _post(ctx, "中央公民館を開設しました。")
    checklist_id = _correction_checklist(ctx, original.post_id)
    purpose = DraftPurpose(checklist_id=checklist_id, item_key="correction_post", kind="correction",
                           reply_to_post_id=original.post_id)
    result = _post(ctx, "【訓練】訂正: 開設したのは本郷小学校です。", purpose=purpose)
    post = ctx.ledger.get_post(result.post_id)
    assert (post.kind, post.reply_to_post_id) == ("correction", original.post_id)
    stored = {p["id"]: p for p in practice_server.posts()}
    assert stored[result.x_post_ids[0]]["reply_to"] == original.x_post_ids[0]
    assert not result.reply_fallback
    assert checklists.get(ctx.ledger, checklist_id).item("correction_post").value == {"post_id": result.post_id}
    linked = [e for e in ctx.ledger.events(original.post_id) if e.kind == "post.correction_linked"]
    assert linked[0].payload["correction_post_id"] == result.post_id
    assert result.checklist_note == f"チェックリスト #{checklist_id} に投稿 #{result.post_id} を記録しました。"


def test_a_correction_with_its_purpose_falls_back_to_the_standalone_text_itself(ctx, practice_server):
    from dutypost.core import checklists
    from dutypost.core.ledger import DraftPurpose

    original = _post(ctx, "中央公民館を開設しました。")
    checklist_id = _correction_checklist(ctx, original.post_id)
    purpose = DraftPurpose(checklist_id=checklist_id, item_key="correction_post", kind="correction",
                           reply_to_post_id=original.post_id)
    text = "【訓練】訂正: 開設したのは本郷小学校です。"
    fallback = standalone_fallback_text(ctx.ledger, original.post_id, text)
    practice_server.set_refuse_replies(True)
    result = _post(ctx, text, purpose=purpose)
    assert result.reply_fallback
    sent = practice_server.posts()[0]
    assert sent["reply_to"] is None and sent["text"] == fallback
    assert ctx.ledger.get_post(result.post_id).reply_to_post_id == original.post_id  # the link is kept
    assert checklists.get(ctx.ledger, checklist_id).item("correction_post").value == {"post_id": result.post_id}


def test_a_failed_checklist_post_is_still_recorded_on_its_item_and_resent_by_the_same_rules(ctx, practice_server):
    from dutypost.core import checklists
    from dutypost.core.ledger import DraftPurpose

    original = _post(ctx, "中央公民館を開設しました。")
    checklist_id = _correction_checklist(ctx, original.post_id)
    purpose = DraftPurpose(checklist_id=checklist_id, item_key="correction_post", kind="correction",
                           reply_to_post_id=original.post_id)
    text = "【訓練】訂正: 開設したのは本郷小学校です。"
    practice_server.inject({"kind": "status", "status": 503})
    with pytest.raises(PublishFailed) as failed:
        _post(ctx, text, purpose=purpose)
    post_id = failed.value.post_id
    assert failed.value.checklist_note == f"チェックリスト #{checklist_id} に投稿 #{post_id} を記録しました。"
    assert checklists.get(ctx.ledger, checklist_id).item("correction_post").value == {"post_id": post_id}
    practice_server.set_refuse_replies(True)
    result = resend(ctx, post_id, override=_override(ctx))  # `dutypost outbox resend`: the reply is tried, then the standalone text
    assert result.reply_fallback
    assert practice_server.posts()[0]["text"] == standalone_fallback_text(ctx.ledger, original.post_id, text)
    assert ctx.ledger.get_post(post_id).state == "sent"


def test_an_incident_notice_with_its_purpose_is_standalone_and_recorded_on_its_item(ctx, practice_server):
    from dutypost.core import checklists
    from dutypost.core.ledger import DraftPurpose

    checklist_id = checklists.start(ctx.ledger, kind="flaming", operator="tanaka", post_id=None)
    purpose = DraftPurpose(checklist_id=checklist_id, item_key="responding_post", kind="post", reply_to_post_id=None)
    result = _post(ctx, "【訓練】避難所の運営について、防災危機管理課で対応しています。", purpose=purpose)
    assert practice_server.posts()[0]["reply_to"] is None
    assert ctx.ledger.get_post(result.post_id).kind == "post"
    assert checklists.get(ctx.ledger, checklist_id).item("responding_post").value == {"post_id": result.post_id}


def test_a_purpose_whose_checklist_cannot_record_it_says_so_and_the_post_still_goes_out(ctx, practice_server):
    from dutypost.core import checklists
    from dutypost.core.ledger import DraftPurpose

    checklist_id = checklists.start(ctx.ledger, kind="flaming", operator="tanaka", post_id=None)
    purpose = DraftPurpose(checklist_id=checklist_id, item_key="no_such_item", kind="post", reply_to_post_id=None)
    result = _post(ctx, "【訓練】避難所の運営について、防災危機管理課で対応しています。", purpose=purpose)
    assert ctx.ledger.get_post(result.post_id).state == "sent"
    assert result.checklist_note.startswith("チェックリストに記録できませんでした: ")


# -- reconciliation against the practice server's X-like mode (issue 11 item 1, issue 17) -----

import time
from datetime import datetime, timedelta, timezone

from dutypost.core.errors import GateBlocked
from dutypost.core.publish import make_approval
from dutypost.core.xapi import XClient
from dutypost.core.demo_account import DEMO_CREDENTIALS

TRICKY = "避難所 A&B <中央公民館> を開設しました。詳細 https://www.town.ami.lg.jp/bousai/hinan.html?a=1&b=2 をご覧ください。"
GRACE = 300


@pytest.fixture
def xctx(config_file, x_like_server):
    """A drill context on the practice server in its X-like mode (escaped text, t.co links)."""
    path = config_file(replace={"drill": f'api_base_url = "{x_like_server.url}"',
                                "x": f"reconcile_grace_seconds = {GRACE}"})
    settings = load_settings(path)
    context = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=True, clock=Clock())
    yield context
    context.close()


def _copies(server, text):
    return [p["text"] for p in server.posts()].count(text)


def _unknown(ctx, server, fault, text=TRICKY):
    server.inject(fault)
    with pytest.raises(OutcomeUnknown) as unknown:
        _post(ctx, text)
    post_id = unknown.value.post_id
    assert ctx.ledger.get_post(post_id).state == "unknown"
    return post_id


def test_an_unknown_post_with_entities_and_a_url_is_found_as_x_returns_it(xctx, x_like_server):
    post_id = _unknown(xctx, x_like_server, {"kind": "drop_after_store"})
    stored = x_like_server.posts()[0]
    timeline = XClient(x_like_server.url, DEMO_CREDENTIALS, timeout=5).user_posts("1000000001")
    assert "&amp;" in timeline[0]["text"] and "https://t.co/" in timeline[0]["text"]  # X's answer, not ours
    found = reconcile(xctx, post_id)
    assert found.found and found.state == "sent"
    post = xctx.ledger.get_post(post_id)
    assert (post.state, post.x_post_ids) == ("sent", [stored["id"]])
    assert _copies(x_like_server, post.text) == 1


def test_an_unknown_post_beyond_the_first_page_is_found(xctx, x_like_server):
    post_id = _unknown(xctx, x_like_server, {"kind": "drop_after_store"})
    with XClient(x_like_server.url, DEMO_CREDENTIALS, timeout=5) as client:  # 105 newer posts: ours is on page 2
        for n in range(105):
            client.create_post(f"【訓練】給水所 {n} を開設しました。")
    first_page = XClient(x_like_server.url, DEMO_CREDENTIALS, timeout=5).user_posts("1000000001")
    assert len(first_page) == 100 and all("A&amp;B" not in p["text"] for p in first_page)
    found = reconcile(xctx, post_id)
    assert found.found
    post = xctx.ledger.get_post(post_id)
    assert post.state == "sent"
    assert _copies(x_like_server, post.text) == 1


def test_a_post_checked_inside_the_lag_stays_unknown_and_is_found_later(xctx, x_like_server):
    x_like_server.set_mode(timeline_lag=2)
    post_id = _unknown(xctx, x_like_server, {"kind": "drop_after_store"})
    early = reconcile(xctx, post_id)
    assert (early.found, early.state) == (False, "unknown")
    assert xctx.ledger.get_post(post_id).state == "unknown"
    assert "まだ見つかりません" in early.message and f"dutypost outbox resolve {post_id}" in early.message
    assert early.look_again_at == xctx.now() + timedelta(seconds=GRACE)
    assert "12時05分以降" in early.message  # 12:00 JST + the 300-second grace
    with pytest.raises(InputError):  # still not a resend
        resend(xctx, post_id)
    time.sleep(2.2)
    later = reconcile(xctx, post_id)
    assert later.found and xctx.ledger.get_post(post_id).state == "sent"
    assert _copies(x_like_server, xctx.ledger.get_post(post_id).text) == 1


def test_a_miss_after_the_grace_is_failed_and_the_resend_goes_out_once(xctx, x_like_server):
    post_id = _unknown(xctx, x_like_server, {"kind": "reset_before_store"})
    assert reconcile(xctx, post_id).state == "unknown"  # inside the grace: not evidence
    xctx.clock.advance(seconds=GRACE + 1)
    late = reconcile(xctx, post_id)
    assert (late.found, late.state) == (False, "failed")
    assert "ありませんでした" in late.message and f"outbox resend {post_id}" in late.message
    result = resend(xctx, post_id, override=_override(xctx))
    assert not result.found_on_timeline
    post = xctx.ledger.get_post(post_id)
    assert post.state == "sent"
    assert _copies(x_like_server, post.text) == 1


def _failed_but_stored(ctx, server, fault):
    """X stored the post and answered badly; a resolve inside the timeline's lag, after the
    grace, made it ``failed`` (the path that used to end in a double post)."""
    server.set_mode(timeline_lag=3)
    post_id = _unknown(ctx, server, fault)
    ctx.clock.advance(seconds=GRACE + 1)
    assert reconcile(ctx, post_id).state == "failed"
    return post_id


def test_a_resend_refused_as_a_duplicate_is_looked_up_and_recorded_sent(xctx, x_like_server):
    post_id = _failed_but_stored(xctx, x_like_server, {"kind": "store_then_500"})
    result = resend(xctx, post_id, override=_override(xctx))  # X: 403 duplicate; the timeline catches up
    assert result.found_on_timeline
    post = xctx.ledger.get_post(post_id)
    assert post.state == "sent" and post.x_post_ids == [x_like_server.posts()[0]["id"]]
    assert _copies(x_like_server, post.text) == 1
    kinds = [e.kind for e in xctx.ledger.events(post_id)]
    assert kinds[kinds.index("post.resend"):] == ["post.resend", "post.sending", "post.sent"]  # X said duplicate
    resent = [e for e in xctx.ledger.events(post_id) if e.kind == "post.resend"]
    assert resent[0].operator == "tanaka" and resent[0].payload["resent_by"] == "tanaka"


def test_resolve_works_on_a_failed_post_that_x_has(xctx, x_like_server):
    post_id = _failed_but_stored(xctx, x_like_server, {"kind": "store_then_500"})
    time.sleep(3.2)
    found = reconcile(xctx, post_id)
    assert found.found and xctx.ledger.get_post(post_id).state == "sent"
    assert _copies(x_like_server, xctx.ledger.get_post(post_id).text) == 1


@pytest.mark.parametrize("fault", [{"kind": "store_then_500"}, {"kind": "store_then_reset"},
                                   {"kind": "store_then_garbage", "status": 201},
                                   {"kind": "store_then_garbage", "status": 200}])
def test_an_answer_that_is_not_a_clear_no_is_unknown_and_found(xctx, x_like_server, fault):
    post_id = _unknown(xctx, x_like_server, fault)
    assert reconcile(xctx, post_id).found
    post = xctx.ledger.get_post(post_id)
    assert post.state == "sent"
    assert _copies(x_like_server, post.text) == 1


def test_a_clear_no_is_failed(xctx, x_like_server):
    x_like_server.inject({"kind": "status", "status": 503})
    with pytest.raises(PublishFailed) as failed:
        _post(xctx, TRICKY)
    assert xctx.ledger.get_post(failed.value.post_id).state == "failed"
    assert x_like_server.posts() == []


# -- a resend is a publish (issue 17 item 2) ----------------------------------------------------

TUESDAY_1345 = datetime(2026, 9, 1, 4, 45, tzinfo=timezone.utc)  # 13:45 JST
SATURDAY_0000 = datetime(2026, 9, 4, 15, 0, tzinfo=timezone.utc)  # 00:00 JST, Saturday
STAMPED = "【訓練】13時45分現在、中央公民館に避難所を開設しています。"


def _failed_tuesday(ctx, server):
    ctx.clock.at = TUESDAY_1345
    composition = compose_text(ctx, STAMPED, template_id=None, emergency=False, threads_allowed=False)
    server.inject({"kind": "status", "status": 503})
    with pytest.raises(PublishFailed) as failed:
        publish(ctx, composition, approval=make_approval(ctx, "suzuki", "phone"), acks=["cost"])
    assert server.posts() == []
    return failed.value.post_id


def test_a_resend_on_saturday_night_needs_an_override_and_a_fresh_time(xctx, x_like_server):
    post_id = _failed_tuesday(xctx, x_like_server)
    xctx.clock.at = SATURDAY_0000
    with pytest.raises(GateBlocked) as blocked:
        resend(xctx, post_id)
    rules = {f.rule for f in blocked.value.review.decision.blocking} | {f.rule for f in blocked.value.review.unacknowledged}
    assert {"hours", "stale-time"} <= rules
    assert "勤務時間外" in blocked.value.message + blocked.value.hint
    override = make_override(xctx, "生命・身体・財産の保護に必要な緊急情報", "夜間も避難所の開設を周知する必要があるため")
    with pytest.raises(GateBlocked) as stale:  # the override lifts hours, never the stale 「現在」
        resend(xctx, post_id, override=override)
    assert [f.rule for f in stale.value.review.unacknowledged] == ["stale-time"]
    assert x_like_server.posts() == []
    assert xctx.ledger.get_post(post_id).state == "failed"
    result = resend(xctx, post_id, override=override, acks=["stale-time"])
    post = xctx.ledger.get_post(post_id)
    assert post.state == "sent" and result.x_post_ids == tuple(post.x_post_ids)
    assert post.override["category"] == "生命・身体・財産の保護に必要な緊急情報"
    [event] = [e for e in xctx.ledger.events(post_id) if e.kind == "post.resend"]
    assert event.operator == "tanaka" and event.payload["lifted"] == ["hours"]
    assert "stale-time" in event.payload["acks"]
    assert _copies(x_like_server, STAMPED) == 1
    assert xctx.ledger.verify().ok


def test_a_resend_by_an_operator_without_the_poster_role_is_blocked(xctx, x_like_server, config_file):
    post_id = _failed_tuesday(xctx, x_like_server)
    other = DutyContext(settings=xctx.settings, operator=xctx.settings.operator("takahashi"), drill=True,
                        clock=xctx.clock)
    try:
        with pytest.raises(GateBlocked) as blocked:
            resend(other, post_id, acks=["stale-time"])
        assert "role" in {f.rule for f in blocked.value.review.decision.blocking}
    finally:
        other.close()
    assert x_like_server.posts() == []
    result = resend(xctx, post_id)  # the poster, still on Tuesday afternoon: the first approval holds
    assert xctx.ledger.get_post(result.post_id).state == "sent"
    [event] = [e for e in xctx.ledger.events(post_id) if e.kind == "post.resend"]
    assert event.payload["resent_by"] == "tanaka" and event.payload["approval"]["approver"] == "suzuki"
    assert _copies(x_like_server, STAMPED) == 1


def test_a_long_post_of_an_account_allowed_long_posts_is_found_by_its_note_tweet(config_file, x_like_server):
    path = config_file(replace={"drill": f'api_base_url = "{x_like_server.url}"',
                                "x": "max_weighted_length = 4000"})
    settings = load_settings(path)
    ctx = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=True, clock=Clock())
    try:
        text = "中央公民館 & 本郷小学校に避難所を開設しました。" * 12
        post_id = _unknown(ctx, x_like_server, {"kind": "drop_after_store"}, text=text)
        timeline = XClient(x_like_server.url, DEMO_CREDENTIALS, timeout=5).user_posts("1000000001")
        assert timeline[0]["text"].endswith("…")  # X cuts it; only note_tweet has it whole
        assert reconcile(ctx, post_id).found
        post = ctx.ledger.get_post(post_id)
        assert post.state == "sent" and len(post.parts) == 1
        assert _copies(x_like_server, post.text) == 1
    finally:
        ctx.close()


def test_a_page_the_config_lacks_goes_out_without_its_link_and_says_which_key(config_file, practice_server):
    """Issue 13: a freshly initialised config has no [municipality.pages]; shelter-open still
    goes out at 03:00, without its link, and compose and the gate say which key to write."""
    path = config_file(replace={"drill": f'api_base_url = "{practice_server.url}"',
                                "municipality.pages": 'bosai = "/bousai/"'})
    settings = load_settings(path)
    ctx = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=True, clock=Clock(),
                      config_path=path)
    try:
        template = ctx.templates.get("shelter-open")
        composition = compose(ctx, template, {**template.examples, "time": "12時00分"})  # the clock's time
        assert "https://" not in composition.text and composition.text.endswith("#阿見町 #避難所")
        [note] = composition.notes
        assert (note.rule, note.severity) == ("page", "info")
        assert str(path) in note.message and "[municipality.pages] に shelters = " in note.message
        result = review(ctx, composition, acks=["cost"], override=_override(ctx))
        assert note in result.decision.findings and not result.decision.blocking
        sent = publish(ctx, composition, override=_override(ctx), acks=["cost"])
        assert "https://" not in practice_server.posts()[-1]["text"] and sent.x_post_ids
    finally:
        ctx.close()
