"""GET /userinfo: the signed-in user's profile for a Bearer access token (OIDC Core 5.3)."""

from __future__ import annotations

from starlette.requests import Request

from ..errors import InvalidToken
from ..idp import IdentityProvider
from ..responses import JSONResponse


async def userinfo(request: Request) -> JSONResponse:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
        raise InvalidToken("Send the access token as: Authorization: Bearer <token>")
    idp: IdentityProvider = request.app.state.idp
    # A hash and one indexed SQLite read: served on the event loop, no thread-pool hop.
    return JSONResponse(idp.userinfo(token.strip()))
