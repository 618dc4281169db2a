"""SessionManager: login, restore, renew (single-flight), sign out.

Unit tests run on a fake tenant in memory (no sockets, no waiting); the integration tests at
the end run against the real local tenant over HTTP and the real keychain.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import threading
from pathlib import Path
from urllib.parse import parse_qs

import filelock
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from faults import FaultyTransport, dropped_connection, lost_response, rate_limited, server_error

from session_tutorial.client import PASSWORD_REALM_GRANT, AuthClient
from session_tutorial.credentials import Credentials
from session_tutorial.errors import (
    AccountBlocked,
    CorruptEntry,
    KeychainUnavailable,
    MinTTLTooLarge,
    NetworkError,
    NoCredentials,
    NoRefreshToken,
    RateLimited,
    RefreshTokenRejected,
    ServerError,
    SessionError,
    StoreError,
    StoreWarning,
    TokenVerificationFailed,
    WrongCredentials,
)
from session_tutorial.provider.forms import submit
from session_tutorial.session import SessionManager
from session_tutorial.singleflight import SingleFlight
from session_tutorial.store import CredentialStore, MemoryStore, Store
from session_tutorial.tenant import Tenant, default_ssl_context
from tests.client_scripts import run_script
from tests.provider_helpers import signing_key

TENANT = Tenant("http://127.0.0.1:8941", "tutorial-app")
ADA, PASSWORD = "ada@example.com", "Analytical-Engine-1843"
TOKEN = "/oauth/token"


class Clock:
    """The test's time, shared by the fake tenant and the client (as the notebooks do)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeTenant:
    """Just enough of the Authentication API, with rotation and reuse detection, in memory."""

    def __init__(self, key: rsa.RSAPrivateKey, clock: Clock) -> None:
        self.key, self.clock = key, clock
        self.rotate = True  # send a new refresh token on every refresh
        self.refresh_wait = 0.0  # seconds a refresh takes, to let threads pile up
        self.families: dict[str, bool] = {}  # family -> still alive
        self.refresh_tokens: dict[str, tuple[str, bool]] = {}  # token -> (family, used)
        self.access_tokens: dict[str, float] = {}  # token -> expiry
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.transport = FaultyTransport(httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == TOKEN:
            return self.token(_form(request))
        if path == "/userinfo":
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if self.access_tokens.get(token, 0) <= self.clock():
                return _error(401, "invalid_token", "Expired or unknown access token.")
            return httpx.Response(200, json={"sub": "auth0|ada", "name": "Ada Lovelace"})
        if path == "/oauth/revoke":
            family, _ = self.refresh_tokens.get(_form(request)["token"], ("", False))
            self.families[family] = False
            return httpx.Response(200)
        if path == "/.well-known/jwks.json":
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
            return httpx.Response(200, json={"keys": [{**jwk, "kid": "k1", "use": "sig"}]})
        return httpx.Response(404)

    def token(self, form: dict[str, str]) -> httpx.Response:
        if form["grant_type"] == PASSWORD_REALM_GRANT:
            if (form["username"], form["password"]) != (ADA, PASSWORD):
                return _error(403, "invalid_grant", "Wrong email or password.")
            family = f"family-{next(self._ids)}"
            self.families[family] = True
            return self.issue(family, new_refresh_token=True)
        if self.refresh_wait:
            threading.Event().wait(self.refresh_wait)  # a slow network, for the race tests
        with self._lock:
            family, used = self.refresh_tokens.get(form["refresh_token"], ("", False))
            if not self.families.get(family):
                return _error(403, "invalid_grant", "Unknown or invalid refresh token.")
            if used:  # reuse detection: the whole family dies
                self.families[family] = False
                return _error(403, "invalid_grant", "Unknown or invalid refresh token.")
            if self.rotate:
                self.refresh_tokens[form["refresh_token"]] = (family, True)
            return self.issue(family, new_refresh_token=self.rotate)

    def issue(self, family: str, *, new_refresh_token: bool) -> httpx.Response:
        n, now = next(self._ids), self.clock()
        self.access_tokens[f"at-{n}"] = now + 3600
        claims = {"iss": TENANT.issuer, "aud": TENANT.client_id, "sub": "auth0|ada"}
        claims |= {"iat": int(now), "exp": int(now) + 36000, "name": "Ada Lovelace"}
        body = {
            "access_token": f"at-{n}",
            "id_token": jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"}),
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": TENANT.scope,
        }
        if new_refresh_token:
            body["refresh_token"] = f"rt-{n}"
            self.refresh_tokens[f"rt-{n}"] = (family, False)
        return httpx.Response(200, json=body)

    def revoke_everything(self) -> None:
        self.families = dict.fromkeys(self.families, False)

    def count(self, path: str) -> int:
        return self.transport.count(path)


def _form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def _error(status: int, error: str, description: str) -> httpx.Response:
    return httpx.Response(status, json={"error": error, "error_description": description})


class BrokenStore(MemoryStore):
    """A store whose saves fail, like a keychain that locked itself after login."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    def save(self, data: str) -> None:
        if self.broken:
            raise KeychainUnavailable("The keychain is locked (a test double).")
        super().save(data)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return signing_key()  # the test process's one key


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def tenant(key: rsa.RSAPrivateKey, clock: Clock) -> FakeTenant:
    return FakeTenant(key, clock)


@pytest.fixture
def store() -> BrokenStore:
    return BrokenStore()


@pytest.fixture
def make_manager(tenant: FakeTenant, store: MemoryStore, clock: Clock, tmp_path: Path):
    """A factory: each call is a new launch of the app, sharing the store and the tenant."""

    def make(store_: MemoryStore = store) -> SessionManager:
        client = AuthClient(TENANT, transport=tenant.transport, clock=clock)
        return SessionManager(TENANT, store_, clock=clock, client=client, lock_dir=tmp_path)

    return make


@pytest.fixture
def signed_in(make_manager) -> SessionManager:
    manager = make_manager()
    manager.login(ADA, PASSWORD)
    return manager


def stored(store: MemoryStore) -> Credentials:
    data = store.load()
    assert data is not None
    return Credentials.from_json(data)


# -- login and restore -------------------------------------------------------------------


def test_login_saves_one_entry_and_returns_the_profile(make_manager, store):
    manager = make_manager()
    assert manager.login(ADA, PASSWORD)["name"] == "Ada Lovelace"
    assert manager.user == {"sub": "auth0|ada", "name": "Ada Lovelace"}
    assert store.saves == 1
    assert json.loads(store.load())["version"] == 1


def test_wrong_password_raises_and_stores_nothing(make_manager, store):
    with pytest.raises(WrongCredentials):
        make_manager().login(ADA, "wrong")
    assert store.load() is None


def test_restore_with_nothing_stored_returns_none_without_any_request(make_manager, tenant):
    manager = make_manager()
    assert manager.restore() is None
    assert manager.last_reason == "Nothing is stored: the user is signed out."
    assert tenant.transport.requests == []


def test_restore_at_the_next_launch_greets_the_user(signed_in, make_manager):
    assert make_manager().restore()["name"] == "Ada Lovelace"


def test_restore_renews_first_when_the_access_token_expires_within_min_ttl(
    signed_in, make_manager, tenant, store, clock
):
    before = stored(store)
    clock.advance(3600 - 30)
    assert make_manager().restore(min_ttl=60)["name"] == "Ada Lovelace"
    assert tenant.count(TOKEN) == 2  # the login, then one refresh
    assert stored(store).refresh_token != before.refresh_token


def test_restore_renews_an_id_token_that_fails_verification(signed_in, make_manager, store):
    entry = json.loads(store.load())
    entry["id_token"] = entry["id_token"][:-4] + "AAAA"  # a broken signature
    store.save(json.dumps(entry))
    assert make_manager().restore()["name"] == "Ada Lovelace"
    assert stored(store).id_token != entry["id_token"]


def test_restore_raises_on_a_bad_id_token_it_cannot_renew_and_keeps_the_entry(
    signed_in, make_manager, store
):
    entry = json.loads(store.load())
    entry["id_token"] = entry["id_token"][:-4] + "AAAA"
    entry["refresh_token"] = None
    store.save(json.dumps(entry))
    with pytest.raises(TokenVerificationFailed):
        make_manager().restore()
    assert store.load() == json.dumps(entry)


def test_a_revoked_refresh_token_makes_restore_clear_the_store_and_say_why(
    signed_in, make_manager, tenant, store, clock
):
    tenant.revoke_everything()
    clock.advance(3600)
    manager = make_manager()
    assert manager.restore() is None
    assert store.load() is None
    assert "refresh token was rejected" in manager.last_reason


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (dropped_connection(), NetworkError),
        (server_error(503), ServerError),
        (rate_limited("30"), RateLimited),
    ],
)
def test_restore_raises_a_retryable_error_and_keeps_the_credentials(
    signed_in, make_manager, tenant, store, clock, fault, error
):
    entry = store.load()
    clock.advance(3600)
    tenant.transport.inject(fault, path=TOKEN)
    with pytest.raises(error) as caught:
        make_manager().restore()
    assert caught.value.retryable
    assert store.load() == entry
    assert make_manager().restore()["name"] == "Ada Lovelace"  # and the next try works


def test_a_corrupt_entry_raises_corrupt_entry_and_a_plain_sign_out_clears_it(make_manager, store):
    store.save("{not json")
    manager = make_manager()
    with pytest.raises(CorruptEntry) as caught:
        manager.restore()
    assert "sign_out()" in str(caught.value)
    assert "force" not in str(caught.value)
    manager.sign_out()  # what the message says to do: no force needed
    assert store.load() is None


# -- credentials(): the ladder -----------------------------------------------------------


def test_credentials_with_a_valid_access_token_make_no_request_and_no_store_read(
    signed_in, tenant, store
):
    requests, loads = len(tenant.transport.requests), store.loads
    for _ in range(100):
        signed_in.credentials()
    assert len(tenant.transport.requests) == requests
    assert store.loads == loads


def test_credentials_with_nothing_stored_raise_no_credentials(make_manager):
    with pytest.raises(NoCredentials):
        make_manager().credentials()


def test_credentials_renew_within_min_ttl_and_store_the_rotated_refresh_token(
    signed_in, tenant, store, clock
):
    old = stored(store)
    clock.advance(3600 - 59)
    fresh = signed_in.credentials(min_ttl=60)
    assert fresh.access_token != old.access_token
    assert fresh.expires_in(clock()) == 3600
    assert stored(store) == fresh
    assert fresh.refresh_token != old.refresh_token


def test_renewal_keeps_the_old_refresh_token_when_the_tenant_sends_none(
    signed_in, tenant, store, clock
):
    tenant.rotate = False
    old = stored(store)
    clock.advance(3600)
    assert signed_in.credentials().refresh_token == old.refresh_token
    assert stored(store).refresh_token == old.refresh_token


def test_an_expired_token_without_refresh_token_raises_no_refresh_token(
    signed_in, make_manager, store, clock
):
    entry = json.loads(store.load())
    store.save(json.dumps({**entry, "refresh_token": None}))
    clock.advance(3600)
    manager = make_manager()
    assert not manager.can_renew()
    with pytest.raises(NoRefreshToken, match="offline_access"):
        manager.credentials()


def test_restore_without_a_way_to_renew_clears_the_expired_session(
    signed_in, make_manager, store, clock
):
    store.save(json.dumps({**json.loads(store.load()), "refresh_token": None}))
    clock.advance(3600)
    manager = make_manager()
    assert manager.restore() is None
    assert store.load() is None
    assert "no refresh token" in manager.last_reason


def test_a_rejected_refresh_token_clears_the_store(signed_in, tenant, store, clock):
    tenant.revoke_everything()
    clock.advance(3600)
    with pytest.raises(RefreshTokenRejected):
        signed_in.credentials()
    assert store.load() is None


def test_a_min_ttl_longer_than_a_token_lives_is_refused(signed_in):
    with pytest.raises(ValueError, match="smaller min_ttl"):
        signed_in.credentials(min_ttl=7200)


def test_a_too_large_min_ttl_is_a_session_error_and_a_value_error(signed_in):
    with pytest.raises(SessionError) as caught:
        signed_in.credentials(min_ttl=7200)
    assert isinstance(caught.value, MinTTLTooLarge)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith("min_ttl is longer than the access token's lifetime: ")
    assert not caught.value.retryable


def test_has_valid_and_can_renew_answer_without_requests(signed_in, make_manager, tenant, clock):
    requests = len(tenant.transport.requests)
    assert signed_in.has_valid()
    assert not signed_in.has_valid(min_ttl=3600)
    assert signed_in.can_renew()
    clock.advance(3600)
    assert not signed_in.has_valid()
    assert signed_in.can_renew()
    assert len(tenant.transport.requests) == requests
    assert not make_manager(MemoryStore()).has_valid()
    assert not make_manager(MemoryStore()).can_renew()


def test_renew_refreshes_even_a_valid_token(signed_in, tenant, store):
    old = stored(store)
    assert signed_in.renew().access_token != old.access_token
    assert tenant.count(TOKEN) == 2


# -- single flight -----------------------------------------------------------------------


def test_32_threads_on_an_expired_token_cause_one_refresh_and_one_save(
    signed_in, make_manager, tenant, store, clock
):
    clock.advance(3600)
    tenant.refresh_wait = 0.05
    manager, saves = make_manager(), store.saves
    start, results, errors = threading.Barrier(32), [], []

    def worker() -> None:
        start.wait()
        try:
            results.append(manager.credentials())
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert tenant.count(TOKEN) == 2  # the login, then exactly one refresh
    assert store.saves - saves == 1
    assert len({creds.access_token for creds in results}) == 1


def test_a_refresh_token_rotated_by_another_process_is_never_replayed(
    signed_in, make_manager, tenant, store, clock
):
    here, elsewhere = make_manager(), make_manager()
    here.credentials()  # both "processes" have read the same entry
    clock.advance(3600)
    elsewhere.credentials()  # the other process renews first and rotates the token
    assert here.credentials().access_token == stored(store).access_token
    assert tenant.count(TOKEN) == 2  # login + one refresh: `here` read the store again
    clock.advance(3600)
    here.credentials()  # and its next renewal uses the rotated token: no reuse detection
    assert tenant.count(TOKEN) == 3


def test_a_lost_refresh_response_then_a_retry_is_reuse_without_tenant_leeway(
    signed_in, tenant, store, clock
):
    # The tenant rotated the token but the answer never arrived. Nothing on the client can
    # tell; Auth0's rotation "leeway" (reuse interval) exists for exactly this.
    clock.advance(3600)
    tenant.transport.inject(lost_response(), path=TOKEN)
    with pytest.raises(NetworkError):
        signed_in.credentials()
    assert store.load() is not None
    with pytest.raises(RefreshTokenRejected):
        signed_in.credentials()


# -- a store that fails after a successful refresh ---------------------------------------


def test_a_failed_save_after_refresh_still_hands_back_the_fresh_credentials(
    signed_in, tenant, store, clock
):
    old = stored(store)
    store.broken = True
    clock.advance(3600)
    with pytest.warns(StoreWarning, match="could not be saved") as warned:
        fresh = signed_in.credentials()
    assert fresh.access_token != old.access_token
    assert isinstance(warned[0].message.error, KeychainUnavailable)
    assert isinstance(signed_in.store_error, KeychainUnavailable)
    assert signed_in.credentials() == fresh  # in use from memory, no second refresh
    assert tenant.count(TOKEN) == 2


def test_after_a_failed_save_the_next_renewal_uses_the_newest_refresh_token(
    signed_in, tenant, store, clock
):
    store.broken = True
    clock.advance(3600)
    with pytest.warns(StoreWarning):
        signed_in.credentials()
    store.broken = False
    clock.advance(3600)
    fresh = signed_in.credentials()  # the stored token was rotated away: must not be sent
    assert stored(store) == fresh
    assert signed_in.store_error is None


# -- sign out ----------------------------------------------------------------------------


def test_sign_out_revokes_at_the_tenant_then_clears(signed_in, tenant, store, clock):
    refresh_token = stored(store).refresh_token
    signed_in.sign_out()
    assert tenant.count("/oauth/revoke") == 1
    assert store.load() is None
    assert signed_in.user is None
    with pytest.raises(RefreshTokenRejected):
        AuthClient(TENANT, transport=tenant.transport, clock=clock).refresh(refresh_token)


def test_sign_out_that_cannot_reach_the_tenant_keeps_the_credentials(signed_in, tenant, store):
    entry = store.load()
    tenant.transport.inject(dropped_connection(), path="/oauth/revoke")
    with pytest.raises(NetworkError):
        signed_in.sign_out()
    assert store.load() == entry


def test_a_forced_sign_out_clears_even_when_revoking_fails(signed_in, tenant, store):
    tenant.transport.inject(dropped_connection(), path="/oauth/revoke")
    signed_in.sign_out(force=True)
    assert store.load() is None
    reason = signed_in.last_reason
    assert "the keychain entry is deleted" in reason and "could not be reached" in reason
    assert "stays valid at the tenant" in reason
    # The network error's own advice is for a sign-out that keeps the credentials: not this one.
    assert "kept" not in reason and "start" not in reason.lower()


def test_sign_out_without_revoking_makes_no_request(signed_in, tenant, store):
    requests = len(tenant.transport.requests)
    signed_in.sign_out(revoke=False)
    assert store.load() is None
    assert len(tenant.transport.requests) == requests


def test_signing_out_twice_is_fine(signed_in, store):
    signed_in.sign_out()
    signed_in.sign_out()
    assert store.load() is None


def test_after_sign_out_credentials_raise_no_credentials(signed_in):
    signed_in.sign_out()
    with pytest.raises(NoCredentials):
        signed_in.credentials()


# -- defaults ----------------------------------------------------------------------------


def test_the_default_store_is_the_keychain_entry_for_this_tenant_and_app():
    manager = SessionManager(TENANT)
    assert isinstance(manager.store, CredentialStore)
    assert manager.store.service == "session-tutorial"
    assert manager.store.account == "127.0.0.1:8941/tutorial-app"


def test_two_managers_for_one_entry_share_one_lock(make_manager):
    assert make_manager()._flight._thread_lock is make_manager()._flight._thread_lock


def test_a_renewal_lock_held_by_another_process_times_out_with_a_store_error(tmp_path):
    flight = SingleFlight("session-tutorial-tests/held", lock_dir=tmp_path, timeout=0.1)
    other_process = filelock.FileLock(str(flight.path), thread_local=False)
    with other_process, pytest.raises(StoreError, match="Another process"):
        flight.__enter__()
    with flight:  # released: free again, and the thread lock was not leaked
        pass


def test_an_unwritable_lock_dir_is_a_store_error_that_says_what_to_do(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    flight = SingleFlight("session-tutorial-tests/unwritable", lock_dir=blocker / "locks")
    with pytest.raises(StoreError, match="lock_dir="):
        flight.__enter__()
    assert flight._thread_lock.acquire(blocking=False)  # not leaked
    flight._thread_lock.release()


# -- integration: the real local tenant over HTTP, and the real keychain ------------------


@pytest.fixture
def launch(local_tenant, tmp_path: Path):
    """Each call is one launch of the app against the real tenant, on the tenant's clock."""
    managers: list[SessionManager] = []

    def make(store: Store) -> SessionManager:
        tenant = Tenant(local_tenant.url, "tutorial-app")
        managers.append(SessionManager(tenant, store, clock=local_tenant.clock, lock_dir=tmp_path))
        return managers[-1]

    yield make
    for manager in managers:
        manager.close()


@pytest.mark.integration
def test_real_login_then_restore_at_the_next_launch_from_the_keychain(launch, keychain):
    assert launch(keychain).login(ADA, PASSWORD)["name"] == "Ada Lovelace"
    assert launch(keychain).restore()["name"] == "Ada Lovelace"


@pytest.mark.integration
def test_real_refresh_after_both_clocks_move_forward(launch, keychain, local_tenant):
    manager = launch(keychain)
    manager.login(ADA, PASSWORD)
    before = Credentials.from_json(keychain.load())
    local_tenant.advance_clock(3600)
    assert not manager.has_valid()
    fresh = manager.credentials()
    assert fresh.expires_in(local_tenant.clock()) > 3500
    assert fresh.refresh_token != before.refresh_token  # rotation
    assert launch(keychain).restore()["name"] == "Ada Lovelace"


@pytest.mark.integration
def test_real_reuse_of_a_rotated_refresh_token_ends_the_session(launch, local_tenant):
    store = MemoryStore()
    manager = launch(store)
    manager.login(ADA, PASSWORD)
    rotated_away = stored(store).refresh_token
    manager.renew()
    local_tenant.advance_clock(60)  # past the tenant's leeway for an answer lost on the way
    with pytest.raises(RefreshTokenRejected):
        manager.client.refresh(rotated_away)  # reuse: the tenant revokes the whole family
    local_tenant.advance_clock(3600)
    with pytest.raises(RefreshTokenRejected):
        manager.credentials()
    assert store.load() is None


@pytest.mark.integration
def test_real_revoked_user_is_signed_out_at_the_next_restore(launch, local_tenant, keychain):
    launch(keychain).login(ADA, PASSWORD)
    assert local_tenant.revoke_user(ADA) >= 1
    local_tenant.advance_clock(3600)  # the access token (stateless) expires; renewal must fail
    manager = launch(keychain)
    assert manager.restore() is None
    assert "refresh token was rejected" in manager.last_reason
    assert keychain.load() is None


@pytest.mark.integration
def test_real_sign_out_revokes_the_refresh_token_and_clears_the_keychain(launch, keychain):
    manager = launch(keychain)
    manager.login(ADA, PASSWORD)
    refresh_token = Credentials.from_json(keychain.load()).refresh_token
    manager.sign_out()
    assert keychain.load() is None
    with pytest.raises(RefreshTokenRejected):
        manager.client.refresh(refresh_token)
    assert launch(keychain).restore() is None


@pytest.mark.integration
def test_real_tenant_unreachable_keeps_the_keychain_entry(local_tenant, keychain, tmp_path):
    tenant = Tenant(local_tenant.url, "tutorial-app")
    with SessionManager(tenant, keychain, clock=local_tenant.clock, lock_dir=tmp_path) as first:
        first.login(ADA, PASSWORD)
    entry = keychain.load()
    local_tenant.advance_clock(3600)
    gone = Tenant("http://127.0.0.1:9", "tutorial-app")  # nothing listens on port 9
    client = AuthClient(gone, clock=local_tenant.clock, timeout=2)
    manager = SessionManager(gone, keychain, clock=local_tenant.clock, client=client)
    with pytest.raises(NetworkError, match=r"python -m session_tutorial\.provider start"):
        manager.restore()
    assert keychain.load() == entry


_RENEW_IN_ANOTHER_PROCESS = """
import sys, time
from pathlib import Path
from keyring.backends import SecretService
from session_tutorial.session import SessionManager
from session_tutorial.singleflight import SingleFlight
from session_tutorial.store import CredentialStore
from session_tutorial.tenant import Tenant

url, service, account, offset, lock_dir = sys.argv[1:]
store = CredentialStore(service, account, keyring_backend=SecretService.Keyring())
clock = lambda: time.time() + float(offset)
manager = SessionManager(Tenant(url, "tutorial-app"), store, clock=clock, lock_dir=Path(lock_dir))
manager.client.jwks  # everything imported and built: only the renewal is left
print("ready", flush=True)
sys.stdin.readline()  # the parent says go to both at once
print(manager.credentials().access_token[-12:])
"""


@pytest.mark.integration
def test_two_processes_renewing_one_keychain_entry_refresh_once(
    launch, local_tenant, keychain, tmp_path
):
    launch(keychain).login(ADA, PASSWORD)
    local_tenant.advance_clock(3600)
    args = [local_tenant.url, keychain.service, keychain.account]
    args += [str(local_tenant.clock.offset), str(tmp_path)]
    processes = [run_script(_RENEW_IN_ANOTHER_PROCESS, *args) for _ in range(2)]  # two processes
    for process in processes:  # both built, then released together (no wall-clock moment)
        assert process.stdout.readline() == "ready\n"
    for process in processes:
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    # Without the lock and the second read, the later process would replay the rotated token
    # and the tenant's reuse detection would have failed it with invalid_grant.
    assert outputs[0][0] == outputs[1][0]
    assert launch(keychain).restore()["name"] == "Ada Lovelace"


@pytest.mark.integration
def test_real_device_login_through_the_session_manager(launch, local_tenant):
    store = MemoryStore()
    manager = launch(store)
    device = manager.client.start_device_login()
    form = {"user_code": device.user_code, "username": ADA, "password": PASSWORD}
    with httpx.Client(verify=default_ssl_context()) as browser:
        submit(browser, f"{local_tenant.url}/activate", {**form, "action": "approve"})
    profile = manager.complete_device_login(device, sleep=local_tenant.advance_clock)
    assert profile["name"] == "Ada Lovelace"
    assert launch(store).restore()["name"] == "Ada Lovelace"


# -- examples/whoami.py: what a script tells its user -------------------------------------


class _FailingSession:
    """Stands in for SessionManager in whoami.py: ``restore()`` raises ``error``."""

    error: Exception

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __enter__(self) -> _FailingSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass

    def restore(self) -> None:
        raise self.error


def _whoami(monkeypatch: pytest.MonkeyPatch, error: Exception) -> int:
    path = Path(__file__).parent.parent / "examples" / "whoami.py"
    spec = importlib.util.spec_from_file_location("whoami", path)
    assert spec is not None and spec.loader is not None
    whoami = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(whoami)
    monkeypatch.setenv("AUTH0_DOMAIN", "example.eu.auth0.com")
    monkeypatch.setenv("AUTH0_CLIENT_ID", "tutorial-app")
    monkeypatch.setattr(_FailingSession, "error", error, raising=False)
    monkeypatch.setattr(whoami, "SessionManager", _FailingSession)
    status: int = whoami.main()
    return status


def test_whoami_says_try_again_later_only_for_a_retryable_error(monkeypatch, capsys):
    status = _whoami(monkeypatch, NetworkError("The tenant did not answer."))
    assert status == 2
    assert capsys.readouterr().out == (
        "Could not check the session now (The tenant did not answer.); try again later.\n"
    )


def test_whoami_prints_the_errors_own_advice_when_retrying_would_not_help(monkeypatch, capsys):
    blocked = AccountBlocked(
        "The account is blocked: an administrator can unblock it.",
        error="too_many_attempts",
        status_code=429,
    )
    assert _whoami(monkeypatch, blocked) == 1
    out = capsys.readouterr().out
    assert out == "The account is blocked: an administrator can unblock it.\n"
    assert "try again later" not in out
