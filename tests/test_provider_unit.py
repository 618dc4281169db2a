"""The local tenant in-process (tests/app_client.py, a fake clock): its grants and rules."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest

from session_tutorial.provider import DEMO_USERS, IdentityProvider, TenantConfig, create_app
from session_tutorial.provider import access as access_module
from session_tutorial.provider import users as users_module
from session_tutorial.provider.errors import InvalidToken
from session_tutorial.provider.forms import submit
from session_tutorial.provider.passwords import PUBLISHED_HASHES, needs_rehash, verify_password
from tests.app_client import AppClient
from tests.provider_helpers import (
    ADA,
    ALAN,
    CLIENT,
    DEVICE,
    SCOPE,
    FakeClock,
    error_of,
    login,
    refresh,
)

ISSUER = "http://testserver/"
USERINFO = ISSUER + "userinfo"


class Tenant:
    def __init__(self, data_dir: Path, clock: FakeClock, **config: object) -> None:
        self.config = TenantConfig(issuer=ISSUER, data_dir=data_dir, **config)  # type: ignore[arg-type]
        self.clock = clock
        self.idp = IdentityProvider(self.config, base_clock=clock)
        self.client = AppClient(create_app(self.config, self.idp))

    def close(self) -> None:
        self.client.close()
        self.idp.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tenant's data dir made once: its RSA key and the demo users' Argon2 hashes take about
    a second to make, so each test's tenant starts from a copy (a fresh state all the same)."""
    path = tmp_path_factory.mktemp("tenant-template")
    Tenant(path, FakeClock()).close()
    return path


@pytest.fixture
def data_dir(tmp_path: Path, template: Path) -> Path:
    shutil.copytree(template, tmp_path, dirs_exist_ok=True)
    return tmp_path


@pytest.fixture
def tenant(data_dir: Path, clock: FakeClock) -> Iterator[Tenant]:
    t = Tenant(data_dir, clock)
    yield t
    t.close()


def _public_key(t: Tenant) -> object:
    return t.idp.key.private_key.public_key()


# -- password grants ---------------------------------------------------------------------------
def test_password_realm_login_returns_auth0_shaped_tokens(tenant: Tenant) -> None:
    r = login(tenant.client)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {
        "access_token",
        "id_token",
        "refresh_token",
        "scope",
        "expires_in",
        "token_type",
    }
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert r.headers["cache-control"] == "no-store"
    claims = jwt.decode(
        body["id_token"],
        _public_key(tenant),
        algorithms=["RS256"],
        audience=CLIENT,
        issuer=ISSUER,
        options={"verify_iat": False, "verify_exp": False},
    )
    assert claims["name"] == "Ada Lovelace" and claims["email"] == ADA[0]
    assert jwt.get_unverified_header(body["id_token"])["kid"] == tenant.idp.key.kid


def test_plain_password_grant_works_without_realm(tenant: Tenant) -> None:
    r = tenant.client.post(
        "/oauth/token",
        data={
            "grant_type": "password",
            "client_id": CLIENT,
            "username": ALAN[0],
            "password": ALAN[1],
            "scope": "openid",
        },
    )
    assert r.status_code == 200
    assert set(r.json()) == {"access_token", "id_token", "scope", "expires_in", "token_type"}


def test_refresh_token_only_with_offline_access_and_id_token_only_with_openid(
    tenant: Tenant,
) -> None:
    body = login(tenant.client, scope="profile email").json()
    assert "refresh_token" not in body and "id_token" not in body
    body = login(tenant.client, scope="openid offline_access bogus").json()
    assert body["scope"] == "openid offline_access"
    assert "refresh_token" in body and "id_token" in body


def test_wrong_password_is_invalid_grant(tenant: Tenant) -> None:
    r = login(tenant.client, (ADA[0], "nope"))
    assert error_of(r) == (403, "invalid_grant")
    assert r.json()["error_description"] == "Wrong email or password."


def test_unknown_email_answers_exactly_as_a_wrong_password(tenant: Tenant) -> None:
    assert (
        login(tenant.client, ("who@example.com", "x")).json()
        == login(tenant.client, (ADA[0], "x")).json()
    )


