"""The gate (投稿前チェック): every publish passes it (SPEC §3, §4).

Three checks decide whether a post may go out now:

1. hours (勤務時間, R1): :func:`hours_status`;
2. approval (承認 (決裁), R2): :func:`check_approval`;
3. content (本文, R5, R12, §4): :func:`check_content`.

Out of hours or without a valid approval, the only way on is the emergency override
(緊急オーバーライド): it lifts the hours and approval checks for one post and never a
blocking content finding. Warnings need an acknowledgement (確認) that the caller records.
:func:`evaluate` puts the three together into a :class:`GateDecision`.

Rule ids (``Finding.rule``), their severity and where each comes from
(seed file in ../shared/seeds/, article; or the SPEC):

=================  =====  ===========================================================
rule               sev.   source
=================  =====  ===========================================================
empty              block  SPEC §4
length             block  SPEC §4 (X weighted length); info when it goes out as a thread
placeholder        block  001 4(2)ア (正確に記述)
control            block  SPEC §4; 001 4(2)ア
drill-marker       block  SPEC §2 (訓練/本番); warn for a template that expects it (drill announcement)
drill-only         block  SPEC §2 (訓練/本番) — a drill-only template (訓練実施中) in live mode
level-mismatch     block  SPEC R12 (警戒レベル3 高齢者等避難, 4 避難指示, 5 緊急安全確保); 001 4(2)ア
obsolete-term      warn   SPEC R12 (内閣府 避難情報に関するガイドライン 2021); 001 4(2)ア
personal-phone     warn   002 第3条6, 第3条7(2); 001 4(3); 003 基本原則3
personal-email     warn   002 第3条7(2); 001 4(3)
personal-address   warn   002 第3条7(2); 001 4(3)
personal-number    warn   002 第3条7(2); 001 4(3)
personal-name      warn   002 第3条6, 第3条7(2); 001 4(3)
rumour             warn   002 第3条7(4), 7(10); 004 3(6)④
link-domain        warn   001 4(2)ウ, 4(2)エ; 004 3(6)⑤
mention            warn   000 第9条; 003 その他の機能 (リプライは使用しない) — R4
political          warn   002 第3条7(8), 7(9)
religious          warn   002 第3条7(8)
discriminatory     warn   001 4(2)エ; 002 第3条7(6); 004 3(6)②⑤
no-time            warn   SPEC R12 (「○時○分現在」)
stale-time         warn   SPEC R12 — the 「○時○分現在」 is over ``stale_time_minutes`` old, or ahead of now
duplicate          warn   SPEC §5 (X refuses duplicate text)
unknown-place      warn   001 4(2)ア; 004 3(4) (正確に記述) — an area/facility field names a place that is not a
                          configured 地区・避難所・施設 (issue 12); :func:`check_places`
cost               info   SPEC §5 (pay-per-use price)
hours              block  000 第6条; 001 4(1) — lifted by an override
approval           block  000 第3条(3), 第7条(2), 別表第1 — lifted by an override
role               block  000 第3条(3); 003 (投稿者) — the operator lacks the poster role; never lifted
override-fit       warn   000 第6条ただし書 — the override category does not fit the template (e.g. ごみ収集
                          under 生命・身体・財産); ``[gate.override_fit]``
account            block  004 前文・4(5), 2(2) — a life-safety template on a mascot account, or a template
                          category the account may not publish (``[[accounts]] categories``); never lifted
=================  =====  ===========================================================

A template may declare the rules it expects to trip (``expects = ["rumour"]`` on a デマ注意
template, see :mod:`dutypost.core.templates`): an expected warning is reported as ``info``
(shown, no acknowledgement needed). The one blocking rule a template may expect is
``drill-marker``: the drill announcement (防災訓練のお知らせ) may carry the literal 【訓練】 in
live mode, and the finding becomes a warning, so the officer confirms it explicitly and the
acknowledgement is recorded with the post.

What is *not* flagged, on purpose (issue 12: a warning that is usually wrong teaches the
officer to acknowledge every warning): group words before さん/様 (妊婦さん), 同様/模様;
「避難の準備」 (the 2021 警戒レベル3 wording); public numbers (#7119, 171, 110, 119, and
0120/0800/0570 numbers); 「…によると…とのことです」 quoting a named source (info); 噂/デマ
in a sentence that denies a rumour (info); JMA weather levels (「レベル4土砂災害危険警報」)
are not evacuation levels (警戒レベル4).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterable, Iterator
from urllib.parse import urlsplit

from dutypost.core.config import MASCOT_RULE_SOURCE, WEEKDAYS, AccountConfig, GateConfig, HoursConfig, ListsConfig, Operator, Settings
from dutypost.core.errors import InputError
from dutypost.core.length import LengthResult, extract_urls, parse, split_thread
from dutypost.core.models import Finding

RULES: dict[str, str] = {
    "empty": "本文が空",
    "length": "文字数",
    "placeholder": "未記入の差し込み欄",
    "control": "制御文字",
    "drill-marker": "訓練の印",
    "obsolete-term": "廃止された避難情報の用語",
    "personal-phone": "個人の電話番号",
    "personal-email": "個人のメールアドレス",
    "personal-address": "個人の住所",
    "personal-number": "12桁の番号 (マイナンバー等)",
    "personal-name": "個人名",
    "rumour": "不確かな情報・うわさ",
    "link-domain": "許可されていないリンク先",
    "mention": "@メンション (返信)",
    "political": "政治・選挙",
    "religious": "宗教",
    "discriminatory": "差別・わいせつ",
    "no-time": "時点 (○時○分現在) がない",
    "stale-time": "時点 (○時○分現在) が古い・先の時刻",
    "level-mismatch": "警戒レベルと避難情報の不一致",
    "drill-only": "訓練専用のテンプレート",
    "duplicate": "同じ本文の再投稿",
    "unknown-place": "登録されていない地区・避難所",
    "cost": "投稿の費用",
    "hours": "勤務時間",
    "approval": "承認",
    "role": "投稿者の役割",
    "override-fit": "オーバーライドの区分",
    "account": "アカウント",
    "page": "リンクするページ",
}

APPROVAL_METHODS = {"in-app": "アプリ内承認", "phone": "電話", "in-person": "対面"}

_SEVERITY_ORDER = {"block": 0, "warn": 1, "info": 2}


def by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """Findings as the officer reads them: what blocks first, then warnings, then notes;
    within each, in the order they stand in the text."""
    return sorted(findings, key=lambda f: (_SEVERITY_ORDER[f.severity], f.start))


# -- hours (勤務時間, R1) ------------------------------------------------------

_WEEKDAY_NAMES = ("月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日", "日曜日")
_YEAR_END_DAYS = frozenset({"12-29", "12-30", "12-31", "01-01", "01-02", "01-03"})


@dataclass(frozen=True)
class HoursStatus:
    """Whether ``now`` is within regular working hours (正規の勤務時間), and why (Japanese)."""

    in_hours: bool
    reason: str


@lru_cache(maxsize=None)
def _national_holidays(year: int):
    """Japan's national holidays (国民の祝日) in ``year``, named in Japanese."""
    return _japan_calendar()(years=year, language="ja")


