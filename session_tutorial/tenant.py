"""Where the identity provider lives and which app is asking: one small, frozen settings object."""

from __future__ import annotations

import functools
import json
import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

LOCAL_CLIENT_ID = "tutorial-app"
DEFAULT_CONNECTION = "Username-Password-Authentication"
DEFAULT_SCOPE = "openid profile email offline_access"

# Plain http is only acceptable when the traffic never leaves this machine: a password sent over
# http to anywhere else can be read by anyone on the path.
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@functools.lru_cache(maxsize=16)
def _ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """One context per bundle, shared: building one reads some 150 CA certificates (~0.1 s),
    which httpx would otherwise do for every client. A bundle is read once per process."""
    import httpx  # here, so that reading settings does not load the HTTP stack

    context = httpx.create_ssl_context()
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=ca_bundle)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                f"The CA bundle {ca_bundle!r} (ca_bundle, or AUTH0_CA_BUNDLE) cannot be read as "
                f"PEM certificates: {exc}. Give the path of the private CA's certificate file, "
                "e.g. /etc/ssl/certs/my-ca.pem."
            ) from exc
    return context


def default_ssl_context() -> ssl.SSLContext:
    """httpx's default trust store, as one context shared by the process (see _ssl_context): for
    requests that are not made for a Tenant, such as the local tenant's own helpers."""
    return _ssl_context(None)


