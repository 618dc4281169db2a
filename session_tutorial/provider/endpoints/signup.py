"""POST /dbconnections/signup: create a user in the database connection (Auth0: Signup)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from ..errors import InvalidRequest
from ..idp import IdentityProvider
from ..params import read_params
from ..users import profile_problem


async def signup(request: Request) -> JSONResponse:
    params = await read_params(request)
    idp: IdentityProvider = request.app.state.idp
    idp.check_client(params.get("client_id"))
    email, password, connection = params.require("email", "password", "connection")
    if connection != idp.config.connection:
        raise InvalidRequest(f"Unknown connection: {connection}")
    name = params.get("name") or email.split("@")[0]
    problem = profile_problem(email, name)
    if problem is not None:
        raise InvalidRequest(problem)
    if len(password) < 8 or len(password) > 128:
        raise InvalidRequest("PasswordStrengthError: use 8 to 128 characters.")
    user = await run_in_threadpool(idp.users.create, email, password, name, idp.clock.now())
    return JSONResponse({"_id": user.id, "email": user.email, "email_verified": False})
