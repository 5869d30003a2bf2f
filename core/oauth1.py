"""OAuth 1.0a user-context signing (HMAC-SHA1) for the X API (SPEC §5).

The signature covers the method, the URL with its query, the ``oauth_*`` parameters and,
only for ``application/x-www-form-urlencoded`` bodies, the body's parameters. JSON and
multipart bodies are not signed, exactly as on X.

``oauthlib`` does the signing; it is imported inside the function so that importing this
module stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Credentials:
    """The four X credentials (認証情報) of one account; ``repr`` never shows the values."""

    consumer_key: str
    consumer_secret: str
    access_token: str
    access_token_secret: str

    def __repr__(self) -> str:
        return "Credentials(****)"


def authorization_header(
    credentials: Credentials,
    method: str,
    url: str,
    form: dict[str, str] | None = None,
) -> str:
    """The ``Authorization: OAuth …`` header value for one request.

    ``url`` is the full URL including its query string; ``form`` is the body only when
    it is sent form-encoded.
    """
    from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, Client

    client = Client(
        credentials.consumer_key,
        client_secret=credentials.consumer_secret,
        resource_owner_key=credentials.access_token,
        resource_owner_secret=credentials.access_token_secret,
        signature_method=SIGNATURE_HMAC_SHA1,
    )
    headers = {"Content-Type": FORM_CONTENT_TYPE} if form else None
    _, signed_headers, _ = client.sign(url, http_method=method.upper(), body=form or None, headers=headers)
    return signed_headers["Authorization"]
