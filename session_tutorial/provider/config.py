"""The local tenant's settings: who it is, where it keeps its state, how long tokens live."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

CLIENT_ID = "tutorial-app"
CONNECTION = "Username-Password-Authentication"
DEFAULT_PORT = 8941
CLOCK_FILE = "clock.json"  # the clock's offset, published for clients on this machine
STATE_FILE = "server.json"  # where a running tenant says its URL, pid and settings
DEMO_USERS = (
    ("ada@example.com", "Analytical-Engine-1843", "Ada Lovelace"),
    ("alan@example.com", "Turing-Machine-1936", "Alan Turing"),
)


def default_data_dir() -> Path:
    """``$SESSION_TUTORIAL_TENANT_DIR``, else the user's data dir from platformdirs."""
    env = os.environ.get("SESSION_TUTORIAL_TENANT_DIR")
    if env:
        return Path(env)
    import platformdirs  # here: a tenant given its folder (as start gives it) never loads it

    return Path(platformdirs.user_data_dir("session-tutorial", appauthor=False)) / "tenant"


@dataclass(frozen=True)
class TenantConfig:
    """How one local tenant runs. ``issuer`` ends with a slash, as Auth0's does."""

    issuer: str
    data_dir: Path = field(default_factory=default_data_dir)
    client_id: str = CLIENT_ID
    connection: str = CONNECTION
    access_token_ttl: int = 3600  # seconds; short enough to watch expire in notebook 03
    id_token_ttl: int = 36000  # Auth0's default: 10 hours
    # A refresh-token family ends 30 days after its sign-in (absolute, never extended) or 15
    # days after its last exchange (idle, started again at each one): Auth0's defaults.
    refresh_token_lifetime: int = 30 * 24 * 3600
    refresh_token_idle_lifetime: int = 15 * 24 * 3600
    # Seconds during which the immediately previous refresh token may be used again (Auth0's
    # "Rotation Overlap Period", formerly "Reuse Interval", whose default is 0). It covers an
    # answer lost between tenant and keychain (a client killed before its keychain write, a
    # connection dropped after the tenant rotated): without it, the next launch replays the
    # previous token and reuse detection signs the user out. A replay gets the same successor
    # as the first exchange. 0 turns it off (strict reuse detection, Auth0's default); see
    # README "Refresh-token leeway".
    refresh_leeway: int = 10
    device_code_ttl: int = 900
    device_interval: int = 5
    max_failed_logins: int = 10  # per user and source: Auth0's brute-force protection default
    max_user_code_guesses: int = 10  # wrong codes at /activate per source ...
    user_code_guess_window: int = 600  # ... within these seconds, then 429 until they age out
    teaching: bool = True  # the /_teaching controls; off imitates a real Auth0 tenant
    public_url: str | None = None  # where a browser reaches the tenant, if not the issuer
    # The APIs (audiences) access tokens may be minted for, besides the tenant's own /userinfo;
    # any other audience is refused, as Auth0 refuses an API it does not know.
    apis: tuple[str, ...] = ()
    # Seconds a client has to send a whole request's headers, and then its body; beyond
    # max_connections at once, new requests get 503 (uvicorn's limit_concurrency).
    request_timeout: float = 10.0
    max_connections: int = 1000
    # The application's "Allowed Callback URLs", matched exactly; loopback callbacks
    # (http://127.0.0.1:{any port}/..., http://[::1]:{any port}/...) need no entry (RFC 8252 7.3).
    redirect_uris: tuple[str, ...] = ()
    # Auth0's confirmation for non-verifiable (loopback) callbacks when single sign-on would
    # otherwise answer without the user (docs: secure/security-guidance/
    # measures-against-app-impersonation). On by default, as on new Auth0 tenants.
    confirm_loopback: bool = True
    authorization_code_ttl: int = 300  # seconds; RFC 6749 4.1.2 recommends at most 10 minutes
    browser_session_lifetime: int = 7 * 24 * 3600  # the tenant's login session, Auth0's 7 days

    def __post_init__(self) -> None:
        if not self.issuer.endswith("/"):
            object.__setattr__(self, "issuer", self.issuer + "/")

    @property
    def browser_url(self) -> str:
        """The base URL a person's browser uses (differs from the issuer behind a proxy)."""
        url = self.public_url or self.issuer
        return url if url.endswith("/") else url + "/"

    @property
    def userinfo_audience(self) -> str:
        return self.issuer + "userinfo"

    @property
    def audiences(self) -> frozenset[str]:
        """Every audience the tenant mints access tokens for."""
        return frozenset((self.userinfo_audience, *self.apis))
