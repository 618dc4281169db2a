"""Refresh tokens with rotation and reuse detection, as Auth0 does them.

A login with ``offline_access`` starts a *family*. Each exchange retires the token used and
issues its successor. Presenting a retired token again is reuse: the whole family is revoked
(Auth0 logs it as ``ferrt``) and the user must sign in again. An optional leeway lets the
immediately previous token be used again for a few seconds, for a response lost on the way.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .errors import InvalidGrant, InvalidScope
from .storage import Database, token_hash

UNKNOWN = "Unknown or invalid refresh token."


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

    def __init__(self, db: Database, *, leeway: float, lifetime: float) -> None:
        self._db = db
        self._leeway = leeway
        self._lifetime = lifetime

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

        Raises InvalidGrant for a dead token, InvalidScope (before any change) for a scope
        wider than the family's.
        """
        revoked = False
        with self._db.transaction() as c:
            row = c.execute(
                "SELECT t.rotated_at, f.* FROM refresh_tokens t JOIN families f"
                " ON t.family_id = f.id WHERE t.hash = ?",
                (token_hash(token),),
            ).fetchone()
            if row is None or row["revoked_at"] is not None or row["client_id"] != client_id:
                raise InvalidGrant(UNKNOWN)
            if now >= row["created_at"] + self._lifetime:
                raise InvalidGrant("The refresh token has expired. Sign in again.")
            family = Family(
                row["id"], row["user_id"], row["scope"], row["audience"], row["created_at"]
            )
            granted = self.check_scope(family, scope)
            if row["rotated_at"] is not None and not self._in_leeway(c, row, now):
                c.execute(
                    "UPDATE families SET revoked_at = ?, revoked_reason = 'reuse' WHERE id = ?",
                    (now, row["id"]),
                )
                revoked = True
            else:
                successor = secrets.token_urlsafe(36)
                if row["rotated_at"] is None:
                    c.execute(
                        "UPDATE refresh_tokens SET rotated_at = ? WHERE hash = ?",
                        (now, token_hash(token)),
                    )
                c.execute(
                    "INSERT INTO refresh_tokens(hash, family_id, created_at) VALUES (?, ?, ?)",
                    (token_hash(successor), row["id"], now),
                )
        if revoked:
            # Raised outside the transaction, so the revocation is committed.
            raise InvalidGrant(UNKNOWN)
        return family, successor, granted

    def _in_leeway(self, c: object, row: object, now: float) -> bool:
        """The token was retired less than ``leeway`` seconds ago and was the latest retired."""
        if self._leeway <= 0:
            return False
        retired = row["rotated_at"]  # type: ignore[index]
        if now - retired > self._leeway:
            return False
        newer = c.execute(  # type: ignore[attr-defined]
            "SELECT COUNT(*) FROM refresh_tokens WHERE family_id = ? AND rotated_at > ?",
            (row["id"], retired),  # type: ignore[index]
        ).fetchone()[0]
        return newer == 0

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
        """The user's families, newest first, with their state."""
        rows = self._db.all(
            "SELECT f.*, COUNT(t.hash) AS tokens, MAX(t.created_at) AS last_used"
            " FROM families f JOIN refresh_tokens t ON t.family_id = f.id"
            " WHERE f.user_id = ? GROUP BY f.id ORDER BY f.created_at DESC",
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
