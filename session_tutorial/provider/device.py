"""Device Authorization Grant (RFC 8628): codes for signing in on another screen.

The client asks for a device code, shows the user code and a link, and polls ``/oauth/token``.
A person opens the link, types the code, signs in and approves or denies.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    InvalidGrant,
    SlowDown,
)
from .storage import Database, token_hash

# Auth0's user codes: consonants only, so no code spells a word.
_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"


def normalize_user_code(code: str) -> str:
    """``"bcdf ghjk"`` and ``"BCDF-GHJK"`` name the same code."""
    letters = "".join(ch for ch in code.upper() if ch.isalnum())
    return f"{letters[:4]}-{letters[4:]}" if len(letters) == 8 else letters


@dataclass(frozen=True)
class DeviceGrant:
    """What POST /oauth/device/code hands back (minus the URLs, added by the endpoint)."""

    device_code: str
    user_code: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class Approved:
    """A device code a user approved: who, and for which scope and audience."""

    user_id: str
    scope: str
    audience: str | None


class DeviceCodes:
    """Issue device codes, record the person's decision, and answer polls."""

    def __init__(self, db: Database, *, ttl: int, interval: int) -> None:
        self._db = db
        self._ttl = ttl
        self._interval = interval

    def issue(self, client_id: str, scope: str, audience: str | None, now: float) -> DeviceGrant:
        device_code = secrets.token_urlsafe(32)
        while True:
            letters = "".join(secrets.choice(_ALPHABET) for _ in range(8))
            user_code = normalize_user_code(letters)
            if self._db.one("SELECT 1 FROM device_codes WHERE user_code = ?", user_code) is None:
                break
        with self._db.transaction() as c:
            c.execute(
                "INSERT INTO device_codes(hash, user_code, client_id, scope, audience,"
                " expires_at, interval) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    token_hash(device_code),
                    user_code,
                    client_id,
                    scope,
                    audience,
                    now + self._ttl,
                    self._interval,
                ),
            )
        return DeviceGrant(device_code, user_code, self._ttl, self._interval)

    def pending(self, user_code: str, now: float) -> bool:
        """Whether ``user_code`` waits for a decision and has not expired."""
        row = self._db.one(
            "SELECT status, expires_at FROM device_codes WHERE user_code = ?",
            normalize_user_code(user_code),
        )
        return row is not None and row["status"] == "pending" and now < row["expires_at"]

    def decide(self, user_code: str, user_id: str | None, approve: bool, now: float) -> bool:
        """Record approval (for ``user_id``) or denial; False if the code is not pending."""
        with self._db.transaction() as c:
            cur = c.execute(
                "UPDATE device_codes SET status = ?, user_id = ?"
                " WHERE user_code = ? AND status = 'pending' AND expires_at > ?",
                ("approved" if approve else "denied", user_id, normalize_user_code(user_code), now),
            )
        return cur.rowcount > 0

    def poll(self, device_code: str, client_id: str, now: float) -> Approved:
        """The approval, once; otherwise the RFC 8628 error that tells the client what to do."""
        error: Exception | None = None
        with self._db.transaction() as c:
            key = token_hash(device_code)
            row = c.execute("SELECT * FROM device_codes WHERE hash = ?", (key,)).fetchone()
            if row is None or row["client_id"] != client_id or row["status"] == "used":
                raise InvalidGrant("Invalid or already used device code.")
            if now >= row["expires_at"]:
                raise ExpiredToken()
            if row["status"] == "denied":
                raise AccessDenied()
            if row["status"] == "approved":
                c.execute("UPDATE device_codes SET status = 'used' WHERE hash = ?", (key,))
                return Approved(row["user_id"], row["scope"], row["audience"])
            interval = row["interval"]
            if row["last_poll"] is not None and now - row["last_poll"] < interval:
                interval += 5
                error = SlowDown(
                    f"You are polling faster than the specified interval of {interval} seconds."
                )
            else:
                error = AuthorizationPending()
            c.execute(
                "UPDATE device_codes SET last_poll = ?, interval = ? WHERE hash = ?",
                (now, interval, key),
            )
        raise error
