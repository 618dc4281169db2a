"""Refresh tokens with rotation and reuse detection, as Auth0 does them.

A login with ``offline_access`` starts a *family*. Each exchange retires the token used and
issues its successor, so a family has exactly one live token at any moment. Presenting a
retired token again is reuse: the whole family is revoked (Auth0 logs it as ``ferrt``) and the
user must sign in again.

The *leeway* (Auth0: *Rotation Overlap Period*, formerly *Reuse Interval*; Auth0's default is
none) forgives a replay of the immediately previous token for a few seconds, for an answer lost
on the way to the keychain. Such a replay answers with the **same** successor the first
exchange issued, never a new one: the family does not fork, a thief replaying a stolen token
gets only what the user already holds, and the next double use of that successor outside the
leeway is reuse. The successor is derived, not stored: ``HMAC-SHA256(secret, retired token)``,
so the database keeps only hashes and the successor can be recomputed from the token presented.
A replay's access and ID tokens are minted afresh (new ``iat``, ``exp`` and ``jti``), exactly as
for a first exchange: they carry nothing the first answer did not.

A token retired "in the future" (the tenant's clock was moved forward, the token rotated, the
clock reset) has a negative age: that is outside the leeway.

Two lifetimes end a family, as in Auth0 (docs: "Configure Refresh Token Expiration"): the
*absolute* one counts from the sign-in and is never extended; the *idle* (inactivity) one counts
from the last exchange and starts again at each one. A leeway replay is not an exchange.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass

from .errors import InvalidGrant, InvalidScope
from .storage import Database, token_hash

UNKNOWN = "Unknown or invalid refresh token."
EXPIRED = "The refresh token has expired. Sign in again."
IDLE = "The refresh token has expired: it was not used for too long. Sign in again."


@dataclass(frozen=True)
class Family:
    """One login's chain of refresh tokens."""

    id: str
    user_id: str
    scope: str
    audience: str | None
    created_at: float


