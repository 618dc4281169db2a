"""Check an ID token the way OIDC asks, and show one without its signature.

PyJWT's errors become ``TokenVerificationFailed`` in ``_verification_failed`` and nowhere else.
PyJWT compares ``exp``/``iat``/``nbf`` with the wall clock, but the tutorial moves its clock
forward (together with the local tenant's), so those three are checked here against the
``now`` the caller passes, and PyJWT checks everything else.
"""

from __future__ import annotations

import base64
import copy
import hmac
import json
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import jwt

from session_tutorial.commands import tenant_command
from session_tutorial.errors import SessionError, TokenVerificationFailed
from session_tutorial.tenant import Tenant
from session_tutorial.timewords import duration

ALGORITHMS = ["RS256"]  # an explicit allowlist: never taken from the token or the tenant
LEEWAY = 60.0
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
#: The furthest ahead of ``now`` an ``exp`` may lie: 366 days. Auth0 caps an ID token's lifetime
#: at 30 days (2,592,000 s); a year leaves room for any provider's settings, and an ``exp``
#: beyond it is a forgery or a token that would outlive every key rotation.
MAX_LIFETIME = 366 * 86400.0
#: The header ``typ`` values of an ID token: none, or plain JWT. RFC 9068 access tokens say
#: ``at+jwt``; logout tokens, DPoP proofs and others name their own ``...+jwt`` type.
ID_TOKEN_TYPES = frozenset({"jwt", "application/jwt"})


class JwksCache:
    """The tenant's signing keys, cached for ``ttl`` s and refetched on an unknown ``kid`` at most
    once per ``cooldown`` s, so a stream of forged tokens cannot make us hammer the tenant.

    >>> keys = JwksCache(AuthClient(tenant).jwks)  # doctest: +SKIP
    >>> keys.get("my-kid")  # doctest: +SKIP
    <jwt.api_jwk.PyJWK object at ...>

    The first fetch is immediate; after it, fetches are at least ``cooldown`` s apart whether
    the last one succeeded, failed or found no keys, so a tenant that is down or publishes no
    keys is not asked again at every verification. A failed fetch keeps the keys already known
    (unlike ``PyJWKClient``, which drops them), and until the next fetch an unknown ``kid``
    raises that failure again (a ``NetworkError`` stays retryable).
    """

    def __init__(
        self,
        fetch: Callable[[], Mapping[str, Any]],
        *,
        ttl: float = 600.0,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl < 300:
            raise ValueError("Auth0 advises caching the key set for 5 to 10 minutes: ttl >= 300")
        self._fetch = fetch
        self.ttl = ttl
        self.cooldown = cooldown
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None  # last successful fetch
        self._tried_at: float | None = None  # last attempt, successful or not
        self._failure: SessionError | None = None  # why the last attempt failed, if it did
        self._lock = threading.Lock()
        self.fetches = 0

    def get(self, kid: str) -> Any:
        """The public key with this ``kid``; raises ``TokenVerificationFailed`` if there is none."""
        with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.ttl
            if stale and self._may_try(now):
                try:
                    self._refetch(now)
                except SessionError:
                    if not self._keys:
                        raise  # nothing to fall back on; a NetworkError stays retryable
            if kid not in self._keys and self._may_try(now):
                self._refetch(now)
            if kid not in self._keys and self._failure is not None:
                # Within the cooldown after a failed fetch: report that failure, not "unknown
                # key", which would send the user to sign in again over a tenant outage.
                raise copy.copy(self._failure) from self._failure
            if kid not in self._keys:
                raise TokenVerificationFailed(
                    f"The ID token names signing key {_excerpt(kid)}, which the tenant does not "
                    "publish; it was not issued by this tenant, or the tenant's keys changed: "
                    "sign in again."
                )
            return self._keys[kid]

    def _may_try(self, now: float) -> bool:
        return self._tried_at is None or now - self._tried_at >= self.cooldown

    def _refetch(self, now: float) -> None:
        self._tried_at = now
        self.fetches += 1
        try:
            body = self._fetch()
            try:
                key_set = jwt.PyJWKSet.from_dict(dict(body))
            except jwt.PyJWTError as exc:
                raise _verification_failed(exc) from exc
        except SessionError as exc:
            self._failure = exc
            raise
        self._failure = None
        self._keys = {
            key.key_id: key.key
            for key in key_set.keys
            if key.key_id and key.key_type == "RSA" and key.public_key_use in (None, "sig")
        }
        self._fetched_at = now


def verify_id_token(
    token: str,
    tenant: Tenant,
    *,
    nonce: str | None = None,
    now: float | None = None,
    jwks: JwksCache | None = None,
    leeway: float = LEEWAY,
) -> dict[str, Any]:
    """Verify an ID token's signature and claims; return its claims.

    >>> claims = verify_id_token(credentials.id_token, tenant)  # doctest: +SKIP
    >>> claims["email"]  # doctest: +SKIP
    'ada@example.com'

    RS256 only; header ``typ`` JWT or none (an RFC 9068 ``at+jwt`` access token is refused);
    ``iss`` must equal ``tenant.issuer`` and ``aud`` include ``tenant.client_id``, and ``azp``,
    when present, must be ``tenant.client_id``; ``exp``, ``iat`` and ``sub`` are required; 60 s
    leeway; ``exp`` at most ``MAX_LIFETIME`` (366 days) ahead; ``nonce`` compared when given.
    Raises ``TokenVerificationFailed`` (or ``NetworkError`` when the keys cannot be fetched).
    """
    now = time.time() if now is None else now
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise _verification_failed(exc) from exc
    _check_header(header)
    key = (jwks or _default_jwks(tenant)).get(header["kid"])
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            issuer=tenant.issuer,
            audience=tenant.client_id,
            options={
                "require": REQUIRED_CLAIMS,
                "verify_exp": False,  # checked below against `now`
                "verify_iat": False,
                "verify_nbf": False,
            },
        )
    except jwt.InvalidIssuerError as exc:
        # Raised only after the signature checked out, so the claims are the tenant's words.
        raise _wrong_issuer(token, tenant) from exc
    except jwt.PyJWTError as exc:
        raise _verification_failed(exc) from exc
    _check_times(claims, now, leeway)
    _check_party(claims, tenant, nonce)
    return claims


