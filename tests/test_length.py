"""X's weighted length (重み付き文字数) and thread splitting (スレッド分割): X's own
conformance cases, Japanese cases of ours, and properties of split_thread."""

from __future__ import annotations

import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dutypost.core import length

CONFORMANCE = Path(__file__).resolve().parents[2] / "shared" / "conformance"
SECTIONS = {"WeightedTweetsWithDiscountedEmojiCounterTest": 22, "UnicodeDirectionalMarkerCounterTest": 2}


def _conformance_cases() -> list:
    tests = yaml.safe_load((CONFORMANCE / "twitter-text-validate.yml").read_text(encoding="utf-8"))["tests"]
    return [
        pytest.param(case["text"], case["expected"], id=f"{section}: {case['description']}")
        for section in SECTIONS
        for case in tests[section]
    ]


CASES = _conformance_cases()
EXTRACT_SECTIONS = {"urls": 91, "urls_with_indices": 10}


def _extract_cases() -> list:
    tests = yaml.safe_load((CONFORMANCE / "twitter-text-extract.yml").read_text(encoding="utf-8"))["tests"]
    return [
        pytest.param(section, case["text"], case["expected"], id=f"{section}: {case['description']}")
        for section in EXTRACT_SECTIONS
        for case in tests[section]
    ]


EXTRACT_CASES = _extract_cases()


def test_every_conformance_case_is_collected() -> None:
    assert len(CASES) == sum(SECTIONS.values())
    assert len(EXTRACT_CASES) == sum(EXTRACT_SECTIONS.values())


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_conformance(text: str, expected: dict) -> None:
    result = length.parse(text)
    assert {
        "weightedLength": result.weighted_length,
        "valid": result.valid,
        "permillage": result.permillage,
        "validRangeStart": result.valid_range[0],
        "validRangeEnd": result.valid_range[1],
        "displayRangeStart": result.display_range[0],
        "displayRangeEnd": result.display_range[1],
    } == expected


