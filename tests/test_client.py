"""AuthClient: the Authentication API's requests, and its answers translated into our errors."""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from faults import FaultyTransport, dropped_connection, rate_limited, server_error, timeout

from session_tutorial.client import (
    DEVICE_CODE_GRANT,
    PASSWORD_REALM_GRANT,
    AuthClient,
    DeviceLogin,
)
from session_tutorial.commands import tenant_command
from session_tutorial.errors import (
    AccessDenied,
    AccessTokenRejected,
    AccountBlocked,
    AuthError,
    DeviceCodeExpired,
    NetworkError,
    RateLimited,
    RefreshTokenRejected,
    ServerError,
    UnexpectedResponse,
    WrongCredentials,
)
from session_tutorial.provider.forms import submit
from session_tutorial.tenant import Tenant, default_ssl_context

TENANT = Tenant("http://127.0.0.1:8941", "tutorial-app")
NOW = 1_700_000_000.0
TOKENS = {
    "access_token": "at.1",
    "id_token": "id.1",
    "refresh_token": "rt.1",
    "token_type": "Bearer",
    "expires_in": 3600,
    "scope": "openid profile email offline_access",
}

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that answers from a script and keeps every request."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def form(self, index: int = -1) -> dict[str, str]:
        parsed = parse_qs(self.requests[index].content.decode(), strict_parsing=True)
        return {key: values[0] for key, values in parsed.items()}


def client_for(handler: Handler | httpx.BaseTransport, tenant: Tenant = TENANT) -> AuthClient:
    if not isinstance(handler, httpx.BaseTransport):
        handler = httpx.MockTransport(handler)
    return AuthClient(tenant, transport=handler, clock=lambda: NOW)


def oauth_error(status: int, error: str, description: str = "", **headers: str) -> httpx.Response:
    body = {"error": error, "error_description": description}
    return httpx.Response(status, json=body, headers=headers)


# -- login -------------------------------------------------------------------------------


def test_login_sends_the_password_realm_grant_with_connection_and_scope():
    tenant = Tenant(TENANT.domain, "tutorial-app", audience="https://api.example.com")
    recorder = Recorder(httpx.Response(200, json=TOKENS))
    client_for(recorder, tenant).login("ada@example.com", "Analytical-Engine-1843")
    request = recorder.requests[0]
    assert (request.method, str(request.url)) == ("POST", "http://127.0.0.1:8941/oauth/token")
    assert recorder.form() == {
        "grant_type": PASSWORD_REALM_GRANT,
        "client_id": "tutorial-app",
        "username": "ada@example.com",
        "password": "Analytical-Engine-1843",
        "realm": "Username-Password-Authentication",
        "scope": "openid profile email offline_access",
        "audience": "https://api.example.com",
    }


def test_login_returns_credentials_expiring_from_the_clock_read_before_sending():
    credentials = client_for(Recorder(httpx.Response(200, json=TOKENS))).login("a", "b")
    assert credentials.access_token == "at.1"
    assert credentials.refresh_token == "rt.1"
    assert credentials.expires_at == NOW + 3600


def test_login_without_audience_sends_none():
    recorder = Recorder(httpx.Response(200, json=TOKENS))
    client_for(recorder).login("a", "b")
    assert "audience" not in recorder.form()


def test_wrong_password_raises_wrong_credentials_that_is_not_retryable():
    answer = oauth_error(403, "invalid_grant", "Wrong email or password.")
    with pytest.raises(WrongCredentials) as caught:
        client_for(Recorder(answer)).login("ada@example.com", "nope")
    assert caught.value.status_code == 403
    assert caught.value.error == "invalid_grant"
    assert caught.value.description == "Wrong email or password."
    assert not caught.value.retryable


