"""What to tell the user about each error, with what to do next; never a token or a password."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from session_tutorial.commands import lab_with_keychain_command, tenant_command
from session_tutorial.errors import (
    AccessDenied,
    AccountBlocked,
    DeviceCodeExpired,
    KeychainUnavailable,
    NetworkError,
    NoCredentials,
    NoRefreshToken,
    RateLimited,
    RefreshTokenRejected,
    ServerError,
    SessionError,
    StoreError,
    TLSCertificateError,
    TokenVerificationFailed,
    WrongCredentials,
)
from session_tutorial.provider import background, keyfiles
from session_tutorial.tenant import Tenant

_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class Message:
    """A short label (for a widget's repr) and a sentence or two for the learner."""

    label: str
    text: str


def is_local(tenant: Tenant) -> bool:
    """Whether ``tenant`` runs on this machine (then its teaching controls and CLI apply)."""
    return tenant.host.startswith(_LOOPBACK)


def explain(exc: SessionError, tenant: Tenant, *, email: str = "") -> Message:
    """The message a widget shows for ``exc``, saying how to get past it."""
    who = email or "EMAIL"
    if isinstance(exc, WrongCredentials):
        return Message(
            "wrong email or password",
            "Wrong email or password. Check both and try again; after too many wrong tries in a "
            "row the tenant blocks the account.",
        )
    if isinstance(exc, AccountBlocked):
        where = (
            f"on this local tenant, run `{tenant_command('unblock', who)}` in a terminal"
            if is_local(tenant)
            else "in the Auth0 dashboard, open User Management > Users and unblock the user"
        )
        return Message(
            "account blocked",
            f"This account is blocked after too many failed sign-ins. An administrator must "
            f"unblock it: {where}. Then sign in again.",
        )
    if isinstance(exc, AccessDenied):
        return Message("access denied", str(exc))
    if isinstance(exc, TLSCertificateError):  # before NetworkError: the tenant did answer
        return Message("certificate not trusted", str(exc))
    if isinstance(exc, NetworkError):
        fix = (
            _local_tenant_now(tenant)
            if is_local(tenant)
            else "Check your network connection and AUTH0_DOMAIN, then try again."
        )
        return Message(
            "tenant not reachable", f"The tenant at {tenant.base_url} did not answer. {fix}"
        )
    if isinstance(exc, RateLimited):
        when = f"in {exc.retry_after:g} s" if exc.retry_after is not None else "in a moment"
        return Message("rate limited", f"The tenant asks us to slow down: try again {when}.")
    if isinstance(exc, ServerError):
        return Message(
            "tenant error",
            f"The tenant failed ({exc.status_code}). Nothing was lost: try again in a moment.",
        )
    if isinstance(exc, KeychainUnavailable):
        return Message(
            "keychain unavailable",
            f"{exc} Quit JupyterLab and start it through the launcher, which provides a "
            f"keychain: `make lab` in the repository's folder, or `{lab_with_keychain_command()}`.",
        )
    if isinstance(exc, StoreError):
        return Message("keychain error", str(exc))
    if isinstance(exc, TokenVerificationFailed):
        return Message(
            "ID token rejected", f"The ID token was not trusted, so nothing was saved: {exc}"
        )
    if isinstance(exc, RefreshTokenRejected):
        return Message(
            "session ended",
            "The tenant rejected the refresh token (revoked, rotated away or expired), so the "
            "keychain entry was cleared. Sign in again.",
        )
    if isinstance(exc, (NoCredentials, NoRefreshToken)):
        return Message("signed out", f"{exc}")
    if isinstance(exc, DeviceCodeExpired):
        return Message("code expired", "The code expired before anyone approved it: start again.")
    return Message("error", str(exc))


def _local_tenant_now(tenant: Tenant) -> str:
    """What to do about a local tenant that did not answer, looking at whether it runs now."""
    start = (
        f"Start the local tenant with `{tenant_command('start')}` in a terminal, then try again."
    )
    # Tenant.local() follows the clock in its tenant's data dir: that says which tenant it is.
    clock_file = getattr(tenant.clock, "path", None)
    if not isinstance(clock_file, Path):
        return start
    running = background.status(clock_file.parent)
    if running is None:
        if keyfiles.tenant_lock_held(clock_file.parent):  # it runs, but did not answer in 2 s
            return (
                "The local tenant runs but is too busy to answer (or stuck): try again in a "
                f"moment. If it stays so, `{tenant_command('stop')}` and "
                f"`{tenant_command('start')}` in a terminal restart it."
            )
        return start
    if running.url.rstrip("/") == tenant.base_url.rstrip("/"):
        return "The local tenant answers again now: try again in a moment."
    return (
        f"The local tenant runs at {running.url} now, not here: restart the kernel "
        "(Kernel → Restart Kernel) and run the notebook from the top, so that it is used."
    )
