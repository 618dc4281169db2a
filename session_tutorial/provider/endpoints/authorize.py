"""GET and POST /authorize: the Authorization Code flow with PKCE, and the login page.

``GET /authorize`` checks the request, then answers with the login page, a "Continue as ...?"
page, or straight away with a code (single sign-on). The page's form posts back to
``/authorize`` with the same parameters. Errors go back to the application as
``redirect_uri?error=...&error_description=...&state=...`` (RFC 6749 4.1.2.1), except a bad
``client_id`` or ``redirect_uri``: the tenant cannot trust where to send those, so it shows an
error page and redirects nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .. import login_page
from ..authcodes import CHALLENGE
from ..browser_sessions import COOKIE, BrowserSession
from ..errors import InvalidGrant, InvalidRequest, TooManyAttempts, UserExists
from ..forms import CSRF_FIELD, PAGE_HEADERS, FormGuard, cookie_path, set_csrf_cookie
from ..idp import IdentityProvider, grantable
from ..params import read_params, source
from ..redirects import Callback
from ..users import User, profile_problem

# The parameters of an authorization request that the page carries through its form.
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "audience",
    "prompt",
    "screen_hint",
    "login_hint",
    "max_age",
    "response_mode",
    "connection",
)


class _Refused(Exception):
    """An error to send back to the application's redirect_uri."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error, self.description = error, description


@dataclass(frozen=True)
class _Authorization:
    """A checked authorization request."""

    params: dict[str, str]
    redirect_uri: str
    callback: Callback

    @property
    def prompt(self) -> str:
        return self.params.get("prompt", "")


def _page(html: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def _problem(title: str, message: str, status: int = 400) -> HTMLResponse:
    return _page(login_page.problem(title, message), status)


def _redirect(redirect_uri: str, query: Mapping[str, str]) -> Response:
    joiner = "&" if "?" in redirect_uri else "?"
    target = redirect_uri + joiner + urlencode(query)
    if redirect_uri.startswith("/"):
        # A registered host-relative callback (Binder: <prefix>proxy/<port>/callback). A
        # Location header would be rewritten by jupyter-server-proxy into its own prefix, so
        # the browser is sent on by the page itself.
        return _page(login_page.onward(target))
    return RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)


def _refusal(auth: _Authorization, exc: _Refused) -> Response:
    query = {"error": exc.error, "error_description": exc.description}
    if "state" in auth.params:
        query["state"] = auth.params["state"]
    return _redirect(auth.redirect_uri, query)


def _target(idp: IdentityProvider, params: dict[str, str]) -> _Authorization | HTMLResponse:
    """The checked client and redirect_uri, or the error page for a request with neither."""
    if params.get("client_id") != idp.config.client_id:
        return _problem(
            "Unknown application",
            "This sign-in link names an application this tenant does not know (client_id). "
            "Nothing was sent back to it; check the application's settings.",
        )
    redirect_uri = params.get("redirect_uri", "")
    callback = idp.check_redirect(redirect_uri)
    if callback is None:
        return _problem(
            "Callback URL not allowed",
            "This sign-in link asks to return to a redirect_uri that is not one of the "
            "application's Allowed Callback URLs, nor http://127.0.0.1:PORT/ or "
            "http://[::1]:PORT/ on this computer. Nothing was sent there.",
        )
    return _Authorization(params, redirect_uri, callback)