@pytest.mark.parametrize(
    "description",
    ["Wrong email or password.", "wrong email or password", " WRONG EMAIL OR PASSWORD!"],
)
def test_a_wrong_password_message_does_not_echo_a_description_that_says_the_same(description):
    answer = oauth_error(403, "invalid_grant", description)
    with pytest.raises(WrongCredentials) as caught:
        client_for(Recorder(answer)).login("ada@example.com", "nope")
    assert str(caught.value) == "Wrong email or password. Check both and try again."
    assert caught.value.description == description  # still there for whoever needs it


def test_a_wrong_password_message_keeps_a_description_that_adds_something():
    answer = oauth_error(403, "invalid_grant", "Wrong email or password. 2 tries left.")
    with pytest.raises(
        WrongCredentials, match=r"the tenant said 403 invalid_grant: .*2 tries left"
    ):
        client_for(Recorder(answer)).login("ada@example.com", "nope")


def test_brute_force_protection_raises_account_blocked():
    answer = oauth_error(429, "too_many_attempts", "Your account has been blocked.")
    with pytest.raises(AccountBlocked, match="unblock") as caught:
        client_for(Recorder(answer)).login("ada@example.com", "nope")
    assert not caught.value.retryable


def test_a_blocked_account_on_the_local_tenant_names_the_unblock_command():
    answer = oauth_error(429, "too_many_attempts", "Your account has been blocked.")
    with pytest.raises(AccountBlocked) as caught:
        client_for(Recorder(answer)).login("ada@example.com", "nope")
    assert f"`{tenant_command('unblock', 'EMAIL')}`" in str(caught.value)
    assert "local_tenant" not in str(caught.value)


def test_a_blocked_account_on_a_real_tenant_points_to_the_auth0_dashboard():
    tenant = Tenant("example.eu.auth0.com", "tutorial-app")
    answer = oauth_error(429, "too_many_attempts", "Your account has been blocked.")
    with pytest.raises(AccountBlocked) as caught:
        client_for(Recorder(answer), tenant).login("ada@example.com", "nope")
    assert "an administrator can unblock it in the Auth0 Dashboard (User Management › Users)" in (
        str(caught.value)
    )
    assert "session_tutorial.provider" not in str(caught.value)


def test_a_user_blocked_by_an_administrator_raises_account_blocked():
    answer = oauth_error(401, "unauthorized", "user is blocked")
    with pytest.raises(AccountBlocked) as caught:
        client_for(Recorder(answer)).login("ada@example.com", "Analytical-Engine-1843")
    assert not caught.value.retryable


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_that_mentions_blocked_is_a_retryable_server_error(status):
    answer = oauth_error(status, "unauthorized", "upstream blocked the request")
    with pytest.raises(ServerError) as caught:
        client_for(Recorder(answer)).login("a", "b")
    assert caught.value.retryable


def test_access_denied_at_login_is_access_denied_naming_the_client_id():
    answer = oauth_error(401, "access_denied", "Unauthorized")
    with pytest.raises(AccessDenied, match="AUTH0_CLIENT_ID") as caught:
        client_for(Recorder(answer)).login("a", "b")
    assert not isinstance(caught.value, AccountBlocked)
    assert not caught.value.retryable


# -- refresh ----------------------------------------------------------------------------


def test_refresh_sends_the_refresh_token_grant():
    recorder = Recorder(httpx.Response(200, json=TOKENS))
    client_for(recorder).refresh("rt.0")
    assert recorder.form() == {
        "grant_type": "refresh_token",
        "client_id": "tutorial-app",
        "refresh_token": "rt.0",
    }


def test_a_rejected_refresh_token_raises_refresh_token_rejected():
    answer = oauth_error(403, "invalid_grant", "Unknown or invalid refresh token.")
    with pytest.raises(RefreshTokenRejected, match="Sign in again") as caught:
        client_for(Recorder(answer)).refresh("rt.0")
    assert not caught.value.retryable


# -- faults the tenant cannot produce on demand ------------------------------------------


def faulty(*faults: object) -> FaultyTransport:
    transport = FaultyTransport(httpx.MockTransport(Recorder(httpx.Response(200, json=TOKENS))))
    for fault in faults:
        transport.inject(fault)
    return transport


