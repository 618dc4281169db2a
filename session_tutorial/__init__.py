"""session-tutorial: keep a user signed in, the way Auth0's SDKs do, in Python.

>>> from session_tutorial import SessionManager, Tenant
>>> session = SessionManager(Tenant.local())  # doctest: +SKIP
>>> session.restore()  # the saved user's profile, or None  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

# httpx's __init__ first tries to load its command-line client (httpx._main: click, pygments,
# rich) and keeps a stub `httpx.main` when that fails, as it does here (rich is not installed)
# after importing click and pygments: about 20 ms of CPU in every process that imports httpx
# (kernels, whoami.py, `python -m session_tutorial status`, the teaching commands). Nothing in
# this package runs httpx's CLI, and the `httpx` command loads it without this package, so the
# attempt is skipped: a module that is None in sys.modules fails to import at once.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

# Each public name is imported from its module on first use (PEP 562), so a process loads only
# what it touches: the tenant and its signing helpers (which live in this package) never load
# the client, httpx or the keychain; a script that only keeps a session never loads ipywidgets.
# `from session_tutorial import SessionManager` works as before.
_MODULES = {
    "browser_login": ("BrowserLogin",),
    "callback": ("CallbackReceiver",),
    "client": ("AuthClient", "DeviceLogin"),
    "credentials": ("Credentials", "redact"),
    "errors": (
        "AccessDenied",
        "AccessTokenRejected",
        "AccountBlocked",
        "AuthError",
        "AuthorizationCodeRejected",
        "BrowserSignInError",
        "CallbackUnavailable",
        "CorruptEntry",
        "DeviceCodeExpired",
        "KeychainUnavailable",
        "MinTTLTooLarge",
        "NetworkError",
        "NoCredentials",
        "NoRefreshToken",
        "RateLimited",
        "RefreshTokenRejected",
        "RenewalWarning",
        "ServerError",
        "SessionError",
        "SignInCancelled",
        "SignInTimedOut",
        "StoreError",
        "StoreWarning",
        "TLSCertificateError",
        "TokenVerificationFailed",
        "UnexpectedResponse",
        "WrongCredentials",
    ),
    "idtoken": ("JwksCache", "TokenView", "inspect_token", "verify_id_token"),
    "pkce": ("AuthorizationRequest",),
    "retry": ("RetryPolicy",),
    "secret_service": ("KeptSessionKeyring",),
    "session": ("SessionManager",),
    "store": ("CredentialStore", "MemoryStore", "Store"),
    "tenant": ("Tenant",),
    "widgets": (
        "BrowserLoginWidget",
        "DeviceLoginWidget",
        "LoginForm",
        "ProfileCard",
        "SessionApp",
        "TokenInspector",
    ),
}
_LAZY = {name: module for module, names in _MODULES.items() for name in names}

if TYPE_CHECKING:
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
    from session_tutorial.widgets import (
        BrowserLoginWidget,
        DeviceLoginWidget,
        LoginForm,
        ProfileCard,
        SessionApp,
        TokenInspector,
    )


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'session_tutorial' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"session_tutorial.{module}"), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


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
