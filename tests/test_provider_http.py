"""The local tenant over real HTTP, as a newcomer would try it with plain httpx."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import jwt
import pytest

from conftest import LocalTenant
from session_tutorial.provider import TenantControl, background
from session_tutorial.provider import __main__ as provider_cli
from session_tutorial.provider.forms import submit
from session_tutorial.tenant import default_ssl_context
from tests.provider_helpers import (
    ADA,
    CLIENT,
    DEVICE,
    SCOPE,
    data_dir_with_key,
    error_of,
    login,
    refresh,
)

pytestmark = pytest.mark.integration


def test_issuer_has_a_trailing_slash_like_auth0s(http: httpx.Client, local_tenant: LocalTenant):
    conf = http.get("/.well-known/openid-configuration").json()
    assert conf["issuer"] == local_tenant.url + "/"
    assert http.get(conf["jwks_uri"]).json()["keys"][0]["kid"]


def test_login_userinfo_refresh_revoke_over_http(http: httpx.Client) -> None:
    body = login(http).json()
    me = http.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["name"] == "Ada Lovelace"
    renewed = refresh(http, body["refresh_token"]).json()
    assert renewed["refresh_token"] != body["refresh_token"]
    assert (
        http.post(
            "/oauth/revoke", data={"client_id": CLIENT, "token": renewed["refresh_token"]}
        ).status_code
        == 200
    )
    assert error_of(refresh(http, renewed["refresh_token"])) == (403, "invalid_grant")


def test_access_token_expires_when_the_tenants_clock_moves(
    http: httpx.Client, local_tenant: LocalTenant
) -> None:
    access = login(http).json()["access_token"]
    local_tenant.advance_clock(3601)
    r = http.get("/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert error_of(r) == (401, "invalid_token")


def test_admin_revoke_ends_the_users_sessions(http: httpx.Client, local_tenant: LocalTenant):
    token = login(http).json()["refresh_token"]
    assert local_tenant.revoke_user(ADA[0]) >= 1
    assert error_of(refresh(http, token)) == (403, "invalid_grant")


def test_device_flow_through_the_html_form_over_http(http: httpx.Client) -> None:
    d = http.post("/oauth/device/code", data={"client_id": CLIENT, "scope": SCOPE}).json()
    page = http.get(d["verification_uri_complete"])
    assert page.status_code == 200 and "<form" in page.text
    done = submit(
        http,
        d["verification_uri_complete"],
        {
            "user_code": d["user_code"],
            "username": ADA[0],
            "password": ADA[1],
            "action": "approve",
        },
    )
    assert "your device is signed in" in done.text
    r = http.post(
        "/oauth/token",
        data={"grant_type": DEVICE, "client_id": CLIENT, "device_code": d["device_code"]},
    )
    assert r.status_code == 200 and r.json()["token_type"] == "Bearer"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A tenant data dir holding this test process's signing key: these tests are about the
    command line, not the key (test_provider_files checks that a tenant makes its own)."""
    return data_dir_with_key(tmp_path / "tenant")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "session_tutorial.provider", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_start_status_stop_and_restart_keeps_tokens(data_dir: Path) -> None:
    port = str(background.free_port())
    started = _cli("--data-dir", str(data_dir), "start", "--port", port)
    assert started.returncode == 0, started.stderr
    url = f"http://127.0.0.1:{port}"
    assert url in _cli("--data-dir", str(data_dir), "status").stdout
    assert _cli("--data-dir", str(data_dir), "start").stdout == started.stdout  # idempotent
    with httpx.Client(base_url=url, timeout=10, verify=default_ssl_context()) as http:
        body = login(http).json()
    assert _cli("--data-dir", str(data_dir), "stop").stdout.strip() == "stopped"
    assert _cli("--data-dir", str(data_dir), "status").returncode == 1
    assert not (data_dir / "server.json").exists()
    assert _cli("--data-dir", str(data_dir), "start", "--port", port).returncode == 0
    try:
        with httpx.Client(base_url=url, timeout=10, verify=default_ssl_context()) as http:
            me = http.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
            assert me.status_code == 200
            assert refresh(http, body["refresh_token"]).status_code == 200
    finally:
        background.stop(data_dir)  # cleanup: `stop` as a process costs a Python start


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_serve_runs_in_the_foreground_until_a_signal(data_dir: Path, sig: signal.Signals):
    port = background.free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "session_tutorial.provider",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert "Local tenant at" in proc.stderr.readline()  # printed once the port is bound
        r = httpx.get(
            f"http://127.0.0.1:{port}/.well-known/jwks.json",
            timeout=10,
            verify=default_ssl_context(),
        )
        assert r.status_code == 200
        proc.send_signal(sig)
        proc.wait(timeout=20)
    finally:
        proc.kill()
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()
    assert not (data_dir / "server.json").exists()


