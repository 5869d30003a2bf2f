"""What is in force (発令中), the follow-up on other channels and the handover page:
real ledger files, posts published through the real practice server on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3

import pytest
from clock import Clock

from dutypost.core import followups
from dutypost.core.config_loader import load_settings
from dutypost.core.context import DutyContext
from dutypost.core.errors import InputError
from dutypost.core.handover import handover_data, render, write_file
from dutypost.core.in_force import in_force, lift_values, places
from dutypost.core.ledger import SCHEMA_VERSION, Ledger
from dutypost.core.publish import compose, make_override, publish

EVAC = {"time": "18時40分", "reason": "土砂災害の危険が高まったため", "area": "本郷地区", "shelter": "本郷小学校"}
LIFT = {"time": "9時00分", "reason": "レベル4土砂災害危険警報が解除されたため", "area": "本郷地区"}


def make_ctx(config_file, practice_server, *, drill: bool, clock: Clock | None = None, followup: str = ""):
    replace = {"drill": f'api_base_url = "{practice_server.url}"',
               "x": f'api_base_url = "{practice_server.url}"\ntimeout_seconds = 2'}
    if followup:
        replace["followup"] = followup
    path = config_file(replace=replace)
    settings = load_settings(path)
    return DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=drill,
                       clock=clock or Clock())


@pytest.fixture
def ctx(config_file, practice_server, monkeypatch):
    from dutypost.core.demo_account import DEMO_CREDENTIALS

    for name, value in (("CONSUMER_KEY", DEMO_CREDENTIALS.consumer_key),
                        ("CONSUMER_SECRET", DEMO_CREDENTIALS.consumer_secret),
                        ("ACCESS_TOKEN", DEMO_CREDENTIALS.access_token),
                        ("ACCESS_TOKEN_SECRET", DEMO_CREDENTIALS.access_token_secret)):
        monkeypatch.setenv(f"DUTYPOST_X__{name}", value)
    context = make_ctx(config_file, practice_server, drill=True)
    yield context
    context.close()


def post(ctx, template_id: str, values: dict[str, str]) -> int:
    from dutypost.core.gate import override_fits

    template = ctx.templates.get(template_id)
    composition = compose(ctx, template, values)
    category = "生命・身体・財産の保護に必要な緊急情報"  # a ごみ収集 post takes a category that fits it (override-fit)
    if not override_fits(ctx.settings, category, template.category, template.emergency):
        category = "その他やむを得ない事情"
    override = make_override(ctx, category, "台風で土砂災害の危険が高まったため")
    result = publish(ctx, composition, override=override, acks=["cost", "same-template", "duplicate", "stale-time"])  # the story's own clock times
    ctx.clock.advance(minutes=5)
    return result.post_id


def test_the_bundled_pairs_lift_what_they_name():
    from dutypost.core.config import BUNDLED_TEMPLATES
    from dutypost.core.in_force import pairs
    from dutypost.core.templates import load_templates

    templates = load_templates([BUNDLED_TEMPLATES])
    found = {issuer: lift.id for issuer, lift in pairs(templates).items()}
    assert found == {"evac-l3": "evac-l3-lift", "evac-l4": "evac-l4-lift", "evac-l5": "evac-l5-lift",
                     "shelter-open": "shelter-close", "road-closed": "road-reopened",
                     "tsunami-warning": "tsunami-lift"}
    for issuer, lift in found.items():
        assert templates.get(issuer).board_key and templates.get(issuer).board_key == templates.get(lift).board_key


def test_an_evacuation_order_is_on_the_board_until_it_is_lifted(ctx, practice_server):
    order = post(ctx, "evac-l4", EVAC)
    board = in_force(ctx.ledger, ctx.templates, drill=True)
    assert [(b.template_id, b.level, b.place, b.post_id) for b in board] == [("evac-l4", 4, "本郷地区", order)]
    assert board[0].title == "警戒レベル4 避難指示" and board[0].lift_template == "evac-l4-lift"
    assert ctx.ledger.get_post(order).values["area"] == "本郷地区"
    prefilled = lift_values(board[0], ctx.templates.get("evac-l4-lift"))
    assert prefilled == {"area": "本郷地区"}
    post(ctx, "evac-l4-lift", {**LIFT, **prefilled})
    assert in_force(ctx.ledger, ctx.templates, drill=True) == []
    assert len(practice_server.posts()) == 2


def test_a_lift_clears_only_the_places_it_names(ctx):
    post(ctx, "evac-l4", {**EVAC, "area": "本郷地区、君原地区"})
    post(ctx, "shelter-open", {"time": "17時00分", "shelter": "本郷小学校、中央公民館"})
    assert places("本郷地区、君原地区") == ["本郷地区", "君原地区"]
    board = in_force(ctx.ledger, ctx.templates, drill=True)
    assert sorted((b.template_id, b.place) for b in board) == [
        ("evac-l4", "君原地区"), ("evac-l4", "本郷地区"), ("shelter-open", "中央公民館"), ("shelter-open", "本郷小学校")]
    post(ctx, "evac-l4-lift", {**LIFT, "area": "本郷地区"})
    post(ctx, "shelter-close", {"time": "10時00分", "shelter": "中央公民館"})
    board = in_force(ctx.ledger, ctx.templates, drill=True)
    assert sorted((b.template_id, b.place) for b in board) == [("evac-l4", "君原地区"), ("shelter-open", "本郷小学校")]
    post(ctx, "evac-l4-lift", {**LIFT, "area": "君原地区"})
    post(ctx, "shelter-close", {"time": "11時00分", "shelter": "本郷小学校"})
    assert in_force(ctx.ledger, ctx.templates, drill=True) == []


def test_drill_and_live_have_boards_of_their_own_and_a_failed_post_is_not_in_force(ctx, practice_server):
    post(ctx, "evac-l3", {**EVAC, "time": "15時20分"})
    assert len(in_force(ctx.ledger, ctx.templates, drill=True)) == 1
    assert in_force(ctx.ledger, ctx.templates, drill=False) == []
    practice_server.inject({"kind": "status", "status": 503})
    with pytest.raises(Exception):
        post(ctx, "road-closed", {"time": "13時45分", "road": "県道1号", "reason": "冠水のため"})
    assert [b.template_id for b in in_force(ctx.ledger, ctx.templates, drill=True)] == ["evac-l3"]


def test_the_tsunami_board_names_the_warning_and_the_lift_is_prefilled_with_it(ctx):
    post(ctx, "tsunami-warning", {"time": "16時12分", "warning": "津波警報", "region": "茨城県",
                                  "action": ctx.templates.get("tsunami-warning").field("action").choices[0]})
    (line,) = in_force(ctx.ledger, ctx.templates, drill=True)
    assert (line.title, line.place, line.level) == ("津波警報", "茨城県", None)
    assert lift_values(line, ctx.templates.get("tsunami-lift")) == {"warning": "津波警報", "region": "茨城県"}
    assert json.loads(json.dumps(line.as_json()))["place"] == "茨城県"


def test_the_schema_upgrade_keeps_old_posts_with_no_values(tmp_path):
    path = tmp_path / "old.sqlite3"
    with Ledger(path) as ledger:
        post_id = ledger.create_post(operator="tanaka", department="防災危機管理課", template_id="evac-l4",
                                     text="x", parts=["x"], drill=False)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.execute("UPDATE posts SET field_values = '{}'")
    with Ledger(path) as ledger:
        assert ledger.get_post(post_id).values == {}


# -- follow-up on other channels (他の媒体への連絡) ------------------------------------


def test_an_emergency_post_opens_a_follow_up_that_each_channel_closes(ctx):
    order = post(ctx, "evac-l4", EVAC)
    post(ctx, "garbage-change", {k: v.example for k, v in
                                 ((f.name, f) for f in ctx.templates.get("garbage-change").fields)})
    channels = ctx.settings.followup_channels()
    assert channels == ["HP", "メール配信 (あみメール)", "Lアラート", "防災行政無線"]
    (open_one,) = followups.open_followups(ctx.ledger, ctx.settings, ctx.templates, drill=True, now=ctx.now())
    assert open_one.post.id == order and open_one.missing == channels
    with pytest.raises(InputError, match="理由"):
        followups.record(ctx.ledger, ctx.settings, order, "防災行政無線", result="na", operator="tanaka")
    with pytest.raises(InputError, match="設定にありません"):
        followups.record(ctx.ledger, ctx.settings, order, "FAX", result="done", operator="tanaka")
    for channel in channels[:3]:
        followups.record(ctx.ledger, ctx.settings, order, channel, result="done", operator="tanaka")
    (open_one,) = followups.open_followups(ctx.ledger, ctx.settings, ctx.templates, drill=True, now=ctx.now())
    assert open_one.missing == ["防災行政無線"]
    followups.record(ctx.ledger, ctx.settings, order, "防災行政無線", result="na", operator="tanaka",
                     note="この地区は屋外スピーカーの対象外")
    assert followups.open_followups(ctx.ledger, ctx.settings, ctx.templates, drill=True, now=ctx.now()) == []
    events = [e for e in ctx.ledger.events() if e.kind == "followup.recorded"]
    assert [e.payload["channel"] for e in events] == channels
    assert events[-1].payload == {"channel": "防災行政無線", "result": "na", "note": "この地区は屋外スピーカーの対象外"}
    assert ctx.ledger.verify().ok


def test_the_channels_come_from_the_config(config_file, practice_server):
    context = make_ctx(config_file, practice_server, drill=True,
                       followup='channels = ["HP", "防災アプリ"]')
    try:
        assert context.settings.followup_channels() == ["HP", "防災アプリ"]
    finally:
        context.close()


# -- the handover (引き継ぎ) ---------------------------------------------------------


def test_the_handover_names_what_is_in_force_the_outbox_and_what_is_open(ctx, practice_server, tmp_path):
    order = post(ctx, "evac-l4", EVAC)
    practice_server.inject({"kind": "status", "status": 503})
    with pytest.raises(Exception):
        post(ctx, "shelter-open", {"time": "17時00分", "shelter": "中央公民館"})
    page = handover_data(ctx.ledger, ctx.settings, ctx.templates, drill=True, operator="tanaka", now=ctx.now())
    text = render(page, "md")
    assert text.startswith("# 引き継ぎ (阿見町)")
    assert "## 発令中 (1 件)" in text and "警戒レベル4 避難指示  本郷地区" in text
    assert "## 送信待ち・失敗・結果不明 (1 件)" in text and "[失敗]" in text
    assert "## 事後承認待ち (1 件)" in text  # the override lifted the approval check
    assert f"#{order} " in text and "未: HP、メール配信 (あみメール)、Lアラート、防災行政無線" in text
    assert "## 投稿 (2 件)" in text and "モード: 訓練" in text
    html = render(page, "html")
    assert html.startswith("<!DOCTYPE html>") and "<h2>発令中 (1 件)</h2>" in html and "<script" not in html
    written = write_file(page, tmp_path / "handover", now=ctx.now())
    assert written.read_text(encoding="utf-8") == text and written.name.startswith("handover-")
    live = render(handover_data(ctx.ledger, ctx.settings, ctx.templates, drill=False, operator="tanaka",
                                now=ctx.now()), "md")
    assert "発令中のものはありません。" in live and "モード: 本番" in live
