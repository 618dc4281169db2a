"""Authorization codes with PKCE (RFC 6749 4.1, RFC 7636): short-lived, single-use, bound.

A code is issued by ``/authorize`` for one user, client, ``redirect_uri`` and
``code_challenge``, and redeemed at ``/oauth/token`` with the ``code_verifier`` whose S256 hash
is that challenge (RFC 7636 4.6). A code is spent the first time it is presented, whatever the
outcome, so a verifier cannot be guessed at. Presenting it again revokes the refresh tokens
the first exchange issued (RFC 6749 4.1.2: "SHOULD revoke ... all tokens previously issued");
the access token, a JWT, lives on until it expires, as with Auth0.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import sqlite3
from dataclasses import dataclass

from .errors import InvalidGrant, InvalidRequest
from .storage import Database, token_hash

# RFC 7636 4.1: 43 to 128 characters from the unreserved set.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
# RFC 7636 4.2: BASE64URL(SHA256(verifier)) without padding is always 43 characters.
CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}")
# family_id of a code presented again before its first exchange recorded its refresh tokens.
_REUSED = "(reused)"


def s256(verifier: str) -> str:
    """The S256 code challenge of ``verifier`` (RFC 7636 4.2).

    >>> s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")  # RFC 7636 appendix B
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
    """
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Grant:
    """What a redeemed code stands for."""

    code_hash: str
    user_id: str
    scope: str
    audience: str | None
    nonce: str | None
    auth_time: float


class AuthorizationCodes:
    """Issue codes, and redeem each at most once."""

    def __init__(self, db: Database, *, ttl: float) -> None:
        self._db = db
        self._ttl = ttl

    def issue(
        self,
        *,
        client_id: str,
        user_id: str,
        redirect_uri: str,
        scope: str,
        audience: str | None,
        nonce: str | None,
        code_challenge: str,
        auth_time: float,
        now: float,
    ) -> str:
        code = secrets.token_urlsafe(32)
        with self._db.transaction() as c:
            c.execute(
                "INSERT INTO authorization_codes(hash, client_id, user_id, redirect_uri, scope,"
                " audience, nonce, code_challenge, auth_time, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token_hash(code),
                    client_id,
                    user_id,
                    redirect_uri,
                    scope,
                    audience,
                    nonce,
                    code_challenge,
                    auth_time,
                    now + self._ttl,
                ),
            )
        return code

    def redeem(
        self, code: str, client_id: str, redirect_uri: str | None, verifier: str, now: float
    ) -> Grant:
        """The grant behind ``code``, once; InvalidGrant for anything wrong (the code is spent)."""
        if not _VERIFIER.fullmatch(verifier):
            raise InvalidRequest(
                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 4.1)."
            )
        key = token_hash(code)
        reused = False
        with self._db.transaction() as c:
            row = c.execute("SELECT * FROM authorization_codes WHERE hash = ?", (key,)).fetchone()
            if row is None or row["client_id"] != client_id:
                raise InvalidGrant("Invalid authorization code.")
            if row["used_at"] is not None:
                reused = True
                if row["family_id"] is None:
                    # The first exchange is still issuing its tokens: attach_family revokes them.
                    c.execute(
                        "UPDATE authorization_codes SET family_id = ? WHERE hash = ?",
                        (_REUSED, key),
                    )
                else:  # the refresh tokens the first exchange issued (refresh.py's families)
                    _revoke(c, row["family_id"], now)
            else:
                c.execute("UPDATE authorization_codes SET used_at = ? WHERE hash = ?", (now, key))
        if reused:  # raised outside the transaction, so the revocation is committed
            raise InvalidGrant(
                "Invalid authorization code: it was already used, so the tokens it gave were "
                "revoked."
            )
        if now >= row["expires_at"]:
            raise InvalidGrant("The authorization code has expired. Sign in again.")
        if redirect_uri != row["redirect_uri"]:
            raise InvalidGrant(
                "redirect_uri does not match the one of the authorization request (RFC 6749 4.1.3)."
            )
        if not hmac.compare_digest(s256(verifier), row["code_challenge"]):
            raise InvalidGrant("Failed to verify code verifier.")  # Auth0's words
        return Grant(
            key, row["user_id"], row["scope"], row["audience"], row["nonce"], row["auth_time"]
        )

    def attach_family(self, grant: Grant, family_id: str, now: float) -> None:
        """Remember which refresh-token family ``grant`` started, to revoke it on reuse.

        If the code was presented again while the family was being made, revoke it now.
        """
        with self._db.transaction() as c:
            cur = c.execute(
                "UPDATE authorization_codes SET family_id = ? WHERE hash = ? AND family_id IS NULL",
                (family_id, grant.code_hash),
            )
            if cur.rowcount == 0:
                _revoke(c, family_id, now)


def _revoke(c: sqlite3.Connection, family_id: str, now: float) -> None:
    c.execute(
        "UPDATE families SET revoked_at = ?, revoked_reason = 'code_reuse'"
        " WHERE id = ? AND revoked_at IS NULL",
        (now, family_id),
    )
