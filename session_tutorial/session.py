"""Keep a user signed in: save after login, restore at the next launch, renew, sign out.

The Python counterpart of Auth0.swift's ``CredentialsManager``, with the same vocabulary:
``credentials(min_ttl)``, ``has_valid``, ``can_renew``, ``renew``, ``sign_out``, ``user``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from session_tutorial.client import AuthClient, DeviceLogin
from session_tutorial.credentials import Credentials
from session_tutorial.errors import (
    AccessTokenRejected,
    CorruptEntry,
    MinTTLTooLarge,
    NetworkError,
    NoCredentials,
    NoRefreshToken,
    RefreshTokenRejected,
    RenewalWarning,
    SessionError,
    StoreError,
    StoreWarning,
    TokenVerificationFailed,
)
from session_tutorial.idtoken import JwksCache, inspect_token, verify_id_token
from session_tutorial.retry import RetryPolicy, with_retries
from session_tutorial.singleflight import SingleFlight
from session_tutorial.store import CredentialStore, Store
from session_tutorial.tenant import Tenant

SERVICE = "session-tutorial"


class SessionManager:
    """Signs a user in, keeps the credentials in a store, and hands out fresh access tokens.

    >>> session = SessionManager(Tenant.local())  # doctest: +SKIP
    >>> session.login("ada@example.com", "Analytical-Engine-1843")["name"]  # doctest: +SKIP
    'Ada Lovelace'
    >>> SessionManager(Tenant.local()).restore()["name"]  # the next launch  # doctest: +SKIP
    'Ada Lovelace'

    ``store`` defaults to the system keychain (``CredentialStore``), one entry per tenant and
    app. ``clock`` (default: the tenant's, real time but for the local tenant) is injectable so
    tests and notebooks can move time forward. ``retry`` (a ``RetryPolicy``) retries a failed
    refresh where that is safe; off by default, as Auth0.swift's ``maxRetries``. The fast path
    of ``credentials()`` reads memory; the store is read when the manager first needs the
    credentials, by ``restore()``, and again inside every renewal.
    """

    def __init__(
        self,
        tenant: Tenant,
        store: Store | None = None,
        *,
        clock: Callable[[], float] | None = None,
        client: AuthClient | None = None,
        jwks: JwksCache | None = None,
        lock_dir: Path | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.tenant = tenant
        self.store: Store = store if store is not None else CredentialStore(SERVICE, tenant.account)
        self.clock = clock = clock or tenant.clock
        self.client = client or AuthClient(tenant, clock=clock)
        self.jwks = jwks or JwksCache(self.client.jwks, clock=clock)
        service = getattr(self.store, "service", "memory")
        account = getattr(self.store, "account", tenant.account)
        self._flight = SingleFlight(f"{service}/{account}", lock_dir=lock_dir)
        self._cached: Credentials | None = None
        self._unsaved: Credentials | None = None  # newer than the store: its save failed
        self._user: dict[str, Any] | None = None
        #: Why the last ``restore()`` returned None, or why ``sign_out`` was only local.
        self.last_reason: str | None = None
        #: The error of the last failed save; the fresh credentials are in use regardless.
        self.store_error: StoreError | None = None
        #: How a failed refresh is retried; ``RetryPolicy()`` (the default) retries nothing.
        self.retry = retry if retry is not None else RetryPolicy()
        #: Why the last early renewal failed while the access token was still valid (it was
        #: handed back all the same); None once a renewal succeeds.
        self.renewal_error: SessionError | None = None

    def close(self) -> None:
        """Close the HTTP connections (the stored credentials stay)."""
        self.client.close()

    def __enter__(self) -> SessionManager:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def user(self) -> dict[str, Any] | None:
        """The signed-in user's profile from ``/userinfo``, or None before login/restore."""
        return self._user

    def login(self, username: str, password: str) -> dict[str, Any]:
        """Sign in with email and password, save the credentials, return the user's profile."""
        return self._begin(self.client.login(username, password))

    def login_with_browser(
        self,
        *,
        open_browser: Callable[[str], object] | None = None,
        timeout: float = 300.0,
        port: int = 0,
        prompt: Literal["login", "none"] | None = None,
        screen_hint: Literal["signup"] | None = None,
        login_hint: str | None = None,
    ) -> dict[str, Any]:
        """Sign in on the tenant's page in the browser (Authorization Code + PKCE), then save.

        >>> session.login_with_browser()["name"]  # opens the browser  # doctest: +SKIP
        'Ada Lovelace'

        ``open_browser(url)`` shows the link (default: the system browser, or the link
        printed when there is none); ``port`` fixes the loopback callback's port (0: a free
        one; a real Auth0 tenant needs http://127.0.0.1:PORT/callback in its Allowed Callback
        URLs). Raises ``SignInCancelled`` (Cancel on the page), ``SignInTimedOut`` (no callback
        within ``timeout`` s), ``AuthorizationCodeRejected``, ``TokenVerificationFailed`` (a
        nonce that does not match) or ``CallbackUnavailable``; nothing is saved then.
        """
        from session_tutorial.browser_login import login_with_browser

        return login_with_browser(
            self,
            open_browser=open_browser,
            timeout=timeout,
            port=port,
            prompt=prompt,
            screen_hint=screen_hint,
            login_hint=login_hint,
        )

    def start_device_login(self) -> DeviceLogin:
        """Start a device login: show its ``user_code`` and ``verification_uri`` to the user."""
        return self.client.start_device_login()

    def poll_device_login_once(self, device: DeviceLogin) -> dict[str, Any] | None:
        """Poll once: the saved user's profile once approved, None while still pending.

        Raises what ``AuthClient.check_device_login`` raises (``slow_down``, expiry, denial).
        """
        credentials = self.client.check_device_login(device)
        return None if credentials is None else self._begin(credentials)

    def complete_device_login(
        self, device: DeviceLogin, *, sleep: Callable[[float], None] = time.sleep
    ) -> dict[str, Any]:
        """Wait for the user to approve a device login, then save and return the profile."""
        return self._begin(self.client.poll_device_login(device, clock=self.clock, sleep=sleep))

    def save(self, credentials: Credentials) -> None:
        """Store ``credentials`` as the current session (``login`` does this for you)."""
        with self._flight:
            self._save(credentials)

    def restore(self, min_ttl: float = 60) -> dict[str, Any] | None:
        """The stored session's user profile, renewed if needed; None when signed out.

        Reads the store (nothing -> None), renews when the access token expires within
        ``min_ttl``, verifies the ID token, and fetches ``/userinfo``. A refresh token the
        tenant rejects (``invalid_grant``) clears the store and returns None, with the reason
        in ``last_reason``. A network error, a 5xx or a 429 raises a retryable error and keeps
        the credentials. An ID token that fails verification even after a renewal raises
        ``TokenVerificationFailed`` (the entry is kept; ``sign_out()`` clears it).
        A session revoked at the tenant is noticed at the next renewal: until then the access
        token stays valid, as it does with Auth0.

        The original tutorial wiped the keychain on any failure. That turns a train tunnel, a
        tenant hiccup or a rate limit into a forced sign-in, and users of Auth0's SDKs filed
        issue after issue about exactly that. Only the tenant saying "this refresh token is
        dead" proves the session is over; everything else is worth retrying with what we have.
        """
        self.last_reason = None
        self._cached = None  # restore means "what is stored now", not what this object saw
        try:
            credentials = self._verified(self.credentials(min_ttl))
            try:
                self._user = self.client.userinfo(credentials.access_token)
            except AccessTokenRejected:
                self._user = self.client.userinfo(self.renew().access_token)
        except NoCredentials:
            self.last_reason = "Nothing is stored: the user is signed out."
            return None
        except (RefreshTokenRejected, NoRefreshToken) as exc:
            with self._flight:
                self._clear()  # the session is over for good; a stale entry would only mislead
            self.last_reason = str(exc)
            return None
        return self._user

    def credentials(self, min_ttl: float = 60) -> Credentials:
        """Credentials whose access token is valid for more than ``min_ttl`` s, renewed if needed.

        Makes no HTTP request while the access token is valid. When an *early* renewal (the
        token is inside ``min_ttl`` but still valid) fails with a retryable error, the current
        credentials are returned anyway, with a ``RenewalWarning`` and ``renewal_error`` set,
        as MSAL does; only an access token that has really expired raises. Raises ``NoCredentials``,
        ``NoRefreshToken``, ``RefreshTokenRejected`` (the store is then cleared), a retryable
        ``NetworkError``/``ServerError``/``RateLimited`` (the store is kept), or
        ``MinTTLTooLarge`` (also a ``ValueError``) when even a fresh token would not last.
        """
        current = self._current()
        if current is None:
            raise NoCredentials("No credentials are stored: sign in first (login or restore).")
        if current.expires_in(self.clock()) > min_ttl:
            return current
        if current.refresh_token is None:
            raise _no_refresh_token()
        try:
            fresh = self._renew(min_ttl)
        except SessionError as exc:
            kept = self._still_valid_after(exc)
            if kept is None:
                raise
            return kept
        self.renewal_error = None
        return fresh

    def has_valid(self, min_ttl: float = 0) -> bool:
        """Whether the stored access token is valid for more than ``min_ttl`` s (no HTTP)."""
        current = self._current()
        return current is not None and current.expires_in(self.clock()) > min_ttl

    def can_renew(self) -> bool:
        """Whether a refresh token is stored (no HTTP: the tenant may still reject it)."""
        current = self._current()
        return current is not None and current.refresh_token is not None

    def renew(self) -> Credentials:
        """Exchange the refresh token for new credentials now, and store them."""
        if self._current() is None:
            raise NoCredentials("No credentials are stored: sign in first.")
        return self._renew(None)

    def sign_out(self, revoke: bool = True, force: bool = False) -> None:
        """Revoke the refresh token at the tenant, then clear the store.

        If the tenant cannot be reached, the credentials are kept and the error raised, so the
        refresh token is not left alive at the tenant unnoticed; ``force=True`` clears them
        anyway (``last_reason`` then says the revoke failed). A corrupt entry is just cleared.
        """
        self.last_reason = None
        with self._flight:
            try:
                current = self._unsaved or self._read_store()
            except CorruptEntry:
                current = None
            if revoke and current is not None and current.refresh_token is not None:
                try:
                    self.client.revoke(current.refresh_token)
                except SessionError as exc:
                    if not force:
                        raise
                    self.last_reason = self._forced_reason(exc)
            self._clear()

    def _forced_reason(self, exc: SessionError) -> str:
        """What a forced sign-out did when the revoke failed (not the error's own advice)."""
        why = (
            f"{self.tenant.base_url} could not be reached"
            if isinstance(exc, NetworkError)
            else f"revoking failed: {type(exc).__name__}"
        )
        return (
            f"Signed out on this machine only: the keychain entry is deleted, but {why}, so the "
            "refresh token stays valid at the tenant until it expires or an admin revokes it."
        )

    # -- the ladder's pieces ----------------------------------------------------------------

    def _renew(self, min_ttl: float | None) -> Credentials:
        """Renew under the single-flight lock; ``min_ttl=None`` renews unconditionally."""
        with self._flight:
            # Read again: the renewal we waited for may have rotated the refresh token already,
            # and sending the old one would be reuse, which revokes the whole token family.
            stored = self._unsaved or self._read_store()
            now = self.clock()
            if stored is None:
                self._cached = None
                raise NoCredentials("The user signed out meanwhile: sign in again.")
            if min_ttl is not None and stored.expires_in(now) > min_ttl:
                self._cached = stored
                return stored
            if stored.refresh_token is None:
                raise _no_refresh_token()
            try:
                fresh = self._refresh(stored.refresh_token)
            except RefreshTokenRejected:
                self._clear()
                raise
            fresh = fresh.with_refresh_token_kept(stored)
            self._save(fresh)
        if min_ttl is not None and fresh.expires_in(now) <= min_ttl:
            raise MinTTLTooLarge(
                f"min_ttl is longer than the access token's lifetime: min_ttl={min_ttl:g} s, but a "
                f"fresh access token lives {fresh.expires_in(now):.0f} s, so every call would "
                "renew. Use a smaller min_ttl."
            )
        return fresh

    def ends_if_unused(self) -> float | None:
        """When the tenant ends this session if nothing renews it: a time on ``self.clock``.

        The last exchange (the saved ID token's ``iat``: each renewal brings a new one) plus
        the tenant's inactivity lifetime (``Tenant.refresh_token_idle_lifetime``). None when
        signed out or either is unknown. No HTTP; the ID token is read, not verified (it is
        for display: the tenant decides at the next renewal).
        """
        current = self._current()
        if current is None:
            return None
        return session_end_if_unused(current, self.tenant.refresh_token_idle_lifetime)

    # -- resilience: retries, and the still-valid token after a failed early renewal ---------

    def _refresh(self, refresh_token: str) -> Credentials:
        """One refresh, retried under ``self.retry`` where that is safe (see ``retry``)."""
        return with_retries(lambda: self.client.refresh(refresh_token), self.retry)

    def _still_valid_after(self, error: SessionError) -> Credentials | None:
        """The credentials in use if ``error`` only spoiled an early renewal, else None."""
        current = self._cached or self._unsaved
        if not error.retryable or current is None or current.expires_in(self.clock()) <= 0:
            return None
        self.renewal_error = error
        left = current.expires_in(self.clock())
        message = (
            f"Renewing early failed ({error}); the access token is still valid for {left:.0f} s, "
            "so it was handed back. The next call tries again."
        )
        warnings.warn(RenewalWarning(message, error), stacklevel=3)
        return current

    def _begin(self, credentials: Credentials) -> dict[str, Any]:
        if credentials.id_token is not None:
            self._verify(credentials)
        self.save(credentials)
        self._user = self.client.userinfo(credentials.access_token)
        return self._user

    def _verified(self, credentials: Credentials) -> Credentials:
        """``credentials`` if its ID token verifies; otherwise renewed once and checked again."""
        if credentials.id_token is None:
            return credentials
        try:
            self._verify(credentials)
        except TokenVerificationFailed:
            if credentials.refresh_token is None:
                raise
            # An expired ID token or rotated signing keys are cured by a renewal.
            credentials = self.renew()
            self._verify(credentials)
        return credentials

    def _verify(self, credentials: Credentials) -> None:
        assert credentials.id_token is not None
        verify_id_token(credentials.id_token, self.tenant, now=self.clock(), jwks=self.jwks)

    def _current(self) -> Credentials | None:
        if self._cached is None:
            self._cached = self._unsaved or self._read_store()
        return self._cached

    def _read_store(self) -> Credentials | None:
        data = self.store.load()
        return None if data is None else Credentials.from_json(data)

    def _save(self, credentials: Credentials) -> None:
        """Save (the caller holds the flight lock); a failure keeps the credentials in memory."""
        self._cached = credentials
        try:
            self.store.save(credentials.to_json())
        except StoreError as exc:
            self._unsaved, self.store_error = credentials, exc
            message = f"Signed in for now, but the credentials could not be saved: {exc}"
            warnings.warn(StoreWarning(message, exc), stacklevel=4)
        else:
            self._unsaved, self.store_error = None, None

    def _clear(self) -> None:
        self.store.clear()
        self._cached = self._unsaved = None
        self._user = None


def session_end_if_unused(credentials: Credentials, idle_lifetime: float | None) -> float | None:
    """When a session ends if nothing renews it: the ID token's ``iat`` plus ``idle_lifetime``.

    None without a refresh token, an ID token with a numeric ``iat``, or a known lifetime. The
    ID token is read, not verified: this is for display, and the tenant decides at renewal.
    """
    if idle_lifetime is None or credentials.refresh_token is None or credentials.id_token is None:
        return None
    try:
        issued = inspect_token(credentials.id_token).claims.get("iat")
    except TokenVerificationFailed:
        return None
    if isinstance(issued, bool) or not isinstance(issued, (int, float)):
        return None
    return float(issued) + idle_lifetime


def _no_refresh_token() -> NoRefreshToken:
    return NoRefreshToken(
        "The access token has expired and there is no refresh token to renew it: sign in "
        "again. (Ask for the offline_access scope to get a refresh token.)"
    )
