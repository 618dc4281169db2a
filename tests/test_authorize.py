"""The tenant's /authorize, login page, session cookie and code grant, over real HTTP.

Rules from RFC 6749 4.1, RFC 7636 (PKCE), RFC 8252 7.3 (loopback), OIDC Core 3.1 and Auth0's
Universal Login; each attack gets its test. Tenant options that the shared tenant does not
run with (a registered callback, the loopback confirmation off) run in-process.
"""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from starlette.testclient import TestClient

from conftest import LocalTenant
from session_tutorial.provider import IdentityProvider, TenantConfig, create_app
from session_tutorial.scripted_browser import Page, ScriptedBrowser
from tests.authorize_helpers import AuthRequest, query_of
from tests.provider_helpers import ADA, ALAN, FakeClock, data_dir_with_key, error_of, login, refresh

pytestmark = pytest.mark.integration


def sign_in(browser: ScriptedBrowser, url: str, user: tuple[str, str] = ADA) -> Page:
    page = browser.open(url)
    assert page.status == 200 and page.shows_password_field, page.text
    return browser.press(page, "login", username=user[0], password=user[1])


def continue_as_ada(browser: ScriptedBrowser, url: str) -> Page:
    """Sign in with the browser's login session (signed_in_browser): Continue, no password.

    For tests whose subject is the code, the callback or the session, not the sign-in."""
    page = browser.open(url)
    assert page.title == "Continue as Ada Lovelace?" and not page.shows_password_field, page.text
    return browser.press(page, "continue")


def code_from(page: Page, req: AuthRequest) -> str:
    assert page.status == 303, page.text
    query = query_of(page.location)
    assert query["state"] == req.state
    return query["code"]


# -- the whole flow -------------------------------------------------------------------------------
def test_discovery_lists_the_authorization_endpoint_pkce_and_the_grant(
    http: httpx.Client, local_tenant: LocalTenant
) -> None:
    doc = http.get("/.well-known/openid-configuration").json()
    assert doc["authorization_endpoint"] == local_tenant.url + "/authorize"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "authorization_code" in doc["grant_types_supported"]
    assert doc["response_types_supported"] == ["code"]


def test_sign_in_on_the_page_then_exchange_the_code_with_the_verifier(
    http: httpx.Client, browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    req = AuthRequest()
    page = sign_in(browser, req.url(local_tenant.url))
    assert page.location is not None and page.location.startswith(req.redirect_uri + "?")
    r = http.post("/oauth/token", data=req.exchange(code_from(page, req)))
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"access_token", "id_token", "refresh_token"} <= set(body)
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["nonce"] == req.nonce
    assert abs(claims["auth_time"] - local_tenant.clock()) < 60
    assert claims["email"] == ADA[0]