class RefreshTokens:
    """Issue, rotate and revoke refresh-token families."""

    def __init__(
        self,
        db: Database,
        *,
        leeway: float,
        lifetime: float,
        idle_lifetime: float | None = None,
        secret: bytes | None = None,
    ) -> None:
        self._db = db
        self._leeway = leeway
        self._lifetime = lifetime
        self._idle = idle_lifetime if idle_lifetime is not None else lifetime
        self._secret = secret or secrets.token_bytes(32)

    def successor_of(self, token: str) -> str:
        """The token that replaces ``token`` at rotation: the same every time it is asked."""
        mac = hmac.new(self._secret, b"successor\x00" + token.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()

    def start_family(
        self, user_id: str, client_id: str, scope: str, audience: str | None, now: float
    ) -> tuple[Family, str]:
        family = Family(secrets.token_hex(12), user_id, scope, audience, now)
        token = secrets.token_urlsafe(36)
        with self._db.transaction() as c:
            c.execute(
                "INSERT INTO families(id, user_id, client_id, scope, audience, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (family.id, user_id, client_id, scope, audience, now),
            )
            c.execute(
                "INSERT INTO refresh_tokens(hash, family_id, created_at) VALUES (?, ?, ?)",
                (token_hash(token), family.id, now),
            )
        return family, token

    def rotate(
        self, token: str, client_id: str, now: float, scope: str | None = None
    ) -> tuple[Family, str, str]:
        """Retire ``token``; return its family, the successor and the scope granted.

        Raises InvalidGrant for a dead, reused or expired token (revoking the family for reuse
        and expiry), InvalidScope (before any change) for a scope wider than the family's.
        """
        ended: tuple[str, str] | None = None  # (reason, message) when the family ends now
        hashed = token_hash(token)
        with self._db.transaction() as c:
            row = c.execute(
                "SELECT t.created_at AS issued_at, t.rotated_at, f.* FROM refresh_tokens t"
                " JOIN families f ON t.family_id = f.id WHERE t.hash = ?",
                (hashed,),
            ).fetchone()
            if row is None or row["revoked_at"] is not None or row["client_id"] != client_id:
                raise InvalidGrant(UNKNOWN)
            family = Family(
                row["id"], row["user_id"], row["scope"], row["audience"], row["created_at"]
            )
            successor = self.successor_of(token)
            granted = family.scope
            if now >= row["created_at"] + self._lifetime:
                ended = ("expired", EXPIRED)
            elif row["rotated_at"] is not None:
                if not self._replay_forgiven(c, row, successor, now):
                    ended = ("reuse", UNKNOWN)  # before the scope: a reused token learns nothing
                else:
                    granted = self.check_scope(family, scope)
            elif now >= row["issued_at"] + self._idle:
                ended = ("idle", IDLE)
            else:
                granted = self.check_scope(family, scope)
                c.execute("UPDATE refresh_tokens SET rotated_at = ? WHERE hash = ?", (now, hashed))
                c.execute(
                    "INSERT INTO refresh_tokens(hash, family_id, created_at) VALUES (?, ?, ?)",
                    (token_hash(successor), row["id"], now),
                )
            if ended is not None:
                c.execute(
                    "UPDATE families SET revoked_at = ?, revoked_reason = ? WHERE id = ?",
                    (now, ended[0], row["id"]),
                )
        if ended is not None:
            # Raised outside the transaction, so the revocation is committed.
            raise InvalidGrant(ended[1])
        return family, successor, granted

    def _replay_forgiven(
        self, c: sqlite3.Connection, row: sqlite3.Row, successor: str, now: float
    ) -> bool:
        """A retired token inside the leeway whose successor is still the live token."""
        age = now - row["rotated_at"]
        if self._leeway <= 0 or not 0 <= age <= self._leeway:  # negative: retired "in the future"
            return False
        live = c.execute(
            "SELECT rotated_at FROM refresh_tokens WHERE hash = ? AND family_id = ?",
            (token_hash(successor), row["id"]),
        ).fetchone()
        return live is not None and live["rotated_at"] is None

    @staticmethod
    def check_scope(family: Family, requested: str | None) -> str:
        """The scope to grant on refresh: the original, or a narrower one asked for."""
        if not requested:
            return family.scope
        asked, granted = requested.split(), family.scope.split()
        if not set(asked) <= set(granted):
            raise InvalidScope()
        return " ".join(s for s in granted if s in asked)

    def revoke_token(self, token: str, client_id: str, now: float) -> bool:
        """Revoke the family ``token`` belongs to (RFC 7009); False if unknown."""
        with self._db.transaction() as c:
            cur = c.execute(
                "UPDATE families SET revoked_at = ?, revoked_reason = 'revoked' WHERE id ="
                " (SELECT family_id FROM refresh_tokens WHERE hash = ?)"
                " AND client_id = ? AND revoked_at IS NULL",
                (now, token_hash(token), client_id),
            )
        return cur.rowcount > 0

    def revoke_user(self, user_id: str, now: float) -> int:
        """Revoke every live family of a user, as an admin does in Auth0's dashboard."""
        with self._db.transaction() as c:
            cur = c.execute(
                "UPDATE families SET revoked_at = ?, revoked_reason = 'admin'"
                " WHERE user_id = ? AND revoked_at IS NULL",
                (now, user_id),
            )
        return cur.rowcount

    def sessions(self, user_id: str) -> list[dict[str, object]]:
        """The user's families, the latest made first, with their state.

        Ordered by creation (rowid), not by ``created_at``: a teacher may move the tenant's clock
        back, after which a new family carries an earlier time than an old one.
        """
        rows = self._db.all(
            "SELECT f.*, COUNT(t.hash) AS tokens, MAX(t.created_at) AS last_used"
            " FROM families f JOIN refresh_tokens t ON t.family_id = f.id"
            " WHERE f.user_id = ? GROUP BY f.id ORDER BY f.rowid DESC",
            user_id,
        )
        return [
            {
                "id": r["id"],
                "scope": r["scope"],
                "created_at": r["created_at"],
                "last_used": r["last_used"],
                "rotations": r["tokens"] - 1,
                "active": r["revoked_at"] is None,
                "revoked_reason": r["revoked_reason"],
            }
            for r in rows
        ]