@lru_cache(maxsize=1)
def _japan_calendar() -> type:
    """The holidays library's calendar of Japan, without the other countries' calendars.

    ``holidays.country_holidays`` and ``import holidays.countries.japan`` both run
    ``holidays/countries/__init__.py``, which imports all 250 countries (about 120 ms of
    the CLI's start-up, issue 14). ``countries/japan.py`` itself imports only the
    library's base modules, so it is run on its own, under a name of ours, unless the
    package is already loaded; with another layout of the library, the library's own way.
    """
    import sys

    loaded = sys.modules.get("holidays.countries.japan")
    if loaded is not None:
        return loaded.Japan
    import importlib.util
    from pathlib import Path

    import holidays  # the package's own __init__ loads countries only when asked

    path = Path(holidays.__file__).with_name("countries") / "japan.py"
    spec = importlib.util.spec_from_file_location("_dutypost_holidays_japan", path) if path.is_file() else None
    if spec is None or spec.loader is None:
        from holidays.countries.japan import Japan

        return Japan
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Japan


def hours_status(now: datetime, hours: HoursConfig) -> HoursStatus:
    """In hours iff a configured weekday, not a national holiday (国民の祝日), not a closed
    day (閉庁日) and ``start <= time <= end`` to the minute (17:15:59 is still in)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("hours_status needs a timezone-aware datetime")
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(hours.timezone))
    day = local.date()
    if WEEKDAYS[day.weekday()] not in hours.weekdays:
        return HoursStatus(False, _WEEKDAY_NAMES[day.weekday()])
    if hours.national_holidays:
        name = _national_holidays(day.year).get(day)
        if name:
            return HoursStatus(False, f"国民の祝日 ({name})")
    month_day = f"{day.month:02d}-{day.day:02d}"
    if month_day in hours.closed_days:
        if month_day in _YEAR_END_DAYS:
            return HoursStatus(False, "年末年始の閉庁日 (12/29〜1/3)")
        return HoursStatus(False, f"閉庁日 ({day.month}/{day.day})")
    if day in hours.closed_dates:
        return HoursStatus(False, f"閉庁日 ({day.year}/{day.month}/{day.day})")
    minute = time(local.hour, local.minute)
    start = time(hours.start.hour, hours.start.minute)
    end = time(hours.end.hour, hours.end.minute)
    if minute < start:
        return HoursStatus(False, f"勤務時間外 ({start:%H:%M} から)")
    if minute > end:
        return HoursStatus(False, f"勤務時間外 ({end:%H:%M} で終了)")
    return HoursStatus(True, f"勤務時間内 ({end:%H:%M} まで)")


# -- content (本文, R5, R12, §4) ------------------------------------------------


@dataclass(frozen=True)
class ContentContext:
    """What the content checks need to know besides the text itself."""

    gate: GateConfig
    lists: ListsConfig
    drill: bool
    drill_marker: str
    emergency: bool
    max_weighted_length: int
    threads_allowed: bool
    recent_texts: tuple[tuple[str, datetime], ...] = ()
    now: datetime | None = None
    price_post_usd: float = 0.015
    price_post_with_url_usd: float = 0.20
    expected_rules: frozenset[str] = frozenset()  # the template's ``expects``
    drill_only: bool = False  # the template's ``drill_only`` (訓練実施中)
    timezone: str = "Asia/Tokyo"  # for 「○時○分現在」 (the account's calendar)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        drill: bool,
        emergency: bool,
        threads_allowed: bool = False,
        recent_texts: Iterable[tuple[str, datetime]] = (),
        now: datetime | None = None,
        expected_rules: Iterable[str] = (),
        drill_only: bool = False,
    ) -> "ContentContext":
        return cls(
            gate=settings.gate,
            lists=settings.lists,
            drill=drill,
            drill_marker=settings.drill.marker,
            emergency=emergency,
            max_weighted_length=settings.x.max_weighted_length,
            threads_allowed=threads_allowed,
            recent_texts=tuple(recent_texts),
            now=now,
            price_post_usd=settings.x.price_post_usd,
            price_post_with_url_usd=settings.x.price_post_with_url_usd,
            expected_rules=frozenset(expected_rules),
            drill_only=drill_only,
            timezone=settings.hours.timezone,
        )


Span = tuple[int, int]

_DIGIT = "[0-9０-９]"
_HYPHEN = "[-‐‑‒–—―−－ー]"
_SEP = f"(?:{_HYPHEN}|[ 　])?"
_KANJI = "\u3400-\u4dbf\u4e00-\u9fff々〆ヶ"
_KATAKANA = "\u30a1-\u30fa\u30fc"

_PLACEHOLDER = re.compile(r"\{\{[^{}\n]*\}\}|\{[^{}\n]*\}|\{\{|｛[^｛｝\n]*｝|○{2,}|●{2,}|×{2,}|＿{2,}")
_ESCAPE_SEQUENCE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-_])?")
_EMOJI_TAG_SEQUENCE = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")
_BIDI = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_ALLOWED_FORMAT = frozenset({"\n", "\u200d"})  # newline; ZWJ, which emoji sequences need
_NONCHARACTERS = frozenset("\ufffe\uffff")  # X refuses these (and U+FEFF, which is Cf)

# 避難準備 only as the old term (避難準備情報, 避難準備・高齢者等避難開始): the 2021 警戒レベル3
# wording itself asks others to 「避難の準備をしてください」.
_OBSOLETE_TERMS = re.compile(r"避難準備[・･]?高齢者等避難開始|避難準備(?=情報)|避難勧告|避難指示[（(]緊急[）)]|災害発生情報")
_TERM_2021 = (
    ("避難準備", "警戒レベル3 高齢者等避難"),
    ("避難勧告", "警戒レベル4 避難指示"),
    ("避難指示", "警戒レベル4 避難指示"),
    ("災害発生情報", "警戒レベル5 緊急安全確保"),
)

_PHONE = re.compile(
    rf"(?<![0-9０-９])(?:[+＋]81{_SEP}[(（]?|[(（]?[0０])"
    rf"{_DIGIT}{{1,4}}[)）]?{_SEP}{_DIGIT}{{1,4}}[)）]?{_SEP}{_DIGIT}{{3,4}}(?![0-9０-９])"
)
_TWELVE_DIGITS = re.compile(
    rf"(?<![0-9０-９]){_DIGIT}{{4}}(?P<sep>{_HYPHEN}|[ 　]|){_DIGIT}{{4}}(?P=sep){_DIGIT}{{4}}(?![0-9０-９])"
)
# Anchored at the start of a run of local-part characters and bounded (RFC 5321: 64 for the
# local part, 63 a label): every attempt is O(1) or starts a run, so a long ASCII paste stays
# linear (issue 14: the unanchored pattern took 556 ms on 8,000 characters).
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}[@＠][A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63}){1,8}"
    r"(?![A-Za-z0-9\-])"
)
_MENTION = re.compile(r"(?<![A-Za-z0-9_!#$%&*@＠])[@＠][A-Za-z0-9_]+")

_NUMBER = f"(?:{_DIGIT}+|[一二三四五六七八九十]+)"
# The number starts a run of digits (never inside one): a 10,000-digit paste stays linear.
_ADDRESS = re.compile(
    rf"(?P<place>[{_KANJI}]{{1,12}})?(?<![0-9０-９一二三四五六七八九十])(?P<number>"
    rf"{_NUMBER}丁目{_DIGIT}+番地?(?:{_DIGIT}+号?)?"
    rf"|{_NUMBER}丁目{_DIGIT}+{_HYPHEN}{_DIGIT}+"
    rf"|{_DIGIT}+番地(?:の?{_DIGIT}+)?"
    rf"|{_DIGIT}+番{_DIGIT}+号"
    rf"|(?<=[{_KANJI}]){_DIGIT}+{_HYPHEN}{_DIGIT}+{_HYPHEN}{_DIGIT}+(?![0-9０-９]))"
)

_HONORIFIC = r"(?:(?<![同模多異仕])様(?![式子相々態])|さま(?!ざま)|さん|氏(?![名族]))"
_PERSONAL_NAME = re.compile(
    rf"(?<![{_KANJI}])(?P<kanji>[{_KANJI}]{{1,4}}[ 　][{_KANJI}]{{1,4}}|[{_KANJI}]{{2,6}})[ 　]?{_HONORIFIC}"
    rf"|(?<![{_KATAKANA}])(?P<katakana>[{_KATAKANA}]{{2,6}})[ 　]?{_HONORIFIC}"
)
# Words before 様/さん/氏 that name a role or a group, not a person.
_NOT_A_NAME_ENDINGS = (
    "皆", "客", "者", "民", "員", "族", "長", "師", "士", "官", "手", "位", "方", "神", "仏",
    "本人", "個人", "住人", "隣人", "人々", "外国人", "大家", "息子", "苦労", "世話", "馳走",
    "御中", "会社", "企業", "法人", "団体", "店", "地域", "世帯",
    "婦", "農家", "屋",
)
_NOT_A_NAME_KATAKANA = (
    "ボランティア", "ユーザー", "スタッフ", "メンバー", "ゲスト", "オーナー", "ドライバー",
    "パートナー", "ファン", "サポーター", "ドクター", "ママ", "パパ",
)

_RUMOUR = re.compile(
    r"噂|うわさ|ウワサ|(?<!晴)(?<!ば)(?<!愛)(?<!めず)(?<!あた)らしい|とのこと|との事|未確認|かもしれない|かも知れない"
)
_TIME_STAMP = re.compile(
    rf"(?:{_DIGIT}{{1,2}}|[〇一二三四五六七八九十]+)時(?:{_DIGIT}{{1,2}}分|[〇一二三四五六七八九十]+分|半)?[ 　]?現在"
    rf"|{_DIGIT}{{1,2}}[:：]{_DIGIT}{{2}}[ 　]?現在"
)
_WHITESPACE = re.compile(r"\s+")

# Numbers that belong to no person: toll-free (0120, 0800), navi dial (0570), telephone
# services (0180) — beside the configured allow-list (allow_phones).
_PUBLIC_PHONE_PREFIXES = ("0120", "0800", "0570", "0180")

_KANJI_DIGITS = "〇一二三四五六七八九"
_STAMP_NUMBER = f"(?:{_DIGIT}{{1,2}}|[〇一二三四五六七八九十]+)"
_STAMP_DATE = rf"(?:(?P<month>{_DIGIT}{{1,2}})月(?P<day>{_DIGIT}{{1,2}})日[ 　]?(?:[(（][^)）\n]{{1,3}}[)）])?[ 　]?)?"
_TIME_STAMP_PARTS = re.compile(
    rf"{_STAMP_DATE}(?:(?P<ampm>午前|午後)?(?P<hour>{_STAMP_NUMBER})時(?:(?P<minute>{_STAMP_NUMBER})分|(?P<half>半))?"
    rf"|(?P<hh>{_DIGIT}{{1,2}})[:：](?P<mm>{_DIGIT}{{2}}))[ 　]?現在"
)

# Evacuation levels (警戒レベル, R12), not JMA's weather levels (「レベル4土砂災害危険警報」) and
# not 「警戒レベル4相当」 (a weather warning's equivalent level).
_EVAC_LEVEL = re.compile(r"警戒レベル[ 　]?(?P<n>[1-5１-５])(?![0-9０-９])(?![ 　]?相当)")
_EVAC_ACTION = re.compile(r"高齢者等避難|避難指示|緊急安全確保")
_ACTION_LEVEL = {"高齢者等避難": 3, "避難指示": 4, "緊急安全確保": 5}
_LEVEL_AFTER_ACTION = re.compile(r"[ 　]*[（(【「][ 　]*警戒レベル")
_SENTENCE_END = re.compile(r"[。\n！!？?]")

_NAMED_SOURCE = re.compile(r"[^\s、。「」]{2,}(?:によると|によれば|の発表では)")
_RUMOUR_DENIED = re.compile(r"デマ|根拠の?ない|事実ではな|事実ではありません|誤り|誤った情報|惑わされ|予定はありません")


def check_content(text: str, ctx: ContentContext) -> list[Finding]:
    """All content findings for ``text``, sorted by severity (block, warn, info), then position."""
    if not text.strip():
        return [Finding("empty", "block", "本文が空です。投稿する内容を書いてください。", 0, len(text))]
    links = extract_urls(text)
    urls = [(start, end) for start, end, _ in links]
    emails = [m.span() for m in _EMAIL.finditer(text)]
    length = parse(text, ctx.max_weighted_length)
    too_long = length.weighted_length > ctx.max_weighted_length
    parts = split_thread(text, ctx.max_weighted_length) if ctx.threads_allowed and too_long else [text]
    findings: list[Finding] = []
    findings += _length(text, ctx, length, parts)
    findings += _placeholders(text)
    findings += _control_characters(text)
    findings += _drill_marker(text, ctx)
    findings += _drill_only(ctx)
    findings += _level_mismatches(text)
    findings += _obsolete_terms(text)
    findings += _phones(text, ctx.gate, urls)
    findings += _emails(text, ctx.gate, emails)
    findings += _addresses(text, ctx.lists, urls)
    findings += _twelve_digit_numbers(text, urls)
    findings += _personal_names(text)
    findings += _rumours(text)
    findings += _link_domains(links, ctx.gate, emails)
    findings += _mentions(text, urls + emails)
    exceptions = ctx.gate.term_exceptions
    findings += _configured_terms(text, "political", ctx.gate.political_terms,
                                  "政治・選挙に関わる語「{}」があります。中立性を疑われない内容か確かめてください (R5)。",
                                  exceptions)
    findings += _configured_terms(text, "religious", ctx.gate.religious_terms,
                                  "宗教に関わる語「{}」があります。宗教活動と受け取られない内容か確かめてください。",
                                  exceptions)
    findings += _configured_terms(text, "discriminatory", [*ctx.gate.discriminatory_terms, *ctx.gate.obscene_terms],
                                  "差別的・わいせつな語「{}」があります。公序良俗に反しない表現に直してください。")
    findings += _time_stamp(text, ctx)
    findings += _stale_time_stamps(text, ctx)
    findings += _duplicates(text, ctx)
    findings += _cost(ctx, parts)
    return by_severity(_as_expected(f, ctx) for f in findings)


def _as_expected(finding: Finding, ctx: ContentContext) -> Finding:
    """A warning the template declares it expects (``expects``) is shown as info."""
    if finding.rule in ctx.expected_rules and finding.severity == "warn" and finding.rule != "drill-marker":
        return replace(finding, severity="info", message=f"(テンプレートで想定済み) {finding.message}")
    return finding


def _overlaps(span: Span, others: Iterable[Span]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in others)


def _quote(snippet: str, limit: int = 20) -> str:
    """``snippet`` for a message: shortened, with anything unprintable (an ESC…) shown as ?."""
    shown = "".join(c if c.isprintable() else "?" for c in snippet)
    return shown if len(shown) <= limit else shown[:limit] + "…"


def _length(text: str, ctx: ContentContext, result: LengthResult, parts: list[str]) -> Iterator[Finding]:
    if result.weighted_length <= ctx.max_weighted_length:
        return
    if len(parts) > 1:
        yield Finding("length", "info", f"上限 ({ctx.max_weighted_length}) を超えるので、{len(parts)} 件のスレッドに分けて投稿します。")
        return
    over = result.weighted_length - ctx.max_weighted_length
    yield Finding(
        "length", "block",
        f"長すぎます (重み付き {result.weighted_length} / 上限 {ctx.max_weighted_length})。"
        f"日本語ならあと約 {(over + 1) // 2} 字削ってください。",
        _first_code_point_after(text, result.valid_range[1]), len(text),
    )


def _first_code_point_after(text: str, last_utf16_unit: int) -> int:
    """The code-point offset of the first character past UTF-16 offset ``last_utf16_unit``."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > last_utf16_unit + 1:
            return index
    return len(text)


