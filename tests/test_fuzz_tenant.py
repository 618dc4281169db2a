"""Hostile input to every tenant endpoint, generated: never a 5xx, always Auth0's error JSON.

In-process (tests/app_client.py, no sockets), deterministic (``derandomize=True``) and
bounded (``max_examples``). Properties, for any method, path, content type, body and headers:

- the tenant never answers 5xx;
- a 4xx from the API is exactly ``{"error": str, "error_description": str}``, JSON
  (the ``/activate`` page answers HTML, as a browser expects);
- a token never comes back for a wrong password, an unknown refresh token or device code;
- ``/v2/logout`` never redirects anywhere but this machine;
- ``/authorize`` never redirects anywhere but ``127.0.0.1`` or ``[::1]`` (no callback is
  registered on this tenant), and never hands a code to an unchecked ``redirect_uri``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from session_tutorial.provider import TenantConfig, create_app
from session_tutorial.provider.keyfiles import admin_key
from tests.app_client import AppClient
from tests.provider_helpers import ADA, ALAN, CLIENT, DEVICE, REALM, data_dir_with_key

FUZZ = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
PASSWORDS = dict([ADA, ALAN])
API_PATHS = [
    "/oauth/token",
    "/oauth/device/code",
    "/oauth/revoke",
    "/userinfo",
    "/v2/logout",
    "/dbconnections/signup",
    "/.well-known/openid-configuration",
    "/.well-known/jwks.json",
    "/_teaching/clock",
    "/_teaching/clock/advance",
    "/_teaching/reset",
    "/_teaching/users/ada@example.com/revoke",
    "/_teaching/users/ada@example.com/sessions",
    "/_teaching/users/ada@example.com/unblock",
]
HTML_PATHS = ["/activate", "/authorize"]
FIELDS = [
    "grant_type",
    "client_id",
    "username",
    "password",
    "realm",
    "scope",
    "audience",
    "refresh_token",
    "device_code",
    "token",
    "email",
    "connection",
    "name",
    "user_code",
    "action",
    "seconds",
]
GRANTS = [
    REALM,
    "password",
    "refresh_token",
    DEVICE,
    "client_credentials",
    "",
    "authorization_code",
]


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppClient, str]]:
    data_dir = data_dir_with_key(tmp_path_factory.mktemp("fuzzed") / "tenant")
    app = create_app(TenantConfig(issuer="http://testserver/", data_dir=data_dir))
    with AppClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        yield client, admin_key(data_dir)


# -- building blocks ---------------------------------------------------------------------

header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80
)  # what an HTTP header value can carry
# Lone UTF-16 surrogates: JSON can carry them ("\ud800"), a form only as invalid UTF-8 bytes.
surrogates = st.characters(categories=["Cs"])
texts = st.text(max_size=40) | st.builds(
    lambda a, s, b: a + s + b, st.text(max_size=10), surrogates, st.text(max_size=10)
)
values = st.one_of(
    texts,
    st.sampled_from([CLIENT, *GRANTS, ADA[0], ADA[1], "Username-Password-Authentication"]),
    st.sampled_from(["openid profile email offline_access", "offline_access", "x" * 5000]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
field_names = st.sampled_from(FIELDS) | st.text(max_size=10) | surrogates


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str | None, bytes]:
    """A content type and a body: well-formed or not, matching its type or not."""
    kind = draw(st.sampled_from(["form", "json", "json-any", "bytes", "duplicates", "huge"]))
    if kind == "form":
        pairs = draw(st.lists(st.tuples(field_names, values), max_size=8))
        body = urlencode(pairs, errors="surrogatepass").encode()
    elif kind == "duplicates":
        name = draw(st.sampled_from(FIELDS))
        twice = [(name, draw(values)), (name, draw(values))]
        body = urlencode(twice, errors="surrogatepass").encode()
    elif kind == "json":
        members = draw(st.dictionaries(field_names, values | json_values, max_size=8))
        body = json.dumps(members).encode()
    elif kind == "json-any":
        body = json.dumps(draw(json_values)).encode()
    elif kind == "huge":
        body = b"client_id=" + b"x" * draw(st.integers(64 * 1024, 200 * 1024))
    else:
        body = draw(st.binary(max_size=300))
    ctype = draw(
        st.sampled_from(
            [
                "application/x-www-form-urlencoded",
                "application/json",
                "application/json; charset=utf-8",
                "text/plain",
                "multipart/form-data; boundary=x",
                None,
            ]
        )
        | header_text
    )
    return ctype, body


def assert_well_formed(response: httpx.Response, path: str, method: str) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    if method == "HEAD" or response.status_code < 400:
        return
    if path in HTML_PATHS and response.headers["content-type"].startswith("text/html"):
        return
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["error_description"], str) and body["error_description"]


def assert_no_token_for_a_wrong_secret(response: httpx.Response, sent: dict[str, Any]) -> None:
    if response.status_code != 200 or "access_token" not in response.text:
        return
    grant = sent.get("grant_type")
    assert grant in (REALM, "password"), f"a token for grant {grant!r}: {sent}"
    assert PASSWORDS.get(str(sent.get("username", "")).strip().lower()) == sent.get("password")


def params_of(ctype: str | None, body: bytes) -> dict[str, Any]:
    """What the tenant would read from this body, to judge its answer (best effort)."""
    try:
        if ctype and ctype.startswith("application/json"):
            data = json.loads(body)
            return data if isinstance(data, dict) else {}
        return dict(parse_qsl(body.decode()))
    except (ValueError, UnicodeDecodeError):
        return {}


# -- properties --------------------------------------------------------------------------


@settings(FUZZ, max_examples=300)
@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]),
    path=st.sampled_from(API_PATHS + HTML_PATHS)
    | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30).map(
        lambda p: "/" + p.lstrip("/")
    ),
    body=bodies(),
    authorization=st.none() | header_text,
    admin=st.booleans(),
)
def test_any_request_to_any_endpoint_gets_a_well_formed_answer(
    tenant, method: str, path: str, body: tuple[str | None, bytes], authorization, admin: bool
) -> None:
    client, key = tenant
    ctype, content = body
    headers = {}
    if ctype is not None:
        headers["content-type"] = ctype
    if authorization is not None:
        headers["authorization"] = authorization
    if admin:
        headers["x-admin-key"] = key
    try:
        response = client.request(method, path, content=content, headers=headers)
    except httpx.InvalidURL:
        return  # the client itself refuses to send it
    assert_well_formed(response, urlsplit(path).path, method)
    if path == "/oauth/token":
        assert_no_token_for_a_wrong_secret(response, params_of(ctype, content))


SURROGATE_PATHS = [
    "/oauth/token",
    "/oauth/device/code",
    "/oauth/revoke",
    "/dbconnections/signup",
    "/_teaching/clock/advance",
    "/activate",
    "/authorize",
]


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "form"])
@pytest.mark.parametrize("path", SURROGATE_PATHS)
def test_a_lone_surrogate_in_any_field_is_a_4xx_never_a_500(
    tenant, path: str, as_json: bool, caplog: pytest.LogCaptureFixture
) -> None:
    client, key = tenant
    sound = {
        "grant_type": "password",
        "client_id": CLIENT,
        "username": ADA[0],
        "password": ADA[1],
        "connection": "Username-Password-Authentication",
        "email": "new@example.com",
    }
    for name in FIELDS:
        fields = {**sound, name: "x\ud800y"}
        if as_json:
            sent = {"content": json.dumps(fields), "headers": {"content-type": "application/json"}}
        else:
            form = urlencode(fields, errors="surrogatepass")
            sent = {
                "content": form,
                "headers": {"content-type": "application/x-www-form-urlencoded"},
            }
        sent["headers"]["x-admin-key"] = key
        response = client.post(path, **sent)
        assert 400 <= response.status_code < 500, (name, response.status_code)
        assert_well_formed(response, path, "POST")
    assert "unhandled" not in caplog.text  # no 500, so no server error in the log either


def test_the_right_secret_does_get_a_token(tenant) -> None:
    # The properties below would hold vacuously if the harness broke every request.
    client, _ = tenant
    form = {"grant_type": REALM, "client_id": CLIENT, "username": ADA[0], "password": ADA[1]}
    response = client.post(
        "/oauth/token", data={**form, "realm": "Username-Password-Authentication"}
    )
    assert response.status_code == 200 and response.json()["access_token"]


@st.composite
def token_requests(draw: st.DrawFn) -> dict[str, Any]:
    """Token requests that are nearly right: real client, real users, near-miss secrets."""
    grant = draw(st.sampled_from([REALM, "password", "refresh_token", DEVICE]))
    form: dict[str, Any] = {"grant_type": grant, "client_id": CLIENT}
    if grant in (REALM, "password"):
        email, password = draw(st.sampled_from([ADA, ALAN]))
        wrong = draw(
            st.sampled_from(
                [
                    password.upper(),
                    password.lower(),
                    password[:-1],
                    password + " ",
                    " " + password,
                    password + "\x00",
                    "",
                    PASSWORDS[ALAN[0] if email == ADA[0] else ADA[0]],
                ]
            )
            | st.text(max_size=30)
        )
        form.update(username=draw(st.sampled_from([email, email.upper(), f" {email} "])))
        form.update(password=wrong, realm="Username-Password-Authentication", scope="openid")
    elif grant == "refresh_token":
        form["refresh_token"] = draw(st.text(max_size=60) | st.from_regex(r"[A-Za-z0-9_-]{48}"))
    else:
        form["device_code"] = draw(st.text(max_size=60) | st.from_regex(r"[A-Za-z0-9_-]{43}"))
    return form


@FUZZ
@given(form=token_requests(), as_json=st.booleans())
def test_no_token_ever_comes_back_for_a_wrong_secret(tenant, form: dict[str, Any], as_json) -> None:
    client, key = tenant
    client.post("/_teaching/reset", headers={"x-admin-key": key})  # no block hides a bug
    if as_json:
        response = client.post("/oauth/token", json=form)
    else:
        response = client.post("/oauth/token", data=form)
    assert_well_formed(response, "/oauth/token", "POST")
    assert_no_token_for_a_wrong_secret(response, form)


@FUZZ
@given(
    token=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=400),
    scheme=st.sampled_from(["Bearer", "bearer", "Basic", "", "Bearer  "]),
)
def test_userinfo_refuses_any_token_it_did_not_mint(tenant, token: str, scheme: str) -> None:
    client, _ = tenant
    response = client.get("/userinfo", headers={"authorization": f"{scheme} {token}".strip()})
    assert_well_formed(response, "/userinfo", "GET")
    assert response.status_code == 401


LOCAL = {"localhost", "127.0.0.1", "::1"}


# Found by this test: a 500 on "http://[/" and "http://localhost::/", a redirect to the
# unparsable "http://:[::1]", and a redirect
# carrying credentials before the host ("evil.example\\@127.0.0.1").
@example(return_to="http://evil.example\\@127.0.0.1/")
@example(return_to="http://[/")
@example(return_to="http://localhost::/")
@example(return_to="http://:[::1]")
@example(return_to="http://localhost:99999/")
@settings(FUZZ, max_examples=400)
@given(
    return_to=st.builds(
        lambda scheme, pre, host, post: f"{scheme}{pre}{host}{post}",
        st.sampled_from(["http://", "https://", "//", "http:/", "http:\\\\", "javascript:", ""]),
        st.sampled_from(["", "evil.example@", "evil.example\\@", "evil.example%40", "user:pw@"])
        | st.text(st.sampled_from("@\\/.:%?#[]evil"), max_size=6),
        st.sampled_from(["127.0.0.1", "localhost", "[::1]", "evil.example"]),
        st.sampled_from(["", "/", ":8888/x", "\\@evil.example", "@evil.example", "#@evil.example"])
        | st.text(st.sampled_from("@\\/.:%?#evil\t"), max_size=6),
    )
)
def test_logout_never_redirects_off_this_machine(tenant, return_to: str) -> None:
    client, _ = tenant
    response = client.get("/v2/logout", params={"client_id": CLIENT, "returnTo": return_to})
    assert_well_formed(response, "/v2/logout", "GET")
    if response.status_code in (301, 302, 303, 307, 308):
        location = response.headers["location"]
        parts = urlsplit(location)
        # What a browser would do: WHATWG URLs treat "\" as "/" in http(s) URLs, and anything
        # before an "@" in the authority is credentials, not the host.
        assert "\\" not in location and "@" not in parts.netloc, location
        assert not any(c in location for c in "\t\r\n "), location
        assert parts.scheme in ("http", "https") and parts.hostname in LOCAL, location


REDIRECTS = st.builds(
    lambda scheme, pre, host, post: f"{scheme}{pre}{host}{post}",
    st.sampled_from(
        ["http://", "https://", "//", "http:/", "http:\\\\", "javascript:", "HTTP://", ""]
    ),
    st.sampled_from(["", "evil.example@", "evil.example\\@", "evil.example%40", "user:pw@"])
    | st.text(st.sampled_from("@\\/.:%?#[]evil"), max_size=6),
    st.sampled_from(["127.0.0.1", "localhost", "[::1]", "evil.example", "127.0.0.1.evil.example"]),
    st.sampled_from(["", "/", ":8888/cb", "\\@evil.example", "@evil.example", "#@evil.example"])
    | st.text(st.sampled_from("@\\/.:%?#evil\t0123456789"), max_size=8),
)


@example(redirect_uri="http://127.0.0.1:8888/cb")  # the one kind that is allowed
@settings(FUZZ, max_examples=300)
@given(redirect_uri=REDIRECTS)
def test_authorize_never_redirects_off_this_machine(tenant, redirect_uri: str) -> None:
    client, _ = tenant
    params = {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": redirect_uri,
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "plain",  # refused: every allowed redirect carries an error
        "state": "xyz",
    }
    response = client.get("/authorize", params=params)
    assert response.status_code in (303, 400), response.status_code
    if response.status_code == 303:
        location = response.headers["location"]
        parts = urlsplit(location)
        assert location.startswith(redirect_uri + "?"), location
        assert "\\" not in location and "@" not in parts.netloc, location
        assert parts.scheme == "http" and parts.hostname in ("127.0.0.1", "::1"), location
        assert "code=" not in location