@functools.cache
def _plain_http_context() -> ssl.SSLContext:
    """The context of clients that only speak plain http (a loopback tenant). httpx gives every
    client one, and the default reads some 150 CA certificates (~35 ms of CPU per process) that
    plain http never uses. This one checks as strictly (a certificate required, host names
    matched) but trusts no CA: a TLS connection through it fails, never passes unverified."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def ssl_context_for(url: str) -> ssl.SSLContext:
    """The shared context for requests to ``url`` that are not made for a Tenant (the local
    tenant's own helpers): :func:`default_ssl_context` for https, none to load for http."""
    return _plain_http_context() if url.startswith("http://") else default_ssl_context()


@dataclass(frozen=True)
class Tenant:
    """An Auth0 tenant (or the local one) and the app's client id, with the URLs derived from them.

    >>> tenant = Tenant("example.eu.auth0.com", "abc123")
    >>> tenant.issuer
    'https://example.eu.auth0.com/'
    >>> Tenant("http://127.0.0.1:8765", "tutorial-app").jwks_url
    'http://127.0.0.1:8765/.well-known/jwks.json'

    Raises ``ValueError`` for a domain that is not a bare host or a scheme://host[:port] URL,
    for plain ``http://`` to anything but this machine, and for a ``ca_bundle`` that cannot be
    read.
    """

    domain: str
    client_id: str
    connection: str = DEFAULT_CONNECTION
    audience: str | None = None
    scope: str = DEFAULT_SCOPE
    #: Allow plain http to another machine: only for a workshop's shared tenant on a LAN.
    allow_insecure_http: bool = False
    #: Seconds an unused session lasts: the tenant's refresh-token inactivity lifetime (Auth0
    #: dashboard: Refresh Token Expiration > Inactivity Lifetime). The API does not say it, so
    #: it is configured (``AUTH0_REFRESH_TOKEN_IDLE_LIFETIME``); the local tenant publishes its
    #: own. None: unknown.
    refresh_token_idle_lifetime: float | None = field(default=None, compare=False)
    #: A PEM file of certificate authorities to trust for this tenant too (a private CA),
    #: besides those trusted by default; None trusts the default ones only.
    ca_bundle: str | None = None
    #: The clock to read this tenant's tokens by: real time, except for the local tenant,
    #: whose clock a teacher can move forward (``Tenant.local()`` follows it).
    clock: Callable[[], float] = field(default=time.time, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ValueError("Tenant needs a client_id: your Auth0 application's Client ID.")
        self.base_url  # noqa: B018  -- validate the domain now rather than at the first request
        if self.ca_bundle is not None:
            object.__setattr__(self, "ca_bundle", os.fspath(self.ca_bundle))
            self.ssl_context  # noqa: B018  -- a bundle that cannot be read fails here, clearly

    @property
    def ssl_context(self) -> ssl.SSLContext:
        """How every request to this tenant checks certificates: httpx's default trust store,
        plus the CAs in ``ca_bundle`` (added to it, not replacing it). A plain-http tenant
        without a bundle has no certificates to check: its clients get a context that trusts
        no CA, which costs nothing to build (see _plain_http_context)."""
        if self.ca_bundle is None and self.base_url.startswith("http://"):
            return _plain_http_context()
        return _ssl_context(self.ca_bundle)

    @cached_property
    def base_url(self) -> str:
        """``scheme://host[:port]``, no trailing slash; ``https`` when the domain has no scheme."""
        raw = self.domain.strip()
        if not raw:
            raise ValueError("Tenant needs a domain, e.g. 'your-tenant.eu.auth0.com'.")
        parts = urlsplit(raw if "://" in raw else f"https://{raw}")
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError(f"Tenant domain {self.domain!r} is not a host name or an http(s) URL.")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ValueError(
                f"Tenant domain {self.domain!r} has a path; give only the host, "
                "e.g. 'your-tenant.eu.auth0.com' or 'http://127.0.0.1:8765'."
            )
        insecure = parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS
        if insecure and not self.allow_insecure_http:
            raise ValueError(
                f"Refusing plain http to {parts.hostname}: passwords and tokens would travel "
                "unencrypted. Use https, or http only for 127.0.0.1 / localhost (for a "
                "workshop's shared tenant on a trusted network, set AUTH0_ALLOW_HTTP=1)."
            )
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def host(self) -> str:
        """The host (and port, if any), e.g. ``example.eu.auth0.com`` or ``127.0.0.1:8765``."""
        return urlsplit(self.base_url).netloc

    @property
    def issuer(self) -> str:
        """The ``iss`` of this tenant's ID tokens: the base URL with a trailing slash."""
        return f"{self.base_url}/"

    @property
    def token_url(self) -> str:
        """``POST /oauth/token``: every grant (password-realm, refresh_token, device_code)."""
        return f"{self.base_url}/oauth/token"

    @property
    def device_code_url(self) -> str:
        """``POST /oauth/device/code``: starts the Device Authorization Flow."""
        return f"{self.base_url}/oauth/device/code"

    @property
    def userinfo_url(self) -> str:
        """``GET /userinfo``: the user's profile for an access token."""
        return f"{self.base_url}/userinfo"

    @property
    def revoke_url(self) -> str:
        """``POST /oauth/revoke``: revokes a refresh token."""
        return f"{self.base_url}/oauth/revoke"

    @property
    def logout_endpoint(self) -> str:
        """``GET /v2/logout``: ends the browser session at the tenant."""
        return f"{self.base_url}/v2/logout"

    @property
    def jwks_url(self) -> str:
        """``GET /.well-known/jwks.json``: the public keys that sign ID tokens."""
        return f"{self.base_url}/.well-known/jwks.json"

    @property
    def openid_configuration_url(self) -> str:
        """``GET /.well-known/openid-configuration``: the tenant's OIDC discovery document."""
        return f"{self.base_url}/.well-known/openid-configuration"

    @property
    def account(self) -> str:
        """A keychain account name for this tenant and app, e.g. ``127.0.0.1:8765/tutorial-app``."""
        return f"{self.host}/{self.client_id}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Tenant:
        """Read ``AUTH0_DOMAIN``, ``AUTH0_CLIENT_ID``, optional ``AUTH0_AUDIENCE``/``_CONNECTION``.

        ``AUTH0_ALLOW_HTTP=1`` permits plain http to another machine (a workshop's shared
        tenant); never use it with a real tenant. ``AUTH0_CA_BUNDLE=/path/ca.pem`` trusts a
        private certificate authority for this tenant, besides the default ones.

        >>> Tenant.from_env({"AUTH0_DOMAIN": "x.auth0.com", "AUTH0_CLIENT_ID": "abc"}).issuer
        'https://x.auth0.com/'

        Raises ``ValueError`` naming the missing variables.
        """
        env = os.environ if environ is None else environ
        missing = [name for name in ("AUTH0_DOMAIN", "AUTH0_CLIENT_ID") if not env.get(name)]
        if missing:
            raise ValueError(
                f"Set {' and '.join(missing)} (from your Auth0 application's settings page), "
                "or use Tenant.local() for the tutorial's local tenant."
            )
        return cls(
            domain=env["AUTH0_DOMAIN"],
            client_id=env["AUTH0_CLIENT_ID"],
            connection=env.get("AUTH0_CONNECTION") or DEFAULT_CONNECTION,
            audience=env.get("AUTH0_AUDIENCE") or None,
            allow_insecure_http=env.get("AUTH0_ALLOW_HTTP") == "1",
            refresh_token_idle_lifetime=_seconds(env, "AUTH0_REFRESH_TOKEN_IDLE_LIFETIME"),
            ca_bundle=env.get("AUTH0_CA_BUNDLE") or None,
        )

    @classmethod
    def local(cls, client_id: str = LOCAL_CLIENT_ID) -> Tenant:
        """The tutorial's local tenant, started in the background if it is not running yet.

        >>> Tenant.local().issuer  # doctest: +SKIP
        'http://127.0.0.1:8941/'
        """
        # Imported here so that using a real Auth0 tenant never loads the provider (Starlette).
        from session_tutorial.provider.background import ensure_running
        from session_tutorial.provider.config import default_data_dir
        from session_tutorial.provider.control import SyncedClock

        data_dir = default_data_dir()
        url = ensure_running(data_dir)
        return cls(
            domain=url,
            client_id=client_id,
            clock=SyncedClock.following(data_dir),
            refresh_token_idle_lifetime=published_idle_lifetime(data_dir),
        )


def published_idle_lifetime(data_dir: Path) -> float | None:
    """The inactivity lifetime the local tenant running for ``data_dir`` publishes, or None."""
    from session_tutorial.provider.config import STATE_FILE

    try:
        idle = json.loads((data_dir / STATE_FILE).read_text())["refresh_token_idle_lifetime"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not running, stopping right now, or of an earlier version
    return float(idle) if isinstance(idle, (int, float)) and not isinstance(idle, bool) else None


def _seconds(env: Mapping[str, str], name: str) -> float | None:
    """A number of seconds from the environment, None when unset; ValueError when not one."""
    value = env.get(name)
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise ValueError(f"{name} must be a number of seconds, e.g. 1296000 for 15 days: {value!r}")
    return seconds