def _check(auth: _Authorization, idp: IdentityProvider) -> None:
    """The request's other parameters (RFC 6749 4.1.1, RFC 7636 4.3, OIDC Core 3.1.2.1)."""
    p = auth.params
    if not idp.knows_audience(p.get("audience")):
        raise _Refused("access_denied", f"Service not found: {p['audience'][:200]}")
    if p.get("response_type") != "code":
        raise _Refused(
            "unsupported_response_type", "response_type must be code (Authorization Code flow)."
        )
    if p.get("response_mode", "query") != "query":
        raise _Refused("invalid_request", "response_mode must be query.")
    if not p.get("code_challenge"):
        raise _Refused("invalid_request", "code_challenge is required: use PKCE (RFC 7636).")
    if p.get("code_challenge_method") != "S256":
        raise _Refused(
            "invalid_request",
            "code_challenge_method must be S256; plain is not accepted (RFC 7636 4.2).",
        )
    if not CHALLENGE.fullmatch(p["code_challenge"]):
        raise _Refused(
            "invalid_request", "code_challenge must be 43 base64url characters (an S256 hash)."
        )
    if auth.prompt not in ("", "none", "login"):
        raise _Refused("invalid_request", "prompt must be none or login.")
    max_age = p.get("max_age", "0")
    if not (max_age.isascii() and max_age.isdigit()):  # "²" is a digit to isdigit(), not to int()
        raise _Refused("invalid_request", "max_age must be a number of seconds.")
    if p.get("screen_hint", "signup") != "signup":
        raise _Refused("invalid_request", "screen_hint must be signup.")


def _read_query(request: Request) -> dict[str, str] | HTMLResponse:
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in AUTHORIZE_PARAMS:
            continue
        if name in params:
            return _problem(
                "Malformed sign-in link", f"The parameter {name} is given more than once."
            )
        params[name] = value[:2048]
    return params


def _accepted(idp: IdentityProvider, params: dict[str, str]) -> _Authorization | Response:
    """The request, checked; else the error page (bad client or redirect) or the refusal."""
    auth = _target(idp, params)
    if isinstance(auth, HTMLResponse):
        return auth
    try:
        _check(auth, idp)
    except _Refused as exc:
        return _refusal(auth, exc)
    return auth


class _Context:
    """One /authorize request: the tenant, the browser's cookies, what to send back."""

    def __init__(self, request: Request, auth: _Authorization) -> None:
        self.request = request
        self.auth = auth
        self.idp: IdentityProvider = request.app.state.idp
        self.guard: FormGuard = request.app.state.forms
        self.secure = self.idp.config.browser_url.startswith("https://")
        self.cookie_path = cookie_path(self.idp.config.browser_url)
        self.now = self.idp.clock.now()

    def session(self) -> tuple[BrowserSession, User] | None:
        live = self.idp.browser_sessions.get(self.request.cookies.get(COOKIE), self.now)
        if live is None:
            return None
        max_age = self.auth.params.get("max_age")
        if max_age is not None and self.now - live.auth_time > int(max_age):
            return None  # OIDC Core 3.1.2.1: the password is older than the app allows
        user = self.idp.users.by_id(live.user_id)
        return None if user is None else (live, user)

    def form_page(self, kind: str, status: int = 200, **fields: str) -> HTMLResponse:
        csrf, cookie = self.guard.token(self.request)
        params = {k: v for k, v in self.auth.params.items()}
        if kind == "signup":
            html = login_page.signup(params, csrf, **fields)
        elif kind == "confirm":
            html = login_page.confirm(
                params, csrf, loopback=self.auth.callback is Callback.LOOPBACK, **fields
            )
        else:
            html = login_page.login(params, csrf, **fields)
        response = _page(html, status)
        set_csrf_cookie(response, cookie, self.secure, self.cookie_path)
        return response

    def first_page(self, error: str | None = None, status: int = 200) -> HTMLResponse:
        email = self.auth.params.get("login_hint", "")[:254]
        if self.auth.params.get("screen_hint") == "signup":
            return self.form_page("signup", status, email=email)
        if error:
            return self.form_page("login", status, email=email, error=error)
        return self.form_page("login", status, email=email)

    def code(self, user: User, auth_time: float) -> Response:
        p = self.auth.params
        code = self.idp.codes.issue(
            client_id=self.idp.config.client_id,
            user_id=user.id,
            redirect_uri=self.auth.redirect_uri,
            scope=grantable(p.get("scope")),
            audience=self.idp.check_audience(p.get("audience")),
            nonce=p.get("nonce"),
            code_challenge=p["code_challenge"],
            auth_time=auth_time,
            now=self.now,
        )
        query = {"code": code}
        if "state" in p:
            query["state"] = p["state"]
        return _redirect(self.auth.redirect_uri, query)

    def signed_in(self, user: User) -> Response:
        """A fresh login session (a new cookie, against session fixation), then the code."""
        self.idp.browser_sessions.end(self.request.cookies.get(COOKIE))
        value = self.idp.browser_sessions.start(user.id, self.now)
        response = self.code(user, self.now)
        response.set_cookie(
            COOKIE,
            value,
            max_age=int(self.idp.browser_sessions.lifetime),
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path=self.cookie_path,
        )
        return response


