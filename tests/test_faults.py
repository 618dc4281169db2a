"""Faults, end to end: a tenant killed mid-refresh, a client killed before its keychain write,
two processes renewing at once, the keychain locked, gone or holding garbage, and a tenant
that is slow, failing or rate limiting.

Each test ends the same way: nothing that should have been kept is lost, and the error the
learner sees says what to do. Real tenants over real HTTP, the real Secret Service keychain
(run under the launcher, as ``make test`` does), real processes killed with SIGKILL. Nothing
sleeps to wait: the tests wait on process exit, pipes and events.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import keyring.errors
import pytest
from keyring.backends import SecretService

from session_tutorial.client import AuthClient
from session_tutorial.credentials import Credentials
from session_tutorial.errors import (
    CorruptEntry,
    KeychainUnavailable,
    NetworkError,
    RateLimited,
    ServerError,
    StoreWarning,
)
from session_tutorial.provider import background
from session_tutorial.provider.control import TenantControl
from session_tutorial.provider.keyfiles import admin_key
from session_tutorial.session import SessionManager
from session_tutorial.store import CredentialStore
from session_tutorial.tenant import Tenant, default_ssl_context
from tests.client_scripts import run_script
from tests.provider_helpers import data_dir_with_key

pytestmark = pytest.mark.integration

ADA, PASSWORD = "ada@example.com", "Analytical-Engine-1843"
SERVICE = "session-tutorial-fault-tests"


# -- tenants of our own: these tests kill them ---------------------------------------------


@dataclass
class OwnTenant:
    """A background tenant in its own data dir, which a test may kill and restart."""

    data_dir: Path
    port: int
    leeway: int
    control: TenantControl

    @property
    def url(self) -> str:
        return self.control.url

    def start(self) -> None:
        extra = ("--refresh-leeway", str(self.leeway))
        background.start(self.data_dir, port=self.port, extra_args=extra, quiet=True)

    def kill(self) -> None:
        """SIGKILL, then wait for the process to be gone (it is our child: reap it)."""
        running = background.answering(self.data_dir)  # waited for if busy, not taken for none
        assert running is not None
        os.kill(running.pid, signal.SIGKILL)
        for child in [c for c in background._CHILDREN if c.pid == running.pid]:
            child.wait(timeout=30)
            background._CHILDREN.remove(child)

    def family(self) -> dict[str, object]:
        """Ada's newest refresh-token family, as the teaching controls show it."""
        return self.control.sessions(ADA)[0]


def _own_tenant(tmp_path: Path, leeway: int) -> OwnTenant:
    data_dir = data_dir_with_key(tmp_path / f"tenant-leeway-{leeway}")
    port = background.free_port()
    tenant = OwnTenant(data_dir, port, leeway, TenantControl(f"http://127.0.0.1:{port}", ""))
    tenant.start()
    tenant.control = TenantControl(tenant.control.url, admin_key(data_dir))
    return tenant


@pytest.fixture
def own_tenant(tmp_path: Path) -> Iterator[Callable[[int], OwnTenant]]:
    started: list[OwnTenant] = []

    def start(leeway: int) -> OwnTenant:
        started.append(_own_tenant(tmp_path, leeway))
        return started[-1]

    yield start
    for tenant in started:
        background.stop(tenant.data_dir)


@pytest.fixture(scope="module")
def strict_tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnTenant]:
    """A tenant with no leeway at all: any replay of a rotated token is reuse."""
    tenant = _own_tenant(tmp_path_factory.mktemp("strict"), leeway=0)
    yield tenant
    background.stop(tenant.data_dir)


def manager_for(
    url: str, store, clock, lock_dir: Path, transport: httpx.BaseTransport | None = None
) -> SessionManager:
    tenant = Tenant(url, "tutorial-app")
    client = AuthClient(tenant, clock=clock, transport=transport, timeout=5)
    return SessionManager(tenant, store, clock=clock, client=client, lock_dir=lock_dir)


def signed_in(tenant: OwnTenant, keychain: CredentialStore, lock_dir: Path) -> Credentials:
    """Ada signs in (saved to the keychain); then an hour passes, so the next call renews."""
    with manager_for(tenant.url, keychain, tenant.control.clock, lock_dir) as first:
        first.login(ADA, PASSWORD)
    tenant.control.advance_clock(3600)
    return Credentials.from_json(keychain.load())


