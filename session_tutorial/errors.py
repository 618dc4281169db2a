"""The errors a session can run into, as one small hierarchy.

::

    SessionError
    ├── AuthError                 the tenant answered with an OAuth error
    │   ├── WrongCredentials      wrong email or password (invalid_grant on login)
    │   ├── AccountBlocked        too many failed logins (too_many_attempts), or blocked by an admin
    │   ├── AccessDenied          access_denied: Deny pressed on a device login (or unknown client)
    │   │   └── SignInCancelled   Cancel pressed on the tenant's login page (browser sign-in)
    │   ├── AuthorizationCodeRejected  invalid_grant on a code: used, expired, wrong verifier
    │   ├── RefreshTokenRejected  invalid_grant on refresh: revoked, rotated away, or expired
    │   ├── RateLimited           429 too_many_requests / slow_down (has .retry_after)
    │   ├── ServerError           5xx from the tenant
    │   ├── AccessTokenRejected   401 from /userinfo (expired, revoked), or a damaged token
    │   ├── DeviceCodeExpired     expired_token: the device login took too long
    │   └── UnexpectedResponse    an answer that is not the Authentication API's shape
    ├── NetworkError              no answer: refused, reset, timed out, DNS
    │   └── TLSCertificateError   the tenant's TLS certificate is not trusted (not retryable)
    ├── BrowserSignInError        the browser sign-in did not come back
    │   ├── SignInTimedOut        no callback arrived in time (closed tab, error page, lost link)
    │   └── CallbackUnavailable   the loopback callback port cannot be listened on
    ├── TokenVerificationFailed   an ID token failed a signature or claim check
    ├── NoCredentials             nothing is stored: the user is signed out
    ├── NoRefreshToken            the access token expired and there is no way to renew it
    ├── MinTTLTooLarge            min_ttl is longer than a fresh access token lives (a ValueError)
    └── StoreError                the keychain could not be used
        ├── KeychainUnavailable   no usable keychain backend, or it is locked
        └── CorruptEntry          the stored entry is not credentials this version understands

    StoreWarning (a UserWarning)  fresh credentials could not be saved, but were handed back
    RenewalWarning (a UserWarning) an early renewal failed; the still-valid credentials were used

``retryable`` is computed from what happened (a network error but a certificate failure, a
429, a 5xx), never set by hand, in the spirit of Auth0.swift's ``isRetryable``.
"""

from __future__ import annotations


class SessionError(Exception):
    """Base class of every error this package raises on purpose."""

    @property
    def retryable(self) -> bool:
        """Whether trying the same call again later may succeed."""
        return False


class AuthError(SessionError):
    """The tenant answered with an OAuth error (``{"error": ..., "error_description": ...}``)."""

    def __init__(
        self,
        message: str,
        *,
        error: str = "",
        status_code: int | None = None,
        description: str = "",
    ) -> None:
        super().__init__(message)
        self.error = error
        self.status_code = status_code
        self.description = description

    @property
    def retryable(self) -> bool:
        return self.status_code is not None and (self.status_code == 429 or self.status_code >= 500)


class WrongCredentials(AuthError):
    """The email or password is wrong."""


class AccountBlocked(AuthError):
    """The account is blocked, after too many failed logins or by an administrator."""

    @property
    def retryable(self) -> bool:
        # Auth0 answers a blocked account with 429, but waiting does not unblock it: an
        # administrator must (on the local tenant: `python -m session_tutorial.provider unblock`).
        return False


class AccessDenied(AuthError):
    """The user refused the request (a device login was denied)."""


class SignInCancelled(AccessDenied):
    """The user cancelled the browser sign-in on the tenant's page (``access_denied``)."""


class AuthorizationCodeRejected(AuthError):
    """The tenant refused the authorization code: used, expired, another verifier or redirect."""


class BrowserSignInError(SessionError):
    """The browser sign-in did not complete; nothing was saved."""


class SignInTimedOut(BrowserSignInError):
    """No callback came back from the browser in time: start the sign-in again."""


class CallbackUnavailable(BrowserSignInError):
    """The callback receiver cannot listen on its port (another program holds it)."""


class RefreshTokenRejected(AuthError):
    """The refresh token was revoked, rotated away, reused, or has expired: sign in again."""


class RateLimited(AuthError):
    """The tenant asks the client to slow down; ``retry_after`` says for how many seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(AuthError):
    """The tenant failed with a 5xx: try again later; nothing was lost."""


class NetworkError(SessionError):
    """The tenant could not be reached, or did not answer in time."""

    def __init__(self, message: str, *, may_have_reached: bool = True) -> None:
        super().__init__(message)
        #: False only when the request provably never reached the tenant (connection refused
        #: or never made): then nothing was rotated, and retrying a refresh is always safe.
        self.may_have_reached = may_have_reached

    @property
    def retryable(self) -> bool:
        return True


class TLSCertificateError(NetworkError):
    """The tenant's TLS certificate was not accepted: trust its CA (``ca_bundle``) or fix it."""

    @property
    def retryable(self) -> bool:
        # A certificate that failed verification fails again on the next try.
        return False


class TokenVerificationFailed(SessionError):
    """An ID token failed its signature, algorithm, issuer, audience or time checks."""


class NoCredentials(SessionError):
    """No credentials are stored: the user is signed out."""


class NoRefreshToken(SessionError):
    """The access token has expired and no refresh token is stored to renew it."""


class MinTTLTooLarge(SessionError, ValueError):
    """min_ttl is longer than the access token's lifetime: every call would renew."""


class StoreError(SessionError):
    """The credential store (the keychain) could not be read or written."""


class KeychainUnavailable(StoreError):
    """No usable keychain: none is installed, it is locked, or it stopped answering."""


class CorruptEntry(StoreError):
    """The stored entry is not credentials this version can read; clear it and sign in again."""


class AccessTokenRejected(AuthError):
    """The access token was refused (401) or is damaged beyond sending: renew it."""


class DeviceCodeExpired(AuthError):
    """The device code expired before the user approved it: start a new device login."""


class UnexpectedResponse(AuthError):
    """The answer is not in the Authentication API's shape: check that the domain is a tenant."""


class StoreWarning(UserWarning):
    """Fresh credentials could not be saved; they are in use for now, ``.error`` says why."""

    def __init__(self, message: str, error: StoreError) -> None:
        super().__init__(message)
        self.error = error


class RenewalWarning(UserWarning):
    """An early renewal failed (retryable); the still-valid credentials were handed back."""

    def __init__(self, message: str, error: SessionError) -> None:
        super().__init__(message)
        self.error = error
