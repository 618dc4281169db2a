"""The tenant's own login session in the browser: a cookie that makes single sign-on work.

After a password sign-in on the login page, the tenant sets an HttpOnly, SameSite=Lax cookie.
While it lives, the next ``/authorize`` signs the same user in without the password (or asks
"Continue as ...?"); ``/v2/logout`` ends it. The cookie holds a random value; the database
holds its SHA-256 hash, the user and when they typed their password (``auth_time``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .storage import Database, token_hash

COOKIE = "st_session"


@dataclass(frozen=True)
class BrowserSession:
    """A live login session: who, and when they last typed their password."""

    user_id: str
    auth_time: float


class BrowserSessions:
    """Start, look up and end login sessions."""

    def __init__(self, db: Database, *, lifetime: float) -> None:
        self._db = db
        self.lifetime = lifetime

    def start(self, user_id: str, now: float) -> str:
        """A new session for ``user_id``; the cookie value to set."""
        value = secrets.token_urlsafe(32)
        with self._db.transaction() as c:
            c.execute(
                "INSERT INTO browser_sessions(hash, user_id, auth_time, expires_at)"
                " VALUES (?, ?, ?, ?)",
                (token_hash(value), user_id, now, now + self.lifetime),
            )
        return value

    def get(self, value: str | None, now: float) -> BrowserSession | None:
        if not value:
            return None
        row = self._db.one(
            "SELECT user_id, auth_time, expires_at FROM browser_sessions WHERE hash = ?",
            token_hash(value),
        )
        if row is None or now >= row["expires_at"]:
            return None
        return BrowserSession(row["user_id"], row["auth_time"])

    def end(self, value: str | None) -> bool:
        if not value:
            return False
        with self._db.transaction() as c:
            cur = c.execute("DELETE FROM browser_sessions WHERE hash = ?", (token_hash(value),))
        return cur.rowcount > 0