def test_ten_failed_logins_block_the_account_until_unblocked(tenant: Tenant) -> None:
    for _ in range(9):
        assert error_of(login(tenant.client, (ADA[0], "bad"))) == (403, "invalid_grant")
    assert error_of(login(tenant.client, (ADA[0], "bad"))) == (403, "invalid_grant")
    # Blocked now: even the right password is refused.
    assert error_of(login(tenant.client)) == (429, "too_many_attempts")
    assert login(tenant.client, ALAN).status_code == 200  # nobody else is affected
    assert tenant.idp.users.unblock(ADA[0])
    assert login(tenant.client).status_code == 200


def test_a_blocked_account_is_refused_without_checking_a_password_hash(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The answer to a blocked user is the same whatever the password, so the tenant spends no
    # Argon2 hash on it: an attacker who keeps trying costs it nothing. (A spy on the real
    # check, which still runs for everyone else.)
    for _ in range(10):
        login(tenant.client, (ADA[0], "bad"))
    checked: list[str] = []

    def spy(password: str, stored: str) -> bool:
        checked.append(password)
        return verify_password(password, stored)

    monkeypatch.setattr(users_module, "verify_password", spy)
    assert error_of(login(tenant.client)) == (429, "too_many_attempts")
    assert error_of(login(tenant.client, (ADA[0], "bad"))) == (429, "too_many_attempts")
    assert checked == []
    assert login(tenant.client, ALAN).status_code == 200
    assert checked == [ALAN[1]]


def test_a_successful_login_resets_the_failure_count(tenant: Tenant) -> None:
    for _ in range(9):
        login(tenant.client, (ADA[0], "bad"))
    assert login(tenant.client).status_code == 200
    for _ in range(9):
        login(tenant.client, (ADA[0], "bad"))
    assert login(tenant.client).status_code == 200


def test_passwords_are_stored_hashed(tenant: Tenant) -> None:
    row = tenant.idp.db.one("SELECT password_hash FROM users WHERE email = ?", ADA[0])
    assert row is not None and row["password_hash"].startswith("$argon2id$")
    assert ADA[1] not in row["password_hash"]
    raw = (tenant.config.data_dir / "tenant.sqlite3").read_bytes()
    assert ADA[1].encode() not in raw


def test_the_demo_users_hashes_made_once_verify_their_passwords_with_todays_parameters() -> None:
    # Made once, not on every tenant start (passwords.PUBLISHED_HASHES): each must be a salted
    # Argon2id hash of its demo user's password, with the parameters new hashes get.
    assert sorted(PUBLISHED_HASHES) == sorted(password for _, password, _ in DEMO_USERS)
    salts = set()
    for _, password, _ in DEMO_USERS:
        stored = PUBLISHED_HASHES[password]
        assert stored.startswith("$argon2id$") and password not in stored
        assert verify_password(password, stored) and not needs_rehash(stored)
        assert not verify_password(password + "x", stored)
        salts.add(stored.split("$")[4])
    assert len(salts) == len(DEMO_USERS)


# -- refresh tokens ----------------------------------------------------------------------------
def test_refresh_rotates_the_refresh_token(tenant: Tenant) -> None:
    first = login(tenant.client).json()["refresh_token"]
    r = refresh(tenant.client, first)
    assert r.status_code == 200
    second = r.json()["refresh_token"]
    assert second != first
    assert refresh(tenant.client, second).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    tenant: Tenant, clock: FakeClock
) -> None:
    first = login(tenant.client).json()["refresh_token"]
    second = refresh(tenant.client, first).json()["refresh_token"]
    clock.advance(tenant.config.refresh_leeway + 1)  # past the leeway for a lost answer
    assert error_of(refresh(tenant.client, first)) == (403, "invalid_grant")
    # The newest token of the family is dead too: reuse detection revoked it all.
    assert error_of(refresh(tenant.client, second)) == (403, "invalid_grant")
    [family] = tenant.idp.refresh_tokens.sessions(tenant.idp.users.by_email(ADA[0]).id)
    assert family["active"] is False and family["revoked_reason"] == "reuse"


def test_reuse_detection_leaves_other_sessions_alone(tenant: Tenant) -> None:
    mine = login(tenant.client).json()["refresh_token"]
    other = login(tenant.client).json()["refresh_token"]
    refresh(tenant.client, mine)
    refresh(tenant.client, mine)
    assert refresh(tenant.client, other).status_code == 200


