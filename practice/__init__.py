"""The practice server (練習用サーバー): a local stand-in for the X API for drills, the demo
and tests. Nothing sent here reaches the real X.

A real HTTP server on 127.0.0.1 that speaks the subset of X API v2 dutypost uses
(SPEC §5), checks OAuth 1.0a signatures like X and does the PIN login. Split by concern:

- :mod:`~dutypost.practice.server`: :class:`PracticeServer` (start, stop, the Python API) and :func:`serve`;
- :mod:`~dutypost.practice.http`: the server loop, routing, answers on the wire;
- :mod:`~dutypost.practice.oauth`: OAuth 1.0a checks and the PIN login's tokens;
- :mod:`~dutypost.practice.faults`: faults injected on purpose;
- :mod:`~dutypost.practice.store`: posts, media, the state file;
- :mod:`~dutypost.practice.timeline`: timeline paging;
- :mod:`~dutypost.practice.xlike`: how X rewrites a post's text (the X-like mode);
- :mod:`~dutypost.practice.page`: the web pages;
- :mod:`~dutypost.practice.problems`: X's problem JSON.

The demo credentials it accepts by default live in :mod:`dutypost.core.demo_account`.
"""

from dutypost.core.demo_account import DEMO_CREDENTIALS
from dutypost.practice.problems import DUPLICATE_DETAIL
from dutypost.practice.server import DEFAULT_PORT, PracticeServer, serve

__all__ = ["DEFAULT_PORT", "DEMO_CREDENTIALS", "DUPLICATE_DETAIL", "PracticeServer", "serve"]