@pytest.mark.parametrize(("section", "text", "expected"), EXTRACT_CASES)
def test_extract_conformance(section: str, text: str, expected: list) -> None:
    found = length.extract_urls(text)
    if section == "urls":
        assert [span.url for span in found] == expected
    else:
        # The yml's indices are UTF-16 code units, ours code points; no case has a
        # character beyond U+FFFF, so they agree (checked here).
        assert all(len(text[: case["indices"][1]].encode("utf-16-le")) // 2 == case["indices"][1] for case in expected)
        assert [{"url": span.url, "indices": [span.start, span.end]} for span in found] == expected
    assert length.url_count(text) == len(expected)
    # Each URL weighs 23 where the space that replaces it weighs 1.
    assert length.weighted_length(text) == length.weighted_length(_without_urls(text, found)) + 22 * len(found)


def _without_urls(text: str, spans: list) -> str:
    for start, end, _ in reversed(spans):
        text = text[:start] + " " + text[end:]
    return text


# --- Japanese cases of our own -------------------------------------------------------

URL = "https://www.town.example.lg.jp/bousai/hinan/2025-typhoon14/shiji.html"


def test_140_zenkaku_characters_fill_a_post() -> None:
    result = length.parse("避" * 140)
    assert (result.weighted_length, result.valid, result.permillage) == (280, True, 1000)
    assert result.valid_range == (0, 139)


def test_141_zenkaku_characters_are_too_long() -> None:
    result = length.parse("避" * 141)
    assert (result.weighted_length, result.valid) == (282, False)
    assert result.valid_range == (0, 139)
    assert result.display_range == (0, 140)


def test_zenkaku_punctuation_and_hankaku_kana_count_two() -> None:
    assert length.weighted_length("。、「」（）！？　") == 18
    assert length.weighted_length("ｱｲｳ") == 6
    assert length.weighted_length("abc 123") == 7


@pytest.mark.parametrize(
    "url",
    [URL, "http://example.com", "www.town.example.lg.jp", "example.com", "example.jp/bousai", "t.co"],
)
def test_a_url_counts_23(url: str) -> None:
    assert length.weighted_length(url) == 23
    assert length.extract_urls(url) == [(0, len(url), url)]
    assert length.url_count(url) == 1


def test_a_bare_country_domain_is_a_url() -> None:
    # twitter-text's extract.yml (our copy) finds foo.jp and it.so without a path.
    assert length.extract_urls("amimachi.jp") == [(0, 11, "amimachi.jp")]
    assert length.weighted_length("amimachi.jp") == 23
    assert length.url_count("amimachi.jp") == 1


def test_a_bare_town_domain_in_a_japanese_sentence() -> None:
    text = "避難所の情報はtown.ami.lg.jp/bosaiをご覧ください。"
    assert length.extract_urls(text) == [(7, 27, "town.ami.lg.jp/bosai")]
    assert length.weighted_length(text) == 7 * 2 + 23 + 8 * 2


def test_japanese_and_a_url_fill_a_post_exactly() -> None:
    text = "避" * 128 + "\n" + URL
    assert length.parse(text).weighted_length == 256 + 1 + 23
    assert length.parse(text).valid
    assert not length.parse("避" + text).valid


def test_url_offsets_are_code_points_of_the_text_as_given() -> None:
    text = "か\u3099いど：詳しくは" + URL + "をご覧ください。"
    start = text.index("https")
    assert length.extract_urls(text) == [(start, start + len(URL), URL)]
    assert length.url_count(text) == 1


def test_a_domain_without_scheme_inside_japanese_is_found() -> None:
    text = "詳しくはwww.town.example.lg.jp/bousai/をご覧ください"
    assert length.extract_urls(text) == [(4, 34, "www.town.example.lg.jp/bousai/")]
    assert length.weighted_length(text) == 4 * 2 + 23 + 7 * 2


def test_nfc_comes_first() -> None:
    result = length.parse("か\u3099")  # decomposed が
    assert result.weighted_length == 2
    assert result.valid_range == (0, 1)
    assert result.display_range == (0, 1)


@pytest.mark.parametrize(
    ("text", "weight"),
    [("⚠️", 2), ("❤️\u200d🔥", 2), ("🧑\u200d🧑\u200d🧒", 2), ("🇯🇵", 2), ("©", 1), ("©️", 2), ("1⃣", 2)],
)
def test_an_emoji_sequence_counts_two(text: str, weight: int) -> None:
    assert length.weighted_length(text) == weight


def test_a_longer_limit_for_accounts_allowed_longer_posts() -> None:
    result = length.parse("避" * 200, max_weighted_length=4000)
    assert (result.weighted_length, result.max, result.valid, result.permillage) == (400, 4000, True, 100)


def test_empty_text_is_not_valid() -> None:
    assert not length.parse("").valid


# --- the URL scan is twitter-text's regex, only tried where a match can start ---------

URLISH = [
    "避難", "。", "、", " ", "\n", ".", "..", "-", "_", "/", ":", "@", "#", "$", "＠", "(", ")", "?", "=",
    "a", "Z", "9", "com", "jp", "co", "tv", "lg", "xn--wgv71a", "www", "example", "http://", "https://",
    "HTTPS://", "t.co/abc", "コム", "みんな", "\u202a", "\ufeff", "30.5", "é",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(URLISH) | st.text(max_size=3), max_size=60).map("".join))
def test_url_scan_finds_what_the_plain_regex_finds(text: str) -> None:
    patterns = length._url_patterns()
    fast = [match.span() for match in length._url_matches(text, patterns)]
    assert fast == [match.span() for match in patterns.url.finditer(text)]


# --- split_thread ----------------------------------------------------------------------