def test_a_500_raises_a_retryable_server_error():
    with pytest.raises(ServerError) as caught:
        client_for(faulty(server_error(500))).refresh("rt.0")
    assert caught.value.retryable
    assert caught.value.status_code == 500


def test_a_502_with_an_html_body_is_still_a_server_error():
    answer = httpx.Response(502, text="<html>Bad Gateway</html>")
    with pytest.raises(ServerError):
        client_for(Recorder(answer)).refresh("rt.0")


def test_a_dropped_connection_raises_a_retryable_network_error_chained_to_httpx():
    with pytest.raises(NetworkError) as caught:
        client_for(faulty(dropped_connection())).refresh("rt.0")
    assert caught.value.retryable
    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
    assert "credentials are kept" in str(caught.value)


def test_a_timeout_raises_a_network_error_that_names_the_timeout():
    with pytest.raises(NetworkError, match="did not answer within 10 s") as caught:
        client_for(faulty(timeout())).login("a", "b")
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)


def test_a_refused_connection_suggests_starting_the_local_tenant():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with pytest.raises(NetworkError) as caught:
        client_for(refuse).login("a", "b")
    assert f"`{tenant_command('start')}`" in str(caught.value)


def test_a_refused_connection_to_a_remote_tenant_does_not_suggest_the_local_one():
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    tenant = Tenant("example.eu.auth0.com", "tutorial-app")
    with pytest.raises(NetworkError) as caught:
        client_for(refuse, tenant).login("a", "b")
    assert "session_tutorial.provider" not in str(caught.value)


def test_the_client_works_again_after_a_fault():
    client = client_for(faulty(dropped_connection()))
    with pytest.raises(NetworkError):
        client.refresh("rt.0")
    assert client.refresh("rt.0").access_token == "at.1"


# -- rate limits -------------------------------------------------------------------------


def test_retry_after_in_seconds_becomes_retry_after():
    with pytest.raises(RateLimited) as caught:
        client_for(faulty(rate_limited("7"))).refresh("rt.0")
    assert caught.value.retry_after == 7
    assert caught.value.retryable
    assert "try again in 7 s" in str(caught.value)


def test_retry_after_as_an_http_date_is_measured_from_the_clients_clock():
    date = email.utils.formatdate(NOW + 100, usegmt=True)
    with pytest.raises(RateLimited) as caught:
        client_for(faulty(rate_limited(date))).refresh("rt.0")
    assert caught.value.retry_after == pytest.approx(100)


def test_auth0s_x_ratelimit_reset_is_an_absolute_time():
    fault = rate_limited(None, reset=str(int(NOW) + 42))
    with pytest.raises(RateLimited) as caught:
        client_for(faulty(fault)).refresh("rt.0")
    assert caught.value.retry_after == pytest.approx(42)


def test_a_429_without_headers_has_no_retry_after():
    with pytest.raises(RateLimited) as caught:
        client_for(faulty(rate_limited(None))).refresh("rt.0")
    assert caught.value.retry_after is None


def test_a_retry_after_in_the_past_means_now():
    fault = rate_limited(None, reset=str(int(NOW) - 5))
    with pytest.raises(RateLimited) as caught:
        client_for(faulty(fault)).refresh("rt.0")
    assert caught.value.retry_after == 0


# -- answers that are not the Authentication API ------------------------------------------


def test_a_404_without_an_oauth_body_says_to_check_the_domain():
    with pytest.raises(UnexpectedResponse, match="check that the domain"):
        client_for(Recorder(httpx.Response(404, text="Not Found"))).login("a", "b")


def test_a_200_that_is_not_json_is_unexpected():
    with pytest.raises(UnexpectedResponse):
        client_for(Recorder(httpx.Response(200, text="<html>hi</html>"))).login("a", "b")


# MockTransport: the real tenant always answers in Auth0's shape; these are other servers.