def test_a_room_tenant_takes_the_issuer_its_learners_use(data_dir: Path) -> None:
    # Bound to every interface, the tenant cannot guess the address learners type in.
    port = str(background.free_port())
    issuer = f"http://localhost:{port}/"
    started = _cli(
        "--data-dir",
        str(data_dir),
        "start",
        "--host",
        "0.0.0.0",
        "--port",
        port,
        "--issuer",
        issuer,
    )
    assert started.returncode == 0, started.stderr
    try:
        conf = httpx.get(
            f"{issuer}.well-known/openid-configuration", timeout=10, verify=default_ssl_context()
        ).json()
        assert conf["issuer"] == issuer
    finally:
        background.stop(data_dir)  # cleanup: `stop` as a process costs a Python start


def _in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command line's ``main`` run in this process: its exit status, stdout and stderr
    (the command's own code, over real HTTP to the tenant, without a Python start each)."""
    code = provider_cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_teaching_commands_say_what_is_wrong_without_a_traceback(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No tenant runs for this folder: the command says so, and does not quietly start one.
    # (As a process of its own, as a learner runs it: exit status and all it prints.)
    idle = _cli("--data-dir", str(data_dir), "sessions", "ada@example.com")
    assert idle.returncode == 1 and "No local tenant is running" in idle.stderr
    assert "Traceback" not in idle.stderr and background.status(data_dir) is None
    port = str(background.free_port())
    assert _cli("--data-dir", str(data_dir), "start", "--port", port).returncode == 0
    try:
        # The same commands in this process: an exception would fail the test, not print.
        where = ("--data-dir", str(data_dir))
        code, _, err = _in_process(capsys, *where, "unblock", "nobody@example.com")
        assert code == 1 and "No user with email nobody@example.com" in err
        code, _, err = _in_process(capsys, *where, "clock", "--advance", "-5")
        assert code == 1 and "seconds must be" in err
        assert _in_process(capsys, *where, "clock", "--advance", "60") == (0, "offset +60 s\n", "")
        assert _in_process(capsys, *where, "clock", "--reset") == (0, "offset +0 s\n", "")
    finally:
        background.stop(data_dir)  # cleanup: `stop` as a process costs a Python start


def test_a_restarted_tenant_keeps_its_port_so_saved_sessions_stay_valid(data_dir: Path) -> None:
    first = background.start(data_dir, port=0, quiet=True)
    background.stop(data_dir)
    again = background.start(data_dir, quiet=True)  # no port given: the last one, if free
    try:
        assert again.url == first.url
    finally:
        background.stop(data_dir)


def test_start_takes_the_refresh_lifetimes_leeway_apis_and_device_interval(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = str(background.free_port())
    options = ["--refresh-leeway", "0", "--refresh-token-idle-lifetime", "100"]
    options += ["--api", "https://api.example.com/", "--device-interval", "1"]
    started = _cli("--data-dir", str(data_dir), "start", "--port", port, *options)
    assert started.returncode == 0, started.stderr
    try:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=10, verify=default_ssl_context()
        ) as client:
            first = login(client, audience="https://api.example.com/").json()["refresh_token"]
            second = refresh(client, first).json()["refresh_token"]
            assert error_of(login(client, audience="https://other.example.com/")) == (
                403,
                "access_denied",
            )
            TenantControl.local(data_dir, start=False).advance_clock(100)
            idle = refresh(client, second)
            assert error_of(idle) == (403, "invalid_grant")
            assert "not used for too long" in idle.json()["error_description"]
            device = client.post("/oauth/device/code", data={"client_id": CLIENT, "scope": SCOPE})
            assert device.json()["interval"] == 1  # a browser test's shorter wait
    finally:
        background.stop(data_dir)
    with pytest.raises(SystemExit) as refused:
        provider_cli.main(["serve", "--refresh-token-lifetime", "-1"])
    assert refused.value.code == 2 and "cannot be negative" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:
        provider_cli.main(["serve", "--device-interval", "0"])
    assert refused.value.code == 2 and "at least 1 second" in capsys.readouterr().err


def test_concurrent_replays_of_one_token_leave_one_live_chain(
    http: httpx.Client, local_tenant: LocalTenant
) -> None:
    first = login(http).json()["refresh_token"]
    with httpx.Client(base_url=local_tenant.url, timeout=10, verify=default_ssl_context()) as other:
        clients = [http, other] * 4
        with ThreadPoolExecutor(len(clients)) as pool:
            answers = list(pool.map(lambda c: refresh(c, first), clients))
    assert [a.status_code for a in answers] == [200] * len(clients)
    [successor] = {a.json()["refresh_token"] for a in answers}  # one successor, not eight
    family = local_tenant.control.sessions(ADA[0])[0]  # newest first: this login's
    assert family["active"] and family["rotations"] == 1
    local_tenant.advance_clock(11)  # past the 10 s leeway: the next double use is reuse
    assert error_of(refresh(http, first)) == (403, "invalid_grant")
    assert error_of(refresh(http, successor)) == (403, "invalid_grant")


def test_a_token_retired_before_a_clock_reset_is_not_forgiven(
    http: httpx.Client, local_tenant: LocalTenant
) -> None:
    first = login(http).json()["refresh_token"]
    local_tenant.advance_clock(3600)
    second = refresh(http, first).json()["refresh_token"]
    local_tenant.control.reset()  # the retirement now lies an hour in the future
    assert error_of(refresh(http, first)) == (403, "invalid_grant")
    assert error_of(refresh(http, second)) == (403, "invalid_grant")


@pytest.mark.parametrize(
    "audience", ["https://api.example.com/", CLIENT, "http://evil.example/userinfo"]
)
def test_access_tokens_only_for_audiences_the_tenant_knows(
    http: httpx.Client, audience: str
) -> None:
    r = login(http, audience=audience)
    assert error_of(r) == (403, "access_denied")
    assert r.json()["error_description"] == f"Service not found: {audience}"
    device = http.post(
        "/oauth/device/code", data={"client_id": CLIENT, "scope": SCOPE, "audience": audience}
    )
    assert error_of(device) == (403, "access_denied")


def test_the_tenants_own_userinfo_is_a_known_audience(
    http: httpx.Client, local_tenant: LocalTenant
) -> None:
    userinfo = local_tenant.url + "/userinfo"
    access = login(http, audience=userinfo).json()["access_token"]
    assert "." not in access  # opaque, as Auth0's for its own /userinfo: nothing to decode
    assert http.get("/userinfo", headers={"Authorization": f"Bearer {access}"}).status_code == 200


def test_a_signed_up_address_is_not_verified_and_the_profile_card_says_so(
    http: httpx.Client,
) -> None:
    from session_tutorial.widgets import ProfileCard

    email = f"grace-{uuid.uuid4().hex[:8]}@example.com"
    signup = {
        "client_id": CLIENT,
        "email": email,
        "password": "Cobol-1959-Flow",
        "connection": "Username-Password-Authentication",
    }
    assert http.post("/dbconnections/signup", json=signup).json()["email_verified"] is False
    for user, verified in (((email, "Cobol-1959-Flow"), False), (ADA, True)):
        body = login(http, user).json()
        claims = jwt.decode(body["id_token"], options={"verify_signature": False})
        me = http.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert claims["email_verified"] is verified and me.json()["email_verified"] is verified
        badge = "verified" if verified else "unverified"
        assert repr(ProfileCard(me.json())).endswith(f", {badge})")
