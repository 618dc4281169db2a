"""GET /v2/logout: end the browser session at the tenant (Auth0: Logout).

The tenant's login-session cookie is deleted (and the session with it), so the next
``/authorize`` asks for the password again.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from .. import login_page
from ..browser_sessions import COOKIE
from ..errors import InvalidRequest
from ..forms import PAGE_HEADERS, cookie_path
from ..idp import IdentityProvider

_LOCAL_AUTHORITY = re.compile(r"(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?")


async def logout(request: Request) -> Response:
    idp: IdentityProvider = request.app.state.idp
    client_id = request.query_params.get("client_id")
    if client_id is not None:
        idp.check_client(client_id)
    return_to = request.query_params.get("returnTo")
    if return_to and not _allowed(return_to):
        raise InvalidRequest(
            "returnTo must be an allowed logout URL (http://localhost or http://127.0.0.1)."
        )
    idp.browser_sessions.end(request.cookies.get(COOKIE))
    response: Response
    if return_to:
        response = RedirectResponse(return_to, status_code=302, headers=PAGE_HEADERS)
    elif "text/html" in request.headers.get("accept", ""):  # a person's browser tab
        html = login_page.problem(
            "Signed out", "You are signed out of session-tutorial here. You can close this tab."
        )
        response = HTMLResponse(
            html.replace('class="alert"', 'class="notice"'), headers=PAGE_HEADERS
        )
    else:
        response = PlainTextResponse("OK", headers=PAGE_HEADERS)
    response.delete_cookie(COOKIE, path=cookie_path(idp.config.browser_url))
    return response


# Auth0 only redirects to the app's "Allowed Logout URLs"; the local tenant allows the
# machine's own addresses, so it can never be used to bounce someone to another site.
def _allowed(return_to: str) -> bool:
    """An http(s) URL on this machine that every URL parser reads the same way."""
    # Browsers read a backslash as "/" and an "@" in the authority as the end of credentials,
    # where urlsplit may not: accept only an authority that is exactly a local host and port.
    if not return_to.isascii() or not return_to.isprintable() or any(c in return_to for c in "\\ "):
        return False
    try:
        parts = urlsplit(return_to)
    except ValueError:  # "http://[/" and other broken authorities
        return False
    local = _LOCAL_AUTHORITY.fullmatch(parts.netloc)
    port = local.group(2) if local else None
    return (
        parts.scheme in ("http", "https")
        and local is not None
        and (port is None or 0 < int(port[1:]) < 65536)
    )