def test_an_error_answer_that_is_not_oauth_json_shows_a_short_excerpt_of_it():
    page = "<html><head><title>403 Forbidden</title></head><body>Request blocked by WAF"
    answer = httpx.Response(403, text=page + " " + "x" * 5000 + "</body></html>")
    with pytest.raises(UnexpectedResponse) as caught:
        client_for(Recorder(answer)).login("a", "b")
    message = str(caught.value)
    assert 'saying "403 Forbidden Request blocked by WAF' in message
    assert "<html>" not in message
    assert len(message) < 400
    assert "check that the domain" in message


def test_a_non_oauth_error_with_an_empty_body_says_so():
    with pytest.raises(UnexpectedResponse, match="answered 418 with no text"):
        client_for(Recorder(httpx.Response(418))).login("a", "b")


@pytest.mark.parametrize(
    "error",
    [{"code": 400, "message": "Invalid client"}, ["invalid_grant"], 400, True],
    ids=["object", "list", "number", "boolean"],
)
def test_a_non_string_error_field_is_not_pasted_as_an_error_code(error):
    answer = httpx.Response(400, json={"error": error, "error_description": {"x": 1}})
    with pytest.raises(UnexpectedResponse, match="without an OAuth error") as caught:
        client_for(Recorder(answer)).refresh("rt.0")
    assert caught.value.error == ""
    assert caught.value.description == ""
    assert f"said 400 {error}" not in str(caught.value)
    assert "saying" in str(caught.value)  # what the server said, as an excerpt


def test_a_stack_trace_in_an_error_answer_is_not_shown():
    trace = (
        "Traceback (most recent call last):\n"
        '  File "/srv/auth/views.py", line 88, in token\n'
        "    user = db.find(password='hunter2-secret')\n"
        "KeyError: 'realm'\n"
    )
    with pytest.raises(ServerError) as caught:
        client_for(Recorder(httpx.Response(500, text=trace))).login("a", "b")
    assert "(a stack trace, not shown)" in str(caught.value)
    assert "views.py" not in str(caught.value)
    assert "hunter2" not in str(caught.value)


def test_a_description_with_control_characters_is_shown_on_one_line():
    answer = oauth_error(400, "invalid_request", "bad\r\nX-Injected: 1\x1b[31m red")
    with pytest.raises(AuthError) as caught:
        client_for(Recorder(answer)).login("a", "b")
    assert "\n" not in str(caught.value) and "\x1b" not in str(caught.value)
    assert "bad X-Injected: 1 [31m red" in str(caught.value)


def test_an_unknown_oauth_error_keeps_its_code_and_description():
    answer = oauth_error(400, "unsupported_grant_type", "Grant not allowed for this client.")
    with pytest.raises(AuthError) as caught:
        client_for(Recorder(answer)).login("a", "b")
    assert type(caught.value) is AuthError
    assert caught.value.error == "unsupported_grant_type"
    assert "Grant not allowed" in str(caught.value)


# -- userinfo, revoke, logout, jwks -------------------------------------------------------


def test_userinfo_sends_the_access_token_as_a_bearer_token():
    recorder = Recorder(httpx.Response(200, json={"sub": "auth0|1", "name": "Ada Lovelace"}))
    profile = client_for(recorder).userinfo("at.1")
    request = recorder.requests[0]
    assert (request.method, request.url.path) == ("GET", "/userinfo")
    assert request.headers["Authorization"] == "Bearer at.1"
    assert profile["name"] == "Ada Lovelace"


def test_userinfo_401_raises_access_token_rejected():
    with pytest.raises(AccessTokenRejected):
        client_for(Recorder(oauth_error(401, "invalid_token", "expired"))).userinfo("at.1")


def test_revoke_posts_the_refresh_token_and_client_id():
    recorder = Recorder(httpx.Response(200))
    client_for(recorder).revoke("rt.1")
    assert recorder.requests[0].url.path == "/oauth/revoke"
    assert recorder.form() == {"client_id": "tutorial-app", "token": "rt.1"}


