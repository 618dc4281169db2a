"""Helpers for the tenant's tests: a fake clock, and Auth0-shaped requests."""

from __future__ import annotations

from typing import Any

import httpx

CLIENT = "tutorial-app"
ADA = ("ada@example.com", "Analytical-Engine-1843")
ALAN = ("alan@example.com", "Turing-Machine-1936")
REALM = "http://auth0.com/oauth/grant-type/password-realm"
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
SCOPE = "openid profile email offline_access"
TEST_API = "https://api.example.com"  # the API the tests' api_tenant_url knows (conftest.py)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def login(client: httpx.Client, user: tuple[str, str] = ADA, **extra: str) -> httpx.Response:
    data = {
        "grant_type": REALM,
        "client_id": CLIENT,
        "username": user[0],
        "password": user[1],
        "realm": "Username-Password-Authentication",
        "scope": SCOPE,
    }
    data.update(extra)
    return client.post("/oauth/token", data=data)


def refresh(client: httpx.Client, token: str, **extra: str) -> httpx.Response:
    return client.post(
        "/oauth/token",
        json={"grant_type": "refresh_token", "client_id": CLIENT, "refresh_token": token, **extra},
    )


def error_of(response: httpx.Response) -> tuple[int, str]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "error_description"}, body
    return response.status_code, body["error"]
