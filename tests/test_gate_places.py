"""Values that mean something (issue 12 item 6): an area or facility field naming a place that
is not a configured 地区・避難所・施設 is warned about, naming the closest configured ones; the
names the config lists, their configured short forms and whole-town words pass."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dutypost.core.config import BUNDLED_TEMPLATES
from dutypost.core.config_loader import load_settings
from dutypost.core.context import DutyContext
from dutypost.core.gate import RULES, PlaceValue, check_places
from dutypost.core.publish import compose, make_override, review
from dutypost.core.templates import load_templates

from test_cli import live_config  # noqa: F401 (fixture)
from tests.clock import Clock

JST = ZoneInfo("Asia/Tokyo")
TEMPLATES = load_templates([BUNDLED_TEMPLATES]).templates


@pytest.fixture
def settings(example_config_path):
    return load_settings(example_config_path)


def unknown(settings, source: str, value: str) -> list[str]:
    """The message of each unknown-place warning for ``value`` in a field drawing on ``source``."""
    return [f.message for f in check_places(value, [PlaceValue("対象地区", source, value)], settings.lists,
                                            settings.municipality.name)]


# What an officer really types. Caught: a name the config does not have, with the closest
# configured names in the message, in that order.
CAUGHT = [
    ("areas", "本郷", "本郷", ["本郷地区", "荒川本郷地区"]),           # the issue's case: which 本郷?
    ("areas", "本郷・吉原地区", "本郷", ["本郷地区", "荒川本郷地区"]),  # 「本郷・吉原地区」 leaves 本郷 open
    ("areas", "荒川本郷", "荒川本郷", ["荒川本郷地区", "本郷地区"]),
    ("areas", "吉原", "吉原", ["吉原地区"]),
    ("areas", "君原地区、舟嶋地区", "舟嶋地区", ["舟島地区"]),          # a wrong kanji
    ("areas", "新本郷地区", "新本郷地区", ["本郷地区", "荒川本郷地区"]),
    ("areas", "本郷地区、実穂", "実穂", ["実穂地区"]),
    ("shelters", "本郷小", "本郷小", ["本郷小学校"]),
    ("shelters", "公民館", "公民館", ["中央公民館"]),
    ("shelters", "本郷小学校、阿見第一小学校", "阿見第一小学校", ["阿見小学校"]),
]


@pytest.mark.parametrize(("source", "value", "token", "nearest"), CAUGHT, ids=[c[1] for c in CAUGHT])
def test_a_name_that_is_not_configured_is_warned_about_with_the_closest_configured_ones(
        settings, source, value, token, nearest):
    [message] = unknown(settings, source, value)
    assert f"「{token}」は設定された" in message
    named = message.split("近いもの: ")[1].split("。")[0]
    assert named.startswith("".join(f"「{n}」" for n in nearest)), message
    assert message.endswith("正しい名前に直してください。")


def test_the_issues_case_names_both_hongo_areas(settings):
    [message] = unknown(settings, "areas", "本郷")
    assert message == ("対象地区の「本郷」は設定された地区にありません。"
                       "近いもの: 「本郷地区」「荒川本郷地区」。正しい名前に直してください。")


def test_a_name_near_nothing_says_where_the_names_are_configured(settings):
    [message] = unknown(settings, "areas", "Hongo")
    assert message == "対象地区の「Hongo」は設定された地区にありません。設定ファイルの [lists] areas にある名前で書いてください。"


# Clean: no warning may fire on these (a warning that is usually wrong teaches the officer to
# acknowledge every warning).
CLEAN = [
    ("areas", "本郷地区"),
    ("areas", "荒川本郷地区"),                        # contains 本郷地区, is its own area
    ("areas", "本郷地区、吉原地区、君原地区、舟島地区"),
    ("areas", "本郷地区・吉原地区"),
    ("areas", "本郷地区 吉原地区　君原地区"),          # half- and full-width spaces
    ("areas", "本郷地区,吉原地区，君原地区"),
    ("areas", "本郷地区と吉原地区"),
    ("areas", "本郷地区及び吉原地区"),
    ("areas", "本郷地区の一部"),
    ("areas", "吉原地区全域"),
    ("areas", "実穂地区（一部）"),
    ("areas", "舟島地区周辺"),
    ("areas", "君原地区ほか"),
    ("areas", "町内全域"),
    ("areas", "市内全域"),
    ("areas", "阿見町内全域"),
    ("areas", "全域"),
    ("areas", "全地区"),
    ("areas", "{対象地区}"),                          # the preview's unfilled field: the placeholder check's
    ("areas", "  本郷地区  "),
    ("shelters", "本郷小学校、中央公民館"),
    ("shelters", "本郷ふれあいセンター"),
    ("shelters", "本郷ふれあいｾﾝﾀｰ"),                  # half-width katakana (NFKC)
    ("shelters", "本郷ふれあいC"),                     # a short form the example config lists
    ("shelters", "阿見町役場"),                        # a configured facility opened as a shelter
    ("facilities", "給水所 (中央公民館駐車場)"),        # a name with a space and brackets stays whole
    ("facilities", "給水所（中央公民館駐車場）"),
    ("facilities", "役場"),                            # short form → 阿見町役場
]


@pytest.mark.parametrize(("source", "value"), CLEAN, ids=[c[1] for c in CLEAN])
def test_configured_names_short_forms_and_whole_town_words_pass(settings, source, value):
    assert unknown(settings, source, value) == []


def test_a_list_the_config_leaves_empty_checks_nothing(settings):
    from dataclasses import replace

    lists = replace(settings.lists, areas=[])
    assert check_places("本郷", [PlaceValue("対象地区", "areas", "本郷")], lists) == []


def test_the_rule_has_a_japanese_title():
    assert RULES["unknown-place"] == "登録されていない地区・避難所"


def test_the_span_is_the_name_in_the_text(settings):
    text = "12時00分現在、本郷に避難指示を発令しました。"
    [finding] = check_places(text, [PlaceValue("対象地区", "areas", "本郷")], settings.lists)
    assert (finding.rule, finding.severity, text[finding.start:finding.end]) == ("unknown-place", "warn", "本郷")


# -- through compose and the gate, as the TUI and `dutypost post` run it ------------------


@pytest.fixture
def ctx(config_file):
    settings = load_settings(config_file())
    clock = Clock(datetime(2026, 11, 24, 3, 0, tzinfo=JST))
    context = DutyContext(settings=settings, operator=settings.operator("tanaka"), drill=True, clock=clock)
    yield context
    context.close()


def _evac_l4(ctx, area: str, shelter: str = "本郷小学校"):
    template = next(t for t in TEMPLATES if t.id == "evac-l4")
    return compose(ctx, template, {"time": "3時00分", "reason": "大雨で土砂災害の危険が高まったため",
                                   "area": area, "shelter": shelter})


def test_the_gate_warns_on_hongo_and_an_acknowledgement_lets_it_go(ctx):
    override = make_override(ctx, "生命・身体・財産の保護に必要な緊急情報", "大雨で土砂災害の危険が高まったため")
    result = review(ctx, _evac_l4(ctx, "本郷"), override=override)
    [finding] = [f for f in result.unacknowledged if f.rule == "unknown-place"]
    assert "「本郷地区」「荒川本郷地区」" in finding.message
    assert not result.allowed
    assert "unknown-place" in result.explain()
    acked = review(ctx, _evac_l4(ctx, "本郷"), override=override, acks=["unknown-place"])
    assert not [f for f in acked.unacknowledged if f.rule == "unknown-place"]


def test_the_gate_checks_the_shelter_field_too(ctx):
    findings = review(ctx, _evac_l4(ctx, "本郷地区", shelter="本郷小学校、第二体育館")).decision.findings
    assert [f.message.split("。")[0] for f in findings if f.rule == "unknown-place"] == [
        "開設している避難所の「第二体育館」は設定された避難所にありません"]


def test_configured_areas_and_shelters_give_no_warning(ctx):
    composition = _evac_l4(ctx, "本郷地区、吉原地区、君原地区、舟島地区", "本郷小学校、君原小学校、舟島小学校、中央公民館")
    assert not [f for f in review(ctx, composition).decision.findings if f.rule == "unknown-place"]


@pytest.mark.parametrize("template", TEMPLATES, ids=[t.id for t in TEMPLATES])
def test_no_bundled_example_names_an_unknown_place(ctx, template):
    composition = compose(ctx, template, template.examples)
    assert [f.message for f in review(ctx, composition).decision.findings if f.rule == "unknown-place"] == []


# -- the command line: `render` shows it, `post` stops on it until --ack unknown-place ----------


def test_render_and_post_on_the_command_line(live_config, practice_server):
    import json

    from test_cli import EVAC_VALUES, creds_env, dutypost, no_traceback

    cfg = live_config()
    values = [v.replace("area=本郷地区", "area=本郷") for v in EVAC_VALUES]
    rendered = json.loads(dutypost("--config", str(cfg), "render", "evac-l4", *values, "--json").stdout)
    [finding] = [f for f in rendered["findings"] if f["rule"] == "unknown-place"]
    assert finding["severity"] == "warn" and "「本郷地区」「荒川本郷地区」" in finding["message"]
    assert rendered["text"][finding["start"]:finding["end"]] == "本郷"
    post = ["--config", str(cfg), "post", "evac-l4", *values, "--approver", "suzuki", "--approval-method", "phone"]
    proc = dutypost(*post, env=creds_env())
    assert proc.returncode == 3 and "--ack unknown-place" in proc.stderr and "荒川本郷地区" in proc.stderr
    no_traceback(proc)
    assert practice_server.posts() == []
    assert dutypost(*post, "--ack", "unknown-place", env=creds_env()).returncode == 0
    assert len(practice_server.posts()) == 1


def test_a_short_form_must_name_a_configured_place(config_file):
    from test_cli import dutypost

    from dutypost.core.config import EXAMPLE_CONFIG

    areas = next(line for line in EXAMPLE_CONFIG.read_text(encoding="utf-8").splitlines() if line.startswith("areas = "))
    path = config_file(replace={"lists": f'{areas}\nshort_names = {{ "本郷" = "本郷地区", "役場" = "町役場" }}'})
    proc = dutypost("--config", str(path), "config", "check")
    assert proc.returncode == 2, proc.stderr
    assert "short_names" in proc.stderr and "「町役場」" in proc.stderr and "Traceback" not in proc.stderr
    fixed = config_file(replace={"lists": f'{areas}\nshort_names = {{ "本郷" = "本郷地区", "役場" = "阿見町役場" }}'})
    settings = load_settings(fixed)
    assert unknown(settings, "areas", "本郷") == []  # the town says 本郷 means 本郷地区: not warned
