"""OAuth errors as classes whose attributes are the wire format.

Each class renders as Auth0's error body, ``{"error": ..., "error_description": ...}``, with
the status code Auth0 uses (docs: Authentication API, "Standard Error Responses"; RFC 6749
section 5.2). One handler in :mod:`.app` turns them into responses.
"""

from __future__ import annotations

from .responses import JSONResponse


class OAuthError(Exception):
    """Base class: an error the tenant reports to the client in Auth0's JSON shape."""

    error = "server_error"
    status_code = 500
    description = "Something went wrong on the tenant."

    def __init__(self, description: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(description or self.description)
        self.description = description or self.description
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body = {"error": self.error, "error_description": self.description}
        return JSONResponse(body, status_code=self.status_code, headers=self.headers)


class InvalidRequest(OAuthError):
    """RFC 6749 5.2: a missing, repeated or malformed parameter."""

    error, status_code = "invalid_request", 400
    description = "The request is missing a parameter or is malformed."


class UnsupportedGrantType(OAuthError):
    """RFC 6749 5.2: a grant type the tenant does not know."""

    error, status_code = "unsupported_grant_type", 400
    description = "Unsupported grant type."


class UnauthorizedClient(OAuthError):
    """The client may not use this grant."""

    error, status_code = "unauthorized_client", 403
    description = "The client is not authorized to use this grant type."


class UnknownClient(OAuthError):
    """Auth0 answers an unknown client_id with 401 access_denied "Unauthorized"."""

    error, status_code = "access_denied", 401
    description = "Unauthorized"


class InvalidGrant(OAuthError):
    """Wrong password, or an unknown, revoked, reused or expired refresh token or code."""

    error, status_code = "invalid_grant", 403
    description = "Wrong email or password."


class InvalidScope(OAuthError):
    """A refresh asked for scopes beyond those originally granted (RFC 6749 6)."""

    error, status_code = "invalid_scope", 403
    description = "The requested scope exceeds the scope originally granted."


class AccessDenied(OAuthError):
    """The user refused the device login, or the resource is not available."""

    error, status_code = "access_denied", 403
    description = "The user denied the request."


class TooManyAttempts(OAuthError):
    """Brute-force protection: the account is blocked after consecutive failed logins."""

    error, status_code = "too_many_attempts", 429
    description = (
        "Your account has been blocked after multiple consecutive login attempts. "
        "An administrator can unblock it."
    )


class AuthorizationPending(OAuthError):
    """Device flow (RFC 8628 3.5): the user has not approved yet; keep polling."""

    error, status_code = "authorization_pending", 403
    description = "User has yet to authorize device code."


class SlowDown(OAuthError):
    """Device flow (RFC 8628 3.5): polling too fast; add 5 seconds to the interval."""

    error, status_code = "slow_down", 429
    description = "You are polling faster than the specified interval of 5 seconds."


class ExpiredToken(OAuthError):
    """Device flow (RFC 8628 3.5): the device code expired; start again."""

    error, status_code = "expired_token", 403
    description = "The device code has expired. Start a new device login."


class InvalidToken(OAuthError):
    """RFC 6750 3.1: a missing, malformed or expired bearer token at /userinfo."""

    error, status_code = "invalid_token", 401
    description = "The access token is missing, malformed or expired."

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


class NotFound(OAuthError):
    """No such endpoint (or teaching controls are switched off)."""

    error, status_code = "not_found", 404
    description = "Not found."


class MethodNotAllowed(OAuthError):
    """The endpoint exists but not for this HTTP method."""

    error, status_code = "method_not_allowed", 405
    description = "Method not allowed."


class PayloadTooLarge(OAuthError):
    """The body is larger than the tenant accepts."""

    error, status_code = "invalid_request", 413
    description = "Request body too large."


class RequestTimeout(OAuthError):
    """The body did not arrive within the tenant's request timeout (a slow client)."""

    error, status_code = "invalid_request", 408
    description = "The request body did not arrive in time."

    def __init__(self, description: str | None = None) -> None:
        super().__init__(description, headers={"Connection": "close"})


class Forbidden(OAuthError):
    """A teaching control was called without the tenant's admin key."""

    error, status_code = "unauthorized", 401
    description = "The admin key is missing or wrong."


class UserExists(OAuthError):
    """Signup with an email that already has an account."""

    error, status_code = "user_exists", 400
    description = "The user already exists."
