"""Terminal settings (端末の設定) that must be in place before textual is imported.

Textual reads ``ESCDELAY``, ``TEXTUAL_DISABLE_KITTY_KEY``, ``TEXTUAL_FPS`` and
``TEXTUAL_ANIMATIONS`` once, at import time, so the CLI calls :func:`prepare_terminal`
first and imports :mod:`tui.app` afterwards. This module must never import textual.

- ``escdelay_ms``: how long a lone Esc waits for the rest of an escape sequence. tmux and
  slow links split sequences; Esc only ever means "back", so a short wait is safe.
- ``disable_kitty_keys``: several terminals lose IME-committed text (Japanese input) in
  the kitty keyboard protocol's report-all mode.
- slow-link mode (低速回線モード): fewer frames per second and no animations; the app also
  turns the mouse off and uses the ``ansi`` theme.
"""

from __future__ import annotations

import os

from dutypost.core.config import TuiConfig

SLOW_LINK_FPS = 10


def prepare_terminal(tui: TuiConfig, *, slow_link: bool = False) -> None:
    """Set the environment variables textual reads at import time."""
    os.environ["ESCDELAY"] = str(max(1, tui.escdelay_ms))
    if tui.disable_kitty_keys:
        os.environ["TEXTUAL_DISABLE_KITTY_KEY"] = "1"
    else:
        os.environ.pop("TEXTUAL_DISABLE_KITTY_KEY", None)
    if slow_link or tui.slow_link:
        os.environ["TEXTUAL_FPS"] = str(SLOW_LINK_FPS)
        os.environ["TEXTUAL_ANIMATIONS"] = "none"
        os.environ["TEXTUAL_SMOOTH_SCROLL"] = "0"