def _placeholders(text: str) -> Iterator[Finding]:
    for m in _PLACEHOLDER.finditer(text):
        yield Finding("placeholder", "block", f"未記入の差し込み欄「{_quote(m.group())}」があります。内容を書き入れてください。", *m.span())


def _control_characters(text: str) -> Iterator[Finding]:
    covered: list[Span] = [m.span() for m in _EMOJI_TAG_SEQUENCE.finditer(text)]
    for m in _ESCAPE_SEQUENCE.finditer(text):
        covered.append(m.span())
        yield Finding("control", "block", "端末の制御シーケンス (ESC) が含まれています。貼り付け元から本文だけを入れ直してください。", *m.span())
    run_start = None
    for i, ch in enumerate([*text, "\n"]):
        bad = (ch not in _ALLOWED_FORMAT
               and (unicodedata.category(ch) in ("Cc", "Cf", "Cs") or ch in _NONCHARACTERS)
               and not _overlaps((i, i + 1), covered))
        if bad and run_start is None:
            run_start = i
        elif not bad and run_start is not None:
            run = text[run_start:i]
            codes = ", ".join(f"U+{ord(c):04X}" for c in dict.fromkeys(run))
            kind = "文字の向きを変える制御文字" if any(c in _BIDI for c in run) else "見えない制御文字"
            yield Finding("control", "block", f"{kind} ({_quote(codes, 40)}) が含まれています。削除してください。", run_start, i)
            run_start = None