def test_a_wrong_verifier_is_refused(
    http: httpx.Client, signed_in_browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    req = AuthRequest()
    code = code_from(continue_as_ada(signed_in_browser, req.url(local_tenant.url)), req)
    other = AuthRequest().verifier
    r = http.post("/oauth/token", data=req.exchange(code, code_verifier=other))
    assert error_of(r) == (403, "invalid_grant")
    assert "code verifier" in r.json()["error_description"]


def test_a_malformed_verifier_is_an_invalid_request(
    http: httpx.Client, signed_in_browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    req = AuthRequest()
    code = code_from(continue_as_ada(signed_in_browser, req.url(local_tenant.url)), req)
    r = http.post("/oauth/token", data=req.exchange(code, code_verifier="short"))
    assert error_of(r) == (400, "invalid_request")


def test_a_code_used_twice_is_refused_and_revokes_what_the_first_use_issued(
    http: httpx.Client, signed_in_browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    req = AuthRequest()
    code = code_from(continue_as_ada(signed_in_browser, req.url(local_tenant.url)), req)
    first = http.post("/oauth/token", data=req.exchange(code))
    assert first.status_code == 200
    again = http.post("/oauth/token", data=req.exchange(code))
    assert error_of(again) == (403, "invalid_grant")
    assert error_of(refresh(http, first.json()["refresh_token"])) == (403, "invalid_grant")


def test_the_redirect_uri_must_equal_the_one_authorised(
    http: httpx.Client, signed_in_browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    req = AuthRequest()
    code = code_from(continue_as_ada(signed_in_browser, req.url(local_tenant.url)), req)
    r = http.post(
        "/oauth/token", data=req.exchange(code, redirect_uri="http://127.0.0.1:53683/callback")
    )
    assert error_of(r) == (403, "invalid_grant")


def test_a_code_expires_after_five_minutes(
    http: httpx.Client, signed_in_browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    req = AuthRequest()
    code = code_from(continue_as_ada(signed_in_browser, req.url(local_tenant.url)), req)
    local_tenant.advance_clock(301)
    r = http.post("/oauth/token", data=req.exchange(code))
    assert error_of(r) == (403, "invalid_grant")
    assert "expired" in r.json()["error_description"]


# -- what /authorize refuses ----------------------------------------------------------------------
def test_plain_pkce_is_refused_back_to_the_app_with_the_state(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    req = AuthRequest()
    page = browser.open(
        req.url(local_tenant.url, code_challenge=req.verifier, code_challenge_method="plain")
    )
    assert page.status == 303
    query = query_of(page.location)
    assert query["error"] == "invalid_request" and "S256" in query["error_description"]
    assert query["state"] == req.state and "code" not in query


@pytest.mark.parametrize(
    "changes",
    [
        {"code_challenge": None},
        {"code_challenge_method": None},
        {"code_challenge": "not-a-hash"},
        {"response_type": "token"},
        {"prompt": "consent"},
        {"response_mode": "fragment"},
    ],
)
def test_a_bad_parameter_is_sent_back_as_an_error(
    browser: ScriptedBrowser, local_tenant: LocalTenant, changes: dict[str, str | None]
) -> None:
    req = AuthRequest()
    page = browser.open(req.url(local_tenant.url, **changes))
    assert page.status == 303
    query = query_of(page.location)
    assert query["error"] in ("invalid_request", "unsupported_response_type")
    assert query["state"] == req.state


def test_an_unknown_audience_is_sent_back_as_access_denied(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    req = AuthRequest()
    page = browser.open(req.url(local_tenant.url, audience="https://api.example.com/"))
    query = query_of(page.location)
    assert page.status == 303 and query["error"] == "access_denied"
    assert query["error_description"] == "Service not found: https://api.example.com/"


@pytest.mark.parametrize("client_id", [None, "someone-else", ""])
def test_an_unknown_client_gets_an_error_page_and_no_redirect(
    browser: ScriptedBrowser, local_tenant: LocalTenant, client_id: str | None
) -> None:
    page = browser.open(AuthRequest().url(local_tenant.url, client_id=client_id))
    assert page.status == 400 and page.location is None
    assert page.title == "Unknown application"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:1/",
        "http://127.0.0.1:65535/callback?app=tutorial",
        "http://127.0.0.1/callback",
        "http://[::1]:53682/callback",
        "http://[::1]:8080",
    ],
)
def test_loopback_callbacks_on_any_port_are_allowed(
    signed_in_browser: ScriptedBrowser, local_tenant: LocalTenant, redirect_uri: str
) -> None:
    req = AuthRequest(redirect_uri=redirect_uri)
    page = continue_as_ada(signed_in_browser, req.url(local_tenant.url))
    assert page.location is not None and page.location.startswith(redirect_uri)
    assert code_from(page, req)


OPEN_REDIRECTS = [
    "",
    "https://evil.example/callback",
    "http://127.0.0.1.evil.example/callback",
    "http://127.0.0.1@evil.example/callback",
    "http://evil.example#@127.0.0.1:5000/",
    "http://evil.example\\@127.0.0.1:5000/",
    "http://127.0.0.1:5000\\@evil.example/",
    "http://127.0.0.1:5000/callback#fragment",
    "http://localhost:5000/callback",
    "https://127.0.0.1:5000/callback",
    "HTTP://127.0.0.1:5000/callback",
    "http://127.0.0.2:5000/callback",
    "http://127.1:5000/callback",
    "http://2130706433:5000/callback",
    "http://[::1].evil.example/",
    "http://[::ffff:127.0.0.1]:5000/",
    "http://127.0.0.1:0/callback",
    "http://127.0.0.1:65536/callback",
    "http://127.0.0.1:5000 /callback",
    "//evil.example/callback",
    "javascript:alert(1)",
    "http://127.0.0.1:5000/cállback",
]


@pytest.mark.parametrize("redirect_uri", OPEN_REDIRECTS)
def test_open_redirect_attempts_get_an_error_page_and_no_redirect(
    browser: ScriptedBrowser, local_tenant: LocalTenant, redirect_uri: str
) -> None:
    page = browser.open(AuthRequest(redirect_uri=redirect_uri).url(local_tenant.url))
    assert page.status == 400 and page.location is None
    assert page.title == "Callback URL not allowed"


def test_a_repeated_redirect_uri_gets_an_error_page(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    url = AuthRequest().url(local_tenant.url) + "&redirect_uri=https%3A%2F%2Fevil.example%2F"
    page = browser.open(url)
    assert page.status == 400 and page.location is None


# -- the login page ------------------------------------------------------------------------------
def test_the_login_page_cannot_be_framed_or_cached(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    r = browser.http.get(AuthRequest().url(local_tenant.url))
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "same-origin"  # nothing leaks to other sites


def test_the_login_page_is_labelled_for_screen_readers(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    page = browser.open(AuthRequest().url(local_tenant.url, login_hint="ada@example.com"))
    assert '<html lang="en">' in page.text and "<main" in page.text
    assert '<label for="username">' in page.text and '<label for="password">' in page.text
    assert 'autocomplete="current-password"' in page.text
    assert 'value="ada@example.com"' in page.text  # login_hint fills the email in
    assert page.title == "Welcome"


def test_values_from_the_request_are_escaped_on_the_page(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    page = browser.open(
        AuthRequest(state='"><script>alert(1)</script>').url(
            local_tenant.url, login_hint='"><img src=x onerror=alert(1)>'
        )
    )
    assert "<script>" not in page.text and "<img" not in page.text
    assert page.hidden["state"] == '"><script>alert(1)</script>'


def test_a_wrong_password_on_the_page_says_what_the_password_grant_says(
    browser: ScriptedBrowser, local_tenant: LocalTenant, http: httpx.Client
) -> None:
    page = browser.open(AuthRequest().url(local_tenant.url))
    wrong = browser.press(page, "login", username=ALAN[0], password="not-the-password")
    assert wrong.status == 403 and wrong.location is None
    grant = login(http, (ALAN[0], "not-the-password")).json()["error_description"]
    assert grant in wrong.text
    assert 'role="alert"' in wrong.text and 'aria-invalid="true"' in wrong.text


def test_failed_logins_on_the_page_and_the_grant_count_together_and_block(
    browser: ScriptedBrowser, local_tenant: LocalTenant, http: httpx.Client
) -> None:
    page = browser.open(AuthRequest().url(local_tenant.url))
    for _ in range(9):
        page = browser.press(page, "login", username=ALAN[0], password="wrong")
        assert page.status == 403
    assert login(http, (ALAN[0], "wrong")).status_code == 403  # the tenth, through the grant
    blocked = browser.press(page, "login", username=ALAN[0], password=ALAN[1])
    assert blocked.status == 429 and "blocked" in blocked.text
    assert error_of(login(http, ALAN)) == (429, "too_many_attempts")


def test_cancel_on_the_page_sends_access_denied_back(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    req = AuthRequest()
    page = browser.press(browser.open(req.url(local_tenant.url)), "cancel")
    query = query_of(page.location)
    assert query["error"] == "access_denied" and query["state"] == req.state


def test_sign_up_on_the_page_creates_the_account_and_signs_in(
    browser: ScriptedBrowser, local_tenant: LocalTenant, http: httpx.Client
) -> None:
    req = AuthRequest()
    page = browser.open(req.url(local_tenant.url, screen_hint="signup"))
    assert page.title == "Create your account" and "name" in page.inputs
    email = f"grace-{uuid.uuid4().hex[:8]}@example.com"
    done = browser.press(page, "signup", name="Grace Hopper", username=email, password="COBOL-1959")
    token = http.post("/oauth/token", data=req.exchange(code_from(done, req)))
    claims = jwt.decode(token.json()["id_token"], options={"verify_signature": False})
    assert claims["name"] == "Grace Hopper"


def test_the_login_page_links_to_sign_up_with_the_same_request(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    req = AuthRequest()
    page = browser.open(req.url(local_tenant.url))
    assert "screen_hint=signup" in page.text and req.state in page.text


# -- CSRF ----------------------------------------------------------------------------------------
def test_a_post_without_the_pages_token_is_refused(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    page = browser.open(AuthRequest().url(local_tenant.url))
    forged = dict(page.hidden, csrf="")
    r = browser.http.post(
        local_tenant.url + "/authorize",
        data={**forged, "action": "login", "username": ADA[0], "password": ADA[1]},
    )
    assert r.status_code == 403 and "location" not in r.headers


def test_a_token_from_another_browser_is_refused(local_tenant: LocalTenant) -> None:
    with ScriptedBrowser() as attacker, ScriptedBrowser() as victim:
        attacker_page = attacker.open(AuthRequest().url(local_tenant.url))
        victim.open(AuthRequest().url(local_tenant.url))  # the victim has a cookie of its own
        r = victim.http.post(
            local_tenant.url + "/authorize",
            data={
                **attacker_page.hidden,
                "action": "login",
                "username": ADA[0],
                "password": ADA[1],
            },
        )
        assert r.status_code == 403


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}],
)
def test_a_post_from_another_site_is_refused(
    browser: ScriptedBrowser, local_tenant: LocalTenant, headers: dict[str, str]
) -> None:
    page = browser.open(AuthRequest().url(local_tenant.url))
    r = browser.http.post(
        local_tenant.url + "/authorize",
        data={**page.hidden, "action": "login", "username": ADA[0], "password": ADA[1]},
        headers=headers,
    )
    assert r.status_code == 403 and "location" not in r.headers


# -- the tenant's session: single sign-on, prompt, logout ---------------------------------------
def test_the_session_cookie_is_httponly_and_samesite_lax(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    page = browser.open(AuthRequest().url(local_tenant.url))
    r = browser.http.post(
        local_tenant.url + "/authorize",
        data={**page.hidden, "action": "login", "username": ADA[0], "password": ADA[1]},
        headers={"Origin": local_tenant.url},
    )
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("st_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_a_second_sign_in_asks_continue_as_instead_of_the_password(
    signed_in_browser: ScriptedBrowser, local_tenant: LocalTenant, http: httpx.Client
) -> None:
    browser = signed_in_browser  # signed in on the page once already
    req = AuthRequest(redirect_uri="http://127.0.0.1:40000/other")
    page = browser.open(req.url(local_tenant.url))
    assert page.title == "Continue as Ada Lovelace?" and not page.shows_password_field
    assert "An application on this computer is asking to sign you in as Ada Lovelace" in page.text
    assert page.buttons == {"continue", "cancel", "switch"}
    code = code_from(browser.press(page, "continue"), req)
    assert http.post("/oauth/token", data=req.exchange(code)).status_code == 200


def test_not_you_ends_the_session_and_shows_the_password_form(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    sign_in(browser, AuthRequest().url(local_tenant.url))
    page = browser.open(AuthRequest().url(local_tenant.url))
    switched = browser.press(page, "switch")
    assert switched.shows_password_field
    assert browser.open(AuthRequest().url(local_tenant.url)).shows_password_field


def test_prompt_login_asks_for_the_password_inside_a_session(
    signed_in_browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    page = signed_in_browser.open(AuthRequest().url(local_tenant.url, prompt="login"))
    assert page.shows_password_field and page.title == "Welcome"
    # ... inside a session that lives on: without the prompt, no password is asked.
    assert continue_as_ada(signed_in_browser, AuthRequest().url(local_tenant.url)).status == 303


def test_prompt_none_without_a_session_answers_login_required(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    req = AuthRequest()
    query = query_of(browser.open(req.url(local_tenant.url, prompt="none")).location)
    assert query["error"] == "login_required" and query["state"] == req.state


def test_prompt_none_for_a_loopback_callback_needs_the_confirmation(
    signed_in_browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    page = signed_in_browser.open(AuthRequest().url(local_tenant.url, prompt="none"))
    query = query_of(page.location)
    assert query["error"] == "interaction_required"


def test_max_age_older_than_the_password_asks_for_it_again(
    signed_in_browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    local_tenant.advance_clock(120)
    page = signed_in_browser.open(AuthRequest().url(local_tenant.url, max_age="60"))
    assert page.shows_password_field
    # ... of a session that lives on: a max_age it meets asks for no password.
    young = AuthRequest().url(local_tenant.url, max_age=str(7 * 24 * 3600))
    assert continue_as_ada(signed_in_browser, young).status == 303


@pytest.mark.parametrize("max_age", ["\u00b2", "\u0661", "-1", " 5"])
def test_a_max_age_that_is_not_ascii_digits_is_an_error_back_to_the_app(
    signed_in_browser: ScriptedBrowser, local_tenant: LocalTenant, max_age: str
) -> None:
    # Attack: "²" passes str.isdigit() but not int(); inside a login session that was a 500.
    req = AuthRequest()
    page = signed_in_browser.open(req.url(local_tenant.url, max_age=max_age))
    assert page.status == 303, page.text
    query = query_of(page.location)
    assert query["error"] == "invalid_request" and query["state"] == req.state


def test_logout_ends_the_session_so_the_next_sign_in_asks_for_the_password(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    sign_in(browser, AuthRequest().url(local_tenant.url))
    stolen = browser.http.cookies["st_session"]
    r = browser.http.get(
        local_tenant.url + "/v2/logout",
        params={"client_id": "tutorial-app", "returnTo": "http://127.0.0.1:8888/lab"},
    )
    assert r.status_code == 302 and r.headers["location"] == "http://127.0.0.1:8888/lab"
    assert "st_session" not in browser.http.cookies
    assert browser.open(AuthRequest().url(local_tenant.url)).shows_password_field
    # The old cookie, replayed, is worth nothing: the session ended at the tenant too.
    with ScriptedBrowser() as thief:
        thief.http.cookies.set("st_session", stolen)
        assert thief.open(AuthRequest().url(local_tenant.url)).shows_password_field


def test_logout_with_a_bad_return_to_keeps_the_session(
    browser: ScriptedBrowser, local_tenant: LocalTenant
) -> None:
    sign_in(browser, AuthRequest().url(local_tenant.url))
    r = browser.http.get(
        local_tenant.url + "/v2/logout", params={"returnTo": "https://evil.example"}
    )
    assert r.status_code == 400
    assert not browser.open(AuthRequest().url(local_tenant.url)).shows_password_field


# -- tenant options (in-process) -----------------------------------------------------------------
REGISTERED = "https://app.example/callback"
PROXIED = "/user/learner/proxy/8942/callback"  # binder/start registers it host-relative


@pytest.fixture
def quiet_tenant(tmp_path: Path) -> Iterator[TestClient]:
    """A tenant with a registered callback and the loopback confirmation switched off."""
    config = TenantConfig(
        issuer="http://testserver/",
        data_dir=data_dir_with_key(tmp_path / "tenant"),
        redirect_uris=(REGISTERED, PROXIED),
        confirm_loopback=False,
    )
    idp = IdentityProvider(config, base_clock=FakeClock())
    with TestClient(create_app(config, idp)) as client:
        yield client
    idp.close()


@pytest.mark.parametrize(
    "redirect_uri",
    [
        REGISTERED + "/evil",
        REGISTERED + "x",
        REGISTERED + "?next=https://evil.example",
        "https://app.example/",
        "https://APP.example/callback",
        "https://app.example.evil.example/callback",
    ],
)
def test_registered_callbacks_match_exactly_never_by_prefix(
    quiet_tenant: TestClient, redirect_uri: str
) -> None:
    page = ScriptedBrowser(http=quiet_tenant).open(
        AuthRequest(redirect_uri=redirect_uri).url("http://testserver")
    )
    assert page.status == 400 and page.location is None


@pytest.mark.parametrize("redirect_uri", [REGISTERED, "http://127.0.0.1:9999/cb"])
def test_without_the_confirmation_single_sign_on_answers_at_once(
    quiet_tenant: TestClient, redirect_uri: str
) -> None:
    browser = ScriptedBrowser(http=quiet_tenant)
    sign_in(browser, AuthRequest(redirect_uri=redirect_uri).url("http://testserver"))
    req = AuthRequest(redirect_uri=redirect_uri)
    page = browser.open(req.url("http://testserver"))
    assert page.location is not None and page.location.startswith(redirect_uri)
    code = code_from(page, req)
    assert quiet_tenant.post("/oauth/token", data=req.exchange(code)).status_code == 200
    none = browser.open(
        AuthRequest(redirect_uri=redirect_uri).url("http://testserver", prompt="none")
    )
    assert "code" in query_of(none.location)


def test_a_code_replayed_while_its_first_exchange_runs_still_revokes_what_that_issued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Attack: the replay lands between the first exchange spending the code and recording its
    # refresh-token family, so the revocation found no family and the first one stayed live.
    # The interleaving cannot be had on demand over HTTP: the replay is run from inside the
    # first exchange, by wrapping start_family (a timing fault, not a fake tenant).
    config = TenantConfig(issuer="http://testserver/", data_dir=data_dir_with_key(tmp_path / "t"))
    idp = IdentityProvider(config, base_clock=FakeClock())
    with TestClient(create_app(config, idp)) as client:
        req = AuthRequest()
        code = code_from(sign_in(ScriptedBrowser(http=client), req.url("http://testserver")), req)
        start_family = idp.refresh_tokens.start_family
        replays: list[httpx.Response] = []

        def replay_first(*args: object, **kwargs: object) -> object:
            replays.append(client.post("/oauth/token", data=req.exchange(code)))
            return start_family(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(idp.refresh_tokens, "start_family", replay_first)
        first = client.post("/oauth/token", data=req.exchange(code))
        monkeypatch.undo()
        assert first.status_code == 200
        assert error_of(replays[0]) == (403, "invalid_grant")
        assert error_of(refresh(client, first.json()["refresh_token"])) == (403, "invalid_grant")
    idp.close()


def test_a_host_relative_callback_is_reached_from_the_page_not_a_location_header(
    quiet_tenant: TestClient,
) -> None:
    # jupyter-server-proxy would rewrite a Location header into its own prefix.
    browser = ScriptedBrowser(http=quiet_tenant)
    req = AuthRequest(redirect_uri=PROXIED)
    page = sign_in(browser, req.url("http://testserver"))
    assert page.status == 200  # a page, not a redirect
    assert page.location is not None
    assert page.location.startswith("http://testserver" + PROXIED + "?code=")
    code = query_of(page.location)["code"]
    assert quiet_tenant.post("/oauth/token", data=req.exchange(code)).status_code == 200


def test_behind_a_proxy_prefix_the_tenants_cookies_stay_under_that_prefix(tmp_path: Path) -> None:
    # Attack: on a host that serves many users' servers (mybinder.org: /user/NAME/...), a
    # cookie with Path=/ went to every other user's server there, and theirs could plant one.
    prefix = "/user/ada/proxy/8941/"
    data_dir = data_dir_with_key(tmp_path / "tenant")
    config = TenantConfig(issuer="http://testserver/", data_dir=data_dir, public_url=prefix)
    idp = IdentityProvider(config, base_clock=FakeClock())
    with TestClient(create_app(config, idp)) as client:
        page = client.get(AuthRequest().url("http://testserver"))
        csrf = page.cookies["st_csrf"]
        fields = dict(re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)"', page.text))
        signed_in = client.post(
            "/authorize",
            data={
                **{k: html.unescape(v) for k, v in fields.items()},
                "action": "login",
                "username": ADA[0],
                "password": ADA[1],
            },
            headers={"Cookie": f"st_csrf={csrf}"},
            follow_redirects=False,
        )
        assert signed_in.status_code in (200, 303), signed_in.text
        activate = client.get("/activate")
        logout = client.get("/v2/logout")
        for response, name in (
            (page, "st_csrf"),
            (signed_in, "st_session"),
            (activate, "st_csrf"),
            (logout, "st_session"),
        ):
            cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(name))
            assert f"Path={prefix}" in cookie, cookie
    idp.close()
