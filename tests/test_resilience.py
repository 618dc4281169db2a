"""Renewal as resilient as the best SDKs: bounded retries where they are safe, and the
still-valid access token after a failed early renewal.

Against the real local tenant over HTTP (refresh-token leeway 10 s, the default) and the real
keychain. FAULT INJECTION, labelled where used: ``tests/faults.py``'s ``FaultyTransport`` wraps
the real HTTP transport and replaces chosen requests with a refused connection, a 5xx, a 429 or
an answer lost after the tenant rotated; the real tenant cannot produce those on demand. The
backoff waits go to a fake ``sleep`` that moves a fake clock: nothing here sleeps.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from faults import (
    FaultyTransport,
    lost_response,
    rate_limited,
    refused,
    server_error,
    timeout,
)

from session_tutorial.client import AuthClient
from session_tutorial.credentials import Credentials
from session_tutorial.errors import (
    NetworkError,
    RateLimited,
    RefreshTokenRejected,
    RenewalWarning,
    ServerError,
)
from session_tutorial.retry import RetryPolicy, kind_of
from session_tutorial.session import SessionManager
from session_tutorial.tenant import Tenant, default_ssl_context

pytestmark = pytest.mark.integration

ADA, PASSWORD = "ada@example.com", "Analytical-Engine-1843"
TOKEN = "/oauth/token"


class FakeTime:
    """The retry policy's clock and sleep: sleeping moves the clock, instantly."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def policy(self, **kwargs: float) -> RetryPolicy:
        return RetryPolicy(sleep=self.sleep, clock=self.clock, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def expired(local_tenant, keychain, tmp_path: Path) -> Credentials:
    """Ada signed in (saved in the real keychain), then an hour passed: the next call renews."""
    tenant = Tenant(local_tenant.url, "tutorial-app")
    with SessionManager(tenant, keychain, clock=local_tenant.clock, lock_dir=tmp_path) as first:
        first.login(ADA, PASSWORD)
    local_tenant.advance_clock(3600)
    return Credentials.from_json(keychain.load())


def faulty_manager(local_tenant, keychain, tmp_path, policy=None):
    """A session manager whose requests go through a FaultyTransport (FAULT INJECTION)."""
    tenant = Tenant(local_tenant.url, "tutorial-app")
    transport = FaultyTransport(httpx.HTTPTransport(verify=default_ssl_context()))
    client = AuthClient(tenant, clock=local_tenant.clock, transport=transport, timeout=5)
    manager = SessionManager(
        tenant, keychain, clock=local_tenant.clock, client=client, lock_dir=tmp_path, retry=policy
    )
    return manager, transport


def rotations(local_tenant) -> int:
    family = local_tenant.control.sessions(ADA)[0]
    assert family["active"], family
    return int(family["rotations"])


# -- which failures are safe to retry --------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (httpx.ConnectError("refused"), "not sent"),
        (httpx.ConnectTimeout("no route"), "not sent"),
        (httpx.ReadTimeout("no answer"), "maybe acted"),
        (httpx.ReadError("reset"), "maybe acted"),
        (httpx.RemoteProtocolError("closed"), "maybe acted"),
    ],
)
def test_only_a_connection_never_made_proves_the_tenant_never_saw_the_request(error, kind):
    def fail(request: httpx.Request) -> httpx.Response:
        raise error

    tenant = Tenant("http://127.0.0.1:8941", "tutorial-app")
    client = AuthClient(tenant, transport=httpx.MockTransport(fail))
    with client, pytest.raises(NetworkError) as caught:
        client.refresh("rt")
    assert kind_of(caught.value) == kind


def test_a_policy_too_long_for_the_renewal_lock_is_refused():
    with pytest.raises(ValueError, match="under 60 s"):
        RetryPolicy(max_retries=3, total=90)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(max_retries=-1)


# -- bounded retries, against the real tenant ---------------------------------------------


def test_retries_are_off_by_default(local_tenant, keychain, tmp_path, expired):
    manager, transport = faulty_manager(local_tenant, keychain, tmp_path)
    transport.inject(server_error(500), path=TOKEN)  # FAULT INJECTION
    with manager, pytest.raises(ServerError):
        manager.credentials()
    assert transport.count(TOKEN) == 1
    assert keychain.load() == expired.to_json()


