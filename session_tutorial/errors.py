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

Each class's docstring says what the error means (its first line), ``When:`` it happens and
``What to do:``; the website's error catalogue is made from them (``scripts/build_site.py``),
and ``tests/test_site.py`` fails on a class that lacks one of the three.
"""

from __future__ import annotations


class SessionError(Exception):
    """Base class of every error this package raises on purpose.

    When: never raised itself; catch it to handle every error of this package in one place.

    What to do: look at ``retryable``: when it is true, try the same call again later and keep
    the stored credentials; when it is false, the message says what to change first.
    """

    @property
    def retryable(self) -> bool:
        """Whether trying the same call again later may succeed."""
        return False


class AuthError(SessionError):
    """The tenant answered with an OAuth error (``{"error": ..., "error_description": ...}``).

    When: any call to the tenant whose answer is an OAuth error that no subclass describes
    (``error``, ``status_code`` and ``description`` hold what the tenant said).

    What to do: read ``description``; ``retryable`` is true for a 429 or a 5xx, where waiting
    helps, and false otherwise, where the request itself must change.
    """

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
    """The email or password is wrong.

    When: signing in with a password (``login()``, the login form) and the tenant answers
    ``invalid_grant``.

    What to do: check both and try again; passwords are case-sensitive. After 10 wrong
    passwords in a row the tenant blocks the account (``AccountBlocked``).
    """


class AccountBlocked(AuthError):
    """The account is blocked, after too many failed logins or by an administrator.

    When: signing in after 10 wrong passwords in a row (429 ``too_many_attempts``, Auth0's
    brute-force protection), or when an administrator blocked the user; even the right
    password is refused.

    What to do: waiting does not help (it is not retryable): on the local tenant run
    ``python -m session_tutorial.provider unblock EMAIL``; on Auth0, an administrator unblocks
    the user in the Dashboard (User Management › Users).
    """

    @property
    def retryable(self) -> bool:
        # Auth0 answers a blocked account with 429, but waiting does not unblock it: an
        # administrator must (on the local tenant: `python -m session_tutorial.provider unblock`).
        return False


class AccessDenied(AuthError):
    """The user refused the request (a device login was denied).

    When: polling a device login after the user pressed Deny on the verification page
    (``access_denied``); also when the tenant does not know the client ID.

    What to do: start a new device login if the user wants to try again; otherwise check that
    ``AUTH0_CLIENT_ID`` names an application of this tenant.
    """


class SignInCancelled(AccessDenied):
    """The user cancelled the browser sign-in on the tenant's page (``access_denied``).

    When: signing in with the browser (``login_with_browser()``, the "Sign in with the
    browser" button) and the user presses Cancel on the tenant's login page.

    What to do: nothing was saved; start the sign-in again when the user is ready.
    """


class AuthorizationCodeRejected(AuthError):
    """The tenant refused the authorization code: used, expired, another verifier or redirect.

    When: the last step of a browser sign-in, swapping the code for tokens, answered
    ``invalid_grant``: the code was already used or expired, or the PKCE verifier or the
    ``redirect_uri`` differ from the sign-in's start.

    What to do: start the browser sign-in again; a code is good for one exchange only.
    """


class BrowserSignInError(SessionError):
    """The browser sign-in did not complete; nothing was saved.

    When: signing in with the browser fails on this machine's side (no callback in time, or
    no port to listen on); its subclasses say which.

    What to do: read the message, then start the sign-in again.
    """


class SignInTimedOut(BrowserSignInError):
    """No callback came back from the browser in time: start the sign-in again.

    When: a browser sign-in whose tab was closed, or left on the login page, until the
    waiting time ran out.

    What to do: start the sign-in again and finish it in the tab that opens.
    """


class CallbackUnavailable(BrowserSignInError):
    """The callback receiver cannot listen on its port (another program holds it).

    When: starting a browser sign-in with a fixed callback port that another program (or an
    earlier sign-in) already uses.

    What to do: close that program, or choose another port and list
    ``http://127.0.0.1:PORT/callback`` in the application's Allowed Callback URLs.
    """


class RefreshTokenRejected(AuthError):
    """The refresh token was revoked, rotated away, reused, or has expired: sign in again.

    When: renewing the access token (``credentials()``, ``renew()``, ``restore()``) and the
    tenant answers ``invalid_grant``: an administrator or a sign-out revoked the token, another
    process used it first (reuse detection revoked the whole family), or it expired.

    What to do: sign in again; the stored entry is useless and ``restore()`` clears it (and
    says why in ``last_reason``).
    """


class RateLimited(AuthError):
    """The tenant asks the client to slow down; ``retry_after`` says for how many seconds.

    When: any call answered with 429 ``too_many_requests``, or ``slow_down`` while polling a
    device login too fast.

    What to do: wait ``retry_after`` seconds (or a while, when it is None) and try again; it is
    retryable and the stored credentials are kept.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ServerError(AuthError):
    """The tenant failed with a 5xx: try again later; nothing was lost.

    When: any call the tenant answers with a status of 500 or above (an outage, a bad deploy).

    What to do: try again later; it is retryable and the stored credentials are kept.
    """


class NetworkError(SessionError):
    """The tenant could not be reached, or did not answer in time.

    When: any call to the tenant that gets no answer: connection refused (the local tenant is
    not running), reset, timed out, or a name that does not resolve.

    What to do: start the local tenant (``make tenant-start``) or check the network, then try
    again; it is retryable and the stored credentials are kept. ``sign_out(force=True)``
    forgets the session locally even offline.
    """

    def __init__(self, message: str, *, may_have_reached: bool = True) -> None:
        super().__init__(message)
        #: False only when the request provably never reached the tenant (connection refused
        #: or never made): then nothing was rotated, and retrying a refresh is always safe.
        self.may_have_reached = may_have_reached

    @property
    def retryable(self) -> bool:
        return True


