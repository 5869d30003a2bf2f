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
    is_variable,
    load_templates,
    municipality_variables,
    render,
    unfilled_page_hint,
    unfilled_pages,
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
    # issue 12 item 4: today's official words, and the new templates
    "weather-advisory", "weather-danger-warning", "river-flood-danger", "river-flood-occurred",
    "rescue-request", "misinformation-warning", "tsunami-warning", "tsunami-lift",
    "heavy-rain-band", "record-rain", "missile-jalert", "tornado-alert", "heatstroke-alert",
    "evac-update", "water-restored", "power-restored", "safety-check-171", "school-closure",
    "pet-evacuation", "emergency-free-text",
    "evac-l3-easy", "evac-l4-easy", "evac-l5-easy", "shelter-open-easy", "quake-easy", "tsunami-easy",
    "evac-l3-en", "evac-l4-en", "evac-l5-en", "shelter-open-en", "quake-en", "tsunami-en",
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


@pytest.fixture
def variables(settings):
    """The example town's municipality variables (阿見町), as compose passes them."""
    return municipality_variables(settings)


def example(template_id: str, variables) -> str:
    template = BUNDLED.get(template_id)
    return render(template, template.examples, variables=variables)


# -- the bundled set -------------------------------------------------------------


def test_every_bundled_template_loads_without_errors():
    assert BUNDLED.errors == []
    assert len(list(BUNDLED_TEMPLATES.glob("*.toml"))) == len(TEMPLATES)


def test_at_least_45_templates_with_unique_ids_matching_their_files():
    assert len(TEMPLATES) >= 45
    assert len(set(IDS)) == len(IDS)
    assert all(t.path.stem == t.id for t in TEMPLATES)


@pytest.mark.parametrize("template_id", REQUIRED_IDS)
def test_the_spec_list_is_covered(template_id):
    assert BUNDLED.get(template_id) is not None


def test_templates_are_listed_by_category_then_order():
    ranks = [CATEGORY_ORDER.index(t.category) for t in TEMPLATES]
    assert ranks == sorted(ranks)
    evac = [t.id for t in TEMPLATES if t.category == "避難情報"]
    assert evac == ["evac-l3", "evac-l3-lift", "evac-l4", "evac-l4-lift", "evac-l5", "evac-l5-lift", "evac-update"]


@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_example_render_fits_one_post_or_declares_threads(template, settings, variables):
    """Also in drill mode, where the caller puts the marker 【訓練】 in front."""
    from dutypost.core.length import weighted_length

    text = settings.drill.marker + render(template, template.examples, variables=variables)
    assert template.threads or weighted_length(text) <= 280, (template.id, weighted_length(text))


def test_the_abolished_term_appears_nowhere(variables):
    for path in BUNDLED_TEMPLATES.glob("*.toml"):
        assert "避難勧告" not in path.read_text(encoding="utf-8"), path
    for template in TEMPLATES:
        assert "避難勧告" not in render(template, template.examples, variables=variables)


#: JMA names replaced in late May 2026 by レベル2注意報 … レベル5特別警報 (気象庁「新たな防災気象情報」).
def _unlevelled(level: int, names: str) -> str:
    """``names`` without their レベルN prefix (a heading 【レベルN】 counts as the prefix)."""
    return rf"(?<!レベル{level})(?<!【レベル{level}】)(?:{names})"


OLD_JMA_NAMES = re.compile("|".join([
    r"土砂災害警戒情報|氾濫(?:注意|警戒|危険|発生)情報|指定河川洪水予報|警戒レベル\d相当情報",
    _unlevelled(2, "大雨|高潮|土砂災害|氾濫") + "注意報",
    _unlevelled(3, "大雨|高潮|土砂災害|氾濫") + "警報",
    _unlevelled(4, "大雨|高潮|土砂災害|氾濫") + "危険警報",
    _unlevelled(5, "大雨|高潮|土砂災害|氾濫") + "特別警報",
]))


def test_old_jma_names_appear_in_no_bundled_template(variables):
    assert OLD_JMA_NAMES.search("大雨警報（土砂災害）") and OLD_JMA_NAMES.search("土砂災害警戒情報")
    assert not OLD_JMA_NAMES.search("レベル3大雨警報、レベル4土砂災害危険警報、レベル5氾濫特別警報")
    for path in BUNDLED_TEMPLATES.glob("*.toml"):
        # Comments may say what a name replaced (旧称は…); everything else is checked.
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
        text = "\n".join(lines)
        assert not OLD_JMA_NAMES.search(text), (path.name, OLD_JMA_NAMES.search(text))
    for template in TEMPLATES:
        for f in template.fields:
            for value in (*f.choices, f.example):
                assert not OLD_JMA_NAMES.search(value), (template.id, f.name, value)