def _drill_marker(text: str, ctx: ContentContext) -> Iterator[Finding]:
    marker = ctx.drill_marker
    if ctx.drill and marker not in text:
        yield Finding("drill-marker", "block", f"訓練の投稿なのに {marker} がありません。本文の先頭に {marker} を付けてください。")
    elif not ctx.drill:
        for m in re.finditer(re.escape(marker), text):
            if "drill-marker" in ctx.expected_rules:
                # The drill announcement (防災訓練のお知らせ) may name the marker: confirmed explicitly.
                yield Finding("drill-marker", "warn",
                              f"本番の投稿に {marker} が入っています。訓練のお知らせとして {marker} の表示を説明している"
                              "のであれば確認済みにしてください。訓練そのものの投稿なら訓練モードで投稿してください。",
                              *m.span())
                continue
            yield Finding("drill-marker", "block",
                          f"本番の投稿に {marker} が入っています。訓練なら訓練モードで投稿し、本番なら {marker} を消してください。",
                          *m.span())


def _drill_only(ctx: ContentContext) -> Iterator[Finding]:
    if ctx.drill_only and not ctx.drill:
        yield Finding("drill-only", "block",
                      "このテンプレートは訓練専用です (訓練実施中など)。本番では投稿できません。"
                      "訓練モード (--drill) で投稿するか、本番用のテンプレートを選んでください。")


def _sentence_bounds(text: str, at: int) -> Span:
    """The sentence (to 。/newline/！/？) around offset ``at``."""
    start = 0
    for m in _SENTENCE_END.finditer(text, 0, at):
        start = m.end()
    end_match = _SENTENCE_END.search(text, at)
    return start, end_match.start() if end_match else len(text)


def _level_mismatches(text: str) -> Iterator[Finding]:
    """R12: 警戒レベル3 高齢者等避難, 4 避難指示, 5 緊急安全確保 — a level paired with another action blocks.

    A level pairs with the action written right before it in brackets (「避難指示（警戒レベル4）」),
    else with the first action after it in the same sentence, before any other level.
    """
    levels = [(m.start(), m.end(), int(unicodedata.digit(m["n"])), m.group()) for m in _EVAC_LEVEL.finditer(text)]
    if not levels:
        return
    actions = [(m.start(), m.end(), m.group()) for m in _EVAC_ACTION.finditer(text)]
    pairs: list[tuple[tuple, tuple]] = []
    backward_actions: set[int] = set()
    backward_levels: set[int] = set()
    for action in actions:
        after = _LEVEL_AFTER_ACTION.match(text, action[1])
        if after:
            level = next((lv for lv in levels if lv[0] == after.end() - len("警戒レベル")), None)
            if level is not None:
                pairs.append((level, action))
                backward_actions.add(action[0])
                backward_levels.add(level[0])
    for index, level in enumerate(levels):
        if level[0] in backward_levels:
            continue
        sentence_end = _sentence_bounds(text, level[1])[1]
        next_level = levels[index + 1][0] if index + 1 < len(levels) else len(text)
        limit = min(sentence_end, next_level)
        action = next((a for a in actions if level[1] <= a[0] < limit and a[0] not in backward_actions), None)
        if action is not None:
            pairs.append((level, action))
    for level, action in pairs:
        expected = _ACTION_LEVEL[action[2]]
        if level[2] == expected:
            continue
        start, end = min(level[0], action[0]), max(level[1], action[1])
        yield Finding("level-mismatch", "block",
                      f"「{level[3]}」と「{action[2]}」が合いません。{action[2]}は警戒レベル{expected}です "
                      "(警戒レベル3 高齢者等避難・4 避難指示・5 緊急安全確保)。レベルか避難情報を直してください。",
                      start, end)


def _obsolete_terms(text: str) -> Iterator[Finding]:
    for m in _OBSOLETE_TERMS.finditer(text):
        new = next(new for old, new in _TERM_2021 if m.group().startswith(old))
        yield Finding("obsolete-term", "warn",
                      f"「{m.group()}」は 2021年5月20日に廃止された避難情報の用語です。「{new}」を使ってください。", *m.span())


def _digits(snippet: str) -> str:
    return "".join(str(unicodedata.digit(c)) for c in snippet if unicodedata.digit(c, None) is not None)


def _phone_key(number: str) -> str:
    """Digits of a Japanese phone number, with +81 written as the leading 0."""
    digits = _digits(number)
    if number.lstrip().startswith(("+", "＋")) and digits.startswith("81"):
        digits = "0" + digits[2:]
    return digits