def test_a_refused_connection_is_retried_with_exponential_backoff(
    local_tenant, keychain, tmp_path, expired, fake_time
):
    policy = fake_time.policy(max_retries=3)
    manager, transport = faulty_manager(local_tenant, keychain, tmp_path, policy)
    transport.inject(refused(), path=TOKEN, times=2)  # FAULT INJECTION: never reached the tenant
    with manager:
        fresh = manager.credentials()
    assert fake_time.slept == [0.5, 1.0]  # doubling
    assert transport.count(TOKEN) == 3
    assert Credentials.from_json(keychain.load()) == fresh
    assert fresh.refresh_token != expired.refresh_token
    assert rotations(local_tenant) == 1  # one refresh reached the tenant; no reuse


@pytest.mark.parametrize("status", [500, 503])
def test_a_tenant_that_failed_without_acting_is_retried(
    local_tenant, keychain, tmp_path, expired, fake_time, status
):
    manager, transport = faulty_manager(
        local_tenant, keychain, tmp_path, fake_time.policy(max_retries=2)
    )
    transport.inject(server_error(status), path=TOKEN)  # FAULT INJECTION
    with manager:
        manager.credentials()
    assert fake_time.slept == [0.5] and rotations(local_tenant) == 1


def test_a_429_waits_as_long_as_the_tenant_asked(
    local_tenant, keychain, tmp_path, expired, fake_time
):
    manager, transport = faulty_manager(
        local_tenant, keychain, tmp_path, fake_time.policy(max_retries=2)
    )
    transport.inject(rate_limited("7"), path=TOKEN)  # FAULT INJECTION
    with manager:
        manager.credentials()
    assert fake_time.slept == [7.0] and rotations(local_tenant) == 1


def test_a_429_without_retry_after_is_not_retried(
    local_tenant, keychain, tmp_path, expired, fake_time
):
    manager, transport = faulty_manager(
        local_tenant, keychain, tmp_path, fake_time.policy(max_retries=2)
    )
    transport.inject(rate_limited(None), path=TOKEN)  # FAULT INJECTION
    with manager, pytest.raises(RateLimited):
        manager.credentials()
    assert fake_time.slept == [] and keychain.load() == expired.to_json()


def test_retries_stop_after_max_retries(local_tenant, keychain, tmp_path, expired, fake_time):
    manager, transport = faulty_manager(
        local_tenant, keychain, tmp_path, fake_time.policy(max_retries=2)
    )
    transport.inject(server_error(500), path=TOKEN, times=10)  # FAULT INJECTION
    with manager, pytest.raises(ServerError):
        manager.credentials()
    assert fake_time.slept == [0.5, 1.0] and transport.count(TOKEN) == 3
    assert keychain.load() == expired.to_json()


def test_retries_stop_at_the_total_time_limit(local_tenant, keychain, tmp_path, expired, fake_time):
    policy = fake_time.policy(max_retries=10, total=3.0)
    manager, transport = faulty_manager(local_tenant, keychain, tmp_path, policy)
    transport.inject(server_error(500), path=TOKEN, times=3)  # FAULT INJECTION
    with manager:
        with pytest.raises(ServerError):
            manager.credentials()
        assert fake_time.slept == [0.5, 1.0]  # the next wait (2 s) would end after 3 s
        transport.inject(rate_limited("30"), path=TOKEN)  # longer than the whole budget
        with pytest.raises(RateLimited):
            manager.credentials()
    assert fake_time.slept == [0.5, 1.0]  # not slept for nothing


# -- a lost answer: retried only inside the overlap -------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (lost_response, NetworkError),
        (timeout, NetworkError),
        (lambda: server_error(504), ServerError),
    ],
    ids=["reset-after-rotating", "read-timeout", "gateway-timeout-504"],
)
def test_a_lost_answer_is_not_retried_without_an_overlap(
    local_tenant, keychain, tmp_path, expired, fake_time, fault, error
):
    policy = fake_time.policy(max_retries=3, overlap=0)
    manager, transport = faulty_manager(local_tenant, keychain, tmp_path, policy)
    transport.inject(fault(), path=TOKEN)  # FAULT INJECTION: the tenant may have rotated
    with manager, pytest.raises(error):
        manager.credentials()
    assert transport.count(TOKEN) == 1 and fake_time.slept == []  # no replay was sent
    assert keychain.load() == expired.to_json()


