"""Post templates (投稿テンプレート, SPEC §7, R12): the bundled set, the file format's
error reports, and filling a template in."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from dutypost.core.config import BUNDLED_TEMPLATES
from dutypost.core.config_loader import load_settings
from dutypost.core.errors import InputError
from dutypost.core.templates import (
    CATEGORY_ORDER,
    MissingFieldsError,
    bundled_dirs,
    default_value,
    describe,
    field_choices,
    format_jst_datetime,
    format_jst_time,
    load_templates,
    render,
)

BUNDLED = load_templates([BUNDLED_TEMPLATES])
TEMPLATES = BUNDLED.templates
IDS = [t.id for t in TEMPLATES]

# SPEC §7: the bundled set covers at least these.
REQUIRED_IDS = [
    "evac-l3", "evac-l3-lift", "evac-l4", "evac-l4-lift", "evac-l5", "evac-l5-lift",
    "shelter-open", "shelter-close", "shelter-crowded",
    "weather-warning", "weather-special-warning", "landslide-alert",
    "quake-intensity", "quake-damage-check",
    "hq-established", "hq-dissolved",
    "water-outage", "power-outage",
    "road-closed", "road-reopened",
    "garbage-change", "radio-supplement", "risai-certificate", "volunteer-center",
    "correction", "apology", "flaming-response",
    "impersonation-warning", "suspension-notice", "drill-notice", "drill-in-progress",
]

GOOD = """\
id = "good"
title = "よい例"
category = "生活"
emergency = false
description = "読み込めるテンプレート"
body = "{time}現在、{area}でお知らせがあります。"

[[fields]]
name = "time"
label = "時刻"
kind = "datetime"
example = "9時00分"

