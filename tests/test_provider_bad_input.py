"""Bad requests to the tenant: each gets a 4xx in Auth0's error shape, never a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from session_tutorial.provider import TenantConfig, create_app
from tests.provider_helpers import ADA, CLIENT, REALM, data_dir_with_key, error_of

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
OK_LOGIN = (
    f"grant_type={REALM}&client_id={CLIENT}&username={ADA[0]}&password={ADA[1]}"
    "&realm=Username-Password-Authentication&scope=openid"
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir = data_dir_with_key(tmp_path_factory.mktemp("bad-input") / "tenant")
    with TestClient(
        create_app(TenantConfig(issuer="http://testserver/", data_dir=data_dir)),
        raise_server_exceptions=False,
    ) as c:
        yield c


CASES = [
    # (what, content type, body, status, error)
    ("no content type", None, OK_LOGIN, 400, "invalid_request"),
    ("text/plain", "text/plain", OK_LOGIN, 400, "invalid_request"),
    ("multipart", "multipart/form-data; boundary=x", "--x--", 400, "invalid_request"),
    ("empty form", FORM, "", 400, "invalid_request"),
    ("missing grant_type", FORM, f"client_id={CLIENT}", 400, "invalid_request"),
    (
        "missing client_id",
        FORM,
        "grant_type=password&username=a&password=b",
        400,
        "invalid_request",
    ),
    (
        "unknown client",
        FORM,
        "grant_type=password&client_id=evil&username=a&password=b",
        401,
        "access_denied",
    ),
    (
        "unknown grant",
        FORM,
        f"grant_type=implicit&client_id={CLIENT}",
        400,
        "unsupported_grant_type",
    ),
    (
        "missing password",
        FORM,
        f"grant_type=password&client_id={CLIENT}&username=a",
        400,
        "invalid_request",
    ),
    ("duplicated field", FORM, OK_LOGIN + "&password=other", 400, "invalid_request"),
    ("duplicated client_id", FORM, OK_LOGIN + f"&client_id={CLIENT}", 400, "invalid_request"),
    ("malformed form", FORM, "a=%zz&&&=", 400, "invalid_request"),
    ("not utf-8", FORM, b"grant_type=\xff\xfe", 400, "invalid_request"),
    ("malformed JSON", JSON, "{grant_type: password", 400, "invalid_request"),
    ("JSON array", JSON, "[1, 2]", 400, "invalid_request"),
    (
        "JSON number field",
        JSON,
        '{"grant_type": "password", "client_id": 7}',
        400,
        "invalid_request",
    ),
    ("JSON nested object", JSON, '{"grant_type": {"a": 1}}', 400, "invalid_request"),
    (
        "JSON duplicated key",
        JSON,
        '{"grant_type": "password", "grant_type": "x"}',
        400,
        "invalid_request",
    ),
    ("deep JSON", JSON, "[" * 100_000 + "]" * 100_000, 413, "invalid_request"),
    ("NUL in a field", JSON, '{"grant_type": "pass\\u0000word"}', 400, "invalid_request"),
    ("wrong realm", FORM, OK_LOGIN.replace("Username-Password", "Other"), 400, "invalid_request"),
    (
        "refresh without token",
        JSON,
        f'{{"grant_type": "refresh_token", "client_id": "{CLIENT}"}}',
        400,
        "invalid_request",
    ),
    (
        "garbage refresh token",
        JSON,
        f'{{"grant_type": "refresh_token", "client_id": "{CLIENT}", "refresh_token": "x"}}',
        403,
        "invalid_grant",
    ),
    (
        "garbage device code",
        FORM,
        f"grant_type=urn:ietf:params:oauth:grant-type:device_code&client_id={CLIENT}"
        "&device_code=nope",
        403,
        "invalid_grant",
    ),
]


@pytest.mark.parametrize(
    ("what", "ctype", "body", "status", "error"), CASES, ids=[c[0] for c in CASES]
)
def test_malformed_token_request_gets_an_auth0_error(
    client: TestClient, what: str, ctype: str | None, body: str | bytes, status: int, error: str
) -> None:
    headers = {"content-type": ctype} if ctype else {}
    r = client.post("/oauth/token", content=body, headers=headers)
    assert error_of(r) == (status, error)


def test_oversized_body_is_refused_with_413(client: TestClient) -> None:
    r = client.post("/oauth/token", content="a=" + "x" * 70_000, headers={"content-type": FORM})
    assert error_of(r) == (413, "invalid_request")


def test_lying_content_length_is_refused(client: TestClient) -> None:
    r = client.post(
        "/oauth/token", content=b"a=b", headers={"content-type": FORM, "content-length": "abc"}
    )
    assert r.status_code in (400, 413)


@pytest.mark.parametrize("path", ["/oauth/device/code", "/oauth/revoke", "/dbconnections/signup"])
def test_other_endpoints_refuse_bad_bodies_the_same_way(client: TestClient, path: str) -> None:
    assert error_of(client.post(path, content="{", headers={"content-type": JSON})) == (
        400,
        "invalid_request",
    )
    r = client.post(path, data={"client_id": "evil", "token": "x"})
    assert error_of(r) == (401, "access_denied")


def test_unknown_path_and_wrong_method_get_json_errors(client: TestClient) -> None:
    assert error_of(client.get("/nope")) == (404, "not_found")
    assert error_of(client.get("/oauth/token")) == (405, "method_not_allowed")
    assert error_of(client.delete("/userinfo")) == (405, "method_not_allowed")


def test_bad_teaching_input_is_a_400(client: TestClient) -> None:
    key = {"X-Admin-Key": client.app.state.admin_key}  # type: ignore[attr-defined]
    for seconds in ("-5", "soon", "nan", "1e30"):
        r = client.post("/_teaching/clock/advance", json={"seconds": seconds}, headers=key)
        assert error_of(r) == (400, "invalid_request"), seconds
