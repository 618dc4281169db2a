"""GET /v2/logout: end the browser session at the tenant (Auth0: Logout)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from ..errors import InvalidRequest
from ..idp import IdentityProvider

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


async def logout(request: Request) -> Response:
    idp: IdentityProvider = request.app.state.idp
    client_id = request.query_params.get("client_id")
    if client_id is not None:
        idp.check_client(client_id)
    return_to = request.query_params.get("returnTo")
    if not return_to:
        return PlainTextResponse("OK")
    # Auth0 only redirects to the app's "Allowed Logout URLs"; the local tenant allows the
    # machine's own addresses, so it can never be used to bounce someone to another site.
    parts = urlsplit(return_to)
    if parts.scheme not in ("http", "https") or parts.hostname not in _LOCAL_HOSTS:
        raise InvalidRequest(
            "returnTo must be an allowed logout URL (http://localhost or http://127.0.0.1)."
        )
    return RedirectResponse(return_to, status_code=302)
