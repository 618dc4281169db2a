"""Teaching controls, apart from Auth0's API: the clock, revoking, sessions, unblocking.

They live under ``/_teaching/`` and need the tenant's admin key (``X-Admin-Key``), kept in
the data dir. A tenant started with ``--no-teaching`` answers 404 here, as Auth0 would.
"""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..errors import Forbidden, InvalidRequest, NotFound
from ..idp import IdentityProvider
from ..params import read_params


def _authorized(request: Request) -> IdentityProvider:
    idp: IdentityProvider = request.app.state.idp
    if not idp.config.teaching:
        raise NotFound()
    given = request.headers.get("x-admin-key", "")
    if not hmac.compare_digest(given.encode(), request.app.state.admin_key.encode()):
        raise Forbidden()
    return idp


def _clock(idp: IdentityProvider) -> JSONResponse:
    return JSONResponse({"now": idp.clock.now(), "offset": idp.clock.offset})


async def get_clock(request: Request) -> JSONResponse:
    return _clock(_authorized(request))


async def advance_clock(request: Request) -> JSONResponse:
    idp = _authorized(request)
    params = await read_params(request)
    try:
        seconds = float(params.require("seconds")[0])
        if not 0 <= seconds <= 10 * 365 * 86400:
            raise ValueError
    except ValueError:
        raise InvalidRequest("seconds must be a number from 0 to 10 years") from None
    await run_in_threadpool(idp.clock.advance, seconds)
    return _clock(idp)


async def reset(request: Request) -> JSONResponse:
    """Clock back to real time and every account unblocked (tests and workshop resets)."""
    idp = _authorized(request)
    await run_in_threadpool(idp.clock.set_offset, 0.0)
    await run_in_threadpool(idp.users.unblock_all)
    idp.code_guesses.clear()
    return _clock(idp)


def _user_id(idp: IdentityProvider, email: str) -> str:
    user = idp.users.by_email(email)
    if user is None:
        raise NotFound(f"No user with email {email}")
    return user.id


async def revoke_user(request: Request) -> JSONResponse:
    idp = _authorized(request)
    uid = _user_id(idp, request.path_params["email"])
    count = await run_in_threadpool(idp.refresh_tokens.revoke_user, uid, idp.clock.now())
    return JSONResponse({"revoked": count})


async def sessions(request: Request) -> JSONResponse:
    idp = _authorized(request)
    uid = _user_id(idp, request.path_params["email"])
    return JSONResponse({"sessions": await run_in_threadpool(idp.refresh_tokens.sessions, uid)})


async def unblock(request: Request) -> JSONResponse:
    idp = _authorized(request)
    email = request.path_params["email"]
    _user_id(idp, email)
    await run_in_threadpool(idp.users.unblock, email)
    return JSONResponse({"unblocked": email})