@pytest.mark.parametrize("template_id", ["weather-advisory", "weather-warning", "weather-danger-warning",
                                         "landslide-alert", "river-flood-danger", "river-flood-occurred",
                                         "weather-special-warning"])
def test_each_jma_level_names_its_evacuation_level(template_id, variables):
    """レベルN の防災気象情報 is related to 警戒レベルN (the evacuation level) in the text."""
    text = example(template_id, variables)
    level = re.match(r"【レベル(\d)】", text)[1]
    assert f"警戒レベル{level}相当" in text
    assert re.search(rf"レベル{level}(?:大雨|土砂災害|氾濫|高潮)", text)


@pytest.mark.parametrize("template", [t for t in TEMPLATES if t.emergency], ids=lambda t: t.id)
def test_every_emergency_template_states_the_time_near_the_top(template, variables):
    top = template.body.splitlines()[:3]
    assert any(re.search(r"\{\w+\}現在", line) for line in top), template.body
    assert re.search(r"\d+時\d+分現在", render(template, template.examples, variables=variables))


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
def test_evacuation_wording_follows_the_2021_guideline(template_id, first_line, action, variables):
    """Level and action first, then who (町), why (reason), where (area), what to do (R12)."""
    template = BUNDLED.get(template_id)
    text = example(template_id, variables)
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


def test_links_only_to_allowed_domains_and_no_phone_numbers_but_allowed_ones(settings, variables):
    allowed = settings.gate.allow_domains
    for template in TEMPLATES:
        text = render(template, template.examples, variables=variables)
        for url in re.findall(r"https?://\S+", text):
            host = urlsplit(url).hostname
            assert any(host == d or host.endswith("." + d) for d in allowed), (template.id, url)
        for phone in re.findall(r"\d{2,4}-\d{2,4}-\d{3,4}", text):
            assert phone in settings.gate.allow_phones, (template.id, phone)


def test_no_template_carries_the_drill_marker_itself(variables):
    for template in TEMPLATES:
        assert "【訓練】" not in render(template, template.examples, variables=variables), template.id


def test_hashtags_are_few_and_the_last_line(variables):
    for template in TEMPLATES:
        assert len(template.hashtags) <= 2, template.id
        if template.hashtags:
            expected = " ".join(template.hashtags).replace("{municipality_hashtags}", "#阿見町")
            assert render(template, template.examples, variables=variables).splitlines()[-1] == expected


@pytest.mark.parametrize("drill", [False, True], ids=["live", "drill"])
@pytest.mark.parametrize("template", TEMPLATES, ids=IDS)
def test_the_gate_finds_nothing_blocking_or_warning_in_any_example(template, drill, settings, variables):
    from dutypost.core.gate import ContentContext, check_content

    text = render(template, template.examples, variables=variables)
    if drill:
        text = settings.drill.marker + text
    ctx = ContentContext.from_settings(settings, drill=drill, emergency=template.emergency,
                                       threads_allowed=template.threads, expected_rules=template.expects,
                                       drill_only=template.drill_only, now=_moment_named_in(text))
    found = [(f.rule, f.severity, text[f.start:f.end]) for f in check_content(text, ctx)
             if f.severity in ("block", "warn")]
    # A drill-only template (訓練実施中) is stopped in live mode, and by that check only; the
    # drill announcement may carry 【訓練】 live, behind an explicit confirmation (a warning).
    if not drill and "drill-marker" in template.expects:
        found = [f for f in found if f[:2] != ("drill-marker", "warn")]
    assert [f[:2] for f in found] == ([("drill-only", "block")] if template.drill_only and not drill else [])


