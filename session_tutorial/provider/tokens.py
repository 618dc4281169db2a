"""Minting and checking the tenant's JWTs: access tokens and ID tokens, RS256 with a ``kid``."""

from __future__ import annotations

import secrets
from typing import Any

import jwt

from .config import TenantConfig
from .errors import InvalidToken
from .keys import SigningKey
from .users import User


class TokenMinter:
    """Signs access and ID tokens with the tenant's key, and verifies its own access tokens."""

    def __init__(self, config: TenantConfig, key: SigningKey) -> None:
        self._config = config
        self._key = key
        self._public_key = key.private_key.public_key()  # made once, not per request

    def _sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        return jwt.encode(
            claims,
            self._key.private_key,
            algorithm="RS256",
            headers={"kid": self._key.kid, "typ": typ},
        )

    def access_token(
        self, user: User, scope: str, audience: str | None, now: float, grant: str
    ) -> str:
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
    ) -> str:
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
        """The claims of one of our access tokens valid at ``now``; else InvalidToken."""
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
