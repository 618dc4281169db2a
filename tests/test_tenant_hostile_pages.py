"""What a hostile web page (or a guesser elsewhere) can do to the local tenant, over real HTTP.

Any page a learner visits can post forms to http://127.0.0.1:PORT and frame its pages. A
browser marks such requests with an ``Origin`` (or ``Sec-Fetch-Site``); httpx sends the
headers a browser would. Another source is a second loopback address (127.0.0.2).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conftest import LocalTenant
from session_tutorial.provider.forms import CSRF_FIELD, submit
from session_tutorial.scripted_browser import ScriptedBrowser
from tests.authorize_helpers import AuthRequest
from tests.provider_helpers import ALAN, CLIENT, SCOPE, error_of, login

pytestmark = pytest.mark.integration

EVIL = {"Origin": "http://evil.example"}


@pytest.fixture
def elsewhere(local_tenant: LocalTenant) -> Iterator[httpx.Client]:
    """A client from another address (127.0.0.2), as a second machine would be."""
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=local_tenant.url, timeout=10, transport=transport) as client:
        yield client


def _device(http: httpx.Client) -> dict[str, str]:
    return http.post("/oauth/device/code", data={"client_id": CLIENT, "scope": SCOPE}).json()


def _pending(http: httpx.Client, device: dict[str, str]) -> bool:
    r = http.post(
        "/oauth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": CLIENT,
            "device_code": device["device_code"],
        },
    )
    # slow_down also means "still waiting for the person": these tests poll fast on purpose.
    return error_of(r) in ((403, "authorization_pending"), (429, "slow_down"))


def test_every_html_page_refuses_to_be_framed(http: httpx.Client) -> None:
    for page in (
        http.get("/activate"),
        http.post("/activate", data={"user_code": "NOPE-NOPE"}),  # an error page, too
        http.get("/authorize"),  # the login page's "bad request" page
    ):
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "x-frame-options" not in http.get("/.well-known/jwks.json").headers  # JSON as Auth0


@pytest.mark.parametrize(
    "headers",
    [EVIL, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}],
    ids=["other-origin", "null-origin", "fetch-metadata"],
)
def test_a_cross_site_page_can_neither_block_an_account_nor_plant_one(
    http: httpx.Client, headers: dict[str, str]
) -> None:
    for _ in range(12):  # more than the 10 wrong passwords that block an account
        r = http.post(
            "/oauth/token",
            headers=headers,
            data={
                "grant_type": "password",
                "client_id": CLIENT,
                "username": ALAN[0],
                "password": "wrong-password",
            },
        )
        assert error_of(r) == (403, "access_denied")
    assert login(http, ALAN).status_code == 200  # never counted, never blocked
    planted = {
        "client_id": CLIENT,
        "email": "planted@example.com",
        "password": "Planted-Password-1",
        "connection": "Username-Password-Authentication",
    }
    assert error_of(http.post("/dbconnections/signup", headers=headers, json=planted)) == (
        403,
        "access_denied",
    )
    assert error_of(login(http, ("planted@example.com", "Planted-Password-1"))) == (
        403,
        "invalid_grant",
    )


def test_the_tenants_own_origin_may_post(http: httpx.Client, local_tenant: LocalTenant) -> None:
    port = local_tenant.url.rsplit(":", 1)[1]
    for origin in (local_tenant.url, f"http://localhost:{port}"):
        r = http.post(
            "/oauth/token",
            headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"},
            data={
                "grant_type": "password",
                "client_id": CLIENT,
                "username": ALAN[0],
                "password": ALAN[1],
                "scope": "openid",
            },
        )
        assert r.status_code == 200, r.text


def test_activate_refuses_a_post_without_the_pages_token(http: httpx.Client) -> None:
    device = _device(http)
    fields = {"user_code": device["user_code"], "username": ALAN[0], "password": ALAN[1]}
    for forged in (fields, {**fields, CSRF_FIELD: "guessed"}):
        page = http.post("/activate", data={**forged, "action": "approve"})
        assert page.status_code == 403 and "did not come from the tenant" in page.text
    assert _pending(http, device)
    framed = http.post("/activate", headers=EVIL, data={**fields, "action": "approve"})
    assert error_of(framed) == (403, "access_denied")
    assert _pending(http, device)
    done = submit(
        http, f"/activate?user_code={device['user_code']}", {**fields, "action": "approve"}
    )
    assert done.status_code == 200 and "your device is signed in" in done.text


def test_denying_a_device_login_needs_the_accounts_password(http: httpx.Client) -> None:
    device = _device(http)
    no_password = submit(http, "/activate", {"user_code": device["user_code"], "action": "deny"})
    assert no_password.status_code == 403 and _pending(http, device)
    fields = {"user_code": device["user_code"], "username": ALAN[0], "password": ALAN[1]}
    denied = submit(http, "/activate", {**fields, "action": "deny"})
    assert denied.status_code == 200 and "denied" in denied.text
    assert not _pending(http, device)


def test_guessing_user_codes_is_rate_limited_per_source(
    http: httpx.Client, elsewhere: httpx.Client, local_tenant: LocalTenant
) -> None:
    device = _device(http)
    fields = {"username": ALAN[0], "password": ALAN[1], "action": "approve"}
    for n in range(10):
        guess = submit(elsewhere, "/activate", {**fields, "user_code": f"BCDF-GH{n:02d}"})
        assert guess.status_code == 400
    right = submit(elsewhere, "/activate", {**fields, "user_code": device["user_code"]})
    assert right.status_code == 429 and "Too many wrong codes" in right.text
    assert _pending(http, device)
    local_tenant.advance_clock(600)  # the window passes
    again = submit(elsewhere, "/activate", {**fields, "user_code": "BCDF-GHJK"})
    assert again.status_code == 400  # a guess again, not a 429


def test_wrong_passwords_block_a_user_only_from_their_source(
    http: httpx.Client, elsewhere: httpx.Client, local_tenant: LocalTenant
) -> None:
    for _ in range(10):
        assert error_of(login(elsewhere, (ALAN[0], "wrong-password"))) == (403, "invalid_grant")
    assert error_of(login(elsewhere, ALAN)) == (429, "too_many_attempts")  # blocked there
    assert login(http, ALAN).status_code == 200  # the learner, at 127.0.0.1, still signs in
    local_tenant.unblock(ALAN[0])
    assert login(elsewhere, ALAN).status_code == 200


def test_a_forwarded_for_header_does_not_change_who_is_counted(
    http: httpx.Client, local_tenant: LocalTenant
) -> None:
    # Attack: uvicorn believes X-Forwarded-For from 127.0.0.1 by default, so a program on the
    # machine named a new "source" for each guess (unlimited password guessing), or blocked
    # a user in the room by naming that user's address.
    try:
        for i in range(10):
            forged = {"X-Forwarded-For": f"10.0.0.{i}"}
            r = http.post(
                "/oauth/token",
                data={
                    "grant_type": "password",
                    "client_id": CLIENT,
                    "username": ALAN[0],
                    "password": "wrong-password",
                    "scope": SCOPE,
                },
                headers=forged,
            )
            assert error_of(r) == (403, "invalid_grant")
        assert error_of(
            login(
                http,
                ALAN,
            )
        ) == (429, "too_many_attempts")  # all from here
    finally:
        local_tenant.unblock(ALAN[0])


@pytest.mark.parametrize(
    ("email", "name"),
    [
        ("mallory@example.com", "\x1b[2J\x1b]52;c;ZXZpbA==\x07Ada Lovelace"),
        ("mallory@example.com", "Ada\nSigned in as Alan Turing"),
        ("mallory@example.com", "\u202eecalevoL adA"),  # a bidi override
        ("mallory@example.com", "M" * 129),
        ("mallory@example.com", "\u200b" * 3 + "Ada"),  # zero-width spaces (format characters)
        ("mallory\r\n@example.com", "Mallory"),
    ],
)
def test_a_signup_with_control_characters_or_a_huge_name_is_refused(
    http: httpx.Client, email: str, name: str
) -> None:
    # Attack: the name and email go into every ID token, page and message naming the user:
    # escape sequences reached terminals and notebook outputs, 60 kB names every token.
    api = http.post(
        "/dbconnections/signup",
        json={
            "client_id": CLIENT,
            "email": email,
            "password": "Correct-Horse-1",
            "connection": "Username-Password-Authentication",
            "name": name,
        },
    )
    assert error_of(api) == (400, "invalid_request")
    if len(name) > 128:  # the page's field keeps the first 128 characters: nothing to refuse
        return
    with ScriptedBrowser() as browser:
        form = browser.open(AuthRequest().url(str(http.base_url), screen_hint="signup"))
        page = browser.press(form, "signup", username=email, password="Correct-Horse-1", name=name)
    assert page.status == 400 and "st-error" in page.text, page.text
    assert error_of(login(http, (email, "Correct-Horse-1"))) == (403, "invalid_grant")