def _phones(text: str, gate: GateConfig, urls: list[Span]) -> Iterator[Finding]:
    allowed = {_phone_key(p) for p in gate.allow_phones}
    for m in _PHONE.finditer(text):
        key = _phone_key(m.group())
        if (len(key) not in (10, 11) or key in allowed or key.startswith(_PUBLIC_PHONE_PREFIXES)
                or _overlaps(m.span(), urls)):
            continue
        yield Finding("personal-phone", "warn",
                      f"電話番号「{_quote(m.group())}」は載せてよい番号 (allow_phones) にありません。"
                      "個人の番号なら消して、役場の代表・担当の番号にしてください。", *m.span())


def _emails(text: str, gate: GateConfig, emails: list[Span]) -> Iterator[Finding]:
    allowed = {e.lower() for e in gate.allow_emails}
    for start, end in emails:
        address = text[start:end].replace("＠", "@").lower()
        if address not in allowed:
            yield Finding("personal-email", "warn",
                          f"メールアドレス「{_quote(text[start:end], 40)}」は載せてよいアドレス (allow_emails) にありません。"
                          "個人のアドレスなら消してください。", start, end)


def _address_key(address: str) -> str:
    key = unicodedata.normalize("NFKC", address)
    key = re.sub(r"丁目|番地の?|番|号", "-", key)
    key = re.sub(_HYPHEN, "-", key)
    return re.sub(r"\s+", "", key).strip("-")


def _addresses(text: str, lists: ListsConfig, urls: list[Span]) -> Iterator[Finding]:
    known = [_address_key(f.address) for f in [*lists.facilities, *lists.shelters] if f.address]
    for m in _ADDRESS.finditer(text):
        if _overlaps(m.span(), urls):
            continue
        # A configured address must contain the number and the two characters before it.
        key = _address_key(m.group())
        need = min(len(key), len(_address_key(m.group("number"))) + 2)
        if any(key[-need:] in k for k in known):
            continue
        yield Finding("personal-address", "warn",
                      f"番地までの住所「{_quote(m.group())}」があります。登録された施設・避難所の住所ではありません。"
                      "個人の住所なら地区名までにしてください。", *m.span())


def _twelve_digit_numbers(text: str, urls: list[Span]) -> Iterator[Finding]:
    for m in _TWELVE_DIGITS.finditer(text):
        if not _overlaps(m.span(), urls):
            yield Finding("personal-number", "warn",
                          f"12桁の番号「{_quote(m.group())}」があります。マイナンバーなど個人の番号なら消してください。", *m.span())


def _personal_names(text: str) -> Iterator[Finding]:
    for m in _PERSONAL_NAME.finditer(text):
        if m.group("kanji"):
            if m.group("kanji").endswith(_NOT_A_NAME_ENDINGS):
                continue
        elif m.group("katakana") in _NOT_A_NAME_KATAKANA:
            continue
        yield Finding("personal-name", "warn",
                      f"個人名らしい「{_quote(m.group())}」があります。本人の了解がなければ名前を消してください。", *m.span())


def _rumours(text: str) -> Iterator[Finding]:
    for m in _RUMOUR.finditer(text):
        start, end = _sentence_bounds(text, m.start())
        word = m.group()
        if word in ("とのこと", "との事") and _NAMED_SOURCE.search(text, start, m.start()):
            yield Finding("rumour", "info",
                          f"「{word}」は出典を示した伝聞です (…によると)。出典が公的機関の発表か確かめてください。", *m.span())
            continue
        if word in ("噂", "うわさ", "ウワサ"):
            following = _SENTENCE_END.search(text, end + 1) if end < len(text) else None
            window_end = following.start() if following else len(text)
            if _RUMOUR_DENIED.search(text, start, window_end):
                yield Finding("rumour", "info",
                              f"「{word}」を打ち消す投稿 (デマ注意) として扱いました。確認できた事実を添えてください。", *m.span())
                continue
        yield Finding("rumour", "warn",
                      f"不確かな情報・うわさを思わせる言葉「{_quote(m.group())}」があります。確認できた事実だけを書いてください。",
                      *m.span())


def _host(url: str) -> str:
    try:
        return (urlsplit(url if "://" in url else "http://" + url).hostname or "").rstrip(".")
    except ValueError:
        return ""


def _link_domains(links: list[tuple[int, int, str]], gate: GateConfig, emails: list[Span]) -> Iterator[Finding]:
    allowed = [d.lower().lstrip("*.").rstrip(".") for d in gate.allow_domains]
    for start, end, url in links:
        host = _host(url)
        if _overlaps((start, end), emails) or (host and any(host == d or host.endswith("." + d) for d in allowed)):
            continue
        yield Finding("link-domain", "warn",
                      f"リンク先「{_quote(host or url, 40)}」は許可されたドメイン (allow_domains) にありません。"
                      "信頼できる公的なページか確かめてください。", start, end)


def _mentions(text: str, excluded: list[Span]) -> Iterator[Finding]:
    for m in _MENTION.finditer(text):
        if not _overlaps(m.span(), excluded):
            yield Finding("mention", "warn",
                          f"「{_quote(m.group())}」への @メンションがあります。公式アカウントは他の利用者に返信しません。"
                          "@ を消すか、お問い合わせはホームページへ案内してください。", *m.span())


def _configured_terms(text: str, rule: str, terms: Iterable[str], message: str,
                      exceptions: Iterable[str] = ()) -> Iterator[Finding]:
    """Each occurrence of a configured term, unless it lies inside a configured exception
    (``term_exceptions``: 投票所 is a place, 候補地 a site, not election activity)."""
    excluded = [m.span() for e in dict.fromkeys(x for x in exceptions if x.strip())
                for m in re.finditer(re.escape(e), text, re.IGNORECASE)]
    for term in dict.fromkeys(t for t in terms if t.strip()):
        for m in re.finditer(re.escape(term), text, re.IGNORECASE):
            if any(start <= m.start() and m.end() <= end for start, end in excluded):
                continue
            yield Finding(rule, "warn", message.format(_quote(m.group())), *m.span())


# -- places (地区・避難所・施設, issue 12) ------------------------------------------

@dataclass(frozen=True)
class PlaceValue:
    """What an area or facility field of a template holds: its label, the config list it
    draws on (``areas`` / ``shelters`` / ``facilities``) and the value as typed."""

    label: str
    source: str
    value: str


_PLACE_WORDS = {"areas": "地区", "shelters": "避難所", "facilities": "施設"}
#: Between names: 、 ・ , / and spaces; after a configured name also と・や・及び (「本郷地区と吉原地区」).
_PLACE_SEPARATOR = re.compile(r"[、,，・･/／\s]+")
_PLACE_CONNECTOR = re.compile(r"(?:及び|および|並びに|ならびに|と|や)(?=\S)")
#: What may follow a name or stand alone without naming another place: 「本郷地区の一部」「吉原地区全域」.
_PLACE_QUALIFIER = re.compile(r"(?:の?(?:一部|全域|全体|周辺|付近|一帯)|など|ほか|等|[(（][^)）]*[)）])$")
_PLACE_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


def _whole_town(token: str, municipality: str) -> bool:
    """「町内全域」「市内全域」「全域」「全地区」「阿見町全域」: the whole municipality, no one place."""
    town = re.escape(municipality) + "|" if municipality else ""
    return re.fullmatch(rf"(?:{town}[町市村区])?内?の?(?:全域|全地区|全体)|全[町市村区](?:域|内)?", token) is not None


