"""One device-flow poll at a time, through the session manager, against the real tenant."""

from __future__ import annotations

import httpx
import pytest

from conftest import LocalTenant
from session_tutorial import MemoryStore, RateLimited, SessionManager, Tenant
from session_tutorial.provider.forms import submit
from session_tutorial.tenant import default_ssl_context

pytestmark = pytest.mark.integration


@pytest.fixture
def manager(local_tenant: LocalTenant) -> SessionManager:
    tenant = Tenant(local_tenant.url, "tutorial-app")
    with SessionManager(tenant, MemoryStore(), clock=local_tenant.clock) as manager:
        yield manager


def _approve(url: str, user_code: str) -> None:
    with httpx.Client(verify=default_ssl_context()) as browser:
        r = submit(
            browser,
            f"{url}/activate",
            {
                "user_code": user_code,
                "action": "approve",
                "username": "ada@example.com",
                "password": "Analytical-Engine-1843",
            },
        )
    assert r.status_code == 200


def test_poll_once_is_none_while_pending_then_the_saved_profile(
    manager: SessionManager, local_tenant: LocalTenant
) -> None:
    device = manager.start_device_login()
    assert manager.poll_device_login_once(device) is None
    _approve(local_tenant.url, device.user_code)
    local_tenant.advance_clock(device.interval)
    profile = manager.poll_device_login_once(device)
    assert profile is not None and profile["name"] == "Ada Lovelace"
    assert manager.store.load() is not None


def test_polling_too_fast_raises_slow_down(manager: SessionManager) -> None:
    device = manager.start_device_login()
    assert manager.poll_device_login_once(device) is None
    with pytest.raises(RateLimited) as caught:
        manager.poll_device_login_once(device)
    assert caught.value.error == "slow_down" and caught.value.retryable
