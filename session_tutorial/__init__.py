"""session-tutorial: keep a user signed in, the way Auth0's SDKs do, in Python.

>>> from session_tutorial import SessionManager, Tenant
>>> session = SessionManager(Tenant.local())  # doctest: +SKIP
>>> session.restore()  # the saved user's profile, or None  # doctest: +SKIP
"""

from __future__ import annotations

from session_tutorial.browser_login import BrowserLogin
from session_tutorial.callback import CallbackReceiver
from session_tutorial.client import AuthClient, DeviceLogin
from session_tutorial.credentials import Credentials, redact
from session_tutorial.errors import (
    AccessDenied,
    AccessTokenRejected,
    AccountBlocked,
    AuthError,
    AuthorizationCodeRejected,
    BrowserSignInError,
    CallbackUnavailable,
    CorruptEntry,
    DeviceCodeExpired,
    KeychainUnavailable,
    MinTTLTooLarge,
    NetworkError,
    NoCredentials,
    NoRefreshToken,
    RateLimited,
    RefreshTokenRejected,
    RenewalWarning,
    ServerError,
    SessionError,
    SignInCancelled,
    SignInTimedOut,
    StoreError,
    StoreWarning,
    TLSCertificateError,
    TokenVerificationFailed,
    UnexpectedResponse,
    WrongCredentials,
)
from session_tutorial.idtoken import JwksCache, TokenView, inspect_token, verify_id_token
from session_tutorial.pkce import AuthorizationRequest
from session_tutorial.retry import RetryPolicy
from session_tutorial.secret_service import KeptSessionKeyring
from session_tutorial.session import SessionManager
from session_tutorial.store import CredentialStore, MemoryStore, Store
from session_tutorial.tenant import Tenant

# The widgets need ipywidgets; a script that only keeps a session should not pay for it, so
# they are imported on first use: `from session_tutorial import LoginForm` still works.
_WIDGETS = frozenset(
    {
        "BrowserLoginWidget",
        "DeviceLoginWidget",
        "LoginForm",
        "ProfileCard",
        "SessionApp",
        "TokenInspector",
    }
)


def __getattr__(name: str) -> object:
    if name in _WIDGETS:
        from session_tutorial import widgets

        return getattr(widgets, name)
    raise AttributeError(f"module 'session_tutorial' has no attribute {name!r}")


__all__ = [
    "AccessDenied",
    "AccessTokenRejected",
    "AccountBlocked",
    "AuthClient",
    "AuthError",
    "AuthorizationCodeRejected",
    "AuthorizationRequest",
    "BrowserLogin",
    "BrowserLoginWidget",
    "BrowserSignInError",
    "CallbackReceiver",
    "CallbackUnavailable",
    "CorruptEntry",
    "CredentialStore",
    "Credentials",
    "DeviceCodeExpired",
    "DeviceLogin",
    "DeviceLoginWidget",
    "JwksCache",
    "KeptSessionKeyring",
    "KeychainUnavailable",
    "LoginForm",
    "MemoryStore",
    "MinTTLTooLarge",
    "NetworkError",
    "NoCredentials",
    "NoRefreshToken",
    "ProfileCard",
    "RateLimited",
    "RefreshTokenRejected",
    "RenewalWarning",
    "RetryPolicy",
    "ServerError",
    "SessionApp",
    "SessionError",
    "SessionManager",
    "SignInCancelled",
    "SignInTimedOut",
    "Store",
    "StoreError",
    "StoreWarning",
    "TLSCertificateError",
    "Tenant",
    "TokenInspector",
    "TokenVerificationFailed",
    "TokenView",
    "UnexpectedResponse",
    "WrongCredentials",
    "inspect_token",
    "redact",
    "verify_id_token",
]