def _moment_named_in(text: str) -> datetime:
    """The examples are published at the time their 「○時○分現在」 names (else at noon)."""
    from zoneinfo import ZoneInfo

    from dutypost.core.gate import _TIME_STAMP_PARTS, _stamp_moment

    noon = datetime(2026, 9, 1, 12, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    moments = [_stamp_moment(m, noon) for m in _TIME_STAMP_PARTS.finditer(text)]
    return next((m for m in moments if m is not None), noon)


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


def test_render_fills_the_body_then_the_link_and_hashtags(variables):
    template = BUNDLED.get("weather-warning")
    text = render(template, {"time": "14時30分", "warning": "レベル3大雨警報"}, variables=variables)
    assert text.splitlines() == [
        "【レベル3】レベル3大雨警報 発表",
        "14時30分現在、阿見町にレベル3大雨警報が発表されています。",
        "警戒レベル3相当です。高齢者等は危険な場所から避難してください。",
        "町の避難情報に注意してください。",
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
    assert "避難所：" not in text
    assert "避難所：本郷小学校" in render(template, template.examples)


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
        "阿見町役場", "給水所（中央公民館駐車場）", "中央公民館"]
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
             "example": "レベル4土砂災害危険警報が解除されたため"},
            {"name": "area", "label": "対象地区", "kind": "area", "required": True, "example": "本郷地区"},
        ],
    }


# -- the municipality is configuration (issue 13) --------------------------------------

NAGAREYAMA = """\
[account]
name = "流山市公式"
handle = "nagareyama_city"
drill_handle = "nagareyama_drill"
web_base_url = "https://x.com"
inquiry_url = "https://www.city.nagareyama.chiba.jp/"

[municipality]
name = "流山市"
kind = "市"
name_en = "Nagareyama City"
hashtags = ["#流山市"]
website = "https://www.city.nagareyama.chiba.jp"
mail_service = "流山市安心メール"
manager_title = "秘書広報課長"

[municipality.pages]
bosai = "/bousai/"
shelters = "/bousai/hinanjo/"
inquiry = "/otoiawase/"
hazard_map = "/bousai/hazardmap/"
risai = "/bousai/risai/"

[lists]
areas = ["東部地区", "南部地区", "北部地区"]

[[lists.shelters]]
name = "東部公民館"
[[lists.shelters]]
name = "南部中学校"

[[lists.facilities]]
name = "市役所本庁舎"
[[lists.facilities]]
name = "給水所 (南部公民館)"

"""


def _city_config(tmp_path: Path, example_config_path: Path) -> Path:
    """The example config with [account], [municipality] and the lists of a city (seed 003)."""
    text = example_config_path.read_text(encoding="utf-8")
    head, rest = text.split("[hours]", 1)
    rest = re.sub(r"\[lists\].*?(?=\[templates\])", "", rest, flags=re.S)
    path = tmp_path / "nagareyama.toml"
    path.write_text(NAGAREYAMA + "[hours]" + rest, encoding="utf-8")
    return path


def _city_values(template, city) -> dict[str, str]:
    values = dict(template.examples)
    for f in template.fields:
        if f.kind in ("area", "facility") and f.example:
            values[f.name] = field_choices(f, city)[0]
    return values


def test_every_template_rendered_for_a_city_names_the_city_and_never_the_example_town(tmp_path,
                                                                                       example_config_path):
    city = load_settings(_city_config(tmp_path, example_config_path))
    variables = municipality_variables(city)
    assert variables["municipality"] == "流山市" and variables["municipality_kind"] == "市"
    named = 0
    for template in TEMPLATES:
        text = render(template, _city_values(template, city), variables=variables)
        assert not re.search(r"阿見|あみ|town\.ami|\bAmi\b|町[はのにでがへ内道]", text), (template.id, text)
        used = template.variables
        if "municipality" in used or "municipality_en" in used and not city.municipality.name_en:
            assert "流山市" in text, template.id
        if "municipality_en" in used:
            assert "Nagareyama City" in text, template.id
        if "municipality_kind" in used:
            assert "市" in text, template.id
        if "municipality_hashtags" in used:
            assert text.splitlines()[-1].startswith("#流山市"), template.id
        if {"website"} & used or any(v.startswith("page.") for v in used):
            assert "https://www.city.nagareyama.chiba.jp" in text, template.id
        named += "流山市" in text
    assert named >= 45


def test_no_bundled_template_text_names_a_municipality():
    """Body, link, hashtags, title, description and labels; example values of area and
    facility fields come from the example config's lists and may name its places."""
    for template in TEMPLATES:
        texts = [template.body, template.link or "", *template.hashtags, template.title, template.description]
        texts += [t for f in template.fields for t in (f.label, f.help, *f.choices)]
        texts += [f.example for f in template.fields if f.kind not in ("area", "facility")]
        for text in texts:
            assert not re.search(r"阿見|あみ|town\.ami|\bAmi\b|町[はのにでがへ内道]", text), (template.id, text)


