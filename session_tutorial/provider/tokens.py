"""Minting and checking the tenant's JWTs: access tokens and ID tokens, RS256 with a ``kid``.

Under :func:`deferred_signing` (the token endpoint of a served tenant) a JWT comes back as
:class:`Unsigned`, its claims and header, for :class:`~.signer.Signer` to sign off the event
loop; everywhere else, signed at once.

A JWT is put together here from base64url and RS256 (:mod:`.jws`, the same bytes as PyJWT's
RS256), in the JWS compact serialization (RFC 7515 7.1: the signature covers
``BASE64URL(header) "." BASE64URL(claims)``), not by ``jwt.encode`` whole, so that a signing
helper gets only those bytes and sends back only the signature: no JSON either way. The result
is what ``jwt.encode`` makes (the same header keys, sorted, and the same compact JSON); PyJWT
still verifies every token, here and in the client.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization

from .config import TenantConfig
from .errors import InvalidToken
from .jws import b64url, compact, rs256
from .keys import SigningKey
from .users import User

_DEFER: ContextVar[bool] = ContextVar("session_tutorial_defer_signing", default=False)


@contextmanager
def deferred_signing() -> Iterator[None]:
    """Within the block (and threads it starts), JWTs are minted :class:`Unsigned`."""
    token = _DEFER.set(True)
    try:
        yield
    finally:
        _DEFER.reset(token)


@dataclass(frozen=True)
class Unsigned:
    """A JWT still to be signed: its claims and its JOSE header (never shown in a repr)."""

    claims: dict[str, Any] = field(repr=False)
    headers: dict[str, Any]

    def signing_input(self) -> bytes:
        """``BASE64URL(header) "." BASE64URL(claims)``: the bytes an RS256 signature covers."""
        header = json.dumps({"alg": "RS256", **self.headers}, separators=(",", ":"), sort_keys=True)
        claims = json.dumps(self.claims, separators=(",", ":"))
        return b64url(header.encode()) + b"." + b64url(claims.encode())


class TokenMinter:
    """Signs access and ID tokens with the tenant's key, and verifies its own access tokens."""

    def __init__(self, config: TenantConfig, key: SigningKey) -> None:
        self._config = config
        self._key = key
        self._public_key = key.private_key.public_key()  # made once, not per request

    def _sign(self, claims: dict[str, Any], typ: str = "JWT") -> str | Unsigned:
        """The signed JWT, or :class:`Unsigned` under :func:`deferred_signing`."""
        unsigned = Unsigned(claims, {"kid": self._key.kid, "typ": typ})
        return unsigned if _DEFER.get() else self.sign(unsigned)

    def sign(self, unsigned: Unsigned) -> str:
        return self.sign_input(unsigned.signing_input())

    def sign_input(self, signing_input: bytes) -> str:
        """The compact JWT for an :meth:`Unsigned.signing_input`, signed here."""
        return compact(signing_input, rs256(self._key.private_key, signing_input))

    def private_pem(self) -> bytes:
        """The key, for the signing helper process (sent over a pipe, never written)."""
        return self._key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def access_token(
        self, user: User, scope: str, audience: str | None, now: float, grant: str
    ) -> str | Unsigned:
        audiences = [a for a in (audience, self._config.userinfo_audience) if a]
        return self._sign(
            {
                "iss": self._config.issuer,
                "sub": user.sub,
                "aud": audiences,
                "iat": int(now),
                "exp": int(now) + self._config.access_token_ttl,
                "scope": scope,
                "azp": self._config.client_id,
                "gty": grant,
                "jti": secrets.token_hex(8),
            },
            typ="at+jwt",  # RFC 9068: so that no client takes it for an ID token
        )

    def id_token(
        self, user: User, now: float, sid: str, scope: str, extra: dict[str, Any] | None = None
    ) -> str | Unsigned:
        """An ID token; ``extra`` adds claims such as ``nonce`` and ``auth_time`` (OIDC Core 2)."""
        claims: dict[str, Any] = {
            "iss": self._config.issuer,
            "sub": user.sub,
            "aud": self._config.client_id,
            "iat": int(now),
            "exp": int(now) + self._config.id_token_ttl,
            "sid": sid,
        }
        profile = user.claims()
        scopes = scope.split()
        if "profile" in scopes:
            claims.update({k: profile[k] for k in ("name", "nickname", "updated_at")})
        if "email" in scopes:
            claims.update({k: profile[k] for k in ("email", "email_verified")})
        claims.update(extra or {})
        return self._sign(claims)

    def verify_access_token(self, token: str, now: float) -> dict[str, Any]:
        """The claims of one of our access tokens valid at ``now``; else InvalidToken.

        PyJWT verifies it; imported here, at the first ``/userinfo``: a tenant starts without.
        """
        import jwt

        try:
            claims = jwt.decode(
                token,
                self._public_key,
                algorithms=["RS256"],
                issuer=self._config.issuer,
                audience=self._config.userinfo_audience,
                options={
                    "require": ["exp", "iat", "sub"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            raise InvalidToken(
                "The access token is malformed or not signed by this tenant."
            ) from None
        # Time is checked against the tenant's clock, which a teacher may have advanced.
        if claims["exp"] <= now:
            raise InvalidToken("The access token has expired.")
        return claims
