"""The local tenant as one Starlette application, assembled here.

Example::

    app = create_app(TenantConfig(issuer="http://127.0.0.1:8941/"))
    uvicorn.run(app, host="127.0.0.1", port=8941)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .config import TenantConfig
from .endpoints import (
    authorize,
    device,
    discovery,
    logout,
    revoke,
    signup,
    teaching,
    token,
    userinfo,
)
from .errors import MethodNotAllowed, NotFound, OAuthError
from .forms import FormGuard, HtmlHeaders, own_origins
from .idp import IdentityProvider
from .keyfiles import admin_key
from .signer import Signer

log = logging.getLogger("session_tutorial.provider")


async def _oauth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OAuthError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return MethodNotAllowed().response()
    if exc.status_code == 404:
        return NotFound().response()
    return JSONResponse(
        {"error": "invalid_request", "error_description": str(exc.detail)},
        status_code=exc.status_code,
    )


async def _server_error(request: Request, exc: Exception) -> Response:
    # Logged with its type only: a traceback could carry a request's secrets into the log.
    log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return OAuthError().response()


def routes() -> list[Route]:
    t = "/_teaching"
    return [
        # What a room repeats comes first: Starlette tries the routes in this order.
        Route("/oauth/token", token.token, methods=["POST"]),
        Route("/userinfo", userinfo.userinfo, methods=["GET"]),
        Route("/.well-known/openid-configuration", discovery.openid_configuration),
        Route("/.well-known/jwks.json", discovery.jwks),
        Route("/authorize", authorize.authorize, methods=["GET"]),
        Route("/authorize", authorize.submit, methods=["POST"]),
        Route("/oauth/device/code", device.device_code, methods=["POST"]),
        Route("/oauth/revoke", revoke.revoke, methods=["POST"]),
        Route("/v2/logout", logout.logout, methods=["GET"]),
        Route("/dbconnections/signup", signup.signup, methods=["POST"]),
        Route("/activate", device.activate_page, methods=["GET"]),
        Route("/activate", device.activate, methods=["POST"]),
        Route(f"{t}/clock", teaching.get_clock, methods=["GET"]),
        Route(f"{t}/clock/advance", teaching.advance_clock, methods=["POST"]),
        Route(f"{t}/reset", teaching.reset, methods=["POST"]),
        Route(t + "/users/{email}/revoke", teaching.revoke_user, methods=["POST"]),
        Route(t + "/users/{email}/sessions", teaching.sessions, methods=["GET"]),
        Route(t + "/users/{email}/unblock", teaching.unblock, methods=["POST"]),
    ]


def create_app(
    config: TenantConfig,
    idp: IdentityProvider | None = None,
    on_shutdown: Callable[[], None] | None = None,
    *,
    signing_helper: str = "off",
) -> Starlette:
    """The tenant's ASGI app; opens (or creates) the state in ``config.data_dir``.

    ``signing_helper``: whether RS256 signatures may go to a helper process (see
    :mod:`.signer`): ``"off"``, ``"auto"`` (at the first burst of grants; the served tenant's
    setting) or ``"on"``.
    """
    provider = idp or IdentityProvider(config)
    signer = Signer(provider.minter, helper=signing_helper)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await signer.close()
        provider.close()
        if on_shutdown:
            on_shutdown()

    origins = own_origins(config.issuer, config.public_url)
    app = Starlette(
        routes=routes(),
        middleware=[Middleware(HtmlHeaders, origins=origins)],
        exception_handlers={
            OAuthError: _oauth_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )
    app.state.idp = provider
    app.state.signer = signer
    app.state.admin_key = admin_key(config.data_dir)
    app.state.forms = FormGuard(config.issuer, config.public_url)
    app.state.request_timeout = config.request_timeout  # for a body (params.read_body)
    return app