def test_without_variables_a_municipality_placeholder_stays_and_the_gate_blocks_it(settings):
    from dutypost.core.gate import ContentContext, check_content

    template = BUNDLED.get("evac-l4")
    text = render(template, template.examples)
    assert "{municipality_kind}は、" in text and text.splitlines()[-1] == "{municipality_hashtags} #避難指示"
    ctx = ContentContext.from_settings(settings, drill=False, emergency=True)
    assert any(f.severity == "block" and text[f.start:f.end] == "{municipality_kind}"
               for f in check_content(text, ctx))


def test_an_empty_mail_service_leaves_out_its_line(variables):
    template = BUNDLED.get("hq-established")
    assert "あみメールでも配信しています。" in render(template, template.examples, variables=variables)
    text = render(template, template.examples, variables={**variables, "mail_service": ""})
    assert "配信しています" not in text and "{" not in text


def test_a_page_the_config_lacks_leaves_the_link_out_and_an_empty_name_is_named(variables):
    """A page (or the website) the config lacks does not stop a post at 03:00: the link
    line is left out and unfilled_pages names the variable; an empty name still refuses."""
    template = BUNDLED.get("risai-certificate")
    lacking = {k: v for k, v in variables.items() if k != "page.risai"}
    text = render(template, template.examples, variables=lacking)
    assert "https://" not in text and "{" not in text and text.splitlines()[-1] == "#阿見町"
    assert "詳しくは町のホームページをご覧ください。" in text
    assert unfilled_pages(template, lacking) == ("page.risai",) and unfilled_pages(template, variables) == ()
    assert "[municipality.pages] に risai = " in unfilled_page_hint("page.risai")
    notice = BUNDLED.get("suspension-notice")
    assert "https://" not in render(notice, notice.examples, variables={**variables, "website": ""})
    assert unfilled_pages(notice, {**variables, "website": ""}) == ("website",)
    with pytest.raises(InputError, match=r"\[municipality\] name"):
        render(BUNDLED.get("weather-warning"), BUNDLED.get("weather-warning").examples,
               variables={**variables, "municipality": ""})


def test_variables_are_the_documented_names():
    assert is_variable("municipality") and is_variable("page.bosai") and is_variable("mail_service")
    assert not is_variable("municipalty") and not is_variable("page.") and not is_variable("area")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (GOOD.replace("{area}でお知らせ", "{area}で{municipalty}からのお知らせ"), 6, "{municipalty}"),
        (GOOD.replace('description = "読み込めるテンプレート"',
                      'description = "x"\nlink = "{webiste}/bousai/"'), 6, "{webiste}"),
        (GOOD.replace('description = "読み込めるテンプレート"',
                      'description = "x"\nhashtags = ["{municipality_hashtag}"]'), 6, "hashtags"),
    ],
    ids=["body", "link", "hashtags"],
)
def test_an_unknown_variable_is_reported_with_file_and_line(tmp_path, text, line, words):
    path = _write(tmp_path, "good.toml", text)
    result = load_templates([tmp_path])
    assert result.templates == []
    assert [(e.path, e.line) for e in result.errors] == [(path, line)], result.errors
    assert words in result.errors[0].message


def test_a_known_variable_loads(tmp_path, variables):
    _write(tmp_path, "good.toml", GOOD.replace("{area}でお知らせ", "{area}で{municipality}からのお知らせ").replace(
        'description = "読み込めるテンプレート"',
        'description = "x"\nlink = "{page.bosai}"\nhashtags = ["{municipality_hashtags}", "#防災"]'))
    [template] = load_templates([tmp_path]).templates
    assert template.variables == {"municipality", "page.bosai", "municipality_hashtags"}
    text = render(template, template.examples, variables=variables)
    assert text.splitlines() == ["9時00分現在、本郷地区で阿見町からのお知らせがあります。",
                                 "https://www.town.ami.lg.jp/bousai/", "#阿見町 #防災"]