def test_logout_url_names_the_client_and_where_to_return():
    url = client_for(Recorder(httpx.Response(200))).logout_url("http://localhost:8888/lab")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == TENANT.logout_endpoint
    assert parse_qs(parts.query) == {
        "client_id": ["tutorial-app"],
        "returnTo": ["http://localhost:8888/lab"],
    }


def test_logout_url_without_return_to_has_only_the_client_id():
    url = client_for(Recorder(httpx.Response(200))).logout_url()
    assert url == "http://127.0.0.1:8941/v2/logout?client_id=tutorial-app"


def test_jwks_fetches_the_key_set():
    recorder = Recorder(httpx.Response(200, json={"keys": []}))
    assert client_for(recorder).jwks() == {"keys": []}
    assert recorder.requests[0].url.path == "/.well-known/jwks.json"


# -- device login ------------------------------------------------------------------------

DEVICE_ANSWER = {
    "device_code": "dc-SECRET",
    "user_code": "WDJB-MJHT",
    "verification_uri": "http://127.0.0.1:8941/activate",
    "verification_uri_complete": "http://127.0.0.1:8941/activate?user_code=WDJB-MJHT",
    "expires_in": 900,
    "interval": 5,
}


def start_device(*poll_answers: httpx.Response) -> tuple[AuthClient, Recorder, DeviceLogin]:
    recorder = Recorder(httpx.Response(200, json=DEVICE_ANSWER), *poll_answers)
    client = client_for(recorder)
    return client, recorder, client.start_device_login()