EVACUATION = """【警戒レベル4】避難指示を発令しました
9月15日 15時00分現在

△△町は、台風第14号の接近に伴う大雨により、土砂災害の危険性が非常に高まっているため、本日15時00分、町内全域の土砂災害警戒区域にお住まいの方を対象に、警戒レベル4「避難指示」を発令しました。危険な場所にいる方は、全員、直ちに安全な場所へ避難してください。避難所は、△△町立中央小学校体育館、△△町公民館、△△町総合体育館の3か所を開設しています。避難所へ向かうことがかえって危険な場合は、近くの安全な建物や、自宅の2階以上の崖から離れた部屋に移動するなど、身の安全を確保してください。高齢の方や障がいのある方、小さなお子さんのいる方は、早めの避難をお願いします。避難の際は、食料、飲料水、常備薬、マスク、携帯電話の充電器などをお持ちください。

今後の情報に十分注意してください。詳しくは町ホームページをご覧ください。
""" + URL + """
お問い合わせ：△△町役場 防災危機管理課"""


def _bodies(parts: list[str]) -> list[str]:
    """The parts without their markers, checking each marker on the way."""
    bodies = []
    for number, part in enumerate(parts, start=1):
        body, marker = part.rsplit("\n", 1)
        assert marker == f"({number}/{len(parts)})"
        bodies.append(body)
    return bodies


def _assert_content_preserved(text: str, bodies: list[str]) -> None:
    normalized = unicodedata.normalize("NFC", text)
    position = 0
    for body in bodies:
        while normalized[position].isspace():
            position += 1
        assert normalized.startswith(body, position)
        position += len(body)
    assert normalized[position:].strip() == ""


def test_text_that_fits_comes_back_unchanged() -> None:
    text = "  避難所を開設しました。\n"
    assert length.split_thread(text) == [text]


def test_an_evacuation_message_splits_at_sentences_with_markers() -> None:
    assert length.weighted_length(EVACUATION) > 560
    parts = length.split_thread(EVACUATION)
    assert len(parts) >= 3
    assert all(length.weighted_length(part) <= 280 for part in parts)
    bodies = _bodies(parts)
    assert all(body.endswith("。") for body in bodies[:-1])
    assert bodies[0].startswith("【警戒レベル4】避難指示を発令しました\n9月15日 15時00分現在")
    assert bodies[-1].endswith("お問い合わせ：△△町役場 防災危機管理課")
    _assert_content_preserved(EVACUATION, bodies)


def test_a_paragraph_break_is_preferred_to_a_line_break() -> None:
    first = "避難所を開設しました。" * 7  # 154
    second = "食料をお持ちください。" * 4  # 88
    rest = "飲料水をお持ちください。" * 20
    parts = length.split_thread(first + "\n\n" + second + "\n" + rest)
    assert _bodies(parts)[0] == first


def test_a_long_url_is_never_split() -> None:
    long_url = "https://www.town.example.lg.jp/" + "bousai/" * 60
    text = "避" * 120 + long_url + "避" * 200
    parts = length.split_thread(text)
    assert sum(long_url in part for part in parts) == 1
    assert all(length.weighted_length(part) <= 280 for part in parts)
    _assert_content_preserved(text, _bodies(parts))


def test_a_hard_cut_falls_between_words_not_inside_an_ascii_word() -> None:
    word = "Typhoon14-Information"
    text = "避" * 130 + word + "避" * 200
    parts = length.split_thread(text)
    assert sum(word in part for part in parts) == 1
    assert _bodies(parts)[0] == "避" * 130


