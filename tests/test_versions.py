"""Versions (やさしい日本語・English) added to a post (issue 12 item 4): the link in the
templates, composing them as the following parts of the thread, the gate on every part,
publishing and reconciling them, and the draft that remembers them."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from clock import Clock
from dutypost.core.config_loader import load_settings
from dutypost.core.context import DutyContext
from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.core.errors import OutcomeUnknown, PublishFailed
from dutypost.core.ledger import Ledger
from dutypost.core.ledger.connection import SCHEMA_VERSION
from dutypost.core.publish import compose, make_override, publish, reconcile, resend, review
from dutypost.core.templates import MissingFieldsError, load_templates, version_values
from test_cli import live_config  # noqa: F401 (a fixture)

REPO = Path(__file__).resolve().parent.parent
LIFE_SAFETY = {
    "evac-l3": ("evac-l3-easy", "evac-l3-en"),
    "evac-l4": ("evac-l4-easy", "evac-l4-en"),
    "evac-l5": ("evac-l5-easy", "evac-l5-en"),
    "shelter-open": ("shelter-open-easy", "shelter-open-en"),
    "quake-intensity": ("quake-easy", "quake-en"),
    "tsunami-warning": ("tsunami-easy", "tsunami-en"),
}
L4 = {"time": "11時50分", "reason": "土砂災害の危険が高まったため", "area": "本郷地区", "shelter": "本郷小学校",
      "area_en": "the Hongo area"}
PASS = {"kind": "slow", "delay": 0}  # a request that goes through: faults are queued one per request


@pytest.fixture
def ctx(config_file, practice_server):
    path = config_file(replace={"drill": f'api_base_url = "{practice_server.url}"'})
    settings = load_settings(path)
    context = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=True, clock=Clock())
    yield context
    context.close()


@pytest.fixture
def live_ctx(config_file, practice_server, monkeypatch):
    url = practice_server.url
    path = config_file(replace={"x": f'api_base_url = "{url}"\ntimeout_seconds = 3', "drill": f'api_base_url = "{url}"'})
    for key in ("consumer_key", "consumer_secret", "access_token", "access_token_secret"):
        monkeypatch.setenv(f"DUTYPOST_X__{key.upper()}", getattr(DEMO_CREDENTIALS, key))
    settings = load_settings(path)
    context = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=False, clock=Clock())
    yield context
    context.close()


def _override(ctx):
    return make_override(ctx, "生命・身体・財産の保護に必要な緊急情報", "土砂災害の危険が高まり避難を呼びかけるため")


# -- the link (templates) ----------------------------------------------------------


def test_every_life_safety_template_links_its_easy_japanese_and_english_versions():
    templates = load_templates([REPO / "templates"], fresh=True)
    assert templates.errors == []
    for base, versions in LIFE_SAFETY.items():
        assert templates.get(base).versions == versions
        assert [v.id for v in templates.versions_of(templates.get(base))] == list(versions)


def _write(directory: Path, name: str, text: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / f"{name}.toml").write_text(text, encoding="utf-8")


BASE = '''id = "{id}"
title = "試験"
category = "避難情報"
emergency = true
description = "試験のテンプレートです。"
{versions}
body = """
{{area}}に避難指示を発令しました。{{level}}
"""

[[fields]]
name = "area"
label = "対象地区"
kind = "text"
example = "本郷地区"

[[fields]]
name = "level"
label = "区分"
kind = "choice"
choices = [{choices}]
example = "{example}"
'''


def test_an_unknown_version_is_a_load_error_naming_the_file_and_line(tmp_path):
    _write(tmp_path, "base", BASE.format(id="base", versions='versions = ["base-en"]', choices='"A", "B"',
                                          example="A"))
    loaded = load_templates([tmp_path], fresh=True)
    [error] = loaded.errors
    assert error.path == tmp_path / "base.toml" and error.line == 6
    assert "'base-en'" in error.message and "base-en.toml" in error.message
    assert loaded.get("base").versions == ()  # the base itself still loads, without the version


def test_a_version_with_versions_or_choices_that_do_not_line_up_is_a_load_error(tmp_path):
    _write(tmp_path, "base", BASE.format(id="base", versions='versions = ["base-en", "base-easy"]',
                                          choices='"A", "B"', example="A"))
    _write(tmp_path, "base-en", BASE.format(id="base-en", versions='versions = ["base-easy"]', choices='"a", "b"',
                                             example="a"))
    _write(tmp_path, "base-easy", BASE.format(id="base-easy", versions="", choices='"x", "y", "z"', example="x"))
    loaded = load_templates([tmp_path], fresh=True)
    messages = [e.message for e in loaded.errors if e.path.name == "base.toml"]
    assert any("base-en には versions があります" in m for m in messages)
    assert any("項目 level の選択肢は 3 個" in m for m in messages)
    assert loaded.get("base").versions == ()


def test_versions_must_be_template_ids(tmp_path):
    _write(tmp_path, "base", BASE.format(id="base", versions='versions = "base-en"', choices='"A"', example="A"))
    _write(tmp_path, "other", BASE.format(id="other", versions='versions = ["other"]', choices='"A"', example="A"))
    loaded = load_templates([tmp_path], fresh=True)
    assert {e.path.name for e in loaded.errors} == {"base.toml", "other.toml"}
    assert all(e.line == 6 for e in loaded.errors)


def test_a_choice_is_carried_to_the_version_by_its_position():
    templates = load_templates([REPO / "templates"], fresh=True)
    quake, en = templates.get("quake-intensity"), templates.get("quake-en")
    values = version_values(quake, en, {"quake_time": "3時10分", "intensity": "5弱", "time": "3時20分"})
    assert values == {"time": "3時20分", "quake_time": "3時10分", "intensity": "5 lower"}


# -- composing and the gate ----------------------------------------------------------


def test_the_versions_follow_the_main_post_as_parts_of_its_thread(ctx):
    template = ctx.templates.get("evac-l4")
    alone = compose(ctx, template, {k: v for k, v in L4.items() if k != "area_en"})
    composition = compose(ctx, template, L4, versions=True)
    easy, en = composition.versions
    assert composition.parts == alone.parts + easy.parts + en.parts
    assert len(composition.parts) == 3
    assert easy.parts[0].startswith("【訓練】【やさしい日本語】警戒レベル4")
    assert en.parts[0].startswith("【訓練】[Alert Level 4] Evacuation order")
    assert "the Hongo area" in en.text and "本郷地区は 危ないです" in easy.text
    assert composition.text == "\n\n".join([alone.text, easy.text, en.text])  # the recorded text holds them all
    assert composition.values == L4


def test_a_field_only_a_version_has_is_required_of_it(ctx):
    template = ctx.templates.get("evac-l4")
    values = {k: v for k, v in L4.items() if k != "area_en"}
    with pytest.raises(MissingFieldsError) as missing:
        compose(ctx, template, values, versions=True)
    assert [f.name for f in missing.value.missing] == ["area_en"]
    assert compose(ctx, template, values).versions == ()  # without versions nothing changes


def test_the_gate_checks_every_part_a_version_s_problem_blocks_and_names_it(ctx):
    template = ctx.templates.get("evac-l4")
    clean = review(ctx, compose(ctx, template, L4, versions=True), override=_override(ctx), acks=["cost"])
    assert clean.allowed, clean.explain()
    # A phone number typed into a field only the English version has: a warning of the version.
    phone = L4 | {"area_en": "the Hongo area (call 090-1234-5678)"}
    result = review(ctx, compose(ctx, template, phone, versions=True), override=_override(ctx), acks=["cost"])
    [warning] = [f for f in result.unacknowledged if f.rule == "personal-phone"]
    assert warning.message.startswith("English: 警戒レベル4 避難指示: ")
    composition = compose(ctx, template, phone, versions=True)
    assert composition.text[warning.start:warning.end] == "090-1234-5678"
    assert not result.allowed
    assert review(ctx, composition, override=_override(ctx), acks=["cost", "personal-phone"]).allowed
    # A placeholder left in a version blocks, as in any part.
    blocked = review(ctx, compose(ctx, template, L4 | {"area_en": "{対象地区 (英語)}"}, versions=True),
                     override=_override(ctx), acks=["cost"])
    assert any(f.rule == "placeholder" and f.message.startswith("English:") for f in blocked.decision.blocking)


def test_the_cost_counts_every_part_once(ctx):
    composition = compose(ctx, ctx.templates.get("evac-l4"), L4, versions=True)
    result = review(ctx, composition, override=_override(ctx))
    [cost] = [f for f in result.decision.findings if f.rule == "cost"]
    assert "3 件のスレッド" in cost.message and "$0.045" in cost.message


# -- publishing ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["drill", "live"])
def test_the_versions_go_out_as_replies_in_order_recorded_and_reconciled(mode, ctx, live_ctx, practice_server):
    context = ctx if mode == "drill" else live_ctx
    composition = compose(context, context.templates.get("evac-l4"), L4, versions=True)
    result = publish(context, composition, override=_override(context), acks=["cost"])
    sent = {p["id"]: p for p in practice_server.posts()}
    first, easy, en = result.x_post_ids
    assert sent[easy]["reply_to"] == first and sent[en]["reply_to"] == easy
    assert [sent[i]["text"] for i in result.x_post_ids] == list(composition.parts)
    assert ("【訓練】" in sent[en]["text"]) == (mode == "drill")
    post = context.ledger.get_post(result.post_id)
    assert post.state == "sent" and post.x_post_ids == [first, easy, en]
    assert post.parts == list(composition.parts) and post.text == composition.text
    assert post.values == L4
    assert context.ledger.verify().ok


def test_a_thread_with_versions_left_unknown_is_found_on_the_timeline(ctx, practice_server):
    composition = compose(ctx, ctx.templates.get("evac-l4"), L4, versions=True)
    # X stores the English version's reply but answers 500: the outcome is unknown.
    practice_server.inject(PASS, PASS, {"kind": "store_then_500"})
    with pytest.raises(OutcomeUnknown) as unknown:
        publish(ctx, composition, override=_override(ctx), acks=["cost"])
    post_id = unknown.value.post_id
    assert ctx.ledger.get_post(post_id).state == "unknown"
    found = reconcile(ctx, post_id)
    assert found.found and len(found.x_post_ids) == 3
    assert ctx.ledger.get_post(post_id).state == "sent"


def test_a_failed_thread_with_versions_resends_only_the_parts_x_lacks(ctx, practice_server):
    composition = compose(ctx, ctx.templates.get("evac-l4"), L4, versions=True)
    practice_server.inject(PASS, {"kind": "status", "status": 503})  # the easy Japanese version is refused
    with pytest.raises(PublishFailed) as failed:
        publish(ctx, composition, override=_override(ctx), acks=["cost"])
    post_id = failed.value.post_id
    assert ctx.ledger.get_post(post_id).state == "failed"
    result = resend(ctx, post_id, override=_override(ctx), acks=["cost"])
    assert len(result.x_post_ids) == 3
    sent = {p["id"]: p for p in practice_server.posts()}
    assert len(sent) == 3  # each part once
    assert [sent[i]["text"] for i in result.x_post_ids] == list(composition.parts)
    assert [sent[i]["reply_to"] for i in result.x_post_ids[1:]] == list(result.x_post_ids[:2])


# -- drafts ---------------------------------------------------------------------------


def test_a_draft_remembers_that_versions_were_added(tmp_path):
    ledger = Ledger(tmp_path / "ledger.sqlite3")
    draft_id = ledger.save_draft(operator="tanaka", template_id="evac-l4", values=L4, text="…", drill=True,
                                 with_versions=True)
    assert ledger.open_drafts()[0].with_versions
    ledger.save_draft(operator="tanaka", template_id="evac-l4", values=L4, text="…", drill=True, draft_id=draft_id)
    assert ledger.open_drafts()[0].with_versions  # a save that does not say keeps it
    ledger.save_draft(operator="tanaka", template_id="evac-l4", values=L4, text="…", drill=True, draft_id=draft_id,
                      with_versions=False)
    assert not ledger.open_drafts()[0].with_versions
    ledger.close()


def test_a_draft_stored_by_an_earlier_release_still_opens(tmp_path):
    path = tmp_path / "ledger.sqlite3"
    ledger = Ledger(path)
    ledger.save_draft(operator="tanaka", template_id="evac-l4", values=L4, text="…", drill=True)
    ledger.close()
    conn = sqlite3.connect(path)  # the file as the release before versions left it
    conn.execute("ALTER TABLE drafts DROP COLUMN with_versions")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    conn.commit()
    conn.close()
    ledger = Ledger(path)
    [draft] = ledger.open_drafts()
    assert draft.values == L4 and not draft.with_versions
    ledger.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()


# -- the command line -------------------------------------------------------------------


def test_render_with_versions_shows_every_part_and_checks_each(live_config):
    from test_cli import EVAC_VALUES, dutypost

    cfg = str(live_config())
    proc = dutypost("--config", cfg, "render", "evac-l4", *EVAC_VALUES, "--set", "area_en=the Hongo area",
                    "--with-versions", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["parts"]) == 3 and data["parts"][2].startswith("[Alert Level 4]")
    assert data["text"] == "\n\n".join(data["parts"])
    [cost] = [f for f in data["findings"] if f["rule"] == "cost"]
    assert "3 件のスレッド" in cost["message"]
    proc = dutypost("--config", cfg, "render", "evac-l4", *EVAC_VALUES, "--with-versions")
    assert proc.returncode == 2 and "area_en (対象地区 (英語))" in proc.stderr and "--set area_en=" in proc.stderr
    proc = dutypost("--config", cfg, "render", "road-closed", "--with-versions", "--set", "road=国道", "--set",
                    "reason=冠水のため")
    assert proc.returncode == 2 and "road-closed には版" in proc.stderr and "Traceback" not in proc.stderr


def test_post_with_versions_goes_out_as_one_thread(live_config, practice_server):
    from test_cli import EVAC_VALUES, creds_env, dutypost

    cfg = str(live_config())
    proc = dutypost("--config", cfg, "post", "evac-l4", *EVAC_VALUES, "--set", "area_en=the Hongo area",
                    "--with-versions", "--approver", "suzuki", "--approval-method", "phone", env=creds_env())
    assert proc.returncode == 0, proc.stderr
    posts = sorted(practice_server.posts(), key=lambda p: int(p["id"]))
    assert [p["text"].splitlines()[0] for p in posts] == [
        "【警戒レベル4】避難指示 発令", "【やさしい日本語】警戒レベル4", "[Alert Level 4] Evacuation order"]
    assert posts[1]["reply_to"] == posts[0]["id"] and posts[2]["reply_to"] == posts[1]["id"]
    history = json.loads(dutypost("--config", cfg, "history", "--json").stdout)
    assert len(history) == 1 and history[0]["x_post_id"] == posts[0]["id"] and "the Hongo area" in history[0]["text"]


def test_templates_check_reads_a_site_folder_on_top_of_the_bundled_versions(tmp_path, capsys):
    from dutypost.core.cli import main

    site = tmp_path / "site"
    site.mkdir()
    text = (REPO / "templates" / "evac-l4.toml").read_text(encoding="utf-8")
    (site / "evac-l4.toml").write_text(text, encoding="utf-8")
    assert main(["templates", "check", str(site)]) == 0  # its versions are the bundled ones
    (site / "evac-l4.toml").write_text(text.replace('"evac-l4-en"]', '"evac-l4-fr"]'), encoding="utf-8")
    assert main(["templates", "check", str(site)]) == 2
    assert f"{site / 'evac-l4.toml'}:3: versions の 'evac-l4-fr'" in capsys.readouterr().err


def test_a_post_with_versions_sent_again_or_its_main_post_alone_is_warned_as_a_duplicate(ctx):
    template = ctx.templates.get("evac-l4")
    with_versions = compose(ctx, template, L4, versions=True)
    publish(ctx, with_versions, override=_override(ctx), acks=["cost"])
    ctx.clock.advance(minutes=1)
    again = review(ctx, with_versions, override=_override(ctx), acks=["cost"])
    duplicates = [f for f in again.unacknowledged if f.rule == "duplicate"]
    assert len(duplicates) == 3  # the main post and each version: X refuses each part
    alone = compose(ctx, template, {k: v for k, v in L4.items() if k != "area_en"})
    assert [f.rule for f in review(ctx, alone, override=_override(ctx), acks=["cost"]).unacknowledged] == ["duplicate"]
    other = compose(ctx, template, L4 | {"area": "阿見地区"}, versions=True)
    assert not [f for f in review(ctx, other, override=_override(ctx), acks=["cost"]).unacknowledged
                if f.rule == "duplicate" and not f.message.startswith("English")]
