"""The gate (投稿前チェック): hours, approval, content checks, override (SPEC §3, §4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from dutypost.core.config import HoursConfig, load_settings
from dutypost.core.errors import InputError
from dutypost.core.gate import (
    APPROVAL_METHODS,
    RULES,
    Approval,
    ContentContext,
    Override,
    check_approval,
    check_content,
    evaluate,
    hours_status,
    validate_override,
)

JST = ZoneInfo("Asia/Tokyo")
TUESDAY_NOON = datetime(2026, 11, 24, 12, 0, tzinfo=JST)
SATURDAY_NOON = datetime(2026, 11, 21, 12, 0, tzinfo=JST)
CLEAN = "14時30分現在、阿見小学校に避難所を開設しました。"
REASON = "台風で土砂災害の危険が高まっているため"


@pytest.fixture
def settings(example_config_path):
    return load_settings(example_config_path)


def content(settings, **kwargs) -> ContentContext:
    kwargs.setdefault("drill", False)
    kwargs.setdefault("emergency", False)
    return ContentContext.from_settings(settings, **kwargs)


def found(text: str, ctx: ContentContext, rule: str) -> list[str]:
    """The text of each span that ``rule`` flags in ``text``."""
    return [text[f.start:f.end] for f in check_content(text, ctx) if f.rule == rule]


# -- hours (R1) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("when", "in_hours", "reason"),
    [
        (datetime(2026, 11, 24, 8, 29, 59, tzinfo=JST), False, "勤務時間外 (08:30 から)"),
        (datetime(2026, 11, 24, 8, 30, tzinfo=JST), True, "勤務時間内 (17:15 まで)"),
        (datetime(2026, 11, 24, 17, 15, tzinfo=JST), True, "勤務時間内 (17:15 まで)"),
        (datetime(2026, 11, 24, 17, 15, 59, tzinfo=JST), True, "勤務時間内 (17:15 まで)"),
        (datetime(2026, 11, 24, 17, 16, tzinfo=JST), False, "勤務時間外 (17:15 で終了)"),
        (SATURDAY_NOON, False, "土曜日"),
        (datetime(2026, 11, 22, 12, 0, tzinfo=JST), False, "日曜日"),
        (datetime(2026, 11, 23, 12, 0, tzinfo=JST), False, "国民の祝日 (勤労感謝の日)"),
        (datetime(2026, 12, 29, 12, 0, tzinfo=JST), False, "年末年始の閉庁日 (12/29〜1/3)"),
        (datetime(2028, 1, 3, 12, 0, tzinfo=JST), False, "年末年始の閉庁日 (12/29〜1/3)"),
        (datetime(2026, 12, 28, 12, 0, tzinfo=JST), True, "勤務時間内 (17:15 まで)"),
    ],
)
def test_hours_in_jst(settings, when, in_hours, reason):
    status = hours_status(when, settings.hours)
    assert (status.in_hours, status.reason) == (in_hours, reason)


def test_configured_closed_date_is_out_of_hours():
    hours = HoursConfig(closed_dates=[date(2026, 11, 25)])
    assert hours_status(datetime(2026, 11, 25, 12, 0, tzinfo=JST), hours).in_hours is False
    assert hours_status(datetime(2026, 11, 25, 12, 0, tzinfo=JST), hours).reason == "閉庁日 (2026/11/25)"
    assert hours_status(datetime(2026, 11, 26, 12, 0, tzinfo=JST), hours).in_hours is True


def test_hours_convert_utc_to_jst(settings):
    # 2026-11-23 23:30 UTC is Tuesday 2026-11-24 08:30 in Tokyo — not the holiday, and in hours.
    assert hours_status(datetime(2026, 11, 23, 23, 30, tzinfo=timezone.utc), settings.hours).in_hours
    assert not hours_status(datetime(2026, 11, 23, 23, 29, tzinfo=timezone.utc), settings.hours).in_hours
    # 08:16 UTC is 17:16 JST.
    assert not hours_status(datetime(2026, 11, 24, 8, 16, tzinfo=timezone.utc), settings.hours).in_hours
    # 2026-11-23 03:00 UTC is noon on the holiday in Tokyo.
    status = hours_status(datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc), settings.hours)
    assert status.reason == "国民の祝日 (勤労感謝の日)"


def test_hours_refuse_a_naive_datetime(settings):
    with pytest.raises(ValueError):
        hours_status(datetime(2026, 11, 24, 12, 0), settings.hours)


def test_national_holidays_can_be_switched_off():
    hours = HoursConfig(national_holidays=False)
    assert hours_status(datetime(2026, 11, 23, 12, 0, tzinfo=JST), hours).in_hours


# -- content: blocks ------------------------------------------------------------


def test_every_rule_has_a_japanese_title():
    assert {"empty", "length", "placeholder", "control", "drill-marker", "obsolete-term", "personal-phone",
            "personal-email", "personal-address", "personal-number", "personal-name", "rumour", "link-domain",
            "mention", "political", "religious", "discriminatory", "no-time", "duplicate", "cost",
            "hours", "approval", "role", "override-fit"} == set(RULES)


def test_empty_text_is_blocked(settings):
    findings = check_content(" \n　", content(settings))
    assert [(f.rule, f.severity) for f in findings] == [("empty", "block")]


def test_over_the_limit_is_blocked_from_the_first_character_past_it(settings):
    text = "あ" * 140 + "いう"
    [finding] = [f for f in check_content(text, content(settings)) if f.rule == "length"]
    assert finding.severity == "block"
    assert (finding.start, finding.end) == (140, 142)
    assert "284" in finding.message and "280" in finding.message
    assert not found("あ" * 140, content(settings), "length")


def test_over_the_limit_as_a_thread_is_info(settings):
    text = "あ" * 100 + "。" + "い" * 100 + "。"
    [finding] = [f for f in check_content(text, content(settings, threads_allowed=True)) if f.rule == "length"]
    assert finding.severity == "info"
    assert "2 件" in finding.message


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("{地区}に避難指示", "{地区}"),
        ("{{area}}に避難指示", "{{area}}"),
        ("本文 {{ の途中", "{{"),
        ("○○地区に避難指示", "○○"),
        ("●●小学校", "●●"),
        ("××川が氾濫", "××"),
        ("＿＿時に開設", "＿＿"),
    ],
)
def test_placeholder_blocks(settings, text, span):
    assert found(text, content(settings), "placeholder") == [span]
    assert all(f.severity == "block" for f in check_content(text, content(settings)) if f.rule == "placeholder")


def test_messages_never_echo_terminal_escapes(settings):
    [finding] = [f for f in check_content("{\x1b[2J}", content(settings)) if f.rule == "placeholder"]
    assert "\x1b" not in finding.message and "?[2J" in finding.message


def test_filled_text_has_no_placeholder(settings):
    assert not found("阿見地区に避難指示 ○ 避難所: 阿見小学校 ×印の道は通行止め", content(settings), "placeholder")


@pytest.mark.parametrize(
    ("text", "span", "words"),
    [
        ("避難\x1b[31m指示", "\x1b[31m", "制御シーケンス"),
        ("避難\x1b]52;c;aGk=\x07指示", "\x1b]52;c;aGk=\x07", "制御シーケンス"),
        ("避難\u202e示指", "\u202e", "向き"),
        ("避難\u2066指示", "\u2066", "向き"),
        ("避\u200b\u200b難", "\u200b\u200b", "U+200B"),
        ("避難\x00指示", "\x00", "U+0000"),
        ("避難\x85指示", "\x85", "U+0085"),
        ("避難\t指示", "\t", "U+0009"),
    ],
)
def test_control_characters_block(settings, text, span, words):
    findings = [f for f in check_content(text, content(settings)) if f.rule == "control"]
    assert [text[f.start:f.end] for f in findings] == [span]
    assert findings[0].severity == "block"
    assert words in findings[0].message


@pytest.mark.parametrize(
    "text",
    [
        "一行目\n二行目",
        "家族で避難 👨\u200d👩\u200d👧",
        "注意 ❤\ufe0f",
        "イングランド 🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",
        "1\ufe0f\u20e3 番",
    ],
)
def test_newlines_and_emoji_sequences_are_not_control(settings, text):
    assert not found(text, content(settings), "control")


def test_drill_text_needs_the_marker(settings):
    drill = content(settings, drill=True)
    [finding] = [f for f in check_content("避難所を開設しました。", drill) if f.rule == "drill-marker"]
    assert finding.severity == "block"
    assert "訓練の投稿なのに【訓練】がありません" in finding.message.replace(" ", "")
    assert not found("【訓練】避難所を開設しました。", drill, "drill-marker")


def test_live_text_must_not_carry_the_marker(settings):
    live = content(settings)
    text = "【訓練】避難所を開設しました。"
    [finding] = [f for f in check_content(text, live) if f.rule == "drill-marker"]
    assert (finding.severity, text[finding.start:finding.end]) == ("block", "【訓練】")
    assert "本番" in finding.message
    assert not found("避難所を開設しました。", live, "drill-marker")


# -- content: warnings ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "span", "new_term"),
    [
        ("本郷地区に避難勧告を発令", "避難勧告", "警戒レベル4 避難指示"),
        ("避難準備・高齢者等避難開始を発令", "避難準備・高齢者等避難開始", "警戒レベル3 高齢者等避難"),
        ("避難準備情報", "避難準備", "警戒レベル3 高齢者等避難"),
        ("災害発生情報を発令", "災害発生情報", "警戒レベル5 緊急安全確保"),
        ("避難指示（緊急）を発令", "避難指示（緊急）", "警戒レベル4 避難指示"),
    ],
)
def test_obsolete_evacuation_terms(settings, text, span, new_term):
    findings = [f for f in check_content(text, content(settings)) if f.rule == "obsolete-term"]
    assert [text[f.start:f.end] for f in findings] == [span]
    assert findings[0].severity == "warn"
    assert new_term in findings[0].message


@pytest.mark.parametrize("text", ["警戒レベル4 避難指示を発令", "警戒レベル3 高齢者等避難", "警戒レベル5 緊急安全確保"])
def test_2021_terms_are_not_obsolete(settings, text):
    assert not found(text, content(settings), "obsolete-term")


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("連絡先は 090-1234-5678 です", "090-1234-5678"),
        ("連絡先は ０９０－１２３４－５６７８ です", "０９０－１２３４－５６７８"),
        ("連絡先は09012345678です", "09012345678"),
        ("電話 (029)123-4567", "(029)123-4567"),
        ("電話 +81-90-1234-5678", "+81-90-1234-5678"),
        ("電話 029 123 4567", "029 123 4567"),
    ],
)
def test_personal_phone_numbers(settings, text, span):
    assert found(text, content(settings), "personal-phone") == [span]


@pytest.mark.parametrize(
    "text",
    [
        "問い合わせ: 029-888-1111",
        "問い合わせ: ０２９－８８８－１１１１",
        "問い合わせ: 0298871111",
        "問い合わせ: +81-29-888-1111",
        "〒300-1192 阿見町",
        "2026-11-23 14:30",
        "救急は 119、警察は 110",
    ],
)
def test_allowed_phones_and_other_numbers_are_not_personal(settings, text):
    assert not found(text, content(settings), "personal-phone")


def test_personal_email(settings):
    text = "問い合わせ: taro.yamada@example.com まで"
    assert found(text, content(settings), "personal-email") == ["taro.yamada@example.com"]
    assert not found("問い合わせ: BOUSAI@town.ami.lg.jp まで", content(settings), "personal-email")


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("阿見町中央3-2-1 の住宅で", "阿見町中央3-2-1"),
        ("本郷1丁目2番3号 付近", "本郷1丁目2番3号"),
        ("吉原123番地の2 の倉庫", "吉原123番地の2"),
    ],
)
def test_personal_addresses(settings, text, span):
    assert found(text, content(settings), "personal-address") == [span]


@pytest.mark.parametrize(
    "text",
    [
        "給水所: 阿見町中央1-1-1 (中央公民館駐車場)",
        "役場 (中央1丁目1番1号) で受付",
        "本郷地区の住宅",
        "12月3-4日に実施",
    ],
)
def test_facility_addresses_and_dates_are_not_personal(settings, text):
    assert not found(text, content(settings), "personal-address")


@pytest.mark.parametrize("number", ["123456789012", "1234 5678 9012", "1234-5678-9012", "１２３４５６７８９０１２"])
def test_twelve_digit_numbers(settings, number):
    assert found(f"番号 {number} の方", content(settings), "personal-number") == [number]


@pytest.mark.parametrize("text", ["番号 12345678901 の方", "番号 1234567890123 の方", "1234-5678 9012"])
def test_other_digit_runs_are_not_twelve_digit_numbers(settings, text):
    assert not found(text, content(settings), "personal-number")


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("山田太郎様が避難", "山田太郎様"),
        ("田中 一郎さんの家", "田中 一郎さん"),
        ("担当は佐藤氏です", "佐藤氏"),
        ("スミスさんを探しています", "スミスさん"),
    ],
)
def test_personal_names(settings, text, span):
    assert found(text, content(settings), "personal-name") == [span]


@pytest.mark.parametrize(
    "text",
    [
        "皆様へ", "皆さん、避難してください", "住民の皆さま", "町民皆様へ", "お客様各位", "町民の皆様", "保護者様",
        "ご苦労様です", "様式第1号", "氏名を記入", "さまざまな情報", "ボランティアさん募集", "ご本人様",
    ],
)
def test_group_words_are_not_personal_names(settings, text):
    assert not found(text, content(settings), "personal-name")


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("橋が落ちたとのことです", "とのこと"),
        ("倒壊したらしい", "らしい"),
        ("未確認の情報", "未確認"),
        ("断水の噂があります", "噂"),
        ("停電するかもしれない", "かもしれない"),
    ],
)
def test_rumour_words(settings, text, span):
    assert found(text, content(settings), "rumour") == [span]


@pytest.mark.parametrize("text", ["素晴らしい協力に感謝します", "新しい避難所", "あたらしい給水所", "確認済みの情報"])
def test_ordinary_words_are_not_rumours(settings, text):
    assert not found(text, content(settings), "rumour")


@pytest.mark.parametrize(
    "url", ["https://example.com/news", "https://evil-jma.go.jp/", "https://jma.go.jp.example.com/", "bit.ly/abc"]
)
def test_links_to_other_domains(settings, url):
    assert found(f"詳しくは {url} を", content(settings), "link-domain") == [url]


@pytest.mark.parametrize(
    "url", ["https://www.jma.go.jp/bosai/", "https://jma.go.jp", "town.ami.lg.jp/bousai", "http://WWW.Town.Ami.LG.JP/a"]
)
def test_links_to_allowed_domains_and_subdomains(settings, url):
    assert not found(f"詳しくは {url} を", content(settings), "link-domain")


def test_mentions(settings):
    assert found("@someone 確認してください", content(settings), "mention") == ["@someone"]
    assert found("詳しくは＠TownAmi_2 へ", content(settings), "mention") == ["＠TownAmi_2"]
    assert not found("bousai@town.ami.lg.jp へ", content(settings), "mention")
    assert not found("詳しくは https://www.town.ami.lg.jp/@news を", content(settings), "mention")


def test_political_and_religious_terms(settings):
    assert found("支持政党を教えて", content(settings), "political") == ["支持政党", "政党"]
    assert found("布教活動", content(settings), "religious") == ["布教"]
    assert not found("投票所の場所", content(settings), "political")


def test_discriminatory_and_obscene_terms_come_from_config(settings):
    gate = replace(settings.gate, discriminatory_terms=["差別語"], obscene_terms=["Obscene"])
    ctx = ContentContext(gate=gate, lists=settings.lists, drill=False, drill_marker="【訓練】", emergency=False,
                         max_weighted_length=280, threads_allowed=False)
    assert found("これは差別語です OBSCENE", ctx, "discriminatory") == ["差別語", "OBSCENE"]
    assert not found("これは差別語です", content(settings), "discriminatory")


def test_emergency_post_needs_a_time(settings):
    emergency = content(settings, emergency=True)
    [finding] = [f for f in check_content("避難所を開設しました。", emergency) if f.rule == "no-time"]
    assert (finding.severity, finding.start, finding.end) == ("warn", 0, 0)
    text = "現在、避難所を開設しています。"
    assert found(text, emergency, "no-time") == ["現在"]
    for ok in ["14時30分現在、開設", "14:30 現在、開設", "午後2時現在、開設", "１４時３０分現在"]:
        assert not found(ok, emergency, "no-time")
    assert not found("避難所を開設しました。", content(settings), "no-time")


def test_duplicate_within_the_window(settings):
    now = TUESDAY_NOON
    recent = (("避難所を 開設しました。\n", now - timedelta(hours=23, minutes=59)),)
    ctx = content(settings, recent_texts=recent, now=now)
    [finding] = [f for f in check_content("避難所を開設しました。", ctx) if f.rule == "duplicate"]
    assert finding.severity == "warn"
    assert "23時間59分前" in finding.message
    stale = content(settings, recent_texts=(("避難所を開設しました。", now - timedelta(hours=24, minutes=1)),), now=now)
    assert not found("避難所を開設しました。", stale, "duplicate")
    assert not found("避難所を閉鎖しました。", ctx, "duplicate")


def test_cost_is_dearer_with_a_url(settings):
    ctx = content(settings)
    [plain] = [f for f in check_content("避難所を開設しました。", ctx) if f.rule == "cost"]
    assert (plain.severity, plain.message) == ("info", "この投稿の費用: $0.015")
    [linked] = [f for f in check_content("詳しくは https://www.town.ami.lg.jp/ へ", ctx) if f.rule == "cost"]
    assert linked.message == "この投稿の費用: $0.20 (URL を含むため)"
    thread = "あ" * 100 + "。" + "い" * 100 + "。"
    [parts] = [f for f in check_content(thread, content(settings, threads_allowed=True)) if f.rule == "cost"]
    assert parts.message == "この投稿の費用: $0.03 (2 件のスレッド)"


def test_findings_are_sorted_block_warn_info(settings):
    findings = check_content("噂では {地区} の @someone が", content(settings))
    order = [f.severity for f in findings]
    assert order == sorted(order, key=["block", "warn", "info"].index)
    assert [f.rule for f in findings] == ["placeholder", "rumour", "mention", "cost"]


_INTERESTING = list("0123456789-０１２－@＠.{}○●×＿現在時分様さん氏訓練【】\x1b[]\u202e\u200d\ufe0f\n \t。http:/s.jpあ漢") + [
    "https://x.jp/", "090-1234-5678", "中央1-2-3", "1234 5678 9012", "\U0001f3f4", "\U000e0067", "\U000e007f",
]


def test_check_content_never_raises_and_spans_stay_in_the_text(settings):
    @given(
        text=st.text() | st.lists(st.sampled_from(_INTERESTING), max_size=60).map("".join),
        drill=st.booleans(),
        emergency=st.booleans(),
        threads=st.booleans(),
    )
    @hypothesis_settings(max_examples=400, deadline=None)
    def run(text, drill, emergency, threads):
        ctx = content(settings, drill=drill, emergency=emergency, threads_allowed=threads,
                      recent_texts=((text, TUESDAY_NOON),), now=TUESDAY_NOON)
        for f in check_content(text, ctx):
            assert f.rule in RULES
            assert f.severity in ("block", "warn", "info")
            assert 0 <= f.start <= f.end <= len(text)
            assert f.message and all(c.isprintable() or c == "\n" for c in f.message)

    run()


# -- approval (R2) ------------------------------------------------------------------


def test_approver_of_the_same_department_approves(settings):
    tanaka = settings.operator("tanaka")
    for method in APPROVAL_METHODS:
        assert check_approval(settings, tanaka, Approval("suzuki", method, TUESDAY_NOON)) is None


@pytest.mark.parametrize(
    ("approver", "method", "words"),
    [
        (None, None, ["承認が記録されていません", "防災危機管理課長"]),
        ("tanaka", "phone", ["承認者の役割がありません", "防災危機管理課長"]),
        ("sato", "phone", ["秘書広聴課・広報戦略室", "防災危機管理課長", "別表第1"]),
        ("nobody", "phone", ["nobody", "職員の一覧にありません"]),
        ("suzuki", "email", ["email", "phone", "in-person"]),
    ],
)
def test_approval_problems(settings, approver, method, words):
    approval = Approval(approver, method, TUESDAY_NOON) if approver else None
    problem = check_approval(settings, settings.operator("tanaka"), approval)
    assert problem is not None
    for word in words:
        assert word in problem


# -- override (§3) ----------------------------------------------------------------------


def test_override_categories_and_justification(settings):
    category = settings.gate.override_categories[0]
    validate_override(settings, category, REASON)
    with pytest.raises(InputError) as short:
        validate_override(settings, category, "   急ぎです    ")
    assert "10 文字以上" in short.value.message and "あと 6 文字" in short.value.message
    validate_override(settings, category, "  " + "あ" * 10 + "  ")
    with pytest.raises(InputError):
        validate_override(settings, category, "あ" * 9)
    with pytest.raises(InputError) as unknown:
        validate_override(settings, "なんとなく", REASON)
    for configured in settings.gate.override_categories:
        assert configured in unknown.value.message


def _evaluate(settings, text=CLEAN, *, now=TUESDAY_NOON, approval="suzuki", override=None, acks=(), **kwargs):
    return evaluate(
        text=text,
        settings=settings,
        poster=settings.operator("tanaka"),
        now=now,
        drill=kwargs.pop("drill", False),
        emergency=kwargs.pop("emergency", True),
        approval=Approval(approval, "phone", now) if approval else None,
        override=override,
        acks=acks,
        **kwargs,
    )


def _override(settings, reason=REASON):
    return Override(settings.gate.override_categories[0], reason, "tanaka", SATURDAY_NOON)


def test_in_hours_and_approved_clean_text_is_allowed(settings):
    decision = _evaluate(settings)
    assert decision.allowed and not decision.needs_override
    assert decision.blocking == () and decision.lifted == ()
    assert [f.rule for f in decision.findings] == ["cost"]
    assert "通りました" in decision.explain()


def test_out_of_hours_without_approval_is_blocked_and_explained(settings):
    decision = _evaluate(settings, now=SATURDAY_NOON, approval=None)
    assert not decision.allowed and decision.needs_override
    assert [f.rule for f in decision.blocking] == ["hours", "approval"]
    assert all((f.severity, f.start, f.end) == ("block", 0, 0) for f in decision.blocking)
    assert "土曜日" in decision.blocking[0].message
    cli = decision.explain()
    for flag in ["--override", "--reason", "10文字以上", "--approver", "--approval-method phone|in-person",
                 settings.gate.override_categories[0]]:
        assert flag in cli
    tui = decision.explain(for_cli=False)
    assert "--" not in tui
    assert "承認を記録するか、緊急オーバーライドを使ってください" in tui


def test_override_lifts_hours_and_approval(settings):
    decision = _evaluate(settings, now=SATURDAY_NOON, approval=None, override=_override(settings))
    assert decision.lifted == ("hours", "approval")
    assert decision.allowed and not decision.needs_override
    assert decision.approval_problem is not None and not decision.hours.in_hours
    assert "緊急オーバーライド" in decision.explain()


def test_override_lifts_only_what_failed(settings):
    decision = _evaluate(settings, approval=None, override=_override(settings))
    assert decision.lifted == ("approval",)


def test_override_never_lifts_a_content_block(settings):
    decision = _evaluate(settings, text="{時刻}現在、{地区}に避難指示", now=SATURDAY_NOON, approval=None,
                         override=_override(settings))
    assert not decision.allowed
    assert {f.rule for f in decision.blocking} == {"placeholder"}
    assert "緊急オーバーライドでは外せません" in decision.explain()


def test_evaluate_validates_the_override(settings):
    with pytest.raises(InputError):
        _evaluate(settings, now=SATURDAY_NOON, override=_override(settings, reason="急ぎ"))
    with pytest.raises(InputError):
        _evaluate(settings, override=Override("なんとなく", REASON, "tanaka", TUESDAY_NOON))


def test_warnings_need_acknowledgement(settings):
    text = "14時30分現在、橋が落ちたとのこと。@someone"
    decision = _evaluate(settings, text=text)
    assert not decision.allowed and not decision.needs_override and decision.blocking == ()
    assert [f.rule for f in decision.unacknowledged] == ["rumour", "mention"]
    assert "--ack rumour --ack mention" in decision.explain()
    assert "確認済み" in decision.explain(for_cli=False)
    assert _evaluate(settings, text=text, acks=["rumour", "mention"]).allowed
    assert not _evaluate(settings, text=text, acks=["rumour"]).allowed


def test_duplicate_through_evaluate(settings):
    decision = _evaluate(settings, recent_texts=[(CLEAN, TUESDAY_NOON - timedelta(hours=1))])
    assert [f.rule for f in decision.unacknowledged] == ["duplicate"]


def test_only_posters_may_post_and_no_override_lifts_it(settings):
    security = settings.operator("takahashi")
    assert "poster" not in security.roles
    decision = evaluate(text=CLEAN, settings=settings, poster=security, now=SATURDAY_NOON, drill=False,
                        emergency=True, approval=None, override=_override(settings), acks=())
    assert [f.rule for f in decision.blocking] == ["role"]
    assert not decision.allowed
    assert "本文を直して" not in decision.explain()


# -- the override's category and the template (issue 12 item 7), the issuing department (item 8) --


def test_an_override_that_does_not_fit_the_template_is_an_acknowledgeable_warning(settings):
    life = settings.gate.override_categories[0]
    garbage = _evaluate(settings, now=SATURDAY_NOON, approval=None, override=_override(settings), emergency=False,
                        template_category="生活")
    [fit] = [f for f in garbage.findings if f.rule == "override-fit"]
    assert fit.severity == "warn" and life in fit.message
    assert fit in garbage.unacknowledged and not garbage.allowed
    assert not garbage.blocking
    assert _evaluate(settings, now=SATURDAY_NOON, approval=None, override=_override(settings), emergency=False,
                     template_category="生活", acks=["override-fit"]).allowed
    for category, emergency in (("避難情報", True), ("生活", True)):  # an emergency 生活 template (熱中症) fits
        decision = _evaluate(settings, now=SATURDAY_NOON, approval=None, override=_override(settings),
                             emergency=emergency, template_category=category)
        assert "override-fit" not in {f.rule for f in decision.findings}
    # Nothing lifted, nothing to warn about: in hours with an approval the override is not used.
    assert "override-fit" not in {f.rule for f in _evaluate(
        settings, override=_override(settings), emergency=False, template_category="生活").findings}
    # 誤った投稿への対応 may re-post any template; a configured list narrows a category.
    correction = Override("誤った投稿への対応", REASON, "tanaka", SATURDAY_NOON)
    assert "override-fit" not in {f.rule for f in _evaluate(
        settings, now=SATURDAY_NOON, approval=None, override=correction, template_category="生活").findings}
    narrowed = replace(settings, gate=replace(settings.gate, override_fit={"誤った投稿への対応": ["訂正・お詫び"]}))
    assert "override-fit" in {f.rule for f in _evaluate(
        narrowed, now=SATURDAY_NOON, approval=None, override=correction, template_category="避難情報").findings}


def test_the_approver_must_belong_to_the_issuing_department(settings):
    tanaka = settings.operator("tanaka")
    own = Approval("suzuki", "phone", TUESDAY_NOON)  # 防災危機管理課長
    assert check_approval(settings, tanaka, own) is None
    problem = check_approval(settings, tanaka, own, "秘書広聴課・広報戦略室")
    assert problem and "秘書広聴課・広報戦略室" in problem and "秘書広聴課長" in problem
    assert check_approval(settings, tanaka, Approval("sato", "phone", TUESDAY_NOON), "秘書広聴課・広報戦略室") is None
    assert _evaluate(settings, department="秘書広聴課・広報戦略室").approval_problem == problem