@pytest.mark.parametrize(
    "sequence",
    ["👨\u200d👩\u200d👧\u200d👦", "👨\u200d🦲\u200d🔥"],  # the second is not in Unicode's list: counts 5
)
def test_a_hard_cut_keeps_emoji_sequences_whole(sequence: str) -> None:
    parts = length.split_thread(sequence * 300)
    for body in _bodies(parts):
        assert body == sequence * (len(body) // len(sequence))
    assert all(length.weighted_length(part) <= 280 for part in parts)


def test_a_domain_that_becomes_a_url_once_cut_out_still_fits() -> None:
    # In the whole text the domain's first label runs back over all the Japanese before it
    # (too long for a DNS label), so X sees no URL; cut out after 。 it is a URL (23).
    text = "あ" * 136 + "。" + "い" * 10 + "example.com" + "う" * 120 + "。" + "え" * 50
    assert length.url_count(text) == 0
    parts = length.split_thread(text)
    assert length.url_count(parts[1]) == 1
    assert all(length.weighted_length(part) <= 280 for part in parts)
    _assert_content_preserved(text, _bodies(parts))


def test_a_character_with_more_marks_than_a_part_holds_is_cut_between_marks() -> None:
    text = "a" + "\u0301" * 400
    parts = length.split_thread(text, max_weighted_length=100)
    assert all(length.weighted_length(part) <= 100 for part in parts)
    _assert_content_preserved(text, _bodies(parts))


def test_ten_or_more_parts_are_numbered_in_full() -> None:
    text = "避" * 1500  # no place to break: every part is cut hard and filled
    parts = length.split_thread(text)
    assert len(parts) == 12
    assert parts[9] == "避" * 136 + "\n(10/12)"
    assert all(length.weighted_length(part) <= 280 for part in parts)
    _assert_content_preserved(text, _bodies(parts))


def test_whitespace_too_long_to_post_gives_no_parts() -> None:
    assert length.split_thread("\u3000" * 141) == []


def test_a_limit_too_small_for_a_url_is_refused() -> None:
    with pytest.raises(ValueError):
        length.split_thread((URL + " ") * 3, max_weighted_length=25)


FRAGMENTS = [
    "。", "、", "！", "」", "\n", "\n\n", " ", "　", "避難指示", "警戒レベル4", "高齢者等避難", URL,
    "example.com", "www.example.jp", "a.b", "👨\u200d👩\u200d👧\u200d👦", "⚠️", "1⃣", "🇯🇵", "か\u3099",
    "e\u0301", "葛\U000e0100", "abc", "Typhoon", "12.5", "(1/2)", "\u200d", "\u0301" * 3,
]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), max_size=200).map("".join),
    st.integers(min_value=40, max_value=280),
)
def test_split_thread_properties(text: str, limit: int) -> None:
    parts = length.split_thread(text, limit)
    if length.weighted_length(text) <= limit:
        assert parts == [text]
        return
    if text.isspace():
        assert parts == []
        return
    assert len(parts) >= 2
    for part in parts:
        assert part and part == part.strip()
        assert length.weighted_length(part) <= limit
    _assert_content_preserved(text, _bodies(parts))


# --- the emoji package is imported only for text that may hold an emoji (issue 14) ----


def test_every_emoji_the_package_knows_passes_the_cheap_check() -> None:
    import emoji

    missed = [key for key in emoji.EMOJI_DATA if not length._MAY_HOLD_EMOJI.search(key)]
    assert missed == []


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_counting_plain_japanese_text_does_not_import_emoji() -> None:
    text = "【避難指示】本郷地区に警戒レベル4、避難指示を発令しました。詳しくはtown.ami.lg.jp/bosai（午後3時）"
    modules = _modules_after(
        "from dutypost.core import length\n"
        f"assert length.weighted_length({text!r}) > 0\n"
        f"assert len(length.split_thread({text!r} * 10)) > 1\n"
    )
    assert "emoji" not in modules


def test_counting_text_with_an_emoji_imports_emoji() -> None:
    modules = _modules_after("from dutypost.core import length\nassert length.weighted_length('避難⚠️') == 6\n")
    assert "emoji" in modules


# --- a 10,000-character paste (issue 14) ----------------------------------------------