[[fields]]
name = "area"
label = "地区"
kind = "area"
example = "本郷地区"
"""


@pytest.fixture
def settings(config_file):
    return load_settings(config_file())


def example(template_id: str) -> str:
    template = BUNDLED.get(template_id)
    return render(template, template.examples)


# -- the bundled set -------------------------------------------------------------


def test_every_bundled_template_loads_without_errors():
    assert BUNDLED.errors == []
    assert len(list(BUNDLED_TEMPLATES.glob("*.toml"))) == len(TEMPLATES)


def test_at_least_24_templates_with_unique_ids_matching_their_files():
    assert len(TEMPLATES) >= 24
    assert len(set(IDS)) == len(IDS)
    assert all(t.path.stem == t.id for t in TEMPLATES)


@pytest.mark.parametrize("template_id", REQUIRED_IDS)
def test_the_spec_list_is_covered(template_id):
    assert BUNDLED.get(template_id) is not None


def test_templates_are_listed_by_category_then_order():
    ranks = [CATEGORY_ORDER.index(t.category) for t in TEMPLATES]
    assert ranks == sorted(ranks)
    evac = [t.id for t in TEMPLATES if t.category == "避難情報"]
    assert evac == ["evac-l3", "evac-l3-lift", "evac-l4", "evac-l4-lift", "evac-l5", "evac-l5-lift"]


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_example_render_fits_one_post_or_declares_threads(template, settings):
    """Also in drill mode, where the caller puts the marker 【訓練】 in front."""
    from dutypost.core.length import weighted_length

    text = settings.drill.marker + render(template, template.examples)
    assert template.threads or weighted_length(text) <= 280, (template.id, weighted_length(text))


def test_the_abolished_term_appears_nowhere():
    for path in BUNDLED_TEMPLATES.glob("*.toml"):
        assert "避難勧告" not in path.read_text(encoding="utf-8"), path
    for template in TEMPLATES:
        assert "避難勧告" not in render(template, template.examples)


@pytest.mark.parametrize("template", [t for t in TEMPLATES if t.emergency], ids=lambda t: t.id)
def test_every_emergency_template_states_the_time_near_the_top(template):
    top = template.body.splitlines()[:3]
    assert any(re.search(r"\{\w+\}現在", line) for line in top), template.body
    assert re.search(r"\d+時\d+分現在", render(template, template.examples))


@pytest.mark.parametrize(
    ("template_id", "first_line", "action"),
    [
        ("evac-l3", "【警戒レベル3】高齢者等避難 発令", "高齢者等は危険な場所から避難してください"),
        ("evac-l4", "【警戒レベル4】避難指示 発令", "危険な場所から全員避難してください"),
        ("evac-l5", "【警戒レベル5】緊急安全確保 発令", "命の危険 直ちに安全確保！"),
        ("evac-l3-lift", "【警戒レベル3】高齢者等避難 解除", "解除しました"),
        ("evac-l4-lift", "【警戒レベル4】避難指示 解除", "解除しました"),
        ("evac-l5-lift", "【警戒レベル5】緊急安全確保 解除", "解除しました"),
    ],
)
def test_evacuation_wording_follows_the_2021_guideline(template_id, first_line, action):
    """Level and action first, then who (町), why (reason), where (area), what to do (R12)."""
    template = BUNDLED.get(template_id)
    text = example(template_id)
    assert text.splitlines()[0] == first_line
    assert action in text
    who, why, where = text.index("町は"), text.index(template.examples["reason"]), text.index(template.examples["area"])
    assert len(first_line) < who < why < where


def test_examples_come_from_the_example_config_lists(settings):
    for template in TEMPLATES:
        for f in template.fields:
            if f.kind in ("area", "facility") and f.example:
                choices = field_choices(f, settings)
                for item in f.example.split("、"):
                    assert item in choices, (template.id, f.name, item)


def test_links_only_to_allowed_domains_and_no_phone_numbers_but_allowed_ones(settings):
    allowed = settings.gate.allow_domains
    for template in TEMPLATES:
        text = render(template, template.examples)
        for url in re.findall(r"https?://\S+", text):
            host = urlsplit(url).hostname
            assert any(host == d or host.endswith("." + d) for d in allowed), (template.id, url)
        for phone in re.findall(r"\d{2,4}-\d{2,4}-\d{3,4}", text):
            assert phone in settings.gate.allow_phones, (template.id, phone)


def test_no_template_carries_the_drill_marker_itself():
    for template in TEMPLATES:
        assert "【訓練】" not in render(template, template.examples), template.id


def test_hashtags_are_few_and_the_last_line():
    for template in TEMPLATES:
        assert len(template.hashtags) <= 2, template.id
        if template.hashtags:
            assert render(template, template.examples).splitlines()[-1] == " ".join(template.hashtags)


@pytest.mark.parametrize("drill", [False, True], ids=["live", "drill"])
@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_the_gate_finds_nothing_blocking_in_any_example(template, drill, settings):
    from dutypost.core.gate import ContentContext, check_content

    text = render(template, template.examples)
    if drill:
        text = settings.drill.marker + text
    ctx = ContentContext.from_settings(settings, drill=drill, emergency=template.emergency,
                                       threads_allowed=template.threads)
    assert [f for f in check_content(text, ctx) if f.severity == "block"] == []


# -- broken files ------------------------------------------------------------------


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_syntax_error_is_reported_with_its_line_and_the_good_templates_still_load(tmp_path):
    _write(tmp_path, "good.toml", GOOD)
    broken = _write(tmp_path, "broken.toml", 'id = "broken"\ntitle = "壊れた例"\ncategory = 生活\n')
    result = load_templates([tmp_path])
    assert [t.id for t in result.templates] == ["good"]
    [error] = result.errors
    assert (error.path, error.line) == (broken, 3)
    assert "TOML" in error.message
    assert str(error).startswith(f"{broken}:3: ")


@pytest.mark.parametrize(
    ("name", "text", "line", "words"),
    [
        ("unknown-key", GOOD.replace('id = "good"', 'id = "unknown-key"').replace(
            'description = "読み込めるテンプレート"', 'description = "x"\ncolour = "red"'), 6, "colour"),
        ("unknown-field-key", GOOD.replace('id = "good"', 'id = "unknown-field-key"').replace(
            'kind = "area"', 'kind = "area"\nrequierd = false'), 18, "requierd"),
        ("no-field", GOOD.replace('id = "good"', 'id = "no-field"').replace(
            "でお知らせがあります。", "でお知らせがあります。\\n{shelter}へ避難してください。"), 6, "{shelter}"),
        ("bad-kind", GOOD.replace('id = "good"', 'id = "bad-kind"').replace('kind = "area"', 'kind = "place"'),
         17, "place"),
        ("bad-choices", GOOD.replace('id = "good"', 'id = "bad-choices"').replace(
            'kind = "area"', 'kind = "choice"\nchoices = []'), 18, "choices"),
        ("dup-field", GOOD.replace('id = "good"', 'id = "dup-field"')
         + '\n[[fields]]\nname = "area"\nlabel = "地区"\nkind = "text"\nexample = "本郷地区"\n', 21, "重複"),
        ("example-not-a-choice", GOOD.replace('id = "good"', 'id = "example-not-a-choice"').replace(
            'kind = "area"', 'kind = "choice"\nchoices = ["北", "南"]'), 19, "北、南"),
        ("unused-field", GOOD.replace('id = "good"', 'id = "unused-field"').replace("{area}", "町内"), 15, "area"),
        ("wrong-id", GOOD, 1, "wrong-id"),
    ],
)
def test_each_broken_file_is_reported_with_path_and_line(tmp_path, name, text, line, words):
    _write(tmp_path, "good.toml", GOOD)
    path = _write(tmp_path, f"{name}.toml", text)
    result = load_templates([tmp_path])
    assert [t.id for t in result.templates] == ["good"]
    assert [(e.path, e.line) for e in result.errors] == [(path, line)], result.errors
    assert words in result.errors[0].message


def test_a_missing_key_is_reported_and_says_what_to_write(tmp_path):
    path = _write(tmp_path, "good.toml", GOOD.replace('emergency = false\n', ""))
    [error] = load_templates([tmp_path]).errors
    assert error.path == path
    assert "emergency" in error.message and "を書いてください" in error.message


def test_a_missing_site_directory_is_reported():
    missing = Path("/nonexistent/dutypost-templates")
    result = load_templates([BUNDLED_TEMPLATES, missing])
    assert [e.path for e in result.errors] == [missing]
    assert len(result.templates) == len(TEMPLATES)


def test_the_site_directory_overrides_a_bundled_template_with_the_same_id(tmp_path, config_file):
    site = tmp_path / "site"
    site.mkdir()
    override = BUNDLED.get("evac-l4").path.read_text(encoding="utf-8").replace(
        'title = "警戒レベル4 避難指示 発令"', 'title = "避難指示 (町独自の文面)"')
    _write(site, "evac-l4.toml", override)
    _write(site, "good.toml", GOOD)
    settings = load_settings(config_file(replace={"templates": f'site_dir = "{site}"'}))
    assert bundled_dirs(settings) == [BUNDLED_TEMPLATES, site]
    result = load_templates(bundled_dirs(settings))
    assert result.errors == []
    assert result.get("evac-l4").title == "避難指示 (町独自の文面)"
    assert result.get("evac-l4").path == site / "evac-l4.toml"
    assert result.get("good") is not None
    assert len(result.templates) == len(TEMPLATES) + 1


# -- filling in --------------------------------------------------------------------


def test_render_fills_the_body_then_the_link_and_hashtags():
    template = BUNDLED.get("weather-warning")
    text = render(template, {"time": "14時30分", "warning": "大雨警報"})
    assert text.splitlines() == [
        "【気象警報】",
        "14時30分現在、町に大雨警報が発表されています。",
        "今後の気象情報や町からのお知らせに注意してください。",
        "https://www.jma.go.jp/bosai/warning/",
        "#阿見町",
    ]


def test_a_missing_required_field_is_named_with_its_label_and_how_to_set_it():
    template = BUNDLED.get("evac-l4")
    with pytest.raises(MissingFieldsError) as caught:
        render(template, {"reason": "大雨のため"})
    message = str(caught.value)
    assert "area (対象地区)" in message
    assert "--set area=" in message
    assert [f.name for f in caught.value.missing] == ["area"]
    assert caught.value.exit_code == 2


def test_every_missing_required_field_is_named():
    with pytest.raises(MissingFieldsError) as caught:
        render(BUNDLED.get("correction"), {})
    assert [f.name for f in caught.value.missing] == ["original_date", "subject", "wrong", "right"]
    assert "元の投稿日時" in str(caught.value)


def test_an_unknown_field_name_lists_the_template_fields():
    with pytest.raises(InputError) as caught:
        render(BUNDLED.get("evac-l4"), {"areas": "本郷地区", "reason": "大雨のため"})
    message = str(caught.value)
    assert "areas" in message
    for name in ("time", "reason", "area", "shelter"):
        assert name in message


def test_a_number_field_rejects_a_non_number():
    values = {**BUNDLED.get("power-outage").examples, "households": "たくさん"}
    with pytest.raises(InputError, match="households") as caught:
        render(BUNDLED.get("power-outage"), values)
    assert "数字" in str(caught.value)
    assert "１２００戸" in render(BUNDLED.get("power-outage"), {**values, "households": "１２００"})


def test_a_choice_field_rejects_a_value_not_among_its_choices():
    values = {**BUNDLED.get("quake-intensity").examples, "intensity": "5"}
    with pytest.raises(InputError) as caught:
        render(BUNDLED.get("quake-intensity"), values)
    assert "5弱、5強" in str(caught.value)


def test_an_empty_optional_field_leaves_out_its_line():
    template = BUNDLED.get("evac-l4")
    values = {k: v for k, v in template.examples.items() if k != "shelter"}
    text = render(template, values)
    assert "避難所:" not in text
    assert "避難所: 本郷小学校" in render(template, template.examples)


def test_a_datetime_field_defaults_to_now_in_jst():
    now = datetime(2026, 9, 1, 18, 5, tzinfo=timezone.utc)  # 3:05 on 2 September in Japan
    template = BUNDLED.get("evac-l4")
    text = render(template, {"reason": "大雨のため", "area": "本郷地区"}, now=now)
    assert text.splitlines()[1] == "3時05分現在"
    assert default_value(template.field("time"), now) == "3時05分"
    assert default_value(template.field("area"), now) == ""
    assert format_jst_time(datetime(2026, 9, 1, 15, 20)) == "15時20分"
    assert format_jst_datetime(now) == "9月2日 3時05分"


def test_the_original_post_date_of_a_correction_does_not_default_to_now():
    field = BUNDLED.get("correction").field("original_date")
    assert default_value(field, datetime(2026, 9, 1, 3, 20)) == ""


def test_field_choices_draw_on_the_config_lists(settings):
    assert field_choices(BUNDLED.get("evac-l4").field("area"), settings) == settings.lists.areas
    assert field_choices(BUNDLED.get("evac-l4").field("shelter"), settings)[:2] == ["阿見小学校", "本郷小学校"]
    assert field_choices(BUNDLED.get("water-outage").field("station"), settings) == [
        "阿見町役場", "給水所 (中央公民館駐車場)"]
    assert field_choices(BUNDLED.get("quake-intensity").field("intensity"), settings)[-1] == "7"
    assert field_choices(BUNDLED.get("evac-l4").field("reason"), settings) == []


def test_describe_gives_the_templates_list_json_shape():
    assert describe(BUNDLED.get("evac-l4-lift")) == {
        "id": "evac-l4-lift",
        "title": "警戒レベル4 避難指示 解除",
        "category": "避難情報",
        "emergency": True,
        "fields": [
            {"name": "time", "label": "解除時刻", "kind": "datetime", "required": True, "example": "9時00分"},
            {"name": "reason", "label": "理由", "kind": "text", "required": True,
             "example": "土砂災害警戒情報が解除されたため"},
            {"name": "area", "label": "対象地区", "kind": "area", "required": True, "example": "本郷地区"},
        ],
    }