# -- the tenant killed with SIGKILL in the middle of a refresh ---------------------------


class KillMidRequest(httpx.BaseTransport):
    """Sends a refresh request's body in two halves and SIGKILLs the tenant in between.

    The tenant has accepted the connection and read the headers, so the request is truly in
    flight when the tenant dies; it never saw a whole request, so it rotated nothing.
    """

    def __init__(self, kill: Callable[[], None]) -> None:
        self.inner = httpx.HTTPTransport(verify=default_ssl_context())
        self.kill = kill
        self.armed = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if not (self.armed and b"grant_type=refresh_token" in body):
            return self.inner.handle_request(request)
        self.armed = False
        transport = self

        class HalfThenKill(httpx.SyncByteStream):
            def __iter__(self) -> Iterator[bytes]:
                yield body[: len(body) // 2]
                transport.kill()
                yield body[len(body) // 2 :]

        split = httpx.Request(
            request.method, request.url, headers=request.headers, stream=HalfThenKill()
        )
        return self.inner.handle_request(split)

    def close(self) -> None:
        self.inner.close()


def test_tenant_killed_mid_refresh_then_restarted_the_client_keeps_its_credentials(
    own_tenant, keychain, tmp_path
):
    tenant = own_tenant(0)
    before = signed_in(tenant, keychain, tmp_path)
    transport = KillMidRequest(tenant.kill)
    with manager_for(tenant.url, keychain, tenant.control.clock, tmp_path, transport) as manager:
        with pytest.raises(NetworkError) as caught:
            manager.credentials()
        assert caught.value.retryable
        assert "your stored credentials are kept" in str(caught.value)
        assert "make tenant-start" in str(caught.value)  # what to do about it
        assert keychain.load() == before.to_json()  # nothing lost

        tenant.start()  # the same data dir and port: nothing the tenant knew is forgotten
        fresh = manager.credentials()
    assert fresh.refresh_token != before.refresh_token
    assert Credentials.from_json(keychain.load()) == fresh
    family = tenant.family()
    assert family["active"] and family["rotations"] == 1  # one refresh, no reuse


class KillAfterAnswer(httpx.BaseTransport):
    """The tenant rotates the token and answers; it is SIGKILLed before the answer arrives."""

    def __init__(self, kill: Callable[[], None]) -> None:
        self.inner = httpx.HTTPTransport(verify=default_ssl_context())
        self.kill = kill

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        if b"grant_type=refresh_token" in request.content:
            self.kill()
            raise httpx.ReadError("the tenant died before its answer arrived", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize(("leeway", "kept"), [(0, False), (10, True)])
def test_tenant_killed_after_rotating_before_its_answer_arrives(
    own_tenant, keychain, tmp_path, leeway, kept
):
    tenant = own_tenant(leeway)
    before = signed_in(tenant, keychain, tmp_path)
    transport = KillAfterAnswer(tenant.kill)
    with manager_for(tenant.url, keychain, tenant.control.clock, tmp_path, transport) as manager:
        with pytest.raises(NetworkError) as caught:
            manager.credentials()
        assert caught.value.retryable and keychain.load() == before.to_json()
    tenant.start()
    with manager_for(tenant.url, keychain, tenant.control.clock, tmp_path) as next_launch:
        profile = next_launch.restore()
        reason = next_launch.last_reason
    if kept:  # the leeway forgives the replay of the token whose successor was lost
        assert profile["name"] == "Ada Lovelace" and tenant.family()["active"]
    else:  # without it the replay is reuse: the family is revoked, the learner signs in again
        assert profile is None and keychain.load() is None
        assert "Sign in again" in reason
        assert tenant.family()["revoked_reason"] == "reuse"


# -- the client killed after the tenant answered, before the keychain write --------------

_DIE_BEFORE_SAVING = """
import os, signal, sys, time
from pathlib import Path
from keyring.backends import SecretService
from session_tutorial.session import SessionManager
from session_tutorial.store import CredentialStore
from session_tutorial.tenant import Tenant

url, service, account, offset, lock_dir = sys.argv[1:]

class DiesBeforeSaving(CredentialStore):
    def save(self, data):
        print("answered", flush=True)  # the tenant's answer is here, in memory only
        os.kill(os.getpid(), signal.SIGKILL)

store = DiesBeforeSaving(service, account, keyring_backend=SecretService.Keyring())
clock = lambda: time.time() + float(offset)
tenant = Tenant(url, "tutorial-app")
SessionManager(tenant, store, clock=clock, lock_dir=Path(lock_dir)).credentials()
"""


@pytest.mark.parametrize(
    ("leeway", "late", "kept"),
    [(0, 0, False), (10, 0, True), (10, 30, False)],
    ids=["leeway-0", "leeway-10-next-launch-soon", "leeway-10-next-launch-after-it"],
)
def test_client_killed_after_the_refresh_answer_before_the_keychain_write(
    own_tenant, strict_tenant, keychain, tmp_path, leeway, late, kept
):
    tenant = strict_tenant if leeway == 0 else own_tenant(leeway)
    before = signed_in(tenant, keychain, tmp_path)
    args = [tenant.url, keychain.service, keychain.account, str(tenant.control.clock.offset)]
    child = run_script(_DIE_BEFORE_SAVING, *args, str(tmp_path))  # a process of its own
    out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL and out == "answered\n", err
    assert tenant.family()["rotations"] == 1  # the tenant rotated: the successor died with it
    assert keychain.load() == before.to_json()  # the keychain still holds the previous token

    tenant.control.advance_clock(late)
    with manager_for(tenant.url, keychain, tenant.control.clock, tmp_path) as next_launch:
        profile = next_launch.restore()
        reason = next_launch.last_reason
    if kept:
        assert profile["name"] == "Ada Lovelace"
        assert Credentials.from_json(keychain.load()).refresh_token != before.refresh_token
        assert tenant.family()["active"]
    else:
        assert profile is None and keychain.load() is None
        assert "rejected" in reason and "Sign in again" in reason
        assert tenant.family()["revoked_reason"] == "reuse"


# -- two processes renewing at the same moment -------------------------------------------

_RENEW_ON_GO = """
import hashlib, sys, time
from pathlib import Path
from keyring.backends import SecretService
from session_tutorial.session import SessionManager
from session_tutorial.store import CredentialStore
from session_tutorial.tenant import Tenant

url, service, account, offset, lock_dir = sys.argv[1:]
store = CredentialStore(service, account, keyring_backend=SecretService.Keyring())
clock = lambda: time.time() + float(offset)
manager = SessionManager(Tenant(url, "tutorial-app"), store, clock=clock, lock_dir=Path(lock_dir))
manager.client.jwks  # everything imported and built: only the renewal is left
print("ready", flush=True)
sys.stdin.readline()  # the parent says go to both at once
c = manager.credentials()
print(hashlib.sha256((c.access_token + c.refresh_token).encode()).hexdigest(), flush=True)
"""


def test_two_processes_renewing_at_the_same_moment_refresh_once_without_reuse(
    strict_tenant, keychain, tmp_path
):
    signed_in(strict_tenant, keychain, tmp_path)
    args = [strict_tenant.url, keychain.service, keychain.account]
    args += [str(strict_tenant.control.clock.offset), str(tmp_path)]
    kernels = [run_script(_RENEW_ON_GO, *args) for _ in range(2)]  # two processes
    for kernel in kernels:
        assert kernel.stdout.readline() == "ready\n"
    for kernel in kernels:  # both released together
        kernel.stdin.write("go\n")
        kernel.stdin.flush()
    outputs = [kernel.communicate(timeout=60) for kernel in kernels]
    assert [k.returncode for k in kernels] == [0, 0], outputs
    assert outputs[0][0] == outputs[1][0]  # the same access and refresh tokens
    family = strict_tenant.family()
    assert family["active"] and family["rotations"] == 1  # one refresh, no reuse detection
    stored = Credentials.from_json(keychain.load())
    digest = hashlib.sha256((stored.access_token + stored.refresh_token).encode()).hexdigest()
    assert outputs[0][0].strip() == digest


# -- the keychain locked, gone, or holding garbage ---------------------------------------


class LockableKeychain(SecretService.Keyring):
    """FAULT INJECTION: the real Secret Service, raising what a locked one raises.

    The launcher's keychain is shared by the whole test run; locking it for real would leave
    an unlock prompt nobody can answer. ("Gone" needs no mock: see the next test.)
    """

    reads_locked = writes_locked = False

    def get_password(self, service: str, username: str) -> str | None:
        if self.reads_locked:
            raise keyring.errors.KeyringLocked("Failed to unlock the collection!")
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        if self.writes_locked:
            raise keyring.errors.KeyringLocked("Failed to unlock the collection!")
        super().set_password(service, username, password)


def test_keychain_locked_between_two_calls_loses_nothing(strict_tenant, tmp_path):
    backend = LockableKeychain()
    store = CredentialStore(SERVICE, f"test-{uuid.uuid4()}", keyring_backend=backend)
    clock = strict_tenant.control.clock
    try:
        before = signed_in(strict_tenant, store, tmp_path)
        with manager_for(strict_tenant.url, store, clock, tmp_path) as manager:
            # Locked before the renewal reads the entry again: nothing is sent to the tenant.
            backend.reads_locked = backend.writes_locked = True
            with pytest.raises(KeychainUnavailable, match=r"is locked.*Unlock it"):
                manager.credentials()
            assert strict_tenant.family()["rotations"] == 0

            # Locked between the read and the write: the tenant rotated, the save failed.
            backend.reads_locked = False
            with pytest.warns(StoreWarning, match="could not be saved"):
                fresh = manager.credentials()  # handed back all the same
            assert isinstance(manager.store_error, KeychainUnavailable)
            assert "Unlock it" in str(manager.store_error)
            assert Credentials.from_json(store.load()) == before  # the old entry, still there

            # Unlocked: the next renewal uses the unsaved (newest) token, and saves.
            backend.writes_locked = False
            strict_tenant.control.advance_clock(3600)
            newest = manager.credentials()
        assert newest.refresh_token not in (fresh.refresh_token, before.refresh_token)
        assert Credentials.from_json(store.load()) == newest
        family = strict_tenant.family()
        assert family["active"] and family["rotations"] == 2  # no token was replayed
    finally:
        backend.reads_locked = backend.writes_locked = False
        store.clear()


def test_keychain_gone_between_two_calls_keeps_the_entry_for_when_it_is_back(
    strict_tenant, keychain, tmp_path, monkeypatch
):
    before = signed_in(strict_tenant, keychain, tmp_path)
    clock = strict_tenant.control.clock
    # Real, not mocked: the Secret Service's D-Bus socket disappears, as when the daemon dies.
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-such-bus")
    next_launch = manager_for(strict_tenant.url, keychain, clock, tmp_path)
    with next_launch, pytest.raises(KeychainUnavailable) as caught:
        next_launch.restore()
    assert "session_tutorial.launcher" in str(caught.value)  # what to run
    monkeypatch.undo()
    assert keychain.load() == before.to_json()
    with manager_for(strict_tenant.url, keychain, clock, tmp_path) as later:
        assert later.restore()["name"] == "Ada Lovelace"
    assert strict_tenant.family()["rotations"] == 1


@pytest.mark.parametrize(
    "garbage",
    [
        "{not json",
        '{"version": 99, "access_token": "x"}',
        '{"version": 1, "access_token": 42}',
        '{"chunked": 1, "slot": "a", "chunks": 3, "sha256": "0"}',
        "",
    ],
    ids=["not-json", "unknown-version", "wrong-type", "missing-pieces", "empty"],
)
def test_a_corrupt_keychain_entry_says_how_to_recover_and_recovers(
    strict_tenant, keychain, tmp_path, garbage
):
    SecretService.Keyring().set_password(keychain.service, keychain.account, garbage)
    clock = strict_tenant.control.clock
    with manager_for(strict_tenant.url, keychain, clock, tmp_path) as manager:
        with pytest.raises(CorruptEntry) as caught:
            manager.restore()
        assert "sign in again" in str(caught.value).lower()
        assert not caught.value.retryable  # retrying cannot help; clearing does
        manager.sign_out()  # what the message says: clear it
        assert keychain.load() is None
        assert manager.login(ADA, PASSWORD)["name"] == "Ada Lovelace"
    with manager_for(strict_tenant.url, keychain, clock, tmp_path) as next_launch:
        assert next_launch.restore()["name"] == "Ada Lovelace"


# -- a tenant that is slow, failing, or rate limiting: a real server on loopback ---------


class Misbehaving(ThreadingHTTPServer):
    """A reverse proxy in front of the real tenant that answers refreshes badly on demand."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.mode = "pass"
        self.release = threading.Event()  # a slow answer waits for this, then gives up
        self.hits = 0


class _Handler(BaseHTTPRequestHandler):
    server: Misbehaving

    def log_message(self, *args: object) -> None:
        pass

    def _proxy(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        mode = self.server.mode if b"refresh_token" in body else "pass"
        self.server.hits += mode != "pass"
        if mode == "slow":
            self.server.release.wait(timeout=30)
            return  # never answers before the client's timeout
        if mode == "500":
            self._send(500, b"<html>Internal Server Error</html>", "text/html")
            return
        if mode == "429":
            error = {"error": "too_many_requests", "error_description": "Global limit reached"}
            self._send(429, json.dumps(error).encode(), "application/json", {"Retry-After": "7"})
            return
        headers = {
            k: v for k, v in self.headers.items() if k.lower() in ("content-type", "authorization")
        }
        # The process's one TLS context: a new client's default reads some 150 CA
        # certificates (about 40 ms of CPU) for each request it passes on.
        with httpx.Client(verify=default_ssl_context()) as client:
            r = client.request(
                self.command, self.server.upstream + self.path, content=body, headers=headers
            )
        self._send(r.status_code, r.content, r.headers.get("content-type", "application/json"))

    do_GET = do_POST = _proxy

    def _send(
        self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class ThroughProxy(httpx.BaseTransport):
    """Sends every request to the proxy; the URLs (and so the issuer) stay the tenant's."""

    def __init__(self, port: int) -> None:
        self.inner = httpx.HTTPTransport(verify=default_ssl_context())
        self.port = port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(port=self.port)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def misbehaving(local_tenant) -> Iterator[Misbehaving]:
    server = Misbehaving(local_tenant.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(
    ("mode", "error", "advice"),
    [
        ("slow", NetworkError, "did not answer within 1 s"),
        ("500", ServerError, "Nothing was lost; retry later"),
        ("429", RateLimited, "try again in 7 s"),
    ],
)
def test_a_slow_failing_or_rate_limiting_tenant_keeps_the_credentials(
    local_tenant, misbehaving, keychain, tmp_path, mode, error, advice
):
    tenant = Tenant(local_tenant.url, "tutorial-app")
    clock = local_tenant.clock
    with SessionManager(tenant, keychain, clock=clock, lock_dir=tmp_path) as first:
        first.login(ADA, PASSWORD)
    entry = keychain.load()
    local_tenant.advance_clock(3600)
    misbehaving.mode = mode
    # 1 s for the tenant that never answers; the others answer at once, and on a loaded machine
    # a 1 s limit could turn their 500 or 429 into a timeout.
    client = AuthClient(
        tenant,
        clock=clock,
        transport=ThroughProxy(misbehaving.server_port),
        timeout=1 if mode == "slow" else 30,
    )
    with SessionManager(tenant, keychain, clock=clock, client=client, lock_dir=tmp_path) as manager:
        with pytest.raises(error) as caught:
            manager.restore()
        assert caught.value.retryable and advice in str(caught.value)
        if mode == "429":
            assert caught.value.retry_after == 7
        assert keychain.load() == entry and misbehaving.hits == 1
    misbehaving.release.set()
    misbehaving.mode = "pass"  # the tenant recovers; the next try goes through
    client = AuthClient(tenant, clock=clock, transport=ThroughProxy(misbehaving.server_port))
    with SessionManager(tenant, keychain, clock=clock, client=client, lock_dir=tmp_path) as retry:
        assert retry.restore()["name"] == "Ada Lovelace"
    assert (
        Credentials.from_json(keychain.load()).refresh_token
        != Credentials.from_json(entry).refresh_token
    )
