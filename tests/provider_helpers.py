"""Helpers for the tenant's tests: a fake clock, Auth0-shaped requests, a data dir with a key."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

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


@functools.cache
def signing_key() -> rsa.RSAPrivateKey:
    """One RSA signing key per test process, made on first use (20-300 ms of CPU, 72 mean): for
    tests that need some tenant's key and do not care whose; a test that needs a key no other
    test holds (a stranger's, for a forgery) makes its own."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def _signing_key_pem() -> bytes:
    return signing_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def data_dir_with_key(path: Path) -> Path:
    """A new tenant data dir (0700) holding this test process's signing key (0600), as an
    earlier start of the tenant leaves it: a tenant started there loads and checks that key
    instead of making one (20-150 ms of CPU each). For tests whose subject is not the key;
    tests/test_provider_files.py and test_provider_unit.py check the tenant makes its own."""
    path.mkdir(mode=0o700, parents=True)
    fd = os.open(path / "signing-key.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(_signing_key_pem())
    return path


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
