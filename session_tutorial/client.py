"""Auth0's Authentication API over httpx: login, device login, refresh, userinfo, revoke.

Every request has a timeout and checks certificates with ``tenant.ssl_context`` (the default
trust store plus the tenant's ``ca_bundle``). httpx's exceptions become this package's errors in
``_network_error`` and the tenant's OAuth error answers in ``_error_from_response``: nowhere else.
Whatever they quote of a foreign text goes through ``sanitize.excerpt`` with the secrets of the
request, so no message carries a token, a password or a stack trace.
"""

from __future__ import annotations

import email.utils
import re
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

import httpx

from session_tutorial.commands import tenant_command
from session_tutorial.credentials import Credentials
from session_tutorial.errors import (
    AccessDenied,
    AccessTokenRejected,
    AccountBlocked,
    AuthError,
    DeviceCodeExpired,
    NetworkError,
    RateLimited,
    RefreshTokenRejected,
    ServerError,
    SessionError,
    TLSCertificateError,
    UnexpectedResponse,
    WrongCredentials,
)
from session_tutorial.sanitize import excerpt, scrub
from session_tutorial.tenant import Tenant

if TYPE_CHECKING:
    from session_tutorial.idtoken import JwksCache
    from session_tutorial.pkce import AuthorizationRequest

PASSWORD_REALM_GRANT = "http://auth0.com/oauth/grant-type/password-realm"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SLOW_DOWN_STEP = 5.0  # RFC 8628 section 3.5: add 5 seconds to the interval on slow_down
#: Form fields whose values are secrets: never quoted in a message, whatever comes back.
SECRET_FIELDS = frozenset(
    {"password", "refresh_token", "token", "device_code", "code", "code_verifier", "client_secret"}
)
# RFC 6750 section 2.1: the characters a bearer token may hold in an Authorization header.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# RFC 6749 appendix A (refresh-token, device_code): printable ASCII.
_VSCHAR = re.compile(r"[\x20-\x7e]+")

Clock = Callable[[], float]
During = Literal["login", "refresh", "device", "code", "userinfo", "revoke", "jwks"]


@dataclass(frozen=True)
class DeviceLogin:
    """A started device login: show ``user_code`` and ``verification_uri``, then poll.

    >>> device = client.start_device_login()  # doctest: +SKIP
    >>> print(f"Open {device.verification_uri} and enter {device.user_code}")  # doctest: +SKIP
    >>> credentials = client.poll_device_login(device)  # doctest: +SKIP
    """

    device_code: str = field(repr=False)  # lets its holder collect the tokens: never shown
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    interval: float
    expires_at: float