def _paste(seed: str, size: int = 10_000) -> str:
    sentences = []
    i = 0
    while sum(map(len, sentences)) < size:
        sentences.append(
            f"{seed}{i}番目の地区（第{i * 7 % 13}班）に警戒レベル4、避難指示を発令しました。"
            f"詳しくはtown.ami.lg.jp/bosai/{i}をご覧ください。" + ("\n\n" if i % 5 == 4 else "")
        )
        i += 1
    return "".join(sentences)[:size]


def _seconds(work, text: str) -> float:
    started = time.perf_counter()
    work(text)
    return time.perf_counter() - started


def _preview(text: str) -> None:
    # What one keystroke of the compose preview asks for: compose splits, the gate counts
    # and splits again, the count line and the price count every part.
    parts = length.split_thread(text, 280)
    length.parse(text, 280)
    assert length.split_thread(text, 280) == parts
    for part in parts:
        assert length.weighted_length(part) <= 280
        length.extract_urls(part)


def test_a_long_paste_costs_a_few_counts_per_keystroke() -> None:
    length.weighted_length(_paste("warm", 500))
    # Fresh texts each time (the counts are cached per text); the best of three, as the
    # machine is shared. Measured: before the caches and the early stop 12 counts' time,
    # after them 3; a splitter that re-counted prefixes would take hundreds.
    one_count = min(_seconds(length.weighted_length, _paste(f"count{k}-")) for k in range(3))
    preview = min(_seconds(_preview, _paste(f"preview{k}-")) for k in range(3))
    assert preview < 7 * one_count, (preview, one_count)


def test_a_long_paste_splits_into_numbered_parts_that_give_the_text_back() -> None:
    # More than 9 parts: the try with one-digit markers stops early and two digits follow.
    text = _paste("")
    parts = length.split_thread(text)
    assert len(parts) > 9
    assert all(part.endswith(f"\n({i}/{len(parts)})") for i, part in enumerate(parts, start=1))
    assert all(length.weighted_length(part) <= 280 for part in parts)
    bodies = [part.rsplit("\n", 1)[0] for part in parts]
    assert "".join("".join(body.split()) for body in bodies) == "".join(text.split())


# The closing hashtag line never goes out alone as the last part of a thread (seen: a
# drill 避難指示 for four areas whose second part was 「#阿見町 #避難指示 (2/2)」), unless
# keeping it company would cut a sentence.

HASHTAG_TAIL_CASES = [
    # (a body whose plain split leaves the hashtags alone, the hashtag line)
    pytest.param("あ" * 60 + "\n" + "い" * 76, "#阿見町 #避難指示", id="two-lines"),
    pytest.param("【訓練】【警戒レベル4】避難指示 発令\n3時00分現在\n" + "う" * 90 + "。\n" + "え" * 20 + "。",
                 "#阿見町 #避難指示", id="order-shaped"),
    pytest.param("お" * 60 + "。" + "か" * 75, "＃流山市 ＃避難", id="sentence-end-full-width-hash"),
]


@pytest.mark.parametrize("body, tags", HASHTAG_TAIL_CASES)
def test_the_hashtags_never_make_a_part_of_their_own(body, tags):
    text = f"{body}\n{tags}"
    parts = length.split_thread(text)
    assert len(parts) == 2
    assert all(length.weighted_length(p) <= 280 for p in parts)
    last_body = parts[-1].rpartition("\n")[0]
    assert last_body.strip() != tags and last_body.endswith(tags)
    assert [p.rpartition("\n")[2] for p in parts] == ["(1/2)", "(2/2)"]
    joined = "".join(p.rpartition("\n")[0] for p in parts)
    assert joined.replace("\n", "") == text.replace("\n", "")  # nothing lost, nothing doubled


def test_the_hashtags_stay_alone_rather_than_cut_a_sentence():
    text = "あ" * 136 + "\n#阿見町 #避難指示"  # one sentence that only just fits a part
    parts = length.split_thread(text)
    assert parts == ["あ" * 136 + "\n(1/2)", "#阿見町 #避難指示\n(2/2)"]
