"""The publish path itself (core/publish.py) for corrections: reply, fallback, resend."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from clock import Clock
from dutypost.core.checklists import standalone_fallback_text
from dutypost.core.config import load_settings
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


def _post(ctx, text, **kwargs):
    composition = compose_text(ctx, text, template_id=None, emergency=False, threads_allowed=False)
    override = make_override(ctx, "誤った投稿への対応", "避難所の名前を誤って投稿したため")
    return publish(ctx, composition, override=override, acks=["cost"], **kwargs)


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
    result = resend(ctx, failed.value.post_id)
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
id = "yamada"
name = "山田 四郎"
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
    sent = publish(ctx, composition, approval=make_approval(ctx, "yamada", "phone"), acks=["cost"])
    post = ctx.ledger.get_post(sent.post_id)
    assert post.department == WASTE and post.approval["approver"] == "yamada"
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