class AuthClient:
    """A client of one tenant's Authentication API; pass ``transport=`` to test without sockets.

    >>> client = AuthClient(Tenant.local())  # doctest: +SKIP
    >>> credentials = client.login("ada@example.com", "Analytical-Engine-1843")  # doctest: +SKIP
    >>> client.userinfo(credentials.access_token)["name"]  # doctest: +SKIP
    'Ada Lovelace'

    Raises ``NetworkError`` when the tenant cannot be reached and an ``AuthError`` subclass when it
    answers with an error (``WrongCredentials``, ``RefreshTokenRejected``, ``RateLimited``...).
    """

    def __init__(
        self,
        tenant: Tenant,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        self.tenant = tenant
        self.clock = clock or tenant.clock
        self.timeout = timeout
        self._http = httpx.Client(transport=transport, timeout=timeout, verify=tenant.ssl_context)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> AuthClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def login(self, username: str, password: str) -> Credentials:
        """Sign in with email and password (Auth0's password-realm grant)."""
        if not (_utf8(username) and _utf8(password)):
            raise WrongCredentials(
                "The email or the password holds a character that cannot be sent (an unpaired "
                "surrogate, from a broken copy and paste?): check both and try again."
            )
        return self._token(
            {
                "grant_type": PASSWORD_REALM_GRANT,
                "username": username,
                "password": password,
                "realm": self.tenant.connection,
                **self._scope_and_audience(),
            },
            during="login",
        )

    def refresh(self, refresh_token: str) -> Credentials:
        """Exchange a refresh token for new tokens; under rotation the old one stops working.

        Raises ``RefreshTokenRejected`` when the tenant refuses it, or when it holds a character
        no refresh token has (a damaged entry): nothing is sent then.
        """
        if not _VSCHAR.fullmatch(refresh_token):
            raise RefreshTokenRejected(
                f"The refresh token ({len(refresh_token)} characters) holds characters no "
                "refresh token has (RFC 6749), so it was not sent: it is damaged. Sign in again."
            )
        return self._token(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}, during="refresh"
        )

    def start_device_login(self) -> DeviceLogin:
        """Start the Device Authorization Flow (RFC 8628) for a device without a browser."""
        now = self.clock()
        body = self._json(
            self._post(self.tenant.device_code_url, self._scope_and_audience(), during="device")
        )
        if not _VSCHAR.fullmatch(str(body.get("device_code", ""))):
            raise UnexpectedResponse("The device code answer has no usable device_code.")
        try:
            return DeviceLogin(
                device_code=str(body["device_code"]),
                user_code=str(body["user_code"]),
                verification_uri=str(body["verification_uri"]),
                verification_uri_complete=body.get("verification_uri_complete"),
                interval=float(body.get("interval", 5)),
                expires_at=now + float(body["expires_in"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UnexpectedResponse(f"The device code answer lacks a field: {exc}") from exc

    def poll_device_login(
        self,
        device: DeviceLogin,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Credentials:
        """Wait for the user to approve ``device``, polling at the interval the tenant asks for.

        Keeps polling on ``authorization_pending``, adds 5 s to the interval on ``slow_down``;
        raises ``DeviceCodeExpired`` once the code expires and ``AccessDenied`` if the user
        presses Deny on the verification page. Pass ``clock`` and ``sleep`` to run it without
        waiting.
        """
        clock = clock or self.clock
        interval = device.interval
        while True:
            if clock() >= device.expires_at:
                raise DeviceCodeExpired(
                    "The device code expired before it was approved: start a new device login.",
                    error="expired_token",
                )
            sleep(interval)
            try:
                credentials = self.check_device_login(device)
            except AuthError as exc:
                if exc.error != "slow_down":
                    raise
                interval += SLOW_DOWN_STEP
                continue
            if credentials is not None:
                return credentials

    def check_device_login(self, device: DeviceLogin) -> Credentials | None:
        """Poll once: the credentials once approved, None while the user has not decided.

        Raises ``RateLimited`` with ``error == "slow_down"`` when polled too fast (wait 5 s
        longer each time), ``DeviceCodeExpired``, or ``AccessDenied`` if the user refused.
        """
        form = {"grant_type": DEVICE_CODE_GRANT, "device_code": device.device_code}
        try:
            return self._token(form, during="device")
        except AuthError as exc:
            if exc.error == "authorization_pending":
                return None
            raise

    def authorization_request(self, redirect_uri: str, **options: Any) -> AuthorizationRequest:
        """A new ``/authorize`` URL with a fresh verifier, state and nonce (see ``pkce``)."""
        from session_tutorial.pkce import authorization_request

        return authorization_request(self.tenant, redirect_uri, **options)

    def exchange_code(
        self, request: AuthorizationRequest, code: str, *, jwks: JwksCache | None = None
    ) -> Credentials:
        """Trade a callback's code for tokens with the request's verifier; the nonce is checked."""
        from session_tutorial.pkce import exchange_code

        return exchange_code(self, request, code, jwks=jwks)

    def userinfo(self, access_token: str) -> dict[str, Any]:
        """The user's profile (``sub``, ``name``, ``email``...) from ``GET /userinfo``.

        Raises ``AccessTokenRejected`` when the tenant refuses the token, or when it holds a
        character no bearer token has (a damaged entry): nothing is sent then.
        """
        if not _B64TOKEN.fullmatch(access_token):
            raise AccessTokenRejected(
                f"The access token ({len(access_token)} characters) holds characters no access "
                "token has (RFC 6750), so it was not sent: it is damaged. Renew it, or sign in "
                "again."
            )
        headers = {"Authorization": f"Bearer {access_token}"}
        return self._json(
            self._send("GET", self.tenant.userinfo_url, during="userinfo", headers=headers)
        )

    def revoke(self, refresh_token: str) -> None:
        """Revoke a refresh token at the tenant (``POST /oauth/revoke``).

        A token with characters no refresh token has (a damaged entry) is not sent: no tenant
        issued it, so there is nothing to revoke.
        """
        if not _VSCHAR.fullmatch(refresh_token):
            return
        self._post(self.tenant.revoke_url, {"token": refresh_token}, during="revoke")

    def logout_url(self, return_to: str | None = None) -> str:
        """The ``/v2/logout`` URL that ends the browser session at the tenant."""
        params = {"client_id": self.tenant.client_id}
        if return_to is not None:
            params["returnTo"] = return_to
        return f"{self.tenant.logout_endpoint}?{urlencode(params)}"

    def jwks(self) -> dict[str, Any]:
        """The tenant's JSON Web Key Set, the public keys that sign ID tokens."""
        return self._json(self._send("GET", self.tenant.jwks_url, during="jwks"))

    def _scope_and_audience(self) -> dict[str, str]:
        form = {"scope": self.tenant.scope}
        if self.tenant.audience:
            form["audience"] = self.tenant.audience
        return form

    def _token(self, form: dict[str, str], *, during: During) -> Credentials:
        # The clock is read before sending, so expires_at errs on the early side.
        now = self.clock()
        body = self._json(self._post(self.tenant.token_url, form, during=during))
        return Credentials.from_token_response(body, now=now)

    def _post(self, url: str, form: dict[str, str], *, during: During) -> httpx.Response:
        data = {"client_id": self.tenant.client_id, **form}
        return self._send("POST", url, during=during, data=data)

    def _send(
        self,
        method: str,
        url: str,
        *,
        during: During,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        secrets = [v for k, v in (data or {}).items() if k in SECRET_FIELDS]
        if headers and "Authorization" in headers:
            secrets += [headers["Authorization"], headers["Authorization"].partition(" ")[2]]
        try:
            response = self._http.request(method, url, data=data, headers=headers)
        except httpx.HTTPError as exc:
            raise _network_error(exc, self.tenant, self.timeout, secrets) from exc
        if response.is_success:
            return response
        raise _error_from_response(response, during=during, now=self.clock(), secrets=secrets)

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        body = _json_object(response)
        if body is None:
            raise UnexpectedResponse(
                f"{response.request.url} answered {response.status_code} without a JSON object "
                f"{_quote(response, ())}: check that the domain points at an Auth0 tenant.",
                status_code=response.status_code,
            )
        return body


def _network_error(
    exc: httpx.HTTPError, tenant: Tenant, timeout: float, secrets: list[str]
) -> SessionError:
    """Translate any httpx exception into this package's errors (the only place that does)."""
    # Only a connection that was never made proves the tenant never saw the request; after
    # that, a timeout or a reset may have come after the tenant acted (rotated a token).
    never_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
    certificate = _certificate_failure(exc)
    if certificate is not None:
        return _untrusted(tenant, certificate)
    said = excerpt(str(exc), secrets)
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(
            f"{tenant.base_url} did not answer within {timeout:g} s ({type(exc).__name__}). "
            "Check your connection and try again; your stored credentials are kept.",
            may_have_reached=not never_sent,
        )
    if isinstance(exc, httpx.TransportError):
        hint = (
            f" Start the local tenant with `{tenant_command('start')}` "
            "(or `make tenant-start` in a checkout of this repository)."
            if _is_local(tenant.base_url)
            else ""
        )
        return NetworkError(
            f"Could not reach {tenant.base_url}: {type(exc).__name__}: {said}. Check the network "
            f"and try again; your stored credentials are kept.{hint}",
            may_have_reached=not never_sent,
        )
    return UnexpectedResponse(f"The exchange with {tenant.base_url} failed: {said}")


def _certificate_failure(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    """The certificate check that made ``exc`` happen, if one did (httpx chains httpcore's
    error, which chains the ssl module's)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def _untrusted(tenant: Tenant, exc: ssl.SSLCertVerificationError) -> TLSCertificateError:
    why = excerpt(str(exc.verify_message or exc.reason or exc))
    if tenant.ca_bundle is not None:
        fix = (
            f"It is not signed by a default CA nor by the CA bundle {tenant.ca_bundle!r}: check "
            "that the bundle holds the certificate of the CA that issued the tenant's, and "
            f"that the certificate names {tenant.host}."
        )
    else:
        fix = (
            "If the tenant uses a private certificate authority, trust it for this tenant "
            "only, besides the default ones: set AUTH0_CA_BUNDLE=/path/to/ca.pem (or pass "
            "Tenant(..., ca_bundle='/path/to/ca.pem'))."
        )
    return TLSCertificateError(
        f"The TLS certificate of {tenant.host} was not accepted ({why}), so nothing was sent. "
        f"Trying again will not help. {fix} Your stored credentials are kept.",
        may_have_reached=False,  # the handshake failed before any request was sent
    )


def _error_from_response(
    response: httpx.Response, *, during: During, now: float, secrets: list[str]
) -> AuthError:
    """Translate an error answer (Auth0's ``{"error", "error_description"}``) into an AuthError.

    Only string fields count: a non-string ``error`` makes the answer one without an OAuth
    error, quoted as a short excerpt of what the server said.
    """
    body = _json_object(response) or {}
    error = _text_field(body, "error", secrets)
    description = _text_field(body, "error_description", secrets) or _text_field(
        body, "message", secrets
    )
    status = response.status_code
    fields: dict[str, Any] = {"error": error, "status_code": status, "description": description}
    if error:
        said = f"(the tenant said {status} {excerpt(error, limit=60)}: {excerpt(description)})"
    else:
        said = f"(the server answered {status} {_quote(response, secrets)})"
    local = _is_local(response.request.url)

    # Brute-force protection answers 429 too_many_attempts; a user blocked in the Dashboard gets
    # e.g. 401 unauthorized "user is blocked". A 5xx or rate limit that says "blocked" is neither.
    blocked = 400 <= status < 500 and status != 429 and "blocked" in description.lower()
    if error == "too_many_attempts" or blocked:
        unblock = (
            f"on this local tenant, run `{tenant_command('unblock', 'EMAIL')}`"
            if local
            else "an administrator can unblock it in the Auth0 Dashboard (User Management › Users)"
        )
        return AccountBlocked(
            f"The account is blocked {said}. Waiting does not help: {unblock}.", **fields
        )
    if error == "access_denied" and 400 <= status < 500:
        if during == "device":
            return AccessDenied(
                f"The user refused the request {said}: the device login was denied. Start a new "
                "device login to try again.",
                **fields,
            )
        # Auth0 also answers an unknown client_id with 401 access_denied "Unauthorized".
        return AccessDenied(
            f"The tenant refused the request {said}: check that the client ID names an "
            "application of this tenant (AUTH0_CLIENT_ID).",
            **fields,
        )
    if status == 429 or error == "slow_down":
        retry_after = _retry_after(response.headers, now)
        when = f"in {retry_after:g} s" if retry_after is not None else "later"
        message = f"Rate limited {said}: try again {when}."
        return RateLimited(message, retry_after=retry_after, **fields)
    if status >= 500:
        return ServerError(f"The tenant failed {said}. Nothing was lost; retry later.", **fields)
    if error == "invalid_grant" and during == "login":
        message = "Wrong email or password"
        if _words(description) == _words(message):
            return WrongCredentials(f"{message}. Check both and try again.", **fields)
        return WrongCredentials(f"{message} {said}. Check both and try again.", **fields)
    if error == "invalid_grant" and during == "refresh":
        return RefreshTokenRejected(
            f"The refresh token was rejected {said}: it was revoked, rotated away or has "
            "expired. Sign in again.",
            **fields,
        )
    if error == "expired_token":
        return DeviceCodeExpired(f"The device code expired {said}: start again.", **fields)
    if status == 401 and during == "userinfo":
        return AccessTokenRejected(f"The access token was refused {said}: renew it.", **fields)
    if not error:
        return UnexpectedResponse(
            f"{response.request.url} answered {status} without an OAuth error {said}: check "
            "that the domain points at an Auth0 tenant.",
            **fields,
        )
    return AuthError(f"The tenant refused the request {said}.", **fields)


def _utf8(text: str) -> bool:
    """Whether ``text`` can be sent in a form (a lone surrogate cannot be encoded)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_local(url: httpx.URL | str) -> bool:
    """Whether ``url`` points at this machine, where the local tenant and its CLI run."""
    return httpx.URL(url).host in ("127.0.0.1", "localhost", "::1")


def _words(text: str) -> str:
    """``text`` lowercased, without punctuation: to tell whether two messages say the same."""
    return " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def _retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds to wait, from ``Retry-After`` (seconds or date) or Auth0's ``X-RateLimit-Reset``."""
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = headers.get("x-ratelimit-reset")  # an absolute Unix time in seconds
    if reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            pass
    return None


def _text_field(body: Mapping[str, Any], name: str, secrets: list[str]) -> str:
    """A string field of an error answer, with the request's secrets and any token redacted."""
    value = body.get(name)
    return scrub(value, secrets) if isinstance(value, str) else ""


def _quote(response: httpx.Response, secrets: Iterable[str]) -> str:
    """What the server said, as a short sanitised quote, e.g. ``saying "502 Bad Gateway"``."""
    try:
        text = excerpt(response.text, secrets)
    except (UnicodeDecodeError, LookupError):  # an unknown or lying charset
        text = ""
    return f'saying "{text}"' if text else "with no text"


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
