"""Protection for the tenant's HTML forms: a CSRF token, an Origin check, no framing.

A minimal mechanism for the login page (issue 10), kept in its own module so that a shared one
can replace it. The CSRF token is a double submit bound to a secret: the browser holds a random
cookie (HttpOnly, SameSite=Strict) and the form carries HMAC(secret, cookie), so a page on
another site can neither read nor forge the pair (OWASP CSRF Prevention Cheat Sheet). A POST
whose ``Origin`` (or ``Sec-Fetch-Site``) says it came from another site is refused as well.
Every page says it must not be framed, against clickjacking (RFC 6749 10.13).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

CSRF_COOKIE = "st_csrf"
CSRF_FIELD = "csrf"

# Sent with every HTML page of the tenant. No form-action: Chrome applies it to the redirect
# that follows the login form's POST, which goes to the application's callback.
PAGE_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",  # not "no-referrer": Chrome then sends Origin: null
    "X-Content-Type-Options": "nosniff",
}


def _origin(url: str | None) -> str | None:
    if not url or "://" not in url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class FormGuard:
    """Issues and checks CSRF tokens for one tenant process."""

    def __init__(self, issuer: str, public_url: str | None) -> None:
        self._secret = secrets.token_bytes(32)
        self._origins = {o for o in (_origin(issuer), _origin(public_url)) if o}
        # A host-relative public URL (Binder without a known hub origin): the browser's origin
        # is not known here, so only the token protects the form.
        self._any_origin = public_url is not None and _origin(public_url) is None

    def _mac(self, cookie: str) -> str:
        return hmac.new(self._secret, cookie.encode(), hashlib.sha256).hexdigest()

    def token(self, request: Request) -> tuple[str, str | None]:
        """The form field's value, and a cookie value to set (None if the browser has one)."""
        cookie = request.cookies.get(CSRF_COOKIE)
        if cookie and len(cookie) <= 100:
            return self._mac(cookie), None
        cookie = secrets.token_urlsafe(32)
        return self._mac(cookie), cookie

    def check(self, request: Request, submitted: str | None) -> bool:
        """Whether a POST carries this browser's token and comes from the tenant's own pages."""
        if request.headers.get("sec-fetch-site") == "cross-site":
            return False
        origin = request.headers.get("origin")
        if origin is not None and not self._any_origin:
            own = f"{request.url.scheme}://{request.headers.get('host', '')}".lower()
            if origin.lower() not in self._origins | {own}:
                return False
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie or not submitted:
            return False
        return hmac.compare_digest(self._mac(cookie), submitted)


def set_csrf_cookie(response: Response, value: str | None, secure: bool) -> None:
    if value is not None:
        response.set_cookie(
            CSRF_COOKIE, value, httponly=True, samesite="strict", secure=secure, path="/"
        )