def _needs_confirmation(ctx: _Context) -> bool:
    return ctx.auth.callback is Callback.LOOPBACK and ctx.idp.config.confirm_loopback


async def authorize(request: Request) -> Response:
    """GET /authorize: the login page, "Continue as ...?", or a code at once (SSO)."""
    params = _read_query(request)
    if isinstance(params, HTMLResponse):
        return params
    auth = _accepted(request.app.state.idp, params)
    if not isinstance(auth, _Authorization):
        return auth
    ctx = _Context(request, auth)
    live = None if auth.prompt == "login" else ctx.session()
    if auth.prompt == "none":
        if live is None:
            return _refusal(auth, _Refused("login_required", "The user is not signed in."))
        if _needs_confirmation(ctx):
            return _refusal(
                auth,
                _Refused(
                    "interaction_required",
                    "The user must confirm a sign-in to an application on this computer.",
                ),
            )
    if live is None:
        return ctx.first_page()
    session, user = live
    if _needs_confirmation(ctx):
        return ctx.form_page("confirm", name=user.name, email=user.email)
    return ctx.code(user, session.auth_time)


async def submit(request: Request) -> Response:
    """POST /authorize: the login page's form (log in, sign up, continue, switch, cancel)."""
    try:
        form = await read_params(request)
    except InvalidRequest as exc:
        return _problem("Malformed form", exc.description)
    guard: FormGuard = request.app.state.forms
    if not guard.check(request, form.get(CSRF_FIELD)):
        return _problem(
            "This page has expired",
            "The form did not come from this tenant's page in this browser (its security "
            "token is missing or wrong). Go back to the application and start the sign-in again.",
            status=403,
        )
    params = {k: v for k, v in form.items() if k in AUTHORIZE_PARAMS}
    auth = _accepted(request.app.state.idp, params)
    if not isinstance(auth, _Authorization):
        return auth
    ctx = _Context(request, auth)
    action = form.get("action")
    if action == "cancel":
        return _refusal(auth, _Refused("access_denied", "The user cancelled the sign-in."))
    if action == "switch":
        ctx.idp.browser_sessions.end(request.cookies.get(COOKIE))
        response = ctx.form_page("login")
        response.delete_cookie(COOKIE, path=ctx.cookie_path)
        return response
    if action == "continue":
        live = ctx.session()
        if live is None or auth.prompt == "login":
            return ctx.first_page()
        return ctx.code(live[1], live[0].auth_time)
    email = form.get("username", "").strip()[:254]
    password = form.get("password", "")
    if action == "signup":
        return await _signup(ctx, email, password, form.get("name", "").strip()[:128])
    if action != "login":
        return ctx.first_page()
    if not email or not password:
        return ctx.form_page(
            "login", 400, email=email, error="Enter your email address and your password."
        )
    try:
        user = await run_in_threadpool(
            ctx.idp.users.authenticate, email, password, source(ctx.request)
        )
    except (InvalidGrant, TooManyAttempts) as exc:
        # The password grant's own words, so the two sign-ins cannot tell different stories.
        return ctx.form_page("login", exc.status_code, email=email, error=exc.description)
    return ctx.signed_in(user)


async def _signup(ctx: _Context, email: str, password: str, name: str) -> Response:
    problem = profile_problem(email, name or email.split("@")[0])
    if problem is None and not 8 <= len(password) <= 128:
        problem = "Use a password of 8 to 128 characters."
    if problem is None:
        try:
            user = await run_in_threadpool(
                ctx.idp.users.create, email, password, name or email.split("@")[0], ctx.now
            )
        except UserExists:
            problem = "An account with this email already exists: log in instead."
        else:
            return ctx.signed_in(user)
    return ctx.form_page("signup", 400, email=email, name=name, error=problem)