def _check_header(header: Mapping[str, Any]) -> None:
    if header.get("alg") not in ALGORITHMS:
        raise TokenVerificationFailed(
            f"The ID token is signed with {_excerpt(header.get('alg'))}; only RS256 is accepted."
        )
    if "crit" in header:
        # RFC 7515 4.1.11: a recipient must reject a token whose critical extensions it does
        # not understand. PyJWT understands "b64", but an ID token has no business using it.
        raise TokenVerificationFailed(
            f"The ID token marks header extensions {_excerpt(header['crit'])} as critical; this "
            "client understands none, so it must reject the token."
        )
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise TokenVerificationFailed("The ID token's header has no kid (key id): not from Auth0.")
    typ = header.get("typ")
    if "typ" in header and not (isinstance(typ, str) and typ.lower() in ID_TOKEN_TYPES):
        kind = _excerpt(typ)
        if isinstance(typ, str) and typ.lower().removeprefix("application/") == "at+jwt":
            raise TokenVerificationFailed(
                f"This is an access token (typ {kind}, RFC 9068), not an ID token: pass "
                "credentials.id_token, and send the access token to APIs only."
            )
        raise TokenVerificationFailed(
            f"The token's header says typ {kind}: it is not an ID token (typ JWT or none)."
        )


def _check_times(claims: Mapping[str, Any], now: float, leeway: float) -> None:
    for name in ("exp", "iat", "nbf"):
        if name in claims and _seconds(claims[name]) is None:
            raise TokenVerificationFailed(
                f"The ID token's {name} claim is not a finite number: {_excerpt(claims[name])}"
            )
    if claims["exp"] > now + MAX_LIFETIME:
        raise TokenVerificationFailed(
            f"The ID token claims to stay valid until {_utc(claims['exp'])}, more than "
            f"{MAX_LIFETIME / 86400:.0f} days after now ({_utc(now)}): no tenant issues such "
            "tokens (Auth0 allows at most 30 days), so it is refused."
        )
    if claims["exp"] <= now - leeway:
        raise TokenVerificationFailed(
            f"The ID token expired at {_utc(claims['exp'])} (now {_utc(now)}): renew the session."
        )
    for name in ("iat", "nbf"):
        if name in claims and claims[name] > now + leeway:
            raise TokenVerificationFailed(
                f"The ID token's {name} is {_utc(claims[name])}, later than now ({_utc(now)}) "
                f"plus {leeway:g} s leeway: check this machine's clock (or, on the tutorial's "
                "local tenant, whether its clock was moved: "
                f"`{tenant_command('clock', '--reset')}`)."
            )


