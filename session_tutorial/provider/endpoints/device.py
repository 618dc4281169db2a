"""The device flow's two ends: POST /oauth/device/code and the /activate page (RFC 8628).

The page is plain HTML with one form: type the user code, sign in, approve or deny.
"""

from __future__ import annotations

from html import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from ..device import normalize_user_code
from ..errors import InvalidGrant, InvalidRequest, TooManyAttempts
from ..idp import IdentityProvider
from ..params import read_params


async def device_code(request: Request) -> JSONResponse:
    params = await read_params(request)
    idp: IdentityProvider = request.app.state.idp
    idp.check_client(params.get("client_id"))
    grant = await run_in_threadpool(
        idp.start_device_login, params.get("scope"), params.get("audience")
    )
    page = idp.config.browser_url + "activate"
    return JSONResponse(
        {
            "device_code": grant.device_code,
            "user_code": grant.user_code,
            "verification_uri": page,
            "verification_uri_complete": f"{page}?user_code={grant.user_code}",
            "expires_in": grant.expires_in,
            "interval": grant.interval,
        }
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Device activation · session-tutorial</title>
<style>
 body {{ font-family: system-ui, sans-serif; max-width: 26rem; margin: 3rem auto;
        padding: 0 1rem; }}
 label {{ display: block; margin-top: .8rem; }}
 input {{ width: 100%; padding: .4rem; font-size: 1rem; box-sizing: border-box; }}
 button {{ margin-top: 1rem; padding: .5rem 1.2rem; font-size: 1rem; }}
 .msg {{ padding: .6rem; border-radius: .3rem; background: #eef; }}
 .error {{ background: #fdd; }} .ok {{ background: #dfd; }}
</style></head><body>
<h1>Activate your device</h1>
{message}
{form}
</body></html>"""

_FORM = """<form method="post" action="activate">
 <label>Code shown on your device <input name="user_code" value="{code}" required
  autocomplete="off" id="user_code"></label>
 <label>Email <input name="username" type="email" value="{username}" required id="username"></label>
 <label>Password <input name="password" type="password" required id="password"></label>
 <button name="action" value="approve" id="approve">Approve</button>
 <button name="action" value="deny" id="deny" formnovalidate>Deny</button>
</form>"""


def _page(
    message: str = "",
    kind: str = "msg",
    code: str = "",
    username: str = "",
    form: bool = True,
    status: int = 200,
) -> HTMLResponse:
    box = f'<p class="msg {kind}" role="status">{escape(message)}</p>' if message else ""
    body = _FORM.format(code=escape(code), username=escape(username)) if form else ""
    return HTMLResponse(_PAGE.format(message=box, form=body), status_code=status)


async def activate_page(request: Request) -> HTMLResponse:
    code = normalize_user_code(request.query_params.get("user_code", ""))[:16]
    return _page("Enter the code shown on your device, then sign in.", code=code)


async def activate(request: Request) -> HTMLResponse:
    try:
        params = await read_params(request)
    except InvalidRequest as exc:
        return _page(exc.description, "error", status=400)
    idp: IdentityProvider = request.app.state.idp
    code = normalize_user_code(params.get("user_code", ""))[:16]
    username = params.get("username", "")[:254]
    now = idp.clock.now()
    if not idp.devices.pending(code, now):
        return _page(
            "That code is unknown, used or expired. Check your device.",
            "error",
            code=code,
            username=username,
            status=400,
        )
    if params.get("action") == "deny":
        idp.devices.decide(code, None, approve=False, now=now)
        return _page("Request denied. You can close this page.", "ok", form=False)
    try:
        user = await run_in_threadpool(idp.users.authenticate, username, params.get("password", ""))
    except (InvalidGrant, TooManyAttempts) as exc:
        return _page(exc.description, "error", code=code, username=username, status=exc.status_code)
    idp.devices.decide(code, user.id, approve=True, now=idp.clock.now())
    return _page(
        f"Done, {user.name}: your device is signed in. You can close this page.", "ok", form=False
    )
