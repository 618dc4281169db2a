"""What the tutorial runs on, and who is signed in: ``python -m session_tutorial status``.

One check, in plain words, for learners and instructors: which keychain holds the tokens and
how well it keeps them; which tenant is configured and whether it answers (with its issuer);
whether a session is saved for it, for whom, and when its access token expires; whether the
teaching controls are there. It never prints a token and never renews anything (a status
check that rotated the refresh token would change what it reports on).

Exit codes follow ``gh auth status``: :data:`SIGNED_IN` (0), :data:`SIGN_IN_NEEDED` (4), and
:data:`BROKEN` (1), whose message says what to run. Notebook 00's setup check is the same code
(``Tutorial.check()``).

>>> report = check_configured()  # doctest: +SKIP
>>> print(report)  # doctest: +SKIP
>>> report.exit_code  # doctest: +SKIP
4
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import httpx

from session_tutorial.client import _certificate_failure, _untrusted
from session_tutorial.commands import python_command, tenant_command
from session_tutorial.credentials import Credentials
from session_tutorial.errors import CorruptEntry, StoreError, TokenVerificationFailed
from session_tutorial.idtoken import inspect_token, verify_id_token
from session_tutorial.sanitize import excerpt
from session_tutorial.session import session_end_if_unused
from session_tutorial.store import Store
from session_tutorial.tenant import Tenant, published_idle_lifetime
from session_tutorial.timewords import rough_duration

SIGNED_IN: Final = 0
BROKEN: Final = 1
SIGN_IN_NEEDED: Final = 4

START_TENANT: Final = (
    f"start it with `{tenant_command('start')}` (or `make tenant-start` in the repository)"
)
SIGN_IN: Final = (
    "run notebook 01 to sign in (or `SessionManager(tenant).login(email, password)` in Python)"
)
CLEAR_ENTRY: Final = (
    f"clear it with `{python_command('-m', 'session_tutorial', 'sign-out')}`, then sign in again"
)

# How each keychain keeps what it holds, for people. Keys are prefixes of backend_name.
_KEEPING: Final = (
    (
        "Secret Service (private",
        "encrypted with a random password nobody keeps; lasts only while the launcher's "
        "command runs (not across reboots)",
    ),
    ("Secret Service", "encrypted, unlocked by your login; kept across reboots"),
    ("KWallet", "encrypted, unlocked by your login; kept across reboots"),
    ("macOS Keychain", "encrypted, unlocked by your login; kept across reboots"),
    ("Windows Credential Manager", "encrypted with your Windows login; kept across reboots"),
    ("in-memory", "in this process only: not encrypted, gone when it exits"),
)


@dataclass(frozen=True)
class Status:
    """The report: lines for people, and the exit code of ``python -m session_tutorial status``."""

    lines: tuple[str, ...]
    exit_code: int

    def __repr__(self) -> str:
        return "\n".join(self.lines)

    __str__ = __repr__


def keychain_keeping(backend_name: str) -> str:
    """Whether a keychain keeps secrets encrypted and across reboots, in words.

    >>> keychain_keeping("macOS Keychain")
    'encrypted, unlocked by your login; kept across reboots'
    """
    for prefix, words in _KEEPING:
        if backend_name.startswith(prefix):
            return words
    return "unknown to this tutorial: check its documentation"


def check(
    tenant: Tenant,
    store: Store,
    *,
    local: bool = True,
    teaching: bool | None = None,
    clock: Callable[[], float] | None = None,
    timeout: float = 5.0,
) -> Status:
    """Check the keychain, the tenant and the saved session; no renewal, no token shown.

    ``local`` says whether ``tenant`` is the tutorial's local one (the advice differs);
    ``teaching`` whether its teaching controls answer (None: unknown, not shown as available).
    """
    clock = clock or tenant.clock
    lines: list[str] = []
    problems: list[str] = []
    where = f"the local tenant at {tenant.base_url}" if local else f"your tenant {tenant.host}"

    backend = store.backend_name
    keychain_ok = True
    try:
        raw = store.load()
    except CorruptEntry as exc:
        raw, entry_problem = None, f"{exc} To fix it, {CLEAR_ENTRY}."
    except StoreError as exc:
        lines.append(f"Keychain:          {backend}: cannot be used")
        problems.append(str(exc))
        raw, entry_problem, keychain_ok = None, None, False
    else:
        entry_problem = None
    if keychain_ok:
        lines.append(f"Keychain:          {backend}: {keychain_keeping(backend)}")

    issuer_ok = _tenant_line(tenant, where, local, timeout, lines, problems)
    lines.append(f"Client id:         {tenant.client_id}")

    signed_in = False
    if not keychain_ok:
        lines.append("Session:           unknown (the keychain cannot be read)")
    elif entry_problem is not None:
        lines.append("Session:           the saved entry cannot be read")
        problems.append(entry_problem)
    elif raw is None:
        lines.append("Session:           none saved for this tenant and app")
    else:
        try:
            credentials = Credentials.from_json(raw)
        except CorruptEntry as exc:
            lines.append("Session:           the saved entry cannot be read")
            problems.append(f"{exc} To fix it, {CLEAR_ENTRY}.")
        else:
            signed_in = _session_lines(credentials, tenant, clock(), issuer_ok, lines, problems)

    shown = {True: "available", False: "not available on this tenant", None: "not available"}
    lines.append(f"Teaching controls: {shown[teaching]}")

    if problems:
        lines.extend(f"Broken: {problem}" for problem in problems)
        return Status(tuple(lines), BROKEN)
    if signed_in:
        lines.append("Signed in.")
        return Status(tuple(lines), SIGNED_IN)
    lines.append(f"Sign-in needed: {SIGN_IN}.")
    return Status(tuple(lines), SIGN_IN_NEEDED)


def _tenant_line(
    tenant: Tenant, where: str, local: bool, timeout: float, lines: list[str], problems: list[str]
) -> bool:
    """Append the tenant's line; True when it answers with the expected issuer."""
    try:
        r = httpx.get(tenant.openid_configuration_url, timeout=timeout, verify=tenant.ssl_context)
        issuer = r.json().get("issuer") if r.status_code == 200 else None
    except httpx.HTTPError as exc:
        certificate = _certificate_failure(exc)
        if certificate is not None:  # it answered, with a certificate this machine refuses
            lines.append(f"Tenant:            {where}: its TLS certificate is not trusted")
            problems.append(str(_untrusted(tenant, certificate)))
            return False
        lines.append(f"Tenant:            {where}: does not answer ({type(exc).__name__})")
        advice = START_TENANT if local else "check AUTH0_DOMAIN and your network"
        problems.append(f"The tenant at {tenant.base_url} does not answer: {advice}.")
        return False
    except (ValueError, AttributeError) as exc:
        lines.append(f"Tenant:            {where}: does not answer ({type(exc).__name__})")
        advice = START_TENANT if local else "check AUTH0_DOMAIN and your network"
        problems.append(f"The tenant at {tenant.base_url} does not answer: {advice}.")
        return False
    if issuer is None:
        lines.append(f"Tenant:            {where}: answered HTTP {r.status_code}, not a tenant")
        problems.append(
            f"{tenant.openid_configuration_url} has no OpenID configuration: check that "
            "AUTH0_DOMAIN names your Auth0 tenant."
        )
        return False
    if issuer != tenant.issuer:
        lines.append(f"Tenant:            {where}: answers as issuer {issuer}")
        problems.append(
            f"The tenant calls itself {issuer}, but its tokens must come from {tenant.issuer}: "
            "set AUTH0_DOMAIN to the address the tenant was started with (--issuer)."
        )
        return False
    lines.append(f"Tenant:            {where}: answers, issuer {issuer}")
    return True