def _seconds(value: object) -> float | None:
    """``value`` as a finite float, or None when it is not one (wrong type, NaN, infinite, or
    an integer too large for a float, which ``math.isfinite`` would raise OverflowError on)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    # NaN and infinity are JSON numbers to Python's parser, and compare False with
    # everything: an exp of NaN would never expire.
    return seconds if math.isfinite(seconds) else None


def _check_party(claims: Mapping[str, Any], tenant: Tenant, nonce: str | None) -> None:
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise TokenVerificationFailed("The ID token's sub (the user's id) is empty.")
    # OIDC Core 3.1.3.7: with several audiences, azp must name this app; and an azp that is
    # present names the party the token was issued to, which must be this app whatever aud says.
    several = isinstance(claims["aud"], list) and len(claims["aud"]) > 1
    if several and claims.get("azp") != tenant.client_id:
        raise TokenVerificationFailed("The ID token has several audiences and azp is not us.")
    if "azp" in claims and claims["azp"] != tenant.client_id:
        raise TokenVerificationFailed(
            f"The ID token was issued to another application (azp {_excerpt(claims['azp'])}, "
            f"expected {tenant.client_id!r})."
        )
    if nonce is not None:
        claim = claims.get("nonce")
        if not isinstance(claim, str):
            raise TokenVerificationFailed(
                f"The ID token's nonce is {_excerpt(claim)}, not the string sent: it is not the "
                "answer to this request."
            )
        # compare_digest accepts str only when ASCII; as bytes any nonce compares in constant
        # time ("surrogatepass": JSON may carry a lone surrogate, which strict UTF-8 refuses).
        if not hmac.compare_digest(_utf8(claim), _utf8(nonce)):
            raise TokenVerificationFailed("The ID token's nonce does not match the one sent.")


def _wrong_issuer(token: str, tenant: Tenant) -> TokenVerificationFailed:
    came = jwt.decode(token, options={"verify_signature": False}).get("iss")
    why = f"expected {tenant.issuer!r}, got {_excerpt(came)}"
    if isinstance(came, str) and came + "/" == tenant.issuer:
        why += (
            ": the same without its trailing slash. An issuer must match exactly; Auth0's end "
            "with '/', so the token comes from a provider configured differently"
        )
    return TokenVerificationFailed(
        f"The ID token was rejected: it was issued by another tenant (wrong iss): {why}."
    )


def _excerpt(value: object, limit: int = 80) -> str:
    """``value`` as a short repr for a message: a forged claim can be megabytes long."""
    text = _CONTROL.sub("?", repr(value))
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # repr() keeps some of them


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _verification_failed(exc: jwt.PyJWTError) -> TokenVerificationFailed:
    """Translate a PyJWT error into ``TokenVerificationFailed`` (the only place that does)."""
    reasons: list[tuple[type[jwt.PyJWTError], str]] = [
        (jwt.InvalidSignatureError, "its signature does not match: it was altered or forged"),
        (jwt.InvalidIssuerError, "it was issued by another tenant (wrong iss)"),
        (jwt.InvalidAudienceError, "it was issued for another application (wrong aud)"),
        (jwt.MissingRequiredClaimError, f"it lacks a required claim ({exc})"),
        (jwt.InvalidAlgorithmError, "its algorithm is not allowed"),
        (jwt.PyJWKSetError, f"the tenant's key set is unusable ({exc})"),
        (jwt.DecodeError, f"it is not a well-formed JWT ({exc})"),
    ]
    why = next((text for kind, text in reasons if isinstance(exc, kind)), str(exc))
    return TokenVerificationFailed(f"The ID token was rejected: {why}.")


# By URL and CA bundle: a tenant object without the bundle must not leave its certificate
# failure cached for one that has it.
_default_caches: dict[tuple[str, str | None], JwksCache] = {}
_default_caches_lock = threading.Lock()


def _default_jwks(tenant: Tenant) -> JwksCache:
    from session_tutorial.client import AuthClient  # the client stays importable without this

    def fetch() -> dict[str, Any]:
        # A client per fetch: fetches are minutes apart, and no connection outlives them.
        with AuthClient(tenant) as client:
            return client.jwks()

    key = (tenant.jwks_url, tenant.ca_bundle)
    with _default_caches_lock:
        if key not in _default_caches:
            _default_caches[key] = JwksCache(fetch)
        return _default_caches[key]


@dataclass(frozen=True)
class TokenView:
    """A JWT's header and claims for display, with the signature left out.

    >>> print(inspect_token(credentials.id_token))  # doctest: +SKIP
    """

    header: dict[str, Any]
    claims: dict[str, Any]
    expires: str | None

    def __str__(self) -> str:
        parts = [json.dumps(self.header, indent=2), json.dumps(self.claims, indent=2)]
        lines = [*parts, "<signature elided>"]
        if self.expires:
            lines.append(self.expires)
        return "\n".join(lines)


def inspect_token(token: str, *, now: float | None = None) -> TokenView:
    """Decode a JWT's header and claims WITHOUT verifying it, for showing; never the signature.

    Raises ``TokenVerificationFailed`` when the token is not a JWT (an opaque access token).
    """
    pieces = token.split(".")
    try:
        if len(pieces) != 3:
            raise ValueError("a JWT has three dot-separated parts")
        header, claims = (json.loads(_b64url(piece)) for piece in pieces[:2])
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise ValueError("its header and claims are not JSON objects")
    except ValueError as exc:
        message = f"This token is not a JWT, so there is nothing to show: {exc}"
        raise TokenVerificationFailed(message) from exc
    exp = claims.get("exp")
    now = time.time() if now is None else now
    expires = None
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        delta = exp - now
        if delta > 0:
            expires = f"expires in {duration(delta)} ({_utc(exp)})"
        else:
            expires = f"expired {duration(-delta)} ago ({_utc(exp)})"
    return TokenView(header=header, claims=claims, expires=expires)


def _b64url(piece: str) -> bytes:
    return base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))


def _utc(timestamp: float) -> str:
    try:
        return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, ValueError, OSError):  # a forged claim years beyond 9999 or before 1
        return f"{_excerpt(timestamp, 40)} (not a date)"