def test_an_evacuation_order_for_four_areas_goes_out_as_a_thread_led_by_the_order(settings, variables):
    """Issue 12: a 避難指示 for four areas blocked on length. It now splits, and part 1
    carries the level, the time, who issued it and where."""
    from dutypost.core.gate import ContentContext, check_content
    from dutypost.core.length import split_thread, weighted_length

    template = BUNDLED.get("evac-l4")
    areas = "本郷地区、吉原地区、君原地区、舟島地区"
    text = settings.drill.marker + render(
        template, {**template.examples, "area": areas, "reason": "大雨で土砂災害の危険が高まったため"},
        variables=variables)
    assert weighted_length(text) > 280 and template.threads
    ctx = ContentContext.from_settings(settings, drill=True, emergency=True, threads_allowed=template.threads)
    assert [f for f in check_content(text, ctx) if f.severity == "block"] == []
    first, *rest = split_thread(text, 280)
    assert rest and first.startswith("【訓練】【警戒レベル4】避難指示 発令\n18時40分現在\n町は、")
    assert f"{areas}に避難指示を発令しました。" in first


# -- what a template tells the gate (issue 12) ------------------------------------------


def test_the_drill_templates_and_the_correction_declare_what_the_gate_expects():
    assert BUNDLED.get("drill-in-progress").drill_only
    assert BUNDLED.get("drill-notice").expects == frozenset({"drill-marker"})
    assert BUNDLED.get("correction").expects == frozenset({"stale-time"})
    assert not any(t.drill_only for t in TEMPLATES if t.id != "drill-in-progress")


def test_expects_and_drill_only_are_read_from_the_file(tmp_path):
    _write(tmp_path, "good.toml", GOOD.replace('emergency = false\n', 'emergency = false\nexpects = ["rumour"]\ndrill_only = true\n'))
    [template] = load_templates([tmp_path]).templates
    assert template.expects == frozenset({"rumour"}) and template.drill_only


def test_expectable_rules_are_gate_rules():
    from dutypost.core.gate import RULES
    from dutypost.core.templates import EXPECTABLE_RULES

    assert set(EXPECTABLE_RULES) <= set(RULES)
    assert not {"empty", "length", "placeholder", "control", "level-mismatch", "drill-only", "hours",
                "approval", "role"} & set(EXPECTABLE_RULES)


@pytest.mark.parametrize(
    ("line", "words"),
    [('expects = ["placeholder"]', "placeholder"), ('expects = "rumour"', "配列"), ("drill_only = 1", "true か false")],
)
def test_a_wrong_expects_or_drill_only_is_reported_with_its_line(tmp_path, line, words):
    path = _write(tmp_path, "good.toml", GOOD.replace('emergency = false\n', f"emergency = false\n{line}\n"))
    result = load_templates([tmp_path])
    assert result.templates == []
    [error] = result.errors
    assert error.path == path and error.line == GOOD.splitlines().index("emergency = false") + 2
    assert words in error.message


# -- issue 15 item 6: the wording of every post ------------------------------------------
#
# The rules, for every Japanese template (the English *-en versions are exempt), rendered
# with its example values and again with its optional fields left empty, live and drill:
#  1. No line begins with 、 or 。 (as one does when a field before it comes out empty).
#  2. Punctuation in the post is full-width: （）：！？ and 、。 — never the half-width
#     , ! ? ( ) : (公用文の表記; the project's label lines are 「避難所：…」). URLs, the
#     hashtags and the thread marker (1/2) are not Japanese text.
#  3. No space next to an inserted value inside Japanese text (「 本郷地区 」): checked in
#     the body, where the values are still {placeholders}. Exempt: headings 【…】, which
#     set the name apart from the verb (「【警戒レベル4】避難指示 発令」,
#     「【レベル2】{advisory} 発表」), and やさしい日本語 (*-easy), written with spaces
#     between words (分かち書き). A full-width space 「　」 is never used.
#  4. Every line of running Japanese ends with 。 (or ！？). Exempt, because they are not
#     sentences: headings (beginning with 【), the time line alone (「15時20分現在」), label
#     lines (「避難所：…」「誤：…」「受付時間：…」, a short label then ：; but one whose value
#     is a sentence — a 。 inside, or ending in です・ます・ください — ends with 。 too), list items
#     (beginning with ・), a line that is one inserted value on its own (a list of shelters,
#     the officer's free text), URL lines and the hashtag line.