def _place_key(name: str) -> str:
    """``name`` as compared: NFKC (全角の括弧・数字), no space around brackets."""
    return re.sub(r"\s*([()])\s*", r"\1", unicodedata.normalize("NFKC", name)).strip()


def _place_names(lists: ListsConfig, source: str) -> list[str]:
    """The configured names a field drawing on ``source`` may hold, its own list first (a
    facility field accepts a shelter and the other way round: both are 施設)."""
    if source == "areas":
        return list(lists.areas)
    order = ("shelters", "facilities") if source == "shelters" else ("facilities", "shelters")
    return [f.name for s in order for f in getattr(lists, s)]


def _unknown_places(value: str, names: list[str], short_names: Iterable[str], municipality: str) -> list[str]:
    """The parts of ``value`` that name no configured place, NFKC-normalised.

    A configured name (or short form) is taken whole where a part starts, longest first,
    so a name with a space or ・ in it (「給水所 (中央公民館駐車場)」) stays one."""
    known = sorted({_place_key(n) for n in [*names, *short_names] if n.strip()}, key=len, reverse=True)
    text = _place_key(value)
    unknown: list[str] = []
    part = ""
    i = 0

    def flush() -> None:
        nonlocal part
        token = part.strip()
        while not _whole_town(token, municipality) and (stripped := _PLACE_QUALIFIER.sub("", token).strip()) != token:
            token = stripped
        if token and not _whole_town(token, municipality) and not _PLACE_PLACEHOLDER.search(token):
            unknown.append(token)
        part = ""

    while i < len(text):
        separator = _PLACE_SEPARATOR.match(text, i)
        if separator:
            flush()
            i = separator.end()
            continue
        name = next((n for n in known if text.startswith(n, i)), None) if not part else None
        if name is not None:
            i += len(name)
            connector = _PLACE_CONNECTOR.match(text, i)
            if connector:
                i = connector.end()
            continue
        part += text[i]
        i += 1
    flush()
    return list(dict.fromkeys(unknown))


def closest_places(token: str, names: list[str], n: int = 3) -> list[str]:
    """The configured names nearest ``token``: those containing it (or contained in it),
    the closest in length first, then difflib's close matches. 「本郷」 → 本郷地区, 荒川本郷地区."""
    keys = {_place_key(name): name for name in names}
    containing = sorted((name for key, name in keys.items() if token in key or key in token),
                        key=lambda name: abs(len(name) - len(token)))
    close = [keys[key] for key in difflib.get_close_matches(token, list(keys), n=n, cutoff=0.5)]
    return list(dict.fromkeys([*containing, *close]))[:n]


def check_places(text: str, places: Iterable[PlaceValue], lists: ListsConfig, municipality: str = "") -> list[Finding]:
    """A warning for each name in an area or facility field that is not configured
    (``[lists]``), naming the closest configured ones: 「本郷」 goes out as neither
    本郷地区 nor 荒川本郷地区 (issue 12; 001 4(2)ア 正確に記述).

    Not flagged: configured names, the short forms ``[lists] short_names`` lists, 「…の一部」
    「…全域」 after a name, whole-town words (町内全域, 市内全域, 全域), unfilled ``{…}``
    (the placeholder check has them), and any field whose list is empty in the config."""
    findings: list[Finding] = []
    for place in places:
        names = _place_names(lists, place.source)
        if not names:
            continue
        for token in _unknown_places(place.value, names, lists.short_names, municipality):
            word = _PLACE_WORDS.get(place.source, "名前")
            nearest = closest_places(token, names)
            hint = ("近いもの: " + "".join(f"「{n}」" for n in nearest) + "。正しい名前に直してください。" if nearest
                    else f"設定ファイルの [lists] {place.source} にある名前で書いてください。")
            start = text.find(token)
            span = (start, start + len(token)) if start >= 0 else (0, 0)
            findings.append(Finding(
                "unknown-place", "warn",
                f"{place.label}の「{_quote(token)}」は設定された{word}にありません。{hint}", *span))
    return findings


def _time_stamp(text: str, ctx: ContentContext) -> Iterator[Finding]:
    if not ctx.emergency or _TIME_STAMP.search(text):
        return
    at = text.find("現在")
    if at < 0:
        yield Finding("no-time", "warn", "いつの時点の情報かが書かれていません。「14時30分現在」のように時刻を入れてください。")
    else:
        yield Finding("no-time", "warn", "「現在」の前に時刻がありません。「14時30分現在」の形にしてください。", at, at + 2)


def _stamp_number(raw: str) -> int:
    """「15」「１５」「十五」「二十」「〇」 as an int."""
    if raw[0] in _KANJI_DIGITS or raw[0] == "十":
        if "十" not in raw:
            return int("".join(str(_KANJI_DIGITS.index(c)) for c in raw))
        tens, _, ones = raw.partition("十")
        return (_KANJI_DIGITS.index(tens) if tens else 1) * 10 + (_KANJI_DIGITS.index(ones) if ones else 0)
    return int(_digits(raw))


def _stamp_moment(m: re.Match, now_local: datetime) -> datetime | None:
    """The moment a 「○時○分現在」 names, in ``now_local``'s zone; None if it is not a time."""
    try:
        if m["hh"] is not None:
            hour, minute = int(_digits(m["hh"])), int(_digits(m["mm"]))
        else:
            hour = _stamp_number(m["hour"])
            minute = 30 if m["half"] else (_stamp_number(m["minute"]) if m["minute"] else 0)
            if m["ampm"] == "午後" and hour < 12:
                hour += 12
            elif m["ampm"] == "午前" and hour == 12:
                hour = 0
    except ValueError:
        return None
    if not (0 <= hour <= 24 and 0 <= minute < 60) or (hour == 24 and minute):
        return None
    extra = timedelta(days=1) if hour == 24 else timedelta()
    hour %= 24
    if m["month"] is not None:
        try:
            day = now_local.replace(month=int(_digits(m["month"])), day=int(_digits(m["day"])),
                                    hour=hour, minute=minute, second=0, microsecond=0) + extra
        except ValueError:
            return None
        try:
            if day - now_local > timedelta(days=180):  # 12月31日 written on 1月1日
                day = day.replace(year=day.year - 1)
            elif now_local - day > timedelta(days=185):
                day = day.replace(year=day.year + 1)
        except ValueError:  # 2月29日
            return None
        return day
    today = now_local.replace(hour=hour, minute=minute, second=0, microsecond=0) + extra
    # No date: the nearest of yesterday, today and tomorrow (23時50分現在 posted at 0時10分).
    return min((today + timedelta(days=d) for d in (-1, 0, 1)), key=lambda t: abs(t - now_local))


