"""The database connection's users, with Auth0's brute-force protection.

After ``max_failed_logins`` consecutive failures for one user *from one source* (the client's
IP address), that user is blocked from that source (``429 too_many_attempts``) until an
administrator unblocks it, as Auth0's default does (docs: "Brute-Force Protection": it blocks
the user and IP combination). The same user from another source still signs in, so an attacker
elsewhere cannot lock a learner out. The old per-user columns of ``users`` are unused.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .errors import InvalidGrant, TooManyAttempts, UserExists
from .passwords import demo_password_hash, dummy_hash, hash_password, verify_password
from .storage import Database

MAX_NAME = 128  # characters of a user's name (the login page's field allows as many)


def profile_problem(email: str, name: str) -> str | None:
    """Why a signup's email or name cannot be an account's, or None.

    Both end up in every ID token and on every page and message that names the user: no
    control or format characters (escape sequences, line breaks, bidi overrides), bounded.
    """
    if "@" not in email or len(email) > 254:
        return "Enter an email address."
    if len(name) > MAX_NAME:
        return f"Use a name of at most {MAX_NAME} characters."
    if any(_unsafe(c) for c in email + name):
        return "Use a name and email address without control characters."
    return None


def _unsafe(c: str) -> bool:
    # Zero-width (non-)joiners are format characters that emoji and several scripts need.
    return unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs") and c not in "\u200c\u200d"


@dataclass(frozen=True)
class User:
    """A user of the tenant's database connection."""

    id: str
    email: str
    name: str
    created_at: float
    # Nothing here sends mail, so only the demo users are verified; a signup is not (Auth0
    # sets email_verified once the user follows the link in its verification email).
    email_verified: bool = False

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
            "email_verified": self.email_verified,
            # Auth0 sends an ISO 8601 string here, unlike the numeric times of exp and iat.
            "updated_at": datetime.fromtimestamp(self.created_at, tz=timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }


def _user(row: sqlite3.Row) -> User:
    return User(
        row["id"], row["email"], row["name"], row["created_at"], bool(row["email_verified"])
    )


class Users:
    """Create, look up and authenticate users; count failed logins."""

    def __init__(self, db: Database, max_failed_logins: int = 10) -> None:
        self._db = db
        self._max_failed = max_failed_logins
        columns = {r["name"] for r in db.all("PRAGMA table_info(users)")}
        if "email_verified" not in columns:  # a data folder from before the column existed
            with db.transaction() as c:
                c.execute("ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0")

    def create(
        self,
        email: str,
        password: str,
        name: str,
        now: float,
        *,
        verified: bool = False,
        password_hash: str | None = None,
    ) -> User:
        """A new user; ``verified`` only for accounts whose address is known to be theirs.

        ``password_hash``: the password's hash if made already (a demo user's, see
        :mod:`.passwords`); else it is hashed here.
        """
        email = email.strip().lower()
        # Stable ids: the same demo user has the same `sub` in every fresh data dir.
        uid = hashlib.sha256(email.encode()).hexdigest()[:24]
        # hash_password is slow on purpose: outside the transaction.
        hashed = password_hash or hash_password(password)
        try:
            with self._db.transaction() as c:
                c.execute(
                    "INSERT INTO users(id, email, name, password_hash, created_at, email_verified)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (uid, email, name, hashed, now, int(verified)),
                )
        except sqlite3.IntegrityError:
            raise UserExists() from None
        return User(uid, email, name, now, verified)

    def ensure(self, email: str, password: str, name: str, now: float) -> None:
        """The demo user ``email`` exists, with a verified address."""
        if self.by_email(email) is None:
            with contextlib.suppress(UserExists):
                hashed = demo_password_hash(password)
                self.create(email, password, name, now, verified=True, password_hash=hashed)
        with self._db.transaction() as c:
            c.execute("UPDATE users SET email_verified = 1 WHERE email = ?", (email,))

    def by_email(self, email: str) -> User | None:
        row = self._db.one("SELECT * FROM users WHERE email = ?", email.strip().lower())
        return _user(row) if row else None

    def by_id(self, uid: str) -> User | None:
        row = self._db.one("SELECT * FROM users WHERE id = ?", uid)
        return _user(row) if row else None

    def authenticate(self, email: str, password: str, source: str = "") -> User:
        """The user with this email and password; else InvalidGrant or TooManyAttempts.

        ``source`` is where the attempt comes from (an IP address); failures count per user
        and source.
        """
        row = self._db.one("SELECT * FROM users WHERE email = ?", email.strip().lower())
        if row is not None and self._blocked(row["id"], source):
            # The answer is too_many_attempts whatever the password (as below), so no hash is
            # checked: each further try at a blocked account costs the tenant no Argon2 hash.
            raise TooManyAttempts()
        ok = verify_password(password, row["password_hash"] if row else dummy_hash())
        if row is None:
            raise InvalidGrant()
        key = (row["id"], source)
        with self._db.transaction() as c:
            state = c.execute(
                "SELECT failed, blocked FROM login_failures WHERE user_id = ? AND source = ?", key
            ).fetchone()
            if state is not None and state["blocked"]:
                raise TooManyAttempts()
            if ok:
                c.execute("DELETE FROM login_failures WHERE user_id = ? AND source = ?", key)
                return _user(row)
            failed = (state["failed"] if state else 0) + 1
            c.execute(
                "INSERT OR REPLACE INTO login_failures(user_id, source, failed, blocked)"
                " VALUES (?, ?, ?, ?)",
                (*key, failed, int(failed >= self._max_failed)),
            )
        raise InvalidGrant()

    def _blocked(self, user_id: str, source: str) -> bool:
        row = self._db.one(
            "SELECT blocked FROM login_failures WHERE user_id = ? AND source = ?", user_id, source
        )
        return row is not None and bool(row["blocked"])

    def blocked_sources(self, email: str) -> list[str]:
        """The sources from which this user is blocked."""
        return [
            r["source"]
            for r in self._db.all(
                "SELECT f.source FROM login_failures f JOIN users u ON u.id = f.user_id"
                " WHERE u.email = ? AND f.blocked = 1",
                email.strip().lower(),
            )
        ]

    def unblock(self, email: str) -> bool:
        """Unblock the user from every source; False if there is no such user."""
        user = self.by_email(email)
        if user is None:
            return False
        with self._db.transaction() as c:
            c.execute("DELETE FROM login_failures WHERE user_id = ?", (user.id,))
        return True

    def unblock_all(self) -> None:
        with self._db.transaction() as c:
            c.execute("DELETE FROM login_failures")
