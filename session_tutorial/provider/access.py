"""Opaque access tokens: what the tenant issues when its own ``/userinfo`` is the only audience.

Auth0 does the same: ask for no API ``audience`` and the access token is an opaque string that
only Auth0 can look up, good for ``/userinfo`` and nothing else; ask for an API's audience and it
is a JWT (``typ: at+jwt``) that the API checks itself (see :mod:`.tokens`). An opaque token
costs the tenant no RSA signature, and a client has nothing to read in it: its lifetime comes in
the token response's ``expires_in``.

Each token is 256 random bits; the tenant keeps only its SHA-256 hash, with the user, the scope
and the expiry on the tenant's clock (which a teacher may advance). Rows expired for more than a
day are swept now and then, as tokens are issued.
"""

from __future__ import annotations

import secrets

from .errors import InvalidToken
from .storage import Database, token_hash

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS access_tokens ("
    " hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, scope TEXT NOT NULL,"
    " expires_at REAL NOT NULL)"
)
SWEEP_EVERY = 1000  # issued tokens between two sweeps of long-expired rows
KEEP_EXPIRED = 24 * 3600  # seconds an expired row stays (the clock may be moved back and forth)


class AccessTokens:
    """Issue opaque access tokens and look them up for ``/userinfo``."""

    def __init__(self, db: Database, *, ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._issued = 0
        with db.transaction() as c:
            c.execute(_SCHEMA)

    def issue(self, user_id: str, scope: str, now: float) -> str:
        token = secrets.token_urlsafe(32)
        self._issued += 1
        with self._db.transaction() as c:
            c.execute(
                "INSERT INTO access_tokens(hash, user_id, scope, expires_at) VALUES (?, ?, ?, ?)",
                (token_hash(token), user_id, scope, now + self._ttl),
            )
            if self._issued % SWEEP_EVERY == 0:
                c.execute("DELETE FROM access_tokens WHERE expires_at < ?", (now - KEEP_EXPIRED,))
        return token

    def lookup(self, token: str, now: float) -> tuple[str, str]:
        """The ``(user_id, scope)`` of a token valid at ``now``; else InvalidToken."""
        row = self._db.one(
            "SELECT user_id, scope, expires_at FROM access_tokens WHERE hash = ?",
            token_hash(token),
        )
        if row is None:
            raise InvalidToken("The access token is malformed or not issued by this tenant.")
        if row["expires_at"] <= now:
            raise InvalidToken("The access token has expired.")
        return row["user_id"], row["scope"]