class TLSCertificateError(NetworkError):
    """The tenant's TLS certificate was not accepted: trust its CA (``ca_bundle``) or fix it.

    When: any HTTPS call to a tenant whose certificate does not verify: self-signed, signed by
    a company CA this machine does not trust, expired, or for another name. Not retryable: it
    fails the same way next time.

    What to do: give the CA's certificate as ``ca_bundle`` (or ``AUTH0_CA_BUNDLE``), or fix the
    tenant's certificate; never turn verification off.
    """

    @property
    def retryable(self) -> bool:
        # A certificate that failed verification fails again on the next try.
        return False


class TokenVerificationFailed(SessionError):
    """An ID token failed its signature, algorithm, issuer, audience or time checks.

    When: signing in or restoring a session, when the ID token is not signed by the tenant's
    key with RS256, is for another issuer or audience, has expired or comes from the future.

    What to do: never trust its claims; a clock far off (``provider clock --reset`` on the
    local tenant) or a wrong ``AUTH0_DOMAIN`` are the usual innocent causes; otherwise treat
    it as an attack and sign in again.
    """


class NoCredentials(SessionError):
    """No credentials are stored: the user is signed out.

    When: asking for credentials (``credentials()``, ``renew()``) before any sign-in, after a
    sign-out, or after another process signed out meanwhile.

    What to do: sign in (``login()``, the login form or the device flow), or call
    ``restore()`` first.
    """


class NoRefreshToken(SessionError):
    """The access token has expired and no refresh token is stored to renew it.

    When: asking for credentials after the access token expired, when the sign-in did not ask
    for the ``offline_access`` scope, so the tenant issued no refresh token.

    What to do: sign in again, with ``offline_access`` in the scope to stay signed in.
    """


class MinTTLTooLarge(SessionError, ValueError):
    """min_ttl is longer than the access token's lifetime: every call would renew.

    When: ``credentials(min_ttl=...)`` asks for more seconds of validity than a fresh access
    token has (it is also a ``ValueError``: a programming error, not a tenant's answer).

    What to do: ask for a smaller ``min_ttl``, or raise the tenant's access-token lifetime.
    """


class StoreError(SessionError):
    """The credential store (the keychain) could not be read or written.

    When: reading, saving or clearing the stored entry fails for a reason no subclass names.

    What to do: read the message; the tenant was not told anything, so fix the keychain and
    try again.
    """


class KeychainUnavailable(StoreError):
    """No usable keychain: none is installed, it is locked, or it stopped answering.

    When: any read or write of the stored entry on a machine with no keychain backend (a
    container or CI without a Secret Service), a locked keyring, or one that went away.

    What to do: start JupyterLab with ``make lab`` (or ``python -m session_tutorial.launcher
    -- jupyter lab``), which starts a private keychain where none runs; on a desktop, unlock
    the login keyring.
    """


class CorruptEntry(StoreError):
    """The stored entry is not credentials this version can read; clear it and sign in again.

    When: restoring a session whose keychain entry is not JSON, has an unknown version,
    wrong types or missing pieces (edited by hand, or written by another program).

    What to do: ``sign_out()`` clears it, then sign in again; nothing is sent to the tenant
    until then.
    """


class AccessTokenRejected(AuthError):
    """The access token was refused (401) or is damaged beyond sending: renew it.

    When: calling ``/userinfo`` (or an API) with an access token the tenant no longer accepts
    (expired or revoked), or one too damaged to send.

    What to do: renew it (``credentials()`` or ``renew()``) and call again; if renewal fails
    too, sign in again.
    """


class DeviceCodeExpired(AuthError):
    """The device code expired before the user approved it: start a new device login.

    When: polling a device login after its code's lifetime (``expired_token``) without the
    user approving it.

    What to do: start a new device login and approve it sooner.
    """


class UnexpectedResponse(AuthError):
    """The answer is not in the Authentication API's shape: check that the domain is a tenant.

    When: the tenant's answer is not the JSON the Authentication API sends: a web page from a
    wrong ``AUTH0_DOMAIN``, a proxy's error page, or missing fields.

    What to do: check that ``AUTH0_DOMAIN`` (or the local tenant's URL) points at an identity
    provider, then try again.
    """


class StoreWarning(UserWarning):
    """Fresh credentials could not be saved; they are in use for now, ``.error`` says why.

    When: a renewal succeeded but writing the new entry to the keychain failed (it was locked
    or went away meanwhile); a warning, not an error: the call still returns credentials.

    What to do: fix the keychain (``.error`` says how); the next renewal saves the newest
    tokens. Until then the next launch starts from the older entry.
    """

    def __init__(self, message: str, error: StoreError) -> None:
        super().__init__(message)
        self.error = error


class RenewalWarning(UserWarning):
    """An early renewal failed (retryable); the still-valid credentials were handed back.

    When: ``credentials()`` renews before expiry (``min_ttl``) and the renewal fails in a way
    that may pass (network, 5xx, 429); a warning, not an error: the call still returns the
    current credentials, and ``renewal_error`` says what failed.

    What to do: nothing at once; the next call tries again. Once the access token has expired
    the same failure is raised as an error.
    """

    def __init__(self, message: str, error: SessionError) -> None:
        super().__init__(message)
        self.error = error
