"""The TUI's key bindings as plain data (キー割り当て), for ``dutypost config check``.

``[tui] keymap`` remaps a binding by its id (``"review.publish" = "f10,ctrl+x"``); the ids
and their keys live with the bindings in :mod:`tui.keys`, which imports textual. This
table repeats them so that ``config check`` can name a misspelt id and a key clash without
importing textual; a test keeps it equal to what the screens declare.
"""

from __future__ import annotations

import re

#: id → the keys it is declared with (Textual's ``"f10,ctrl+x"`` form).
DECLARED_KEYS: dict[str, str] = {
    'account.confirm': 'f10,ctrl+o',
    'approvals.approve': 'f10,ctrl+o',
    'approvals.reject': 'f8,ctrl+r',
    'approvals.sign-off': 'f10,ctrl+o',
    'back': 'escape',
    'cancel.confirm': 'f10,ctrl+o',
    'checklist.delete-original': 'f10,ctrl+x',
    'checklist.finish': 'f10,ctrl+x',
    'checklist.keep-original': 'k',
    'checklist.not-applicable': 'n',
    'choice.clear': 'backspace,delete',
    'choice.next': 'right,down',
    'choice.previous': 'left,up',
    'choice.submit': 'enter',
    'command-palette': 'ctrl+p',
    'compose.remove-image': 'f6,ctrl+r',
    'compose.review': 'f2,ctrl+n',
    'compose.versions': 'f3,ctrl+l',
    'drafts.discard': 'delete,d',
    'drafts.restore': 'enter',
    'fault.quit': 'enter,q',
    'field.accept-suggestion': 'tab',
    'handover.copy': 'c',
    'help': 'f1,ctrl+g',
    'help.close': 'escape,f1,ctrl+g',
    'history.correction': 'f6,ctrl+f',
    'history.form': 'f9,ctrl+v',
    'history.more': 'n',
    'home.account': 'f9,ctrl+n',
    'home.approvals': 'f7,ctrl+y',
    'home.checklists': 'f6,ctrl+f',
    'home.drafts': 'f4,ctrl+t',
    'home.handover': 'f8,ctrl+r',
    'home.history': 'f5,ctrl+l',
    'home.lift': 'k',
    'home.outbox': 'f3,ctrl+o',
    'home.outbox-letter': 'o',
    'home.search': 'slash',
    'image.complete': 'tab',
    'override.confirm': 'f10,ctrl+o',
    'override.scope-next': 'right,down,space',
    'override.scope-previous': 'left,up',
    'post.cancel': 'x',
    'post.copy-text': 'c',
    'post.copy-url': 'u',
    'post.followup-done': 'space',
    'post.followup-na': 'n',
    'post.reconcile': 'f5,ctrl+r',
    'post.resend': 'f6,ctrl+y',
    'quit': 'ctrl+q',
    'recovery.run': 'f10,ctrl+o',
    'review.ack': 'space',
    'review.approval': 'f7,ctrl+k',
    'review.override': 'f8,ctrl+e',
    'review.publish': 'f10,ctrl+x',
    'review.request-approval': 'f9,ctrl+u',
}

#: Bindings that every screen has: a key given to one of these clashes everywhere.
_GLOBAL = frozenset({"help", "command-palette", "quit", "back"})

_NAMED = {
    "escape", "enter", "tab", "space", "backspace", "delete", "insert", "home", "end", "pageup", "pagedown",
    "up", "down", "left", "right", "slash", "minus", "plus", "comma", "full_stop", "question_mark",
    "exclamation_mark", "colon", "semicolon", "underscore", "equals_sign",
}
_KEY = re.compile(r"(?:(?:ctrl|shift|alt|meta)\+)*(?:[a-z0-9]|f(?:[1-9]|1[0-9]|2[0-4])|[a-z_]+)")
#: Ctrl letters the terminal, tmux/screen or flow control take (STYLE.md, Keys).
_RESERVED = {"ctrl+a": "screen/tmux", "ctrl+b": "tmux", "ctrl+c": "中断", "ctrl+h": "Backspace", "ctrl+i": "Tab",
             "ctrl+j": "Enter", "ctrl+m": "Enter", "ctrl+s": "端末のフロー制御", "ctrl+q": "終了 (quit)"}


def _group(binding_id: str) -> str:
    return binding_id.split(".")[0]


def _keys(spec: str) -> list[str]:
    return [k.strip().lower() for k in spec.split(",") if k.strip()]


def check_keymap(keymap: dict[str, str]) -> list[str]:
    """What is wrong with ``[tui] keymap``, one Japanese line each; empty when all is well.

    An unknown id (with the nearest one), a key no terminal sends by that name, a reserved
    Ctrl letter, Esc for anything but back, and a key given to two bindings of the same
    screen (or to one that every screen has) that did not share it as declared."""
    from dutypost.core.config_loader import suggest

    problems: list[str] = []
    ids = sorted(DECLARED_KEYS)
    for binding_id, spec in keymap.items():
        if binding_id not in DECLARED_KEYS:
            near = suggest(binding_id, ids)
            problems.append(f"{binding_id!r}: そのような id はありません。"
                            + (f"{near!r} の間違いではありませんか?" if near else "id は dutypost のヘルプ (F1) の表にあります。"))
            continue
        keys = _keys(spec)
        if not keys:
            problems.append(f"{binding_id!r}: キーが空です。\"f10,ctrl+x\" の形で書くか、この行を消してください。")
        for key in keys:
            name = key.rsplit("+", 1)[-1]
            if not _KEY.fullmatch(key) or (len(name) > 1 and name not in _NAMED and not re.fullmatch(r"f\d+", name)):
                problems.append(f"{binding_id!r}: キー {key!r} は使えません。a、5、f10、ctrl+x、enter、tab、up などで書いてください。")
            elif key in _RESERVED and key not in _keys(DECLARED_KEYS[binding_id]):
                problems.append(f"{binding_id!r}: {key} は {_RESERVED[key]} に使われるため割り当てられません。")
            elif key == "escape" and binding_id not in ("back", "help.close"):
                problems.append(f"{binding_id!r}: Esc は「戻る」だけに使います (tmux や低速回線で遅れて届くため)。")
    effective = {i: _keys(keymap.get(i, DECLARED_KEYS[i])) for i in ids}
    reported: set[tuple[str, str, str]] = set()
    for a in ids:
        for b in ids:
            if a >= b or (a not in keymap and b not in keymap):
                continue
            if _group(a) != _group(b) and not ({a, b} & _GLOBAL):
                continue
            declared_shared = set(_keys(DECLARED_KEYS[a])) & set(_keys(DECLARED_KEYS[b]))
            for key in sorted(set(effective[a]) & set(effective[b]) - declared_shared):
                if (a, b, key) not in reported:
                    reported.add((a, b, key))
                    problems.append(f"{a!r} と {b!r} に同じキー {key} が割り当てられています。どちらかを別のキーにしてください。")
    return problems