def _session_lines(
    credentials: Credentials,
    tenant: Tenant,
    now: float,
    issuer_ok: bool,
    lines: list[str],
    problems: list[str],
) -> bool:
    """Append what the saved session holds; True when it can be used (valid or renewable)."""
    lines.append(f"Session:           saved for {_whom(credentials)}")
    left = credentials.expires_in(now)
    ends = session_end_if_unused(credentials, tenant.refresh_token_idle_lifetime)
    ended = ends is not None and ends <= now
    renewable = credentials.refresh_token is not None and not ended
    if left > 0:
        lines.append(f"Access token:      expires in about {rough_duration(left)}")
    elif renewable:
        lines.append(
            f"Access token:      expired about {rough_duration(-left)} ago; the refresh "
            "token renews it at the next call"
        )
    elif ended:
        lines.append(f"Access token:      expired about {rough_duration(-left)} ago")
    else:
        lines.append(
            f"Access token:      expired about {rough_duration(-left)} ago, and no refresh "
            "token is saved to renew it"
        )
    if credentials.refresh_token is None:
        lines.append("Refresh token:     none (ask for the offline_access scope to get one)")
    elif ends is not None and ended:
        lines.append(
            "Refresh token:     unused for too long: the tenant ended the session about "
            f"{rough_duration(now - ends)} ago (its inactivity lifetime)"
        )
    else:
        lines.append("Refresh token:     saved (only the tenant can say whether it is still good)")
    if ends is not None and not ended:
        lines.append(
            f"If unused:         the session ends in about {rough_duration(ends - now)} (the "
            "tenant's inactivity lifetime; each renewal starts it again)"
        )
    if credentials.id_token is not None and issuer_ok:
        try:
            verify_id_token(credentials.id_token, tenant, now=now)
        except TokenVerificationFailed as exc:
            if str(exc).startswith("The ID token expired"):
                lines.append("ID token:          expired; the next renewal replaces it")
            else:
                lines.append("ID token:          fails verification")
                problems.append(str(exc))
        else:
            lines.append("ID token:          verified (signature, issuer, audience, times)")
    return left > 0 or renewable


