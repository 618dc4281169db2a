"""The tenant's HTML pages and the forms on them, safe from other web sites.

Any page a learner visits can post to the local tenant, or frame one of its pages and have
the learner click on it. The defences, in one place:

- :class:`HtmlHeaders`, ASGI middleware in :mod:`.app`: every ``text/html`` answer gets
  :data:`PAGE_HEADERS` (``X-Frame-Options: DENY``, a ``Content-Security-Policy`` with
  ``frame-ancestors 'none'``, ``no-store``: RFC 6749 10.13, clickjacking), and every ``POST``
  whose browser says it comes from another site (``Origin`` not the tenant's, ``Origin: null``,
  ``Sec-Fetch-Site: cross-site``) is refused with ``403 access_denied`` before any endpoint
  runs. Scripts and apps (httpx, curl) send no ``Origin`` and pass.
- :class:`FormGuard`: a CSRF token per HTML form, a double submit bound to a secret: the browser
  holds a random cookie (``HttpOnly``, ``SameSite=Strict``) and the form carries
  ``HMAC(secret, cookie)``, so another site can neither read nor forge the pair (OWASP CSRF
  Prevention Cheat Sheet). ``check`` also applies the Origin rule.
- :func:`submit`: what a browser does with a form, for code and tests (GET the page, keep its
  cookie, post the fields with the token).

Using it for a page (``/activate`` and ``/authorize`` do exactly this)::

    guard: FormGuard = request.app.state.forms
    # GET: the form carries the token; the answer sets the cookie if the browser had none.
    csrf, cookie = guard.token(request)
    response = HTMLResponse(f'<form method="post">{hidden_field(csrf)}...</form>')
    set_csrf_cookie(response, cookie, secure=False)
    # POST: refuse what did not come from that page in this browser.
    params = await read_params(request)
    if not guard.check(request, params.get(CSRF_FIELD)):
        ...  # a 403 page: "open the page again"

The tenant's own origins are those of its issuer and public URL and, for a tenant on a loopback
address, the same port on ``localhost``, ``127.0.0.1`` and ``[::1]``. A request's own ``Host``
is never trusted for this, so DNS rebinding does not help. With a host-relative public URL
(Binder without a known hub origin) the browser's origin cannot be known: only
``Sec-Fetch-Site`` and the token protect the forms then.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import OAuthError

if TYPE_CHECKING:
    import httpx  # only submit()'s callers (tests, scripts) use it; the tenant never loads it

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
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


class CrossSiteRequest(OAuthError):
    """A browser request from another web site."""

    error, status_code = "access_denied", 403
    description = "Cross-site request refused: send it from the tenant's own page."


def _origin(url: str | None) -> str | None:
    if not url or "://" not in url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def own_origins(*urls: str | None) -> frozenset[str] | None:
    """The tenant's origins from its URLs, with loopback aliases; None if one is host-relative."""
    found: set[str] = set()
    for url in urls:
        if url is None:
            continue
        origin = _origin(url)
        if origin is None:
            return None
        found.add(origin)
        parts = urlsplit(url)
        if (parts.hostname or "").lower() in ("localhost", "127.0.0.1", "::1"):
            port = f":{parts.port}" if parts.port else ""
            found |= {f"{parts.scheme}://{alias}{port}" for alias in _LOOPBACK}
    return frozenset(found)


def cross_site(headers: Mapping[str, str], origins: frozenset[str] | None) -> bool:
    """Whether a browser says this request comes from another site than the tenant's."""
    if headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    origin = headers.get("origin")
    if origin is None or origins is None:
        return False  # a script, an old browser, or an origin this tenant cannot know
    return origin.strip().lower() not in origins  # "null" too: a sandboxed or file page


class HtmlHeaders:
    """ASGI middleware: :data:`PAGE_HEADERS` on every HTML answer; cross-site POSTs refused."""

    def __init__(self, app: ASGIApp, origins: Iterable[str] | None) -> None:
        self.app = app
        self.origins = None if origins is None else frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "POST":
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            if cross_site(headers, self.origins):
                await CrossSiteRequest().response()(scope, receive, send)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                raw = list(message.get("headers", []))
                names = {k.lower() for k, _ in raw}
                ctype = next((v for k, v in raw if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html"):
                    raw += [
                        (k.lower().encode(), v.encode())
                        for k, v in PAGE_HEADERS.items()
                        if k.lower().encode() not in names
                    ]
                    message = {**message, "headers": raw}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class FormGuard:
    """Issues and checks CSRF tokens for one tenant process."""

    def __init__(self, issuer: str, public_url: str | None) -> None:
        self._secret = secrets.token_bytes(32)
        self.origins = own_origins(issuer, public_url)

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
        if cross_site(request.headers, self.origins):
            return False
        cookie = request.cookies.get(CSRF_COOKIE)
        if not cookie or not submitted:
            return False
        return hmac.compare_digest(self._mac(cookie).encode(), submitted.encode())


def hidden_field(csrf: str) -> str:
    """The form's hidden input carrying the token."""
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{html.escape(csrf)}">'


def cookie_path(browser_url: str) -> str:
    """The path the tenant's cookies are scoped to: where browsers reach it.

    Behind jupyter-server-proxy that is ``/user/NAME/proxy/PORT/``, on a host that serves many
    users (mybinder.org): with ``Path=/`` every other user's server there would receive the
    cookies, and could plant its own for this tenant.

    >>> cookie_path("/user/ada/proxy/8941/"), cookie_path("http://127.0.0.1:8941/")
    ('/user/ada/proxy/8941/', '/')
    """
    return urlsplit(browser_url).path or "/"


def set_csrf_cookie(response: Response, value: str | None, secure: bool, path: str = "/") -> None:
    if value is not None:
        response.set_cookie(
            CSRF_COOKIE, value, httponly=True, samesite="strict", secure=secure, path=path
        )


_HIDDEN = re.compile(rf'<input type="hidden" name="{CSRF_FIELD}" value="([^"]*)"')


def submit(
    client: httpx.Client, page_url: str, fields: Mapping[str, str], action: str | None = None
) -> httpx.Response:
    """Open the form at ``page_url`` and post ``fields`` with its CSRF token, as a browser does.

    ``client`` keeps the page's cookie between the two requests. ``action`` is where the form
    posts, relative to the page (default: the page itself, without its query).
    """
    page = client.get(page_url)
    found = _HIDDEN.search(page.text)
    token = html.unescape(found.group(1)) if found else ""
    target = urljoin(page_url, action) if action else page_url.split("?")[0]
    return client.post(target, data={**fields, CSRF_FIELD: token})
