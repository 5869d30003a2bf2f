"""X's error answers (problem JSON ``{title, detail, type, status}``) as exceptions the
request handler turns into responses."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
REPLY_REFUSED_DETAIL = (
    "Reply to this conversation is not allowed because you have not been mentioned or otherwise "
    "engaged by the author of the post you are replying to."
)
NOT_FOUND_TYPE = "https://api.twitter.com/2/problems/resource-not-found"
INVALID_TYPE = "https://api.twitter.com/2/problems/invalid-request"


class Answer(Exception):
    """Stop handling the request and answer with this status and JSON body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def problem(status: int, detail: str | None = None, type_: str = "about:blank") -> Answer:
    """X's problem JSON: ``{title, detail, type, status}``."""
    title = HTTPStatus(status).phrase
    return Answer(status, {"title": title, "detail": detail or title, "type": type_, "status": status})


def invalid(detail: str) -> Answer:
    """X's 400 for a request it cannot accept, with the reason in ``errors``."""
    answer = problem(400, "One or more parameters to your request was invalid.", INVALID_TYPE)
    answer.body["title"] = "Invalid Request"
    answer.body["errors"] = [{"message": detail}]
    return answer


def not_found(detail: str) -> Answer:
    return problem(404, detail, NOT_FOUND_TYPE)
