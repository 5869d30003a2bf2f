"""What the screen remembers between starts (画面の状態): the theme the officer chose.

A small JSON file beside the ledger (the data directory), not the config file: the config
is the municipality's, reviewed and checked; the colours are the officer's. A missing or
damaged file is the same as no choice; a file that cannot be written costs the choice only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from dutypost.core.config import Settings

STATE_FILE = "tui-state.json"


def state_path(settings: Settings) -> Path:
    return Path(settings.ledger.path).parent / STATE_FILE


def saved_theme(settings: Settings) -> str | None:
    try:
        data = json.loads(state_path(settings).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    theme = data.get("theme") if isinstance(data, dict) else None
    return theme if isinstance(theme, str) and theme else None


def save_theme(settings: Settings, theme: str) -> bool:
    """Keep ``theme`` for the next start; False when the file could not be written."""
    path = state_path(settings)
    try:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict):
            data = {}
        data["theme"] = theme
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        return False
    return True
