"""``dutypost --demo``: drill mode on the example town with a practice server in-process.

Needs no credentials and no config: a new user can publish to the practice server within
a minute. The demo keeps its own ledger and practice-server state in the data directory,
apart from any real ledger.
"""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from dutypost.core.config import EXAMPLE_CONFIG, default_data_dir
from dutypost.core.config_loader import load_settings
from dutypost.core.context import DutyContext

if TYPE_CHECKING:
    from dutypost.practice import PracticeServer

DEMO_OPERATOR = "tanaka"


class DemoServer:
    """The demo's practice server. Its port is taken at once, so that its URL is in the
    settings from the start; it begins to serve when X is first needed, which in the TUI
    is after the first screen has been drawn (``DutyContext.before_x``)."""

    def __init__(self, username: str, state_file: Path) -> None:
        self.username = username
        self.state_file = state_file
        self.listening = socket.create_server(("127.0.0.1", 0))
        host, port = self.listening.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        self.server: PracticeServer | None = None

    def start(self) -> None:
        from dutypost.practice import PracticeServer

        if self.server is None:
            # X-like answers (escaped text, t.co links), as the real X gives them.
            self.server = PracticeServer(username=self.username, state_file=self.state_file, x_like=True)
            self.server.start(self.listening)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        else:
            self.listening.close()


def demo_context() -> tuple[DutyContext, DemoServer]:
    """Return ``(context, server)``; the caller stops the server."""
    data = default_data_dir() / "demo"
    data.mkdir(parents=True, exist_ok=True)
    settings = load_settings(EXAMPLE_CONFIG)
    server = DemoServer(settings.account.drill_handle or "practice_town", data / "practice-posts.json")
    settings = replace(
        settings,
        ledger=replace(settings.ledger, path=data / "ledger.sqlite3"),
        drill=replace(settings.drill, api_base_url=server.url),
    )
    operator = settings.operator(DEMO_OPERATOR)
    assert operator is not None, "the example config defines the demo operator"
    ctx = DutyContext(settings=settings, operator=operator, drill=True, config_path=EXAMPLE_CONFIG, demo=True,
                      before_x=server.start)
    return ctx, server
