"""Authorization requests for the tenant's tests, with PKCE done by hand (not by the client)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.provider_helpers import CLIENT, SCOPE

CALLBACK = "http://127.0.0.1:53682/callback"


def challenge_of(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass
class AuthRequest:
    """One authorization request: its verifier, state and nonce, and the URL's parameters."""

    redirect_uri: str = CALLBACK
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    state: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    extra: dict[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        return {
            "response_type": "code",
            "client_id": CLIENT,
            "redirect_uri": self.redirect_uri,
            "scope": SCOPE,
            "state": self.state,
            "nonce": self.nonce,
            "code_challenge": challenge_of(self.verifier),
            "code_challenge_method": "S256",
            **self.extra,
        }

    def url(self, base: str, **changes: str | None) -> str:
        query = {k: v for k, v in {**self.params(), **changes}.items() if v is not None}
        return f"{base.rstrip('/')}/authorize?{urlencode(query)}"

    def exchange(self, code: str, **changes: str) -> dict[str, str]:
        return {
            "grant_type": "authorization_code",
            "client_id": CLIENT,
            "code": code,
            "code_verifier": self.verifier,
            "redirect_uri": self.redirect_uri,
            **changes,
        }


def query_of(location: str | None) -> dict[str, str]:
    assert location is not None, "no redirect"
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
