"""``dutypost --demo``: drill mode on the example town with a practice server in-process.

Needs no credentials and no config: a new user can publish to the practice server within
a minute. The demo keeps its own ledger and practice-server state in the data directory,
apart from any real ledger.
"""

from __future__ import annotations

from core.config import EXAMPLE_CONFIG, default_data_dir, load_settings
from core.context import DutyContext

DEMO_OPERATOR = "tanaka"


def demo_context():
    """Start the practice server and return ``(context, server)``; the caller stops the server."""
    from core.practice_server import PracticeServer

    data = default_data_dir() / "demo"
    data.mkdir(parents=True, exist_ok=True)
    settings = load_settings(EXAMPLE_CONFIG)
    server = PracticeServer(username=settings.account.drill_handle or "practice_town",
                            state_file=data / "practice-posts.json")
    url = server.start()
    settings = load_settings(
        EXAMPLE_CONFIG,
        ledger={"path": data / "ledger.sqlite3"},
        drill={"api_base_url": url},
    )
    operator = settings.operator(DEMO_OPERATOR)
    assert operator is not None, "the example config defines the demo operator"
    return DutyContext(settings=settings, operator=operator, drill=True, config_path=EXAMPLE_CONFIG, demo=True), server