class FakeTime:
    """A clock and a sleep that advances it, so polling runs without waiting."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_start_device_login_asks_for_a_code_with_the_scope():
    _, recorder, device = start_device()
    assert recorder.requests[0].url.path == "/oauth/device/code"
    assert recorder.form(0) == {
        "client_id": "tutorial-app",
        "scope": "openid profile email offline_access",
    }
    assert device.user_code == "WDJB-MJHT"
    assert device.interval == 5
    assert device.expires_at == NOW + 900


def test_a_device_logins_repr_hides_the_device_code():
    _, _, device = start_device()
    assert "dc-SECRET" not in repr(device)
    assert "WDJB-MJHT" in repr(device)


def test_polling_waits_out_authorization_pending_at_the_given_interval():
    pending = oauth_error(403, "authorization_pending")
    client, recorder, device = start_device(pending, pending, httpx.Response(200, json=TOKENS))
    time = FakeTime()
    credentials = client.poll_device_login(device, clock=time.clock, sleep=time.sleep)
    assert credentials.access_token == "at.1"
    assert time.slept == [5, 5, 5]
    assert recorder.form() == {
        "grant_type": DEVICE_CODE_GRANT,
        "client_id": "tutorial-app",
        "device_code": "dc-SECRET",
    }


def test_slow_down_adds_five_seconds_to_the_interval_for_good():
    pending, slow = oauth_error(403, "authorization_pending"), oauth_error(429, "slow_down")
    client, _, device = start_device(slow, pending, httpx.Response(200, json=TOKENS))
    time = FakeTime()
    client.poll_device_login(device, clock=time.clock, sleep=time.sleep)
    assert time.slept == [5, 10, 10]


def test_expired_token_while_polling_raises_device_code_expired():
    client, _, device = start_device(oauth_error(403, "expired_token"))
    time = FakeTime()
    with pytest.raises(DeviceCodeExpired):
        client.poll_device_login(device, clock=time.clock, sleep=time.sleep)


def test_the_user_refusing_a_device_login_raises_access_denied_not_account_blocked():
    client, _, device = start_device(oauth_error(403, "access_denied", "User refused"))
    time = FakeTime()
    with pytest.raises(AccessDenied, match="device login was denied") as caught:
        client.poll_device_login(device, clock=time.clock, sleep=time.sleep)
    assert not isinstance(caught.value, AccountBlocked)
    assert "failed login" not in str(caught.value)
    assert not caught.value.retryable


def test_polling_stops_by_itself_once_the_code_has_expired_locally():
    client, recorder, device = start_device(oauth_error(403, "authorization_pending"))
    time = FakeTime()
    with pytest.raises(DeviceCodeExpired):
        client.poll_device_login(device, clock=time.clock, sleep=time.sleep)
    polls = len(recorder.requests) - 1
    assert polls == 900 // 5
    assert time.slept == [5] * polls


# -- integration: the same translations against the real local tenant ---------------------

ADA, PASSWORD = "ada@example.com", "Analytical-Engine-1843"


@pytest.fixture
def real(local_tenant) -> Iterator[AuthClient]:
    with AuthClient(Tenant(local_tenant.url, "tutorial-app"), clock=local_tenant.clock) as client:
        yield client


@pytest.mark.integration
def test_real_login_and_userinfo(real):
    credentials = real.login(ADA, PASSWORD)
    assert real.userinfo(credentials.access_token)["name"] == "Ada Lovelace"
    assert credentials.refresh_token is not None


@pytest.mark.integration
def test_real_wrong_password_is_wrong_credentials(real):
    with pytest.raises(WrongCredentials, match="Wrong email or password"):
        real.login(ADA, "not-the-password")


@pytest.mark.integration
def test_real_brute_force_protection_blocks_after_ten_failures(real, local_tenant):
    for _ in range(10):
        with pytest.raises(WrongCredentials):
            real.login(ADA, "not-the-password")
    with pytest.raises(AccountBlocked) as caught:
        real.login(ADA, PASSWORD)
    assert (caught.value.status_code, caught.value.error) == (429, "too_many_attempts")
    local_tenant.unblock(ADA)
    assert real.login(ADA, PASSWORD).access_token


@pytest.mark.integration
def test_real_unknown_refresh_token_is_refresh_token_rejected(real):
    with pytest.raises(RefreshTokenRejected):
        real.refresh("not-a-refresh-token")


@pytest.mark.integration
def test_real_expired_access_token_is_refused_by_userinfo(real, local_tenant):
    credentials = real.login(ADA, PASSWORD)
    local_tenant.advance_clock(3601)
    with pytest.raises(AccessTokenRejected):
        real.userinfo(credentials.access_token)


def _decide(local_tenant, device: DeviceLogin, action: str) -> None:
    form = {"user_code": device.user_code, "username": ADA, "password": PASSWORD}
    with httpx.Client(verify=default_ssl_context()) as browser:
        response = submit(browser, f"{local_tenant.url}/activate", {**form, "action": action})
    assert response.status_code == 200, response.text


@pytest.mark.integration
def test_real_device_login_once_approved_in_the_browser(real, local_tenant):
    device = real.start_device_login()
    assert device.verification_uri.endswith("/activate")
    pending = []

    def sleep(seconds: float) -> None:  # time passes for the tenant and the client alike
        pending.append(seconds)
        local_tenant.advance_clock(seconds)
        if len(pending) == 2:
            _decide(local_tenant, device, "approve")

    credentials = real.poll_device_login(device, sleep=sleep)
    assert real.userinfo(credentials.access_token)["name"] == "Ada Lovelace"
    assert pending == [device.interval] * 2  # pending once, then approved


@pytest.mark.integration
def test_real_device_login_denied_in_the_browser_is_access_denied(real, local_tenant):
    device = real.start_device_login()
    _decide(local_tenant, device, "deny")
    with pytest.raises(AccessDenied):
        real.poll_device_login(device, sleep=local_tenant.advance_clock)


@pytest.mark.integration
def test_real_device_code_expires_when_nobody_approves(real, local_tenant):
    device = real.start_device_login()
    with pytest.raises(DeviceCodeExpired):  # a learner who waits five minutes between polls
        real.poll_device_login(device, sleep=lambda _: local_tenant.advance_clock(300))
