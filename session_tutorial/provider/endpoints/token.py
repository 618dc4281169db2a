"""POST /oauth/token: every grant the tenant knows (Auth0: Authentication API, Get Token)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ..errors import UnsupportedGrantType
from ..idp import IdentityProvider
from ..params import Params, read_params, source
from ..responses import JSONResponse
from ..signer import Signer
from ..tokens import deferred_signing

PASSWORD_REALM = "http://auth0.com/oauth/grant-type/password-realm"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 5.1


def _grant(idp: IdentityProvider, p: Params, source: str) -> dict[str, object]:
    grant_type = p.require("grant_type")[0]
    idp.check_client(p.get("client_id"))
    if grant_type in (PASSWORD_REALM, "password"):
        username, password = p.require("username", "password")
        realm = p.require("realm")[0] if grant_type == PASSWORD_REALM else None
        return idp.password_grant(
            username, password, p.get("scope"), p.get("audience"), realm, source
        )
    if grant_type == "refresh_token":
        return idp.refresh_grant(p.require("refresh_token")[0], p.get("scope"))
    if grant_type == "authorization_code":
        code, verifier = p.require("code", "code_verifier")
        return idp.authorization_code_grant(code, p.get("redirect_uri"), verifier)
    if grant_type == DEVICE_CODE:
        return idp.device_grant(p.require("device_code")[0])
    raise UnsupportedGrantType(f"Unsupported grant type: {grant_type}")


# Grants that check a password spend tens of milliseconds in Argon2: they run in the thread
# pool, so the event loop keeps serving; so does the code exchange, once per sign-in. The
# grants a room repeats (refresh, device polls) are a few SQLite statements and run right here:
# the hop to a thread would cost more. Either way their JWTs come back unsigned and the signer
# signs them: in its helper processes once a room's load has started them, else here
# (see signer.py).
POOLED_GRANTS = (PASSWORD_REALM, "password", "authorization_code")


async def token(request: Request) -> JSONResponse:
    params = await read_params(request)
    idp: IdentityProvider = request.app.state.idp
    signer: Signer = request.app.state.signer
    with deferred_signing():
        if params.get("grant_type") in POOLED_GRANTS:
            body = await run_in_threadpool(_grant, idp, params, source(request))
        else:
            body = _grant(idp, params, source(request))
    await signer.complete(body)
    return JSONResponse(body, headers=NO_STORE)
