"""The practice account (練習用アカウント) that the demo and drills use without credentials.

These keys are not secret and reach nothing real: the practice server
(``dutypost.practice``) accepts them, and drills fall back to them when no X credentials
are configured. They live in core so that core needs nothing from the practice server.
"""

from __future__ import annotations

from dutypost.core.oauth1 import Credentials

DEMO_CREDENTIALS = Credentials(
    consumer_key="practice-consumer-key",
    consumer_secret="practice-consumer-secret-NOT-REAL",
    access_token="1000000001-practice-access-token",
    access_token_secret="practice-access-token-secret-NOT-REAL",
)
PRACTICE_USER_ID = "1000000001"
PRACTICE_USER_NAME = "練習用アカウント"
PRACTICE_USERNAME = "practice_town"