def _stale_time_stamps(text: str, ctx: ContentContext) -> Iterator[Finding]:
    """R12: the 「○時○分現在」 must be the time of publishing, within ``stale_time_minutes``."""
    limit = ctx.gate.stale_time_minutes
    if limit <= 0:
        return
    from zoneinfo import ZoneInfo

    now_local = (ctx.now or datetime.now(timezone.utc)).astimezone(ZoneInfo(ctx.timezone))
    minute_now = now_local.replace(second=0, microsecond=0)
    suggestion = f"「{now_local.month}月{now_local.day}日{now_local.hour}時{now_local.minute:02d}分現在」"
    for m in _TIME_STAMP_PARTS.finditer(text):
        moment = _stamp_moment(m, now_local)
        if moment is None:
            continue
        age = int((minute_now - moment).total_seconds() // 60)
        if age > limit:
            hours, minutes = divmod(age, 60)
            ago = f"{hours}時間{minutes}分" if hours else f"{minutes}分"
            yield Finding("stale-time", "warn",
                          f"「{_quote(m.group())}」は {ago}前の時刻です ({limit}分より古い)。最新の状況を確かめて、"
                          f"今の時刻にしてください (日付も入れるなら {suggestion})。", *m.span())
        elif age < 0:
            yield Finding("stale-time", "warn",
                          f"「{_quote(m.group())}」はまだ来ていない時刻です。時刻を確かめてください"
                          f" (今は {suggestion})。", *m.span())


def _duplicates(text: str, ctx: ContentContext) -> Iterator[Finding]:
    now = ctx.now or datetime.now(timezone.utc)
    window = timedelta(hours=ctx.gate.duplicate_window_hours)
    key = _WHITESPACE.sub("", text)
    for previous, at in ctx.recent_texts:
        if abs(now - at) <= window and _WHITESPACE.sub("", previous) == key:
            minutes = int(abs(now - at).total_seconds() // 60)
            yield Finding("duplicate", "warn",
                          f"同じ本文を {_ago(minutes)}に投稿しています。"
                          "X は同じ本文の投稿を受け付けません。時刻や内容を書き換えてください。")
            return


def _ago(minutes: int) -> str:
    """``29分前``, ``2時間前``, ``2時間30分前``: no 「0時間」 and no 「0分」."""
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes}分前"
    return f"{hours}時間{minutes}分前" if minutes else f"{hours}時間前"


def _price(usd: float) -> str:
    shown = f"{usd:.3f}"
    return "$" + (shown[:-1] if shown.endswith("0") else shown)


def _cost(ctx: ContentContext, parts: list[str]) -> Iterator[Finding]:
    with_url = [bool(extract_urls(p)) for p in parts]
    total = sum(ctx.price_post_with_url_usd if u else ctx.price_post_usd for u in with_url)
    notes = ([f"{len(parts)} 件のスレッド"] if len(parts) > 1 else []) + (["URL を含むため"] if any(with_url) else [])
    yield Finding("cost", "info", f"この投稿の費用: {_price(total)}" + (f" ({'、'.join(notes)})" if notes else ""))


def cost_finding(settings: Settings, parts: list[str]) -> Finding:
    """The ``cost`` info for a post that goes out as ``parts`` (a thread with its versions)."""
    return next(_cost(ContentContext.from_settings(settings, drill=False, emergency=False), parts))


# -- approval (承認 (決裁), R2) and override (緊急オーバーライド, §3) ------------------


@dataclass(frozen=True)
class Approval:
    """An approval (承認 (決裁)) of one post by an approver (承認者) of the issuing department
    (情報配信部署, 別表第1): the poster's own unless a template or the officer names another."""

    approver_id: str
    method: str
    at: datetime


@dataclass(frozen=True)
class Override:
    """An emergency override (緊急オーバーライド): lifts hours and approval for one post.

    ``reason`` is the justification (理由). ``session_id`` is set when it comes from the
    operator's time-boxed session (緊急オーバーライドの時間枠) rather than this post alone.
    """

    category: str
    reason: str
    operator_id: str
    at: datetime
    session_id: int | None = None


def _approver_title(settings: Settings, department: str) -> str:
    row = settings.department(department)
    return row.approver_title if row else "所属長"


def check_approval(settings: Settings, poster: Operator, approval: Approval | None,
                   department: str | None = None, account: AccountConfig | None = None) -> str | None:
    """None when ``approval`` is valid for a post by ``poster``; else the problem in Japanese.

    R2 (別表第1): the approver has the approver role and belongs to the issuing department
    (情報配信部署) — ``department``, by default the poster's own — or, for an account with an
    approver route (``approver_departments``, e.g. the mascot's), to one of those departments;
    and is not the poster unless ``[gate] allow_self_approval`` says so (four eyes, 四つの目).
    """
    route = list(account.approver_departments) if account is not None else []
    department = department or poster.department
    departments = route or [department]
    title = "・".join(_approver_title(settings, d) for d in departments)
    whose = account.name if route and account is not None else department
    if approval is None:
        return f"承認が記録されていません。{whose}の投稿には{title}の承認が必要です。"
    if approval.method not in APPROVAL_METHODS:
        methods = ", ".join(f"{k} ({v})" for k, v in APPROVAL_METHODS.items())
        return f"承認の方法「{approval.method}」は使えません。次のいずれかです: {methods}。"
    approver = settings.operator(approval.approver_id)
    if approver is None:
        return f"承認者「{approval.approver_id}」は職員の一覧にありません。{title}の職員 ID を指定してください。"
    if "approver" not in approver.roles:
        return f"{approver.name} ({approver.id}) には承認者の役割がありません。{title}の承認が必要です。"
    if approver.id == poster.id and not settings.gate.allow_self_approval:
        return (f"自分の投稿は自分で承認できません ({approver.name})。{whose}のほかの承認者"
                f" ({title}) に承認を頼んでください。")
    if approver.department not in departments:
        where = "[[accounts]] approver_departments" if route else "別表第1"
        return (f"{approver.name} ({approver.id}) は{approver.department}の職員です。"
                f"{whose}の投稿は{title}が承認します ({where})。")
    return None

def override_fits(settings: Settings, category: str, template_category: str | None, emergency: bool) -> bool:
    """Whether the override ``category`` fits a template of ``template_category``
    (``[gate.override_fit]``; a category not listed there fits every template, and so
    does a post from no template)."""
    fit = settings.gate.override_fit.get(category)
    if fit is None or template_category is None:
        return True
    return template_category in fit or (emergency and "emergency" in fit)


def _override_fit_finding(category: str, template_category: str) -> Finding:
    return Finding("override-fit", "warn",
                   f"緊急オーバーライドの区分「{category}」は、分類「{template_category}」のテンプレートに合いません。"
                   "区分が正しいか確かめてください (時間枠のオーバーライドなら、この投稿に合う区分で別に指定できます)。")


def check_account(account: AccountConfig, *, emergency: bool, category: str | None) -> list[Finding]:
    """What ``account`` may not publish (アカウント): never lifted by an override.

    A mascot account (マスコット) never publishes a life-safety template: seed 004 opens
    the mascot's account for PR (前文) and warns that inaccurate information on the town's
    affairs can gravely affect them (4(5)); what it leaves open goes to the account's
    manager (2(2)). A template whose category is not among the account's ``categories``
    is refused as well.
    """
    found: list[Finding] = []
    consult = f"判断に迷うときは {account.consult_title} に協議してください (004 2(2))。" if account.consult_title else ""
    if account.kind == "mascot" and emergency:
        found.append(Finding("account", "block",
                             f"マスコットアカウント「{account.name}」(@{account.handle}) は命や安全に関わる緊急情報を"
                             f"投稿できません ({MASCOT_RULE_SOURCE}: マスコットのアカウントは PR のためのものです)。"
                             f"公式アカウントを選んで投稿してください。{consult}"))
    elif category is not None and account.categories and category not in account.categories:
        allowed = "・".join(account.categories)
        found.append(Finding("account", "block",
                             f"{account.kind_label}アカウント「{account.name}」は「{category}」のテンプレートを投稿できません"
                             f" (このアカウントで投稿できる区分: {allowed})。別のアカウントを選んでください。{consult}"))
    return found


def validate_override(settings: Settings, category: str, reason: str) -> None:
    """Raise :class:`InputError` for an unknown category or a too-short justification (理由)."""
    categories = settings.gate.override_categories
    if category not in categories:
        listed = "、".join(f"「{c}」" for c in categories)
        raise InputError(f"緊急オーバーライドの区分「{category}」はありません。次のいずれかを指定してください: {listed}")
    needed = settings.gate.min_justification_chars
    length = len(reason.strip())
    if length < needed:
        raise InputError(
            f"緊急オーバーライドの理由が短すぎます ({length} 文字)。何が緊急なのかを {needed} 文字以上で書いてください"
            f" (あと {needed - length} 文字)。"
        )


# -- the decision -------------------------------------------------------------


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict on one post (投稿前チェックの結果)."""

    hours: HoursStatus
    approval_problem: str | None
    findings: tuple[Finding, ...]
    lifted: tuple[str, ...]
    blocking: tuple[Finding, ...]
    unacknowledged: tuple[Finding, ...]
    override_categories: tuple[str, ...] = ()
    min_justification_chars: int = 10

    @property
    def allowed(self) -> bool:
        return not self.blocking and not self.unacknowledged

    @property
    def needs_override(self) -> bool:
        hours_fail = not self.hours.in_hours and "hours" not in self.lifted
        approval_fail = self.approval_problem is not None and "approval" not in self.lifted
        return hours_fail or approval_fail

    def explain(self, for_cli: bool = True) -> str:
        """A plain Japanese summary: what stopped the post and how to proceed.

        ``for_cli`` adds command-line flags to the hints; the TUI passes False.
        """
        lines = ["投稿前チェックを通りました。" if self.allowed else "投稿前チェックで止まっています。"]
        for f in self.blocking:
            lines.append(f"・{RULES.get(f.rule, f.rule)}: {f.message}")
        for f in self.unacknowledged:
            lines.append(f"・要確認 ({RULES.get(f.rule, f.rule)}): {f.message}")
        if self.lifted:
            names = "・".join(RULES[c] for c in self.lifted)
            lines.append(f"緊急オーバーライドで{names}の確認を外しています。承認者の事後承認が必要です。")
        blocked = {f.rule for f in self.blocking}
        if blocked - {"hours", "approval", "role", "account"}:
            lines.append("本文を直してください。本文の問題は緊急オーバーライドでは外せません。")
        if "account" in blocked:
            lines.append("アカウントの制限は緊急オーバーライドでは外せません。"
                         + ("--account ID で別のアカウントを選んでください。" if for_cli
                            else "アカウントを切り替えてから投稿してください。"))
        n = self.min_justification_chars
        if "hours" in blocked:
            if for_cli:
                categories = " / ".join(f"\"{c}\"" for c in self.override_categories)
                lines.append(f"時間外です。緊急情報なら --override 区分 --reason 理由 ({n}文字以上) で緊急オーバーライドしてください。"
                             + (f" 区分: {categories}" if categories else ""))
            else:
                lines.append(f"時間外です。緊急情報なら緊急オーバーライドを使ってください (区分を選び、理由を{n}文字以上で書きます)。")
        if "approval" in blocked:
            if for_cli:
                lines.append("--approver ID --approval-method phone|in-person で承認を記録してください"
                             " (承認者に連絡がつかない緊急時は --override 区分 --reason 理由)。")
            else:
                lines.append("承認を記録するか、緊急オーバーライドを使ってください。")
        if self.unacknowledged:
            if for_cli:
                flags = " ".join(f"--ack {rule}" for rule in dict.fromkeys(f.rule for f in self.unacknowledged))
                lines.append(f"内容を確かめたら {flags} を付けてください。")
            else:
                lines.append("内容を確かめて、確認済みにしてください。")
        return "\n".join(lines)


def evaluate(
    *,
    text: str,
    settings: Settings,
    poster: Operator,
    now: datetime,
    drill: bool,
    emergency: bool,
    approval: Approval | None,
    override: Override | None,
    acks: Iterable[str],
    threads_allowed: bool = False,
    recent_texts: Iterable[tuple[str, datetime]] = (),
    expected_rules: Iterable[str] = (),
    drill_only: bool = False,
    department: str | None = None,
    account: AccountConfig | None = None,
    category: str | None = None,
    notes: Iterable[Finding] = (),
    places: Iterable[PlaceValue] = (),
) -> GateDecision:
    """Run account, hours, approval and content checks; an override lifts hours and approval only.

    ``expected_rules``, ``drill_only`` and ``category`` come from the template (``expects``,
    ``drill_only``, ``category``; None for free text). ``department`` is the issuing department
    (情報配信部署) whose approver is required (default: the poster's). ``account`` is the
    account the post goes out on (None: the default account); its hours and approver route
    apply. An override that lifts something and does not fit the template's ``category``
    adds the warning ``override-fit``. ``notes`` are the composition's own findings (how the
    template was filled, e.g. ``page``); they are listed with the others. ``places`` are the
    template's area and facility fields (:func:`check_places`).
    """
    account = account or settings.account_by_id(None)
    if override is not None:
        validate_override(settings, override.category, override.reason)
    hours = hours_status(now, settings.hours_for(account))
    approval_problem = check_approval(settings, poster, approval, department, account)
    ctx = ContentContext.from_settings(settings, drill=drill, emergency=emergency, threads_allowed=threads_allowed,
                                       recent_texts=recent_texts, now=now, expected_rules=expected_rules,
                                       drill_only=drill_only)
    unknown_places = check_places(text, places, settings.lists, settings.municipality.name)
    findings = tuple(by_severity((*check_content(text, ctx), *unknown_places, *notes)))
    failing = (("hours",) if not hours.in_hours else ()) + (("approval",) if approval_problem else ())
    lifted = failing if override is not None else ()
    if lifted and not override_fits(settings, override.category, category, emergency):
        fit = _override_fit_finding(override.category, category or "")
        findings = tuple(by_severity((*findings, fit)))
    blocking: list[Finding] = check_account(account, emergency=emergency, category=category)
    if "hours" in failing and not lifted:
        blocking.append(Finding("hours", "block", f"勤務時間外です ({hours.reason})。"))
    if "approval" in failing and not lifted:
        blocking.append(Finding("approval", "block", approval_problem or ""))
    if "poster" not in poster.roles:
        # R11 / 000 第3条(3): only operators who post for a department may post; no override lifts this.
        blocking.append(Finding("role", "block", f"{poster.name}さんには投稿者 (poster) の役割がありません。"
                                "投稿できる職員に代わってもらうか、運用管理者に役割の追加を頼んでください。"))
    blocking += [f for f in findings if f.severity == "block"]
    acknowledged = set(acks)
    return GateDecision(
        hours=hours,
        approval_problem=approval_problem,
        findings=findings,
        lifted=lifted,
        blocking=tuple(blocking),
        unacknowledged=tuple(f for f in findings if f.severity == "warn" and f.rule not in acknowledged),
        override_categories=tuple(settings.gate.override_categories),
        min_justification_chars=settings.gate.min_justification_chars,
    )
