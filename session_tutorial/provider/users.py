"""The database connection's users, with Auth0's brute-force protection.

After ``max_failed_logins`` consecutive failures for one user, the account is blocked
(``429 too_many_attempts``) until an administrator unblocks it, as Auth0's default does.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .errors import InvalidGrant, TooManyAttempts, UserExists
from .passwords import DUMMY_HASH, hash_password, verify_password
from .storage import Database


@dataclass(frozen=True)
class User:
    """A user of the tenant's database connection."""

    id: str
    email: str
    name: str
    created_at: float

    @property
    def sub(self) -> str:
        return f"auth0|{self.id}"

    def claims(self) -> dict[str, Any]:
        """Profile claims, as ``/userinfo`` and the ID token carry them."""
        return {
            "sub": self.sub,
            "name": self.name,
            "nickname": self.email.split("@")[0],
            "email": self.email,
            "email_verified": True,
            # Auth0 sends an ISO 8601 string here, unlike the numeric times of exp and iat.
            "updated_at": datetime.fromtimestamp(self.created_at, tz=timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }


def _user(row: sqlite3.Row) -> User:
    return User(row["id"], row["email"], row["name"], row["created_at"])


class Users:
    """Create, look up and authenticate users; count failed logins."""

    def __init__(self, db: Database, max_failed_logins: int = 10) -> None:
        self._db = db
        self._max_failed = max_failed_logins

    def create(self, email: str, password: str, name: str, now: float) -> User:
        email = email.strip().lower()
        # Stable ids: the same demo user has the same `sub` in every fresh data dir.
        uid = hashlib.sha256(email.encode()).hexdigest()[:24]
        hashed = hash_password(password)  # slow on purpose: outside the transaction
        try:
            with self._db.transaction() as c:
                c.execute(
                    "INSERT INTO users(id, email, name, password_hash, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (uid, email, name, hashed, now),
                )
        except sqlite3.IntegrityError:
            raise UserExists() from None
        return User(uid, email, name, now)

    def ensure(self, email: str, password: str, name: str, now: float) -> None:
        if self.by_email(email) is None:
            with contextlib.suppress(UserExists):
                self.create(email, password, name, now)

    def by_email(self, email: str) -> User | None:
        row = self._db.one("SELECT * FROM users WHERE email = ?", email.strip().lower())
        return _user(row) if row else None

    def by_id(self, uid: str) -> User | None:
        row = self._db.one("SELECT * FROM users WHERE id = ?", uid)
        return _user(row) if row else None

    def authenticate(self, email: str, password: str) -> User:
        """The user with this email and password; else InvalidGrant or TooManyAttempts."""
        row = self._db.one("SELECT * FROM users WHERE email = ?", email.strip().lower())
        ok = verify_password(password, row["password_hash"] if row else DUMMY_HASH)
        if row is None:
            raise InvalidGrant()
        with self._db.transaction() as c:
            state = c.execute(
                "SELECT failed_logins, blocked FROM users WHERE id = ?", (row["id"],)
            ).fetchone()
            if state["blocked"]:
                raise TooManyAttempts()
            if ok:
                c.execute("UPDATE users SET failed_logins = 0 WHERE id = ?", (row["id"],))
                return _user(row)
            failed = state["failed_logins"] + 1
            blocked = int(failed >= self._max_failed)
            c.execute(
                "UPDATE users SET failed_logins = ?, blocked = ? WHERE id = ?",
                (failed, blocked, row["id"]),
            )
        raise InvalidGrant()

    def unblock(self, email: str) -> bool:
        with self._db.transaction() as c:
            cur = c.execute(
                "UPDATE users SET failed_logins = 0, blocked = 0 WHERE email = ?",
                (email.strip().lower(),),
            )
        return cur.rowcount > 0

    def unblock_all(self) -> None:
        with self._db.transaction() as c:
            c.execute("UPDATE users SET failed_logins = 0, blocked = 0")