def _live_tokens(t: Tenant) -> int:
    return t.idp.db.one("SELECT COUNT(*) AS n FROM refresh_tokens WHERE rotated_at IS NULL")["n"]


def test_a_replay_inside_the_leeway_gets_the_same_successor_not_a_new_one(
    data_dir: Path, clock: FakeClock
) -> None:
    t = Tenant(data_dir, clock, refresh_leeway=30)
    try:
        first = login(t.client).json()["refresh_token"]
        answer = refresh(t.client, first).json()
        clock.advance(10)
        replays = [refresh(t.client, first).json() for _ in range(5)]  # the answer was "lost"
        assert {r["refresh_token"] for r in replays} == {answer["refresh_token"]}
        # Access and ID tokens are minted afresh: what a second exchange would give.
        assert all(r["access_token"] != answer["access_token"] for r in replays)
        assert _live_tokens(t) == 1  # one family, one live token: it did not fork
        [family] = t.idp.refresh_tokens.sessions(t.idp.users.by_email(ADA[0]).id)
        assert family["rotations"] == 1 and family["active"]
        third = refresh(t.client, answer["refresh_token"]).json()["refresh_token"]
        assert _live_tokens(t) == 1
        # The one before the previous never gets leeway: reuse revokes the family.
        assert error_of(refresh(t.client, first)) == (403, "invalid_grant")
        assert error_of(refresh(t.client, third)) == (403, "invalid_grant")
    finally:
        t.close()


def test_leeway_expires(data_dir: Path, clock: FakeClock) -> None:
    t = Tenant(data_dir, clock, refresh_leeway=30)
    try:
        first = login(t.client).json()["refresh_token"]
        second = refresh(t.client, first).json()["refresh_token"]
        clock.advance(31)
        assert error_of(refresh(t.client, first)) == (403, "invalid_grant")
        assert error_of(refresh(t.client, second)) == (403, "invalid_grant")  # family revoked
    finally:
        t.close()


def test_no_leeway_means_any_replay_is_reuse(data_dir: Path, clock: FakeClock) -> None:
    t = Tenant(data_dir, clock, refresh_leeway=0)
    try:
        first = login(t.client).json()["refresh_token"]
        second = refresh(t.client, first).json()["refresh_token"]
        assert error_of(refresh(t.client, first)) == (403, "invalid_grant")  # same instant
        assert error_of(refresh(t.client, second)) == (403, "invalid_grant")
    finally:
        t.close()


def test_a_token_retired_in_the_future_is_outside_the_leeway(tenant: Tenant) -> None:
    first = login(tenant.client).json()["refresh_token"]
    tenant.idp.clock.advance(3600)
    second = refresh(tenant.client, first).json()["refresh_token"]  # retired at +1 h
    tenant.idp.clock.set_offset(0)  # the teacher resets the clock: the age is now -1 h
    assert error_of(refresh(tenant.client, first)) == (403, "invalid_grant")
    assert error_of(refresh(tenant.client, second)) == (403, "invalid_grant")


def test_a_replay_with_a_wider_scope_is_still_reuse(tenant: Tenant, clock: FakeClock) -> None:
    first = login(tenant.client, scope="openid offline_access").json()["refresh_token"]
    second = refresh(tenant.client, first).json()["refresh_token"]
    clock.advance(tenant.config.refresh_leeway + 1)
    # Reuse is judged before the scope: a stolen retired token cannot probe without a trace.
    assert error_of(refresh(tenant.client, first, scope="openid email")) == (403, "invalid_grant")
    assert error_of(refresh(tenant.client, second)) == (403, "invalid_grant")


def test_successors_are_derived_so_the_database_holds_no_token(tenant: Tenant) -> None:
    first = login(tenant.client).json()["refresh_token"]
    second = refresh(tenant.client, first).json()["refresh_token"]
    assert second == tenant.idp.refresh_tokens.successor_of(first)
    db = (tenant.config.data_dir / "tenant.sqlite3").read_bytes()
    assert first.encode() not in db and second.encode() not in db


