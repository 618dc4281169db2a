"""POST /oauth/revoke: revoke a refresh token and its family (RFC 7009; Auth0: Revoke)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..idp import IdentityProvider
from ..params import read_params


async def revoke(request: Request) -> Response:
    params = await read_params(request)
    idp: IdentityProvider = request.app.state.idp
    client_id = idp.check_client(params.get("client_id"))
    token = params.require("token")[0]
    # RFC 7009 2.2: an unknown token is not an error; the answer is the same either way.
    await run_in_threadpool(idp.refresh_tokens.revoke_token, token, client_id, idp.clock.now())
    return Response(status_code=200)
