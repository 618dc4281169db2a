"""The device flow's two ends: POST /oauth/device/code and the /activate page (RFC 8628).

The page is plain HTML with one form: type the user code, sign in, approve or deny. Both
answers need the account's password (a denial too: otherwise any page could cancel anyone's
login). The form carries a CSRF token (:mod:`..forms`), and wrong user codes are rate limited
per source (RFC 8628 5.1: the code is short, so guessing must be slowed down).
"""

from __future__ import annotations

from html import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

from ..device import normalize_user_code
from ..errors import InvalidGrant, InvalidRequest, TooManyAttempts
from ..forms import CSRF_FIELD, FormGuard, cookie_path, hidden_field, set_csrf_cookie
from ..idp import IdentityProvider
from ..params import read_params
from ..params import source as source_of


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
 {csrf}
 <label>Code shown on your device <input name="user_code" value="{code}" required
  autocomplete="off" id="user_code"></label>
 <label>Email <input name="username" type="email" value="{username}" required id="username"></label>
 <label>Password <input name="password" type="password" required id="password"></label>
 <button name="action" value="approve" id="approve">Approve</button>
 <button name="action" value="deny" id="deny">Deny</button>
</form>"""


def _page(
    request: Request,
    message: str = "",
    kind: str = "msg",
    code: str = "",
    username: str = "",
    form: bool = True,
    status: int = 200,
) -> HTMLResponse:
    guard: FormGuard = request.app.state.forms
    box = f'<p class="msg {kind}" role="status">{escape(message)}</p>' if message else ""
    body, cookie = "", None
    if form:
        csrf, cookie = guard.token(request)
        body = _FORM.format(csrf=hidden_field(csrf), code=escape(code), username=escape(username))
    response = HTMLResponse(_PAGE.format(message=box, form=body), status_code=status)
    url = request.app.state.idp.config.browser_url
    set_csrf_cookie(response, cookie, url.startswith("https"), cookie_path(url))
    return response


async def activate_page(request: Request) -> HTMLResponse:
    code = normalize_user_code(request.query_params.get("user_code", ""))[:16]
    return _page(request, "Enter the code shown on your device, then sign in.", code=code)


async def activate(request: Request) -> HTMLResponse:
    try:
        params = await read_params(request)
    except InvalidRequest as exc:
        return _page(request, exc.description, "error", status=400)
    idp: IdentityProvider = request.app.state.idp
    code = normalize_user_code(params.get("user_code", ""))[:16]
    username = params.get("username", "")[:254]
    if not request.app.state.forms.check(request, params.get(CSRF_FIELD)):
        return _page(
            request,
            "This form did not come from the tenant's own page in this browser (its security "
            "token is missing or wrong): open the page again and resend it.",
            "error",
            code=code,
            status=403,
        )
    source = source_of(request)
    now = idp.clock.now()
    if idp.code_guesses.blocked(source, now):
        return _page(
            request,
            "Too many wrong codes from here: wait a few minutes, then try again.",
            "error",
            status=429,
        )
    if not idp.devices.pending(code, now):
        idp.code_guesses.failed(source, now)
        return _page(
            request,
            "That code is unknown, used or expired. Check your device.",
            "error",
            code=code,
            username=username,
            status=400,
        )
    approve = params.get("action") != "deny"
    try:
        user = await run_in_threadpool(
            idp.users.authenticate, username, params.get("password", ""), source
        )
    except (InvalidGrant, TooManyAttempts) as exc:
        return _page(
            request, exc.description, "error", code=code, username=username, status=exc.status_code
        )
    idp.devices.decide(code, user.id if approve else None, approve=approve, now=idp.clock.now())
    if not approve:
        return _page(request, "Request denied. You can close this page.", "ok", form=False)
    return _page(
        request,
        f"Done, {user.name}: your device is signed in. You can close this page.",
        "ok",
        form=False,
    )