def test_refresh_tokens_expire_after_their_absolute_lifetime(
    tenant: Tenant, clock: FakeClock
) -> None:
    token = login(tenant.client).json()["refresh_token"]
    for _ in range(2):  # each exchange within the 15-day idle lifetime
        clock.advance(14 * 86400)
        token = refresh(tenant.client, token).json()["refresh_token"]
    clock.advance(2 * 86400)  # day 30: rotation does not extend the absolute lifetime
    r = refresh(tenant.client, token)
    assert error_of(r) == (403, "invalid_grant") and "expired" in r.json()["error_description"]


def test_an_unused_family_ends_after_its_idle_lifetime(tenant: Tenant, clock: FakeClock) -> None:
    token = login(tenant.client).json()["refresh_token"]
    clock.advance(15 * 86400)
    r = refresh(tenant.client, token)
    assert error_of(r) == (403, "invalid_grant") and "not used" in r.json()["error_description"]
    [family] = tenant.idp.refresh_tokens.sessions(tenant.idp.users.by_email(ADA[0]).id)
    assert family["revoked_reason"] == "idle"
    tenant.idp.clock.set_offset(-15 * 86400)  # moving the clock back does not revive it
    assert error_of(refresh(tenant.client, token)) == (403, "invalid_grant")


def test_each_exchange_starts_the_idle_lifetime_again(data_dir: Path, clock: FakeClock) -> None:
    t = Tenant(data_dir, clock, refresh_token_idle_lifetime=100, refresh_token_lifetime=1000)
    try:
        token = login(t.client).json()["refresh_token"]
        for _ in range(5):  # 495 s in all: five times the idle lifetime, never idle for it
            clock.advance(99)
            token = refresh(t.client, token).json()["refresh_token"]
        clock.advance(100)
        assert error_of(refresh(t.client, token)) == (403, "invalid_grant")
    finally:
        t.close()


def test_refresh_may_narrow_the_scope_but_not_widen_it(tenant: Tenant) -> None:
    token = login(tenant.client, scope="openid offline_access").json()["refresh_token"]
    assert error_of(refresh(tenant.client, token, scope="openid email")) == (403, "invalid_scope")
    narrow = refresh(tenant.client, token, scope="openid")
    assert narrow.status_code == 200 and narrow.json()["scope"] == "openid"


def test_revoke_kills_the_family_and_unknown_tokens_are_fine(tenant: Tenant) -> None:
    token = login(tenant.client).json()["refresh_token"]
    r = tenant.client.post("/oauth/revoke", data={"client_id": CLIENT, "token": token})
    assert r.status_code == 200 and r.content == b""
    assert error_of(refresh(tenant.client, token)) == (403, "invalid_grant")
    r = tenant.client.post("/oauth/revoke", data={"client_id": CLIENT, "token": "nope"})
    assert r.status_code == 200


def test_refresh_tokens_are_stored_only_as_hashes(tenant: Tenant) -> None:
    token = login(tenant.client).json()["refresh_token"]
    assert token.encode() not in (tenant.config.data_dir / "tenant.sqlite3").read_bytes()


# -- userinfo ----------------------------------------------------------------------------------
def test_userinfo_answers_for_a_valid_access_token(tenant: Tenant) -> None:
    access = login(tenant.client).json()["access_token"]
    r = tenant.client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert r.status_code == 200
    assert r.json()["name"] == "Ada Lovelace" and r.json()["sub"].startswith("auth0|")


def test_userinfo_refuses_an_expired_access_token(tenant: Tenant, clock: FakeClock) -> None:
    access = login(tenant.client).json()["access_token"]
    clock.advance(3600)
    r = tenant.client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert error_of(r) == (401, "invalid_token")
    assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer a b", "Bearer x.y.z"])
