"""Pasted text (貼り付け) arrives whole, in order and clean (issue 15 item 1).

Seen before: a two-line paste into a one-line field kept only its first line; a paste
holding an escape sequence arrived reordered (``A\\e[2JB`` as ``^[2JBA``) with a literal
``^[``; a BEL in a paste opened Help. Here: the terminal parser fed real bytes, the app
under Pilot, and ``dutypost --demo`` in tmux with a bracketed ``paste-buffer -p``.
"""

from __future__ import annotations

import os

import pytest
from textual import events

from dutypost.core.config import default_data_dir
from dutypost.core.ledger import Ledger
from dutypost.tui.app import make_app
from dutypost.tui.paste import PASTE_END, PASTE_START, PasteParser, clean_paste
from sshd_harness import DUTYPOST, wait_until
from test_tui import IN_HOURS, SIZE, number_of, settle
from test_tui import tui_context  # noqa: F401 (fixture)

pytestmark = pytest.mark.anyio

NASTY = "A\x1b[2JB\x07C"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def parsed(data: str) -> list:
    parser = PasteParser()
    return [e for e in [*parser.feed(data), *parser.feed("")] if isinstance(e, (events.Key, events.Paste))]


# -- the text a field keeps ---------------------------------------------------------------

def test_escape_sequences_and_controls_are_removed_whole_and_in_order():
    cleaned = clean_paste("A\x1b[2JB\x07C\x1b]0;title\x07D\x1b(BE\x9b31mF\x00G\x7f")
    assert cleaned.text == "ABCDEFG"
    assert cleaned.removed == 7
    assert "^" not in cleaned.text and "[" not in cleaned.text
    assert "制御文字" in cleaned.notice and "7 個" in cleaned.notice


def test_a_one_line_field_gets_spaces_for_newlines_with_a_notice():
    cleaned = clean_paste("大雨のため\r\n土砂災害の危険\n", multiline=False)
    assert cleaned.text == "大雨のため 土砂災害の危険"
    assert cleaned.joined == 1
    assert "改行 1 個を空白" in cleaned.notice


def test_a_multi_line_field_keeps_its_newlines():
    cleaned = clean_paste("一行目\r\n二行目\r三行目", multiline=True)
    assert cleaned.text == "一行目\n二行目\n三行目"
    assert cleaned.notice == ""


def test_plain_text_goes_in_unchanged_and_silently():
    cleaned = clean_paste("土砂災害の危険が高まったため、")
    assert (cleaned.text, cleaned.notice) == ("土砂災害の危険が高まったため、", "")


# -- the terminal's bytes ------------------------------------------------------------------

def test_a_bracketed_paste_with_an_escape_sequence_is_one_paste_in_order():
    tokens = parsed(f"x{PASTE_START}{NASTY}{PASTE_END}y")
    assert [type(t).__name__ for t in tokens] == ["Key", "Paste", "Key"]
    assert tokens[1].text == NASTY
    assert (tokens[0].character, tokens[2].character) == ("x", "y")


def test_a_bel_or_esc_inside_a_paste_is_never_a_key():
    tokens = parsed(f"{PASTE_START}\x07\x1b{PASTE_END}")
    assert [t.text for t in tokens if isinstance(t, events.Paste)] == ["\x07\x1b"]
    assert not [t for t in tokens if isinstance(t, events.Key)]


def test_a_paste_split_across_reads_is_still_one_paste():
    parser = PasteParser()
    data = f"{PASTE_START}{NASTY}{PASTE_END}"
    tokens = [e for i in range(len(data)) for e in parser.feed(data[i])]
    assert [t.text for t in tokens if isinstance(t, events.Paste)] == [NASTY]
    assert not [t for t in tokens if isinstance(t, events.Key)]


def test_keys_outside_a_paste_are_parsed_as_before():
    tokens = parsed("\x1b[A\x1b[21~\x07a")
    assert [t.key for t in tokens] == ["up", "f10", "ctrl+g", "a"]


# -- the app -------------------------------------------------------------------------------

async def test_a_paste_into_a_compose_field_arrives_whole_and_clean(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press(*number_of(ctx, "evac-l4"))
        await settle(app, pilot)
        app.post_message(events.Paste("土砂災害の\x1b[2J危険が\x07高まった\nため"))
        await settle(app, pilot)
        assert type(app.screen).__name__ == "ComposeScreen"  # Help did not open
        assert app.screen.values()["reason"] == "土砂災害の危険が高まった ため"
        notices = [n.message for n in app._notifications]
        assert any("制御文字・エスケープシーケンス 2 個" in n and "改行 1 個を空白" in n for n in notices)


async def test_a_paste_into_the_home_search_filters_by_all_of_it(tui_context):
    ctx = tui_context(clock=IN_HOURS)
    app = make_app(ctx)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.post_message(events.Paste("避難\n指示"))
        await settle(app, pilot)
        assert app.query_one("#search").value == "避難 指示"


# -- a real terminal -----------------------------------------------------------------------

def test_a_bracketed_paste_in_tmux_arrives_whole_and_clean(tmux_terminal, tmp_path):
    terminal = tmux_terminal(80, 24)
    env = {"TERM": "tmux-256color", **{k: os.environ[k] for k in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                                                                    "XDG_STATE_HOME")}}
    terminal.start([str(DUTYPOST), "--demo"], env=env)
    terminal.wait_for("検索/番号", what="home")
    terminal.send_keys("0", "3")
    terminal.wait_for(lambda s: "作成: 警戒レベル4 避難指示 発令" in s and "プレビュー" in s, what="compose")
    pasted = tmp_path / "pasted.txt"
    pasted.write_bytes("大雨\x1b[2Jで\x07危険\x1b]0;x\x07な\nため".encode())
    terminal.tmux("load-buffer", "-b", "nasty", str(pasted))
    terminal.tmux("paste-buffer", "-p", "-d", "-b", "nasty", "-t", "main")
    screen = terminal.wait_for("大雨で危険な ため", what="the pasted reason, whole and in order")
    assert "^[" not in screen and "作成画面です" not in screen  # no Help opened by the BEL
    assert "貼り付け" in screen

    def reason():
        with Ledger(default_data_dir() / "demo" / "ledger.sqlite3") as ledger:
            drafts = ledger.open_drafts("tanaka")
        return drafts[0].values["reason"] if drafts else None

    assert wait_until(reason, timeout=10, what="the draft") == "大雨で危険な ため"
