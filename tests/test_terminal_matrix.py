"""Any terminal (どの端末からでも, SPEC §8): the whole program in tmux under each TERM.

For TERM in xterm-256color, xterm, screen, tmux-256color, linux and vt100, with and
without NO_COLOR, at 80×24 and 200×50, ``dutypost --demo`` (drill mode on the demo town)
goes home → compose → review. From the screen's text alone (``tmux capture-pane -p``,
no colour) one can read 訓練 and each check of the gate, and Japanese typed as an IME
commits it and pasted with bracketed paste arrives in the compose fields intact.

vt100 and the Linux console cannot be relied on for F-keys, so there the keys are the
Ctrl-letter twins (Ctrl+N for F2), as an officer on such a terminal would press them.
"""

from __future__ import annotations

import os
import re

import pytest

from dutypost.core.config import default_data_dir
from dutypost.core.ledger import Ledger
from sshd_harness import DUTYPOST, wait_until

TERMS = ["xterm-256color", "xterm", "screen", "tmux-256color", "linux", "vt100"]
NO_FKEYS = {"linux", "vt100"}
SIZES = [(80, 24), (200, 50)]
REASON = "土砂災害の危険が高まったため、"  # pasted: with the ideographic comma
AREA = "本郷地区"                         # typed


def cases():
    for term in TERMS:
        for no_color in (False, True):
            for width, height in SIZES:
                label = f"{term}-{'nocolor' if no_color else 'color'}-{width}x{height}"
                yield pytest.param(term, no_color, width, height, id=label)


def mode_on_top(screen: str) -> bool:
    """The status bar, the screen's first line, says 訓練 in words."""
    return "訓練" in screen.partition("\n")[0]


def gate_readable(screen: str) -> bool:
    """時間, 承認 and 内容 each with its verdict in words: [OK] / [NG] / [外す] / [要確認]."""
    return all(re.search(rf"\[(OK|NG|外す|要確認)\] {check}", screen) for check in ("時間", "承認", "内容"))


def open_drafts():
    with Ledger(default_data_dir() / "demo" / "ledger.sqlite3") as ledger:
        return ledger.open_drafts("tanaka")


@pytest.mark.parametrize("term, no_color, width, height", list(cases()))
def test_home_compose_review_in_any_terminal(tmux_terminal, term, no_color, width, height):
    terminal = tmux_terminal(width, height)
    env = {"TERM": term, **{k: os.environ[k] for k in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")}}
    if no_color:
        env["NO_COLOR"] = "1"
    terminal.start([str(DUTYPOST), "--demo"], env=env)

    # Home: the mode in words.
    terminal.wait_for(lambda s: "検索/番号" in s and mode_on_top(s), what="home with 訓練 on top")

    # Compose: the reason pasted, the area typed.
    terminal.type_text("避難指示 発令")
    terminal.wait_for(lambda s: "警戒レベル4 避難指示 発令" in s and "警戒レベル3" not in s)
    terminal.send_keys("Enter")
    compose = terminal.wait_for("作成: 警戒レベル4 避難指示 発令")
    assert "【訓練】" in compose
    terminal.paste(REASON)
    terminal.wait_for(lambda s: "文字数" in s and "{理由}" not in s, what="the reason in the preview")
    terminal.send_keys("Tab")
    terminal.wait_for("候補:", what="the area field's help: the focus has moved")  # typing sooner races it
    terminal.type_text(AREA)
    terminal.wait_for(lambda s: "文字数" in s and "{" not in s, what="the preview with both values")
    # The draft is saved as the officer types (at most a second behind): a save of the
    # reason alone may come first, so wait for the one holding both.
    def both_saved():
        return [d for d in open_drafts() if d.values.get("area") == AREA]

    drafts = wait_until(both_saved, timeout=10, what="the draft with both values in the ledger")
    assert (drafts[0].values["reason"], drafts[0].values["area"]) == (REASON, AREA)

    # Review: each check of the gate, in words.
    terminal.send_keys("C-n" if term in NO_FKEYS else "F2")
    terminal.wait_for(lambda s: "【訓練】 確認: 警戒レベル4" in s and mode_on_top(s) and gate_readable(s),
                      what="review with 訓練 and every check of the gate in words")
