"""The Authorization Code flow with PKCE, the client's half (RFC 6749 4.1, RFC 7636, OIDC 3.1).

Every sign-in gets a fresh ``code_verifier`` (43-128 unreserved characters, RFC 7636 4.1), its
S256 ``code_challenge`` (4.2), a ``state`` against CSRF (RFC 6749 10.12) and a ``nonce``
against replayed ID tokens (OIDC Core 3.1.2.1). The verifier never leaves the app until the
code exchange; the challenge, state and nonce travel in the browser's address bar.

>>> request = authorization_request(tenant, "http://127.0.0.1:53682/callback")  # doctest: +SKIP
>>> request.url  # open it in the browser  # doctest: +SKIP
'http://127.0.0.1:8941/authorize?response_type=code&client_id=tutorial-app&...'
>>> credentials = exchange_code(client, request, code)  # the callback's code  # doctest: +SKIP
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlencode

from session_tutorial.credentials import Credentials
from session_tutorial.errors import AuthError, AuthorizationCodeRejected, TokenVerificationFailed
from session_tutorial.idtoken import JwksCache, verify_id_token
from session_tutorial.tenant import Tenant

if TYPE_CHECKING:
    from session_tutorial.client import AuthClient

Prompt = Literal["login", "none"]


def new_verifier() -> str:
    """A fresh code verifier: 64 URL-safe characters from 48 random bytes (RFC 7636 4.1, 7.1)."""
    return secrets.token_urlsafe(48)


def s256(verifier: str) -> str:
    """``BASE64URL(SHA256(verifier))`` without padding (RFC 7636 4.2).

    >>> s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")  # RFC 7636 appendix B
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
    """
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class AuthorizationRequest:
    """One sign-in's secrets and the URL to open. The verifier is never shown in a repr."""

    url: str
    redirect_uri: str
    state: str = field(repr=False)
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)


def authorization_request(
    tenant: Tenant,
    redirect_uri: str,
    *,
    base_url: str | None = None,
    prompt: Prompt | None = None,
    screen_hint: Literal["signup"] | None = None,
    login_hint: str | None = None,
) -> AuthorizationRequest:
    """A new authorization request: fresh verifier, state and nonce, and the ``/authorize`` URL.

    ``base_url`` is where the *browser* reaches the tenant when that differs from where the
    app does (Binder's proxy); the default is the tenant's own address.
    """
    verifier, state, nonce = new_verifier(), secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    params = {
        "response_type": "code",
        "client_id": tenant.client_id,
        "redirect_uri": redirect_uri,
        "scope": tenant.scope,
        "state": state,
        "nonce": nonce,
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
    }
    if tenant.audience:
        params["audience"] = tenant.audience
    for name, value in (
        ("prompt", prompt),
        ("screen_hint", screen_hint),
        ("login_hint", login_hint),
    ):
        if value:
            params[name] = value
    base = (base_url or tenant.base_url).rstrip("/")
    url = f"{base}/authorize?{urlencode(params)}"
    return AuthorizationRequest(url, redirect_uri, state, nonce, verifier)


def exchange_code(
    client: AuthClient, request: AuthorizationRequest, code: str, *, jwks: JwksCache | None = None
) -> Credentials:
    """Trade the callback's ``code`` (and the request's verifier) for tokens; check the nonce.

    Raises ``AuthorizationCodeRejected`` when the tenant refuses the code (used, expired,
    another verifier or redirect_uri), ``TokenVerificationFailed`` when the ID token is not
    valid or does not carry this request's nonce (OIDC Core 3.1.3.7, step 11).
    """
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": request.code_verifier,
        "redirect_uri": request.redirect_uri,
    }
    try:
        credentials = client._token(form, during="code")
    except AuthError as exc:
        if exc.error != "invalid_grant":
            raise
        raise AuthorizationCodeRejected(
            f"The tenant refused the authorization code ({exc.description or exc.error}): "
            "start the sign-in again.",
            error=exc.error,
            status_code=exc.status_code,
            description=exc.description,
        ) from exc
    if credentials.id_token is None:
        raise TokenVerificationFailed(
            "The tenant sent no ID token: ask for the openid scope, so the sign-in can be checked."
        )
    verify_id_token(
        credentials.id_token, client.tenant, nonce=request.nonce, now=client.clock(), jwks=jwks
    )
    return credentials