def test_a_lost_answer_is_retried_inside_the_overlap_and_the_session_survives(
    local_tenant, keychain, tmp_path, expired, fake_time
):
    policy = fake_time.policy(max_retries=3, overlap=10)  # the tenant's leeway is 10 s
    manager, transport = faulty_manager(local_tenant, keychain, tmp_path, policy)
    transport.inject(lost_response(), path=TOKEN)  # FAULT INJECTION: rotated, answer lost
    with manager:
        fresh = manager.credentials()
        assert manager.client.userinfo(fresh.access_token)["name"] == "Ada Lovelace"
    assert fake_time.slept == [0.5]
    assert Credentials.from_json(keychain.load()) == fresh
    family = local_tenant.control.sessions(ADA)[0]
    assert family["active"] and family["revoked_reason"] is None  # the replay was not reuse


def test_a_lost_answer_is_not_retried_once_the_replay_could_land_after_the_overlap(
    local_tenant, keychain, tmp_path, expired, fake_time
):
    policy = fake_time.policy(max_retries=3, overlap=10)
    manager, transport = faulty_manager(local_tenant, keychain, tmp_path, policy)
    lose = lost_response()

    def slowly_lost(request, inner):  # FAULT INJECTION: the reset came 9 s after sending
        fake_time.now += 9
        return lose(request, inner)

    transport.inject(slowly_lost, path=TOKEN)
    with manager, pytest.raises(NetworkError):
        manager.credentials()  # 9 s + 0.5 s backoff + 1 s transit > 10 s of overlap
    assert transport.count(TOKEN) == 1 and fake_time.slept == []
    assert rotations(local_tenant) == 1
    assert keychain.load() == expired.to_json()


# -- an early renewal that fails: the still-valid token, until it really expires ----------


def test_an_early_renewal_that_fails_hands_back_the_still_valid_token(
    local_tenant, keychain, tmp_path
):
    tenant = Tenant(local_tenant.url, "tutorial-app")
    clock = local_tenant.clock
    with SessionManager(tenant, keychain, clock=clock, lock_dir=tmp_path) as first:
        first.login(ADA, PASSWORD)
    saved = Credentials.from_json(keychain.load())
    local_tenant.advance_clock(3600 - 30)  # 30 s left: inside min_ttl=60, still valid
    # Real, not injected: nothing listens on port 9, as when the Wi-Fi is gone.
    offline = replace(tenant, domain="http://127.0.0.1:9")
    with SessionManager(offline, keychain, clock=clock, lock_dir=tmp_path) as manager:
        with pytest.warns(RenewalWarning, match=r"still valid for \d+ s") as warned:
            kept = manager.credentials(min_ttl=60)
        assert kept == saved and isinstance(manager.renewal_error, NetworkError)
        assert warned[0].message.error is manager.renewal_error
        assert keychain.load() == saved.to_json()

        local_tenant.advance_clock(40)  # now it has really expired: no more handing it back
        with pytest.raises(NetworkError):
            manager.credentials(min_ttl=60)
    with SessionManager(tenant, keychain, clock=clock, lock_dir=tmp_path) as online:
        fresh = online.credentials()
        assert fresh != saved and online.renewal_error is None


def test_an_early_renewal_the_tenant_refuses_for_good_still_signs_out(
    local_tenant, keychain, tmp_path
):
    tenant = Tenant(local_tenant.url, "tutorial-app")
    with SessionManager(tenant, keychain, clock=local_tenant.clock, lock_dir=tmp_path) as manager:
        manager.login(ADA, PASSWORD)
        local_tenant.revoke_user(ADA)
        local_tenant.advance_clock(3600 - 30)
        with pytest.raises(RefreshTokenRejected):  # not retryable: the session is over
            manager.credentials(min_ttl=60)
    assert keychain.load() is None