def test_userinfo_refuses_a_bad_authorization_header(tenant: Tenant, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    assert error_of(tenant.client.get("/userinfo", headers=headers)) == (401, "invalid_token")


def test_without_an_api_audience_the_access_token_is_opaque_and_stored_as_a_hash(
    tenant: Tenant,
) -> None:
    # As Auth0: no API audience, so the access token only serves /userinfo and is no JWT.
    for body in (login(tenant.client).json(), login(tenant.client, audience=USERINFO).json()):
        access = body["access_token"]
        assert "." not in access and len(access) >= 43
        assert access.encode() not in (tenant.config.data_dir / "tenant.sqlite3").read_bytes()
        r = tenant.client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
        assert r.status_code == 200 and r.json()["email"] == ADA[0]


def test_for_an_api_audience_the_access_token_is_a_jwt_that_userinfo_accepts(
    data_dir: Path, clock: FakeClock
) -> None:
    t = Tenant(data_dir, clock, apis=("https://api.example.com",))
    try:
        access = login(t.client, audience="https://api.example.com").json()["access_token"]
        r = t.client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
    finally:
        t.close()
    assert r.status_code == 200 and r.json()["name"] == "Ada Lovelace"
    claims = jwt.decode(
        access,
        _public_key(t),
        algorithms=["RS256"],
        audience="https://api.example.com",
        issuer=ISSUER,
        options={"verify_iat": False, "verify_exp": False},
    )
    assert claims["aud"] == ["https://api.example.com", USERINFO]


def test_a_refreshed_opaque_access_token_keeps_the_narrower_scope(tenant: Tenant) -> None:
    token = login(tenant.client).json()["refresh_token"]
    access = refresh(tenant.client, token, scope="openid email").json()["access_token"]
    r = tenant.client.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert r.status_code == 200 and set(r.json()) == {"sub", "email", "email_verified"}


def test_an_unknown_opaque_access_token_is_refused(tenant: Tenant) -> None:
    access = login(tenant.client).json()["access_token"]
    forged = access[:-4] + ("AAAA" if not access.endswith("AAAA") else "BBBB")
    r = tenant.client.get("/userinfo", headers={"Authorization": f"Bearer {forged}"})
    assert error_of(r) == (401, "invalid_token")
    assert "not issued by this tenant" in r.json()["error_description"]


def test_long_expired_access_tokens_are_swept_as_new_ones_are_issued(
    tenant: Tenant, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(access_module, "SWEEP_EVERY", 2)
    tokens = tenant.idp.access_tokens
    old = tokens.issue("u1", "openid", clock.now)
    clock.advance(3600 + access_module.KEEP_EXPIRED + 1)
    recent = tokens.issue("u1", "openid", clock.now)  # the second issue sweeps
    rows = tenant.idp.db.all("SELECT hash FROM access_tokens")
    assert len(rows) == 1
    assert tokens.lookup(recent, clock.now) == ("u1", "openid")
    with pytest.raises(InvalidToken, match="not issued by this tenant"):
        tokens.lookup(old, clock.now)


def test_an_id_token_is_not_accepted_as_an_access_token(tenant: Tenant) -> None:
    id_token = login(tenant.client).json()["id_token"]
    r = tenant.client.get("/userinfo", headers={"Authorization": f"Bearer {id_token}"})
    assert error_of(r) == (401, "invalid_token")


# -- device flow -------------------------------------------------------------------------------
def _device(tenant: Tenant) -> dict[str, object]:
    r = tenant.client.post("/oauth/device/code", data={"client_id": CLIENT, "scope": SCOPE})
    assert r.status_code == 200
    return dict(r.json())


def _poll(tenant: Tenant, code: object) -> object:
    return tenant.client.post(
        "/oauth/token", data={"grant_type": DEVICE, "client_id": CLIENT, "device_code": str(code)}
    )


def test_device_code_answer_has_auth0s_fields(tenant: Tenant) -> None:
    d = _device(tenant)
    assert set(d) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert d["verification_uri"] == ISSUER + "activate"
    assert d["expires_in"] == 900 and d["interval"] == 5


def test_device_flow_from_request_to_approval_through_the_page(
    tenant: Tenant, clock: FakeClock
) -> None:
    d = _device(tenant)
    assert error_of(_poll(tenant, d["device_code"])) == (403, "authorization_pending")
    page = tenant.client.get("/activate", params={"user_code": d["user_code"]})
    assert page.status_code == 200 and f'value="{d["user_code"]}"' in page.text
    done = submit(
        tenant.client,
        "/activate",
        {
            "user_code": str(d["user_code"]).lower().replace("-", " "),
            "username": ADA[0],
            "password": ADA[1],
            "action": "approve",
        },
    )
    assert done.status_code == 200 and "Ada Lovelace" in done.text
    clock.advance(5)
    r = _poll(tenant, d["device_code"])
    assert r.status_code == 200 and "refresh_token" in r.json()
    # A device code is good for one set of tokens.
    assert error_of(_poll(tenant, d["device_code"])) == (403, "invalid_grant")


def test_device_polling_too_fast_gets_slow_down(tenant: Tenant, clock: FakeClock) -> None:
    d = _device(tenant)
    _poll(tenant, d["device_code"])
    clock.advance(1)
    assert error_of(_poll(tenant, d["device_code"])) == (429, "slow_down")
    clock.advance(6)  # the interval is now 10 s: still too fast, and it grows to 15 s
    assert error_of(_poll(tenant, d["device_code"])) == (429, "slow_down")
    clock.advance(15)
    assert error_of(_poll(tenant, d["device_code"])) == (403, "authorization_pending")


def test_device_code_expires(tenant: Tenant, clock: FakeClock) -> None:
    d = _device(tenant)
    clock.advance(900)
    assert error_of(_poll(tenant, d["device_code"])) == (403, "expired_token")
    page = submit(
        tenant.client,
        "/activate",
        {
            "user_code": d["user_code"],
            "username": ADA[0],
            "password": ADA[1],
            "action": "approve",
        },
    )
    assert page.status_code == 400 and "expired" in page.text


def test_device_login_denied_on_the_page(tenant: Tenant) -> None:
    d = _device(tenant)
    fields = {"user_code": d["user_code"], "username": ADA[0], "password": ADA[1]}
    page = submit(tenant.client, "/activate", {**fields, "action": "deny"})
    assert page.status_code == 200 and "denied" in page.text
    assert error_of(_poll(tenant, d["device_code"])) == (403, "access_denied")


def test_wrong_password_on_the_page_keeps_the_code_pending(tenant: Tenant) -> None:
    d = _device(tenant)
    page = submit(
        tenant.client,
        "/activate",
        {
            "user_code": d["user_code"],
            "username": ADA[0],
            "password": "<b>bad</b>",
            "action": "approve",
        },
    )
    assert page.status_code == 403 and "Wrong email or password" in page.text
    assert "<b>bad</b>" not in page.text
    assert error_of(_poll(tenant, d["device_code"])) == (403, "authorization_pending")


def test_the_page_escapes_what_it_echoes(tenant: Tenant) -> None:
    page = tenant.client.get("/activate", params={"user_code": "<script>"})
    assert "<script>" not in page.text.split("<body>")[1]


# -- discovery, logout, signup -----------------------------------------------------------------
def test_discovery_and_jwks(tenant: Tenant) -> None:
    conf = tenant.client.get("/.well-known/openid-configuration").json()
    assert conf["issuer"] == ISSUER and conf["jwks_uri"] == ISSUER + ".well-known/jwks.json"
    [key] = tenant.client.get("/.well-known/jwks.json").json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["kid"] == tenant.idp.key.kid
    assert "d" not in key  # never the private part


def test_logout_redirects_only_to_local_addresses(tenant: Tenant) -> None:
    r = tenant.client.get(
        "/v2/logout",
        params={"client_id": CLIENT, "returnTo": "http://localhost:8888/lab"},
        follow_redirects=False,
    )
    assert r.status_code == 302 and r.headers["location"] == "http://localhost:8888/lab"
    r = tenant.client.get("/v2/logout", params={"returnTo": "https://evil.example/"})
    assert error_of(r) == (400, "invalid_request")
    assert tenant.client.get("/v2/logout").status_code == 200


def test_signup_creates_a_user_who_can_log_in(tenant: Tenant) -> None:
    r = tenant.client.post(
        "/dbconnections/signup",
        json={
            "client_id": CLIENT,
            "email": "grace@example.com",
            "password": "Cobol-1959!",
            "connection": "Username-Password-Authentication",
            "name": "Grace Hopper",
        },
    )
    assert r.status_code == 200 and r.json()["email"] == "grace@example.com"
    assert login(tenant.client, ("grace@example.com", "Cobol-1959!")).status_code == 200
    again = tenant.client.post(
        "/dbconnections/signup",
        json={
            "client_id": CLIENT,
            "email": "grace@example.com",
            "password": "Cobol-1959!",
            "connection": "Username-Password-Authentication",
        },
    )
    assert error_of(again) == (400, "user_exists")


def test_a_data_folder_from_before_email_verification_keeps_working(tmp_path: Path) -> None:
    import sqlite3

    old = sqlite3.connect(tmp_path / "tenant.sqlite3")
    old.execute(
        "CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT UNIQUE NOT NULL, name TEXT NOT NULL,"
        " password_hash TEXT NOT NULL, created_at REAL NOT NULL,"
        " failed_logins INTEGER NOT NULL DEFAULT 0, blocked INTEGER NOT NULL DEFAULT 0)"
    )
    old.execute("INSERT INTO users VALUES ('x1', 'old@example.com', 'Old', 'h', 0, 0, 0)")
    old.commit()
    old.close()
    idp = IdentityProvider(TenantConfig(issuer=ISSUER, data_dir=tmp_path))
    try:
        assert idp.users.by_email("old@example.com").email_verified is False
        assert idp.users.by_email(ADA[0]).email_verified is True
    finally:
        idp.close()


# -- state survives a restart ------------------------------------------------------------------
def test_tokens_issued_before_a_restart_still_verify_and_refresh(
    data_dir: Path, clock: FakeClock
) -> None:
    first = Tenant(data_dir, clock)
    body = login(first.client).json()
    first.advance = None  # type: ignore[attr-defined]
    first.idp.clock.advance(60)
    first.close()
    second = Tenant(data_dir, clock)
    try:
        assert second.idp.clock.offset == 60
        r = second.client.get(
            "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert r.status_code == 200
        assert refresh(second.client, body["refresh_token"]).status_code == 200
    finally:
        second.close()


def test_signing_key_file_is_private(tmp_path: Path, clock: FakeClock) -> None:
    tenant = Tenant(tmp_path, clock)  # made here, not copied from the template
    try:
        assert (tmp_path / "signing-key.pem").stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "admin.key").stat().st_mode & 0o777 == 0o600
    finally:
        tenant.close()


# -- teaching controls -------------------------------------------------------------------------
def test_teaching_controls_need_the_admin_key(tenant: Tenant) -> None:
    assert error_of(tenant.client.get("/_teaching/clock")) == (401, "unauthorized")
    r = tenant.client.get("/_teaching/clock", headers={"X-Admin-Key": "wrong"})
    assert r.status_code == 401


def test_teaching_controls_advance_revoke_list_and_unblock(tenant: Tenant) -> None:
    key = {"X-Admin-Key": tenant.client.app.state.admin_key}  # type: ignore[attr-defined]
    token = login(tenant.client).json()["refresh_token"]
    r = tenant.client.post("/_teaching/clock/advance", json={"seconds": "3600"}, headers=key)
    assert r.json()["offset"] == 3600
    sessions = tenant.client.get(f"/_teaching/users/{ADA[0]}/sessions", headers=key).json()
    assert sessions["sessions"][0]["active"] is True
    r = tenant.client.post(f"/_teaching/users/{ADA[0]}/revoke", headers=key)
    assert r.json() == {"revoked": 1}
    assert error_of(refresh(tenant.client, token)) == (403, "invalid_grant")
    r = tenant.client.post("/_teaching/users/nobody@example.com/unblock", headers=key)
    assert error_of(r) == (404, "not_found")


def test_teaching_controls_can_be_switched_off(data_dir: Path, clock: FakeClock) -> None:
    t = Tenant(data_dir, clock, teaching=False)
    try:
        key = {"X-Admin-Key": t.client.app.state.admin_key}  # type: ignore[attr-defined]
        assert error_of(t.client.get("/_teaching/clock", headers=key)) == (404, "not_found")
    finally:
        t.close()


def test_sessions_list_the_latest_login_first_even_after_the_clock_moved_back(
    tenant: Tenant, clock: FakeClock
) -> None:
    clock.advance(3600)
    login(tenant.client)  # made while a teacher had moved the clock an hour ahead
    clock.advance(-3600)
    latest = login(tenant.client).json()["id_token"]
    sid = jwt.decode(latest, options={"verify_signature": False})["sid"]
    sessions = tenant.idp.refresh_tokens.sessions(tenant.idp.users.by_email(ADA[0]).id)
    assert sessions[0]["id"] == sid