JAPANESE = [t for t in TEMPLATES if not t.id.endswith("-en")]
HALF_WIDTH = re.compile(r"[,!?():]")
INSERTED_SPACE = re.compile(r"[ \u3000]\{|\}[ \u3000]")
LABEL_LINE = re.compile(r"[^\s。、：]{1,24}：")
TIME_LINE = re.compile(r"\d{1,2}時\d{2}分現在")


def _renderings(template, settings):
    """(mode, values, text) for the examples and for the required fields only, live and drill."""
    from dutypost.core.context import DutyContext
    from dutypost.core.publish import compose

    required = {f.name: f.example for f in template.fields if f.required}
    for drill in (False, True):
        ctx = DutyContext(settings=settings, operator=None, drill=drill)  # type: ignore[arg-type]
        for values in (template.examples, required):
            text = compose(ctx, template, values).text
            yield ("drill" if drill else "live"), values, text.removeprefix(settings.drill.marker)


def _is_sentence(line: str, values) -> bool:
    words = line.split()
    return not (
        line.startswith(("【", "・")) or re.fullmatch(r"https?://\S+", line) or TIME_LINE.fullmatch(line)
        or LABEL_LINE.match(line) or line in values.values() or all(w.startswith("#") for w in words)
    )


def _japanese(line: str) -> str:
    """The line without what is not Japanese text: URLs and hashtags."""
    return re.sub(r"https?://\S+|#\S+", "", line)


@pytest.mark.parametrize("template", JAPANESE, ids=[t.id for t in JAPANESE])
def test_the_wording_follows_the_japanese_rules(template, settings):
    problems = []
    for line in template.body.splitlines():
        if "\u3000" in line or not (line.startswith("【") or template.id.endswith("-easy")) and INSERTED_SPACE.search(line):
            problems.append(("space next to an inserted value", line))
    for f in template.fields:
        problems += [("half-width punctuation in a choice", c) for c in f.choices if HALF_WIDTH.search(c)]
    for mode, values, text in _renderings(template, settings):
        for line in text.splitlines():
            if line.startswith(("、", "。")):
                problems.append((mode, "begins with 、。", line))
            if HALF_WIDTH.search(_japanese(line)):
                problems.append((mode, "half-width punctuation", line))
            if _is_sentence(line, values) and not line.endswith(("。", "！", "？")):
                problems.append((mode, "no final 。", line))
            elif LABEL_LINE.match(line) and re.search(r"。.*[^。]$|(?:です|ます|ません|ください)$", line):
                problems.append((mode, "a label line of sentences without its final 。", line))
    assert problems == [], template.id


@pytest.mark.parametrize(
    ("text", "problem"),
    [("{time}現在、{area}に避難指示を発令しました。", None),
     ("、本郷地区に避難指示を発令しました。", "begins with 、。"),
     ("避難所 (本郷小学校) を開設しました。", "half-width punctuation"),
     ("避難所: 本郷小学校", "half-width punctuation"),
     ("本郷地区に避難指示を発令しました", "no final 。"),
     ("復旧の見込み：調査中です。わかり次第お知らせします", "without its final 。"),
     ("う回路：県道をご利用ください", "without its final 。"),
     ("{time}現在、 {area} に避難指示を発令しました。", "space next to an inserted value")],
)
def test_the_wording_rules_catch_what_they_are_for(tmp_path, settings, text, problem):
    """Each rule of the test above fails on a line that breaks it (and only the heading,
    time, label and value lines are let through)."""
    body = f"【避難指示】\n{text}\n15時20分現在\n避難所：{{area}}\n{{area}}"
    fields = "".join(f'\n[[fields]]\nname = "{n}"\nlabel = "{n}"\nkind = "text"\nexample = "{e}"\n'
                     for n, e in (("time", "15時20分"), ("area", "本郷地区")) if f"{{{n}}}" in body)
    (tmp_path / "probe").mkdir()
    _write(tmp_path / "probe", "probe.toml", f'id = "probe"\ntitle = "t"\ncategory = "生活"\nemergency = false\n'
                                     f'description = "d"\nbody = """\n{body}\n"""\n{fields}')
    loaded = load_templates([tmp_path / "probe"], fresh=True)
    assert loaded.errors == [], loaded.errors
    if problem is None:
        test_the_wording_follows_the_japanese_rules(loaded.templates[0], settings)
        return
    with pytest.raises(AssertionError) as caught:
        test_the_wording_follows_the_japanese_rules(loaded.templates[0], settings)
    assert problem in str(caught.value)
