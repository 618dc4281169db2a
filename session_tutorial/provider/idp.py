"""The identity provider: the tenant's parts put together, and the grants that use them.

Endpoints (in :mod:`.endpoints`) parse HTTP; this module decides. Every method here is plain
synchronous Python, so tests can call it without a server.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from . import keyfiles
from .access import AccessTokens
from .authcodes import AuthorizationCodes
from .browser_sessions import BrowserSessions
from .clock import TenantClock
from .config import CLOCK_FILE, DEMO_USERS, TenantConfig
from .device import DeviceCodes, DeviceGrant
from .errors import AccessDenied, InvalidGrant, InvalidRequest, UnknownClient
from .keys import SigningKey, load_or_create
from .ratelimit import FailureWindow
from .redirects import Callback, classify
from .refresh import Family, RefreshTokens
from .storage import Database
from .tokens import TokenMinter, Unsigned
from .users import User, Users

SUPPORTED_SCOPES = ("openid", "profile", "email", "offline_access")


def grantable(scope: str | None) -> str:
    """Keep the scopes this tenant knows, in a stable order; Auth0 drops unknown ones too."""
    asked = (scope or "").split()
    return " ".join(s for s in SUPPORTED_SCOPES if s in asked)


class IdentityProvider:
    """One tenant: its config, database, key, clock, users and tokens."""

    def __init__(self, config: TenantConfig, *, base_clock: Callable[[], float] | None = None):
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        keyfiles.secure_data_dir(config.data_dir)  # before trusting any file in it
        keyfiles.touch_private(config.data_dir / "tenant.sqlite3")  # SQLite's -wal, -shm follow
        self.db = Database(config.data_dir / "tenant.sqlite3")
        self.key: SigningKey = load_or_create(config.data_dir / "signing-key.pem")
        self.clock = TenantClock(
            self.db, base_clock or time.time, published=config.data_dir / CLOCK_FILE
        )
        self.users = Users(self.db, config.max_failed_logins)
        self.refresh_tokens = RefreshTokens(
            self.db,
            leeway=config.refresh_leeway,
            lifetime=config.refresh_token_lifetime,
            idle_lifetime=config.refresh_token_idle_lifetime,
            secret=keyfiles.read_or_create(
                config.data_dir / "refresh-secret.key",
                lambda: secrets.token_bytes(32),
                lambda data: len(data) >= 32,
            ),
        )
        self.devices = DeviceCodes(
            self.db, ttl=config.device_code_ttl, interval=config.device_interval
        )
        self.codes = AuthorizationCodes(self.db, ttl=config.authorization_code_ttl)
        self.browser_sessions = BrowserSessions(self.db, lifetime=config.browser_session_lifetime)
        self.minter = TokenMinter(config, self.key)
        self.code_guesses = FailureWindow(
            config.max_user_code_guesses, config.user_code_guess_window
        )
        self.access_tokens = AccessTokens(self.db, ttl=config.access_token_ttl)
        for email, password, name in DEMO_USERS:
            self.users.ensure(email, password, name, self.clock.now())

    def knows_audience(self, audience: str | None) -> bool:
        """Whether access tokens may be minted for ``audience`` (None: the default, /userinfo)."""
        return not audience or audience in self.config.audiences

    def check_audience(self, audience: str | None) -> str | None:
        """``audience`` if known (None for /userinfo itself); else AccessDenied, as Auth0 says."""
        if not self.knows_audience(audience):
            raise AccessDenied(f"Service not found: {str(audience)[:200]}")
        return None if audience == self.config.userinfo_audience else audience or None

    def check_client(self, client_id: str | None) -> str:
        if not client_id:
            raise InvalidRequest("Missing required parameter: client_id")
        if client_id != self.config.client_id:
            raise UnknownClient()
        return client_id

    def check_redirect(self, redirect_uri: str | None) -> Callback | None:
        """Whether the tenant may send a browser to ``redirect_uri``, and of which kind."""
        return classify(redirect_uri or "", self.config.redirect_uris)

    # -- grants -------------------------------------------------------------------------------
    def password_grant(
        self,
        username: str,
        password: str,
        scope: str | None,
        audience: str | None,
        realm: str | None = None,
        source: str = "",
    ) -> dict[str, Any]:
        """The password and password-realm grants (Auth0: Resource Owner Password).

        ``source`` (the client's address) is what brute-force protection counts per user.
        """
        if realm is not None and realm != self.config.connection:
            raise InvalidRequest(f"Unknown realm: {realm}. Use {self.config.connection}.")
        audience = self.check_audience(audience)
        user = self.users.authenticate(username, password, source)
        return self._issue(user, grantable(scope), audience, "password")

    def refresh_grant(self, token: str, scope: str | None) -> dict[str, Any]:
        """Exchange a refresh token for new tokens, rotating it (Auth0: Refresh Token Rotation)."""
        now = self.clock.now()
        # One transaction, one commit: the rotation and the access token issued with it. A
        # family revoked for reuse or expiry stays revoked (InvalidGrant commits).
        with self.db.transaction(commit_despite=(InvalidGrant,)):
            family, successor, granted = self.refresh_tokens.rotate(
                token, self.config.client_id, now, scope
            )
            user = self._user(family.user_id)
            return self._response(
                user, granted, family.audience, "refresh_token", family, successor
            )

    def device_grant(self, device_code: str) -> dict[str, Any]:
        """Poll for a device code (RFC 8628 3.4)."""
        approved = self.devices.poll(device_code, self.config.client_id, self.clock.now())
        user = self._user(approved.user_id)
        return self._issue(user, approved.scope, approved.audience, "device_code")

    def authorization_code_grant(
        self, code: str, redirect_uri: str | None, verifier: str
    ) -> dict[str, Any]:
        """Exchange a code and its PKCE verifier for tokens (RFC 6749 4.1.3, RFC 7636 4.6)."""
        grant = self.codes.redeem(
            code, self.config.client_id, redirect_uri, verifier, self.clock.now()
        )
        user = self._user(grant.user_id)
        claims: dict[str, Any] = {"auth_time": int(grant.auth_time)}
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce  # OIDC Core 3.1.3.6: the client compares it
        family = successor = None
        if "offline_access" in grant.scope.split():
            family, successor = self.refresh_tokens.start_family(
                user.id, self.config.client_id, grant.scope, grant.audience, self.clock.now()
            )
            self.codes.attach_family(grant, family.id, self.clock.now())
        return self._response(
            user, grant.scope, grant.audience, "authorization_code", family, successor, claims
        )

    def start_device_login(self, scope: str | None, audience: str | None) -> DeviceGrant:
        return self.devices.issue(
            self.config.client_id, grantable(scope), self.check_audience(audience), self.clock.now()
        )

    # -- helpers ------------------------------------------------------------------------------
    def _user(self, user_id: str) -> User:
        user = self.users.by_id(user_id)
        if user is None:
            raise InvalidGrant("The user no longer exists.")
        return user

    def _issue(self, user: User, scope: str, audience: str | None, grant: str) -> dict[str, Any]:
        family = successor = None
        if "offline_access" in scope.split():
            family, successor = self.refresh_tokens.start_family(
                user.id, self.config.client_id, scope, audience, self.clock.now()
            )
        return self._response(user, scope, audience, grant, family, successor)

    def _response(
        self,
        user: User,
        scope: str,
        audience: str | None,
        grant: str,
        family: Family | None,
        refresh_token: str | None,
        id_claims: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        now = self.clock.now()
        body: dict[str, Any] = {
            "access_token": self._access_token(user, scope, audience, now, grant)
        }
        if "openid" in scope.split():
            sid = family.id if family else user.id
            body["id_token"] = self.minter.id_token(user, now, sid, scope, id_claims)
        if refresh_token and "offline_access" in scope.split():
            body["refresh_token"] = refresh_token
        body.update(
            {"scope": scope, "expires_in": self.config.access_token_ttl, "token_type": "Bearer"}
        )
        return body

    def _access_token(
        self, user: User, scope: str, audience: str | None, now: float, grant: str
    ) -> str | Unsigned:
        """Opaque for the tenant's own /userinfo (as Auth0), a JWT only for an API audience."""
        if audience and audience != self.config.userinfo_audience:
            return self.minter.access_token(user, scope, audience, now, grant)
        return self.access_tokens.issue(user.id, scope, now)

    def userinfo(self, access_token: str) -> dict[str, Any]:
        now = self.clock.now()
        if access_token.count(".") == 2:  # a JWT access token, issued for an API audience
            claims = self.minter.verify_access_token(access_token, now)
            user_id, scope = claims["sub"].removeprefix("auth0|"), claims.get("scope", "")
        else:
            user_id, scope = self.access_tokens.lookup(access_token, now)
        user = self.users.by_id(user_id)
        if user is None:
            raise InvalidGrant("The user no longer exists.")
        profile = user.claims()
        scopes = scope.split()
        keep = {"sub"}
        if "profile" in scopes:
            keep |= {"name", "nickname", "updated_at"}
        if "email" in scopes:
            keep |= {"email", "email_verified"}
        return {k: v for k, v in profile.items() if k in keep}

    def close(self) -> None:
        self.db.close()
