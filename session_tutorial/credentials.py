"""The tokens a login hands back, as one immutable value that can be stored and shown safely."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from session_tutorial.errors import CorruptEntry, UnexpectedResponse

FORMAT_VERSION = 1
_TOKEN_FIELDS = ("access_token", "id_token", "refresh_token")
#: The longest entry read as credentials (1 MiB); real ones are a few kB.
MAX_ENTRY = 1 << 20
_FIELDS = (*_TOKEN_FIELDS, "token_type", "scope", "expires_at")


def redact(token: str | None) -> str:
    """Show enough of a token to tell two apart, never enough to use one.

    >>> redact("eyJhbGciOiJSUzI1NiJ9.payload.signature")
    'eyJhbG…(38 chars)'
    """
    if token is None:
        return "None"
    # At most a third of the token: a short (damaged or forged) one is never shown whole.
    return f"{token[: min(6, len(token) // 3)]}…({len(token)} chars)"


@dataclass(frozen=True)
class Credentials:
    """Access, ID and refresh tokens with an absolute expiry; the repr never shows a whole token.

    >>> creds = Credentials.from_token_response(
    ...     {"access_token": "at-123456789", "expires_in": 3600, "token_type": "Bearer"}, now=1000)
    >>> creds.expires_at, creds.expires_in(now=1600)
    (4600.0, 3000.0)
    >>> "at-123456789" in repr(creds)
    False
    """

    access_token: str = field(repr=False)
    id_token: str | None = field(repr=False)
    refresh_token: str | None = field(repr=False)
    token_type: str
    scope: str
    expires_at: float

    def __repr__(self) -> str:
        tokens = ", ".join(f"{name}={_quoted(getattr(self, name))}" for name in _TOKEN_FIELDS)
        return (
            f"Credentials({tokens}, token_type={self.token_type!r}, scope={self.scope!r}, "
            f"expires_at={self.expires_at!r})"
        )

    @classmethod
    def from_token_response(cls, body: Mapping[str, Any], now: float) -> Credentials:
        """Build from a ``POST /oauth/token`` success body; ``now`` turns ``expires_in`` absolute.

        Raises ``UnexpectedResponse`` when the body lacks ``access_token`` or ``expires_in``.
        """
        access_token = body.get("access_token")
        expires_in = body.get("expires_in")
        if not isinstance(access_token, str) or not access_token:
            raise UnexpectedResponse(
                "The token response has no access_token: is the domain really an Auth0 tenant?"
            )
        if (
            isinstance(expires_in, bool)
            or not isinstance(expires_in, (int, float))
            or not math.isfinite(expires_in)
        ):
            raise UnexpectedResponse(f"The token response has no usable expires_in: {expires_in!r}")
        return cls(
            access_token=access_token,
            id_token=_optional_str(body.get("id_token")),
            refresh_token=_optional_str(body.get("refresh_token")),
            token_type=str(body.get("token_type") or "Bearer"),
            scope=str(body.get("scope") or ""),
            expires_at=float(now) + float(expires_in),
        )

    def expires_in(self, now: float) -> float:
        """Seconds until the access token expires (negative once it has)."""
        return self.expires_at - now

    def with_refresh_token_kept(self, old: Credentials) -> Credentials:
        """These credentials, carrying ``old``'s refresh token when the server sent none.

        Without rotation Auth0 answers a refresh with no ``refresh_token``: the old one stays good,
        and dropping it would sign the user out at the next expiry.
        """
        if self.refresh_token is not None:
            return self
        return replace(self, refresh_token=old.refresh_token)

    def to_json(self) -> str:
        """One versioned JSON entry, e.g. ``{"version": 1, "access_token": ...}``."""
        return json.dumps({"version": FORMAT_VERSION, **asdict(self)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str) -> Credentials:
        """Read an entry written by ``to_json``.

        Raises ``CorruptEntry`` for anything else (garbage, a missing field, an unknown version).
        """
        if len(data) > MAX_ENTRY:
            raise CorruptEntry(_corrupt(f"it is {len(data):,} characters long, not credentials"))
        try:
            obj = json.loads(data)
        except (TypeError, ValueError) as exc:
            raise CorruptEntry(_corrupt("it is not JSON")) from exc
        except RecursionError as exc:  # nesting deeper than the parser's stack
            raise CorruptEntry(_corrupt("it is JSON nested too deeply to be credentials")) from exc
        if not isinstance(obj, dict):
            raise CorruptEntry(_corrupt("it is not a JSON object"))
        version = obj.get("version")
        if version != FORMAT_VERSION:
            shown = repr(version) if isinstance(version, int) else f"a {type(version).__name__}"
            raise CorruptEntry(_corrupt(f"its version is {shown}, not 1"))
        missing = [name for name in _FIELDS if name not in obj]
        if missing:
            raise CorruptEntry(_corrupt(f"it lacks {', '.join(missing)}"))
        expires_at = obj["expires_at"]
        if isinstance(expires_at, bool) or not isinstance(expires_at, (int, float)):
            # Never quoted: a crafted entry could put a token here.
            raise CorruptEntry(_corrupt(f"expires_at is a {type(expires_at).__name__}"))
        if not math.isfinite(expires_at):  # JSON's Infinity, or 1e400: no date to show
            raise CorruptEntry(_corrupt("expires_at is not a finite number"))
        try:
            creds = cls(
                access_token=obj["access_token"],
                id_token=obj["id_token"],
                refresh_token=obj["refresh_token"],
                token_type=obj["token_type"],
                scope=obj["scope"],
                expires_at=float(expires_at),
            )
        except (TypeError, ValueError, OverflowError) as exc:
            raise CorruptEntry(_corrupt("a field is malformed")) from exc
        if not isinstance(creds.access_token, str) or not all(
            isinstance(getattr(creds, name), (str, type(None))) for name in _TOKEN_FIELDS
        ):
            raise CorruptEntry(_corrupt("a token is not a string"))
        return creds


def _quoted(token: str | None) -> str:
    return "None" if token is None else repr(redact(token))


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _corrupt(why: str) -> str:
    return (
        f"The stored credentials cannot be read: {why}. "
        "Clear the entry (SessionManager.sign_out()) and sign in again."
    )