def _whom(credentials: Credentials) -> str:
    """The user the saved ID token names (read, not verified: for display only)."""
    if credentials.id_token is None:
        return "a user this entry does not name (no ID token)"
    try:
        claims = inspect_token(credentials.id_token, now=time.time()).claims
    except TokenVerificationFailed:
        return "a user this entry does not name (its ID token is not a JWT)"
    # Not verified: a crafted entry can put escapes, line breaks or a token in these claims.
    secrets = (credentials.access_token, credentials.refresh_token, credentials.id_token)
    name, email = claims.get("name"), claims.get("email")
    if isinstance(name, str) and isinstance(email, str):
        return f"{excerpt(name, secrets, limit=80)} <{excerpt(email, secrets, limit=80)}>"
    for value in (name, email, claims.get("sub")):
        if isinstance(value, str):
            return excerpt(value, secrets, limit=80)
    return "a user this entry does not name"


@dataclass(frozen=True)
class Setup:
    """The tenant and keychain entry this machine is set up for (see :func:`configured`)."""

    tenant: Tenant
    store: Store
    local: bool
    teaching: bool | None


def configured(*, probe_teaching: bool = True) -> Setup:
    """The tenant this machine is set up for and the notebooks' entry, without starting anything.

    ``AUTH0_DOMAIN`` and ``AUTH0_CLIENT_ID`` name your tenant; otherwise it is the local
    tenant, looked for where it last ran and *not* started (a status check that started the
    tenant would hide that it was down).
    """
    import os

    from session_tutorial.session import SERVICE
    from session_tutorial.store import CredentialStore

    if os.environ.get("AUTH0_DOMAIN"):
        tenant = Tenant.from_env()
        return Setup(tenant, CredentialStore(SERVICE, tenant.account), False, None)

    from session_tutorial.provider import background
    from session_tutorial.provider.config import CLIENT_ID, DEFAULT_PORT, default_data_dir
    from session_tutorial.provider.control import SyncedClock

    data_dir = default_data_dir()
    running = background.status(data_dir)
    if running is not None:
        url = running.url
    else:
        try:
            port = int((data_dir / background.PORT_FILE).read_text())
        except (OSError, ValueError):
            port = DEFAULT_PORT
        url = f"http://127.0.0.1:{port}"
    idle = published_idle_lifetime(data_dir) if running is not None else None
    tenant = Tenant(
        url, CLIENT_ID, clock=SyncedClock.following(data_dir), refresh_token_idle_lifetime=idle
    )
    teaching = None
    if running is not None and probe_teaching:
        from session_tutorial.tutorial import _teaching_controls

        teaching = _teaching_controls(tenant) is not None
    return Setup(tenant, CredentialStore(SERVICE, tenant.account), True, teaching)


def check_configured(timeout: float = 5.0) -> Status:
    """:func:`check` for :func:`configured`: what ``python -m session_tutorial status`` prints."""
    setup = configured()
    return check(
        setup.tenant, setup.store, local=setup.local, teaching=setup.teaching, timeout=timeout
    )
