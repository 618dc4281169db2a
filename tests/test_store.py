"""The store contract, run against every store, and the keychain adapter's own behaviour.

The contract runs against the in-memory store, against the real Secret Service (integration:
run under ``python -m session_tutorial.launcher``, as ``make test`` does) and against an
in-process keyring backend that rejects large secrets as Windows Credential Manager does.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections.abc import Callable
from typing import ClassVar

import keyring
import keyring.errors
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from keyring.backend import KeyringBackend
from keyring.backends import SecretService, chainer, fail, null
from keyring.backends.Windows import WinVaultKeyring

from session_tutorial.errors import CorruptEntry, KeychainUnavailable, StoreError
from session_tutorial.launcher import KEYCHAIN_ENV
from session_tutorial.store import MAX_CHUNKS, CredentialStore, MemoryStore, Store

SERVICE = "session-tutorial-tests"
WINDOWS_LIMIT = 2560
CREDENTIALS = json.dumps(
    {"v": 1, "access_token": "a" * 40, "refresh_token": "r" * 32, "expires_at": 1_900_000_000}
)
# Three JWTs and a refresh token come to roughly this much; Windows takes at most 2,560 bytes.
LARGE = json.dumps({"v": 1, "id_token": "i" * 3000, "access_token": "a" * 3000})
SECRET_MARKER = "do-not-print-me"


class DictKeyring(KeyringBackend):
    """An in-process keyring: a dict, with a hook to run code when an entry is read."""

    priority = 1
    viable = False  # never picked by keyring's own discovery; tests pass it explicitly

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}
        self.on_get: Callable[[str], None] | None = None

    def get_password(self, service: str, username: str) -> str | None:
        if self.on_get is not None:
            self.on_get(username)
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.entries.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError("No such password!")


class WindowsSizedKeyring(DictKeyring):
    """Rejects secrets over 2,560 bytes of UTF-16, as Windows Credential Manager's CredWrite
    does (error 1783, which keyring lets through; here it comes as a PasswordSetError)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        if len(password.encode("utf-16-le")) > WINDOWS_LIMIT:
            raise keyring.errors.PasswordSetError(
                "(1783, 'CredWrite', 'The stub received bad data.')"
            )
        super().set_password(service, username, password)


class FaultyKeyring(DictKeyring):
    """MOCK: raises a chosen error on every call, for faults a real keychain cannot produce on
    demand (a locked collection whose unlock prompt was dismissed, a broken D-Bus)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    set_password = delete_password = get_password  # type: ignore[assignment]


# -- the contract -------------------------------------------------------------------------


class StoreContract:
    """What every Store does. Subclasses provide a fresh, empty ``store`` fixture."""

    def test_a_new_store_loads_none_meaning_signed_out(self, store: Store) -> None:
        assert store.load() is None

    def test_save_then_load_returns_the_same_string(self, store: Store) -> None:
        store.save(CREDENTIALS)
        assert store.load() == CREDENTIALS

    def test_save_replaces_the_previous_entry(self, store: Store) -> None:
        store.save(CREDENTIALS)
        store.save('{"v": 1, "access_token": "newer"}')
        assert store.load() == '{"v": 1, "access_token": "newer"}'

    def test_clear_removes_the_entry(self, store: Store) -> None:
        store.save(CREDENTIALS)
        store.clear()
        assert store.load() is None

    def test_clearing_twice_is_fine(self, store: Store) -> None:
        store.save(CREDENTIALS)
        store.clear()
        store.clear()
        assert store.load() is None

    def test_clearing_an_empty_store_is_fine(self, store: Store) -> None:
        store.clear()
        assert store.load() is None

    def test_non_ascii_text_survives_the_round_trip(self, store: Store) -> None:
        data = json.dumps({"name": "Ada Lovelace — Countess 🧮"}, ensure_ascii=False)
        store.save(data)
        assert store.load() == data

    def test_a_6_kb_entry_survives_the_round_trip(self, store: Store) -> None:
        store.save(LARGE)
        assert store.load() == LARGE

    def test_a_large_entry_can_be_replaced_by_a_small_one(self, store: Store) -> None:
        store.save(LARGE)
        store.save(CREDENTIALS)
        assert store.load() == CREDENTIALS

    def test_data_that_looks_like_a_split_manifest_survives_the_round_trip(
        self, store: Store
    ) -> None:
        data = '{"chunked": 1, "slot": "a", "chunks": 2, "sha256": "0"}'
        store.save(data)
        assert store.load() == data

    def test_the_store_names_its_backend_for_people(self, store: Store) -> None:
        assert isinstance(store.backend_name, str)
        assert store.backend_name

    def test_repr_never_shows_the_stored_data(self, store: Store) -> None:
        store.save(json.dumps({"refresh_token": SECRET_MARKER}))
        assert SECRET_MARKER not in repr(store)

    def test_the_store_satisfies_the_store_protocol(self, store: Store) -> None:
        assert isinstance(store, Store)


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()


class TestCredentialStoreSplitForWindows(StoreContract):
    @pytest.fixture
    def store(self) -> CredentialStore:
        return CredentialStore(
            SERVICE, "ada", keyring_backend=WindowsSizedKeyring(), max_secret_size=WINDOWS_LIMIT
        )


@pytest.mark.integration
class TestCredentialStoreOnSecretService(StoreContract):
    """The real keychain: run under ``python -m session_tutorial.launcher``."""

    @pytest.fixture
    def store(self, keychain: CredentialStore) -> CredentialStore:
        return keychain

    def test_a_second_store_on_the_same_entry_reads_what_the_first_saved(
        self, store: CredentialStore
    ) -> None:
        store.save(CREDENTIALS)
        again = CredentialStore(SERVICE, store.account, keyring_backend=SecretService.Keyring())
        assert again.load() == CREDENTIALS

    def test_split_entries_work_on_the_real_keychain(self, store: CredentialStore) -> None:
        split = CredentialStore(
            SERVICE,
            store.account,
            keyring_backend=SecretService.Keyring(),
            max_secret_size=WINDOWS_LIMIT,
        )
        split.save(LARGE)
        assert split.load() == LARGE
        manifest = json.loads(SecretService.Keyring().get_password(SERVICE, store.account))
        assert manifest["chunks"] == math.ceil(len(LARGE) * 2 / WINDOWS_LIMIT)
        split.clear()
        assert store.load() is None


@pytest.mark.integration
def test_by_default_the_store_uses_the_secret_service_the_launcher_started() -> None:
    store = CredentialStore(SERVICE, f"test-{uuid.uuid4()}")
    assert store.backend_name.startswith("Secret Service")
    assert isinstance(keyring.get_keyring(), SecretService.Keyring)
    assert store.load() is None


# -- splitting for Windows Credential Manager ---------------------------------------------


@pytest.fixture
def windows() -> WindowsSizedKeyring:
    return WindowsSizedKeyring()


def windows_store(backend: DictKeyring, account: str = "ada") -> CredentialStore:
    return CredentialStore(SERVICE, account, keyring_backend=backend, max_secret_size=WINDOWS_LIMIT)


def test_without_splitting_windows_rejects_a_6_kb_entry(windows: WindowsSizedKeyring) -> None:
    store = CredentialStore(SERVICE, "ada", keyring_backend=windows, max_secret_size=None)
    with pytest.raises(StoreError, match="1783") as caught:
        store.save(LARGE)
    assert not isinstance(caught.value, KeychainUnavailable)
    assert isinstance(caught.value.__cause__, keyring.errors.PasswordSetError)


def test_a_6_kb_entry_is_split_into_entries_that_each_fit_the_limit(
    windows: WindowsSizedKeyring,
) -> None:
    windows_store(windows).save(LARGE)
    assert len(windows.entries) == 1 + math.ceil(len(LARGE) * 2 / WINDOWS_LIMIT)
    assert all(len(v.encode("utf-16-le")) <= WINDOWS_LIMIT for v in windows.entries.values())
    manifest = json.loads(windows.entries[(SERVICE, "ada")])
    assert manifest["chunked"] == 1
    assert manifest["chunks"] == len(windows.entries) - 1


@settings(derandomize=True, database=None)  # the same examples on every run
@given(data=st.text(max_size=3000), limit=st.integers(min_value=256, max_value=3000))
def test_any_text_round_trips_in_pieces_that_each_fit_the_limit(data: str, limit: int) -> None:
    backend = DictKeyring()
    store = CredentialStore(SERVICE, keyring_backend=backend, max_secret_size=limit)
    store.save(data)
    assert store.load() == data
    for entry in backend.entries.values():
        assert max(len(entry.encode("utf-8")), len(entry.encode("utf-16-le"))) <= limit


def test_an_entry_that_fits_is_stored_as_it_is(windows: WindowsSizedKeyring) -> None:
    windows_store(windows).save(CREDENTIALS)
    assert windows.entries == {(SERVICE, "ada"): CREDENTIALS}


def test_the_windows_backend_gets_the_2560_byte_limit_by_default() -> None:
    class FakeWinVault(WinVaultKeyring, DictKeyring):  # type: ignore[misc]
        priority = 1
        viable = False

    store = CredentialStore(SERVICE, "ada", keyring_backend=FakeWinVault())
    assert store.max_secret_size == WINDOWS_LIMIT
    assert store.backend_name == "Windows Credential Manager"
    assert CredentialStore(SERVICE, keyring_backend=DictKeyring()).max_secret_size is None


def test_a_tampered_chunk_raises_corrupt_entry(windows: WindowsSizedKeyring) -> None:
    store = windows_store(windows)
    store.save(LARGE)
    windows.entries[(SERVICE, "ada#a2")] = windows.entries[(SERVICE, "ada#a2")].upper()
    with pytest.raises(CorruptEntry, match="SHA-256"):
        store.load()


def test_a_missing_chunk_raises_corrupt_entry(windows: WindowsSizedKeyring) -> None:
    store = windows_store(windows)
    store.save(LARGE)
    del windows.entries[(SERVICE, "ada#a3")]
    with pytest.raises(CorruptEntry, match="piece 3 of 5 is missing"):
        store.load()


def test_a_half_written_set_is_never_taken_for_data(windows: WindowsSizedKeyring) -> None:
    store = windows_store(windows)
    store.save(LARGE)
    # A save that died after writing the new chunks' first piece over the old set's slot:
    windows.entries[(SERVICE, "ada#a1")] = "x" * 1280
    with pytest.raises(CorruptEntry):
        store.load()


def test_an_unknown_manifest_version_raises_corrupt_entry(windows: WindowsSizedKeyring) -> None:
    windows.entries[(SERVICE, "ada")] = '{"chunked": 2, "parts": ["..."]}'
    with pytest.raises(CorruptEntry, match="newer version"):
        windows_store(windows).load()


def test_an_unreadable_manifest_raises_corrupt_entry(windows: WindowsSizedKeyring) -> None:
    windows.entries[(SERVICE, "ada")] = '{"chunked": 1, "slot": '
    with pytest.raises(CorruptEntry, match="not a readable manifest"):
        windows_store(windows).load()


@pytest.mark.parametrize(
    "entry",
    [
        '{"chunked": ' + "[" * 100_000 + "]" * 100_000 + "}",
        '{"chunked": 1, "slot": "a", "chunks": ' + "[" * 400 + "]" * 400 + ', "sha256": "0"}',
        '{"chunked": 1, "slot": "a", "chunks": 257, "sha256": "0"}',
        '{"chunked": 1, "slot": "a", "chunks": 1000000000000, "sha256": "0"}',
        '{"chunked": 1, "slot": "a", "chunks": ' + "9" * 400 + ', "sha256": "0"}',
        '{"chunked": true, "slot": "a", "chunks": true, "sha256": "0"}',
        '{"chunked": 1, "slot": "a", "chunks": 1, "sha256": ["0"]}',
    ],
    ids=["deep", "deep-count", "one-too-many", "10**12", "10**400", "booleans", "list-digest"],
)
def test_a_crafted_manifest_is_corrupt_and_clearing_or_saving_over_it_is_bounded(
    entry: str,
) -> None:
    backend = DictKeyring()
    reads: list[str] = []
    backend.on_get = reads.append
    backend.entries[(SERVICE, "ada")] = entry
    backend.entries[(SERVICE, "ada#a1")] = "x"
    store = CredentialStore(SERVICE, "ada", keyring_backend=backend, max_secret_size=256)
    with pytest.raises(CorruptEntry, match="Clear it"):
        store.load()
    store.save("fresh")
    assert store.load() == "fresh"
    store.clear()
    assert backend.entries == {}
    assert len(reads) < 20  # not one read per claimed piece


def test_data_needing_more_pieces_than_a_manifest_may_claim_is_refused_unsaved() -> None:
    backend = DictKeyring()
    store = CredentialStore(SERVICE, "ada", keyring_backend=backend, max_secret_size=256)
    with pytest.raises(StoreError, match="too large"):
        store.save("x" * 128 * (MAX_CHUNKS + 1))
    assert backend.entries == {}


def test_a_corrupt_entry_can_be_cleared(windows: WindowsSizedKeyring) -> None:
    store = windows_store(windows)
    store.save(LARGE)
    del windows.entries[(SERVICE, "ada#a1")]
    store.clear()
    assert windows.entries == {}
    assert store.load() is None


def test_saving_over_a_corrupt_entry_replaces_it(windows: WindowsSizedKeyring) -> None:
    store = windows_store(windows)
    windows.entries[(SERVICE, "ada")] = '{"chunked": 1, "slot": '
    store.save(LARGE)
    assert store.load() == LARGE


def test_a_limit_too_small_for_the_manifest_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 256 bytes"):
        CredentialStore(SERVICE, keyring_backend=DictKeyring(), max_secret_size=100)


def test_an_empty_account_name_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        CredentialStore(SERVICE, "", keyring_backend=DictKeyring())


def test_saving_alternates_slots_and_removes_the_stale_chunks(
    windows: WindowsSizedKeyring,
) -> None:
    store = windows_store(windows)
    store.save(LARGE)
    store.save(LARGE[:3000])
    assert {account for _, account in windows.entries} == {"ada", "ada#b1", "ada#b2", "ada#b3"}
    store.save(CREDENTIALS)
    assert windows.entries == {(SERVICE, "ada"): CREDENTIALS}


def test_clear_also_removes_chunks_left_by_a_save_that_died(
    windows: WindowsSizedKeyring,
) -> None:
    windows.entries[(SERVICE, "ada#b1")] = "orphan"
    windows.entries[(SERVICE, "ada#b2")] = "orphan"
    windows_store(windows).clear()
    assert windows.entries == {}


def test_a_reader_is_not_disturbed_by_a_save_landing_while_it_reads(
    windows: WindowsSizedKeyring,
) -> None:
    writer, reader = windows_store(windows), windows_store(windows)
    writer.save(LARGE)
    newer = LARGE.replace("i", "j")

    def save_once_mid_read(account: str) -> None:
        # Another process's save lands after the reader has read the old manifest.
        if account == "ada#a1" and windows.on_get is not None:
            windows.on_get = None
            writer.save(newer)

    windows.on_get = save_once_mid_read
    assert reader.load() == newer


# -- no keychain, a refused keychain, a locked keychain -----------------------------------


def test_no_keychain_raises_keychain_unavailable_saying_what_to_run() -> None:
    store = CredentialStore(SERVICE, keyring_backend=fail.Keyring())
    with pytest.raises(KeychainUnavailable) as caught:
        store.load()
    message = str(caught.value)
    assert "python -m session_tutorial.launcher -- <command>`" in message
    assert "make system-deps" in message
    assert "no keychain" in message


def test_a_no_keyring_error_at_call_time_becomes_keychain_unavailable() -> None:
    error = keyring.errors.NoKeyringError("No recommended backend was available.")
    store = CredentialStore(SERVICE, keyring_backend=FaultyKeyring(error))
    with pytest.raises(KeychainUnavailable, match=r"session_tutorial\.launcher") as caught:
        store.save(CREDENTIALS)
    assert caught.value.__cause__ is error


def test_a_locked_keychain_raises_keychain_unavailable() -> None:
    # MOCK: a collection whose unlock prompt was dismissed; the launcher's keyring is unlocked
    # and a real one cannot be locked and left unanswered on demand.
    error = keyring.errors.KeyringLocked("Failed to unlock the collection!")
    store = CredentialStore(SERVICE, keyring_backend=FaultyKeyring(error))
    with pytest.raises(KeychainUnavailable, match="is locked") as caught:
        store.load()
    assert caught.value.__cause__ is error


def test_a_keyring_init_error_becomes_keychain_unavailable() -> None:
    error = keyring.errors.InitError("Failed to create the collection: Prompt dismissed.")
    store = CredentialStore(SERVICE, keyring_backend=FaultyKeyring(error))
    with pytest.raises(KeychainUnavailable, match="Prompt dismissed"):
        store.clear()


def test_a_secret_service_that_went_away_becomes_keychain_unavailable() -> None:
    from secretstorage.exceptions import SecretServiceNotAvailableException

    error = SecretServiceNotAvailableException("Connection refused")
    store = CredentialStore(SERVICE, keyring_backend=FaultyKeyring(error))
    with pytest.raises(KeychainUnavailable, match="Connection refused"):
        store.load()


def test_other_keyring_errors_become_store_errors() -> None:
    error = keyring.errors.PasswordSetError("write refused")
    store = CredentialStore(SERVICE, keyring_backend=FaultyKeyring(error))
    with pytest.raises(StoreError, match="write refused") as caught:
        store.save(CREDENTIALS)
    assert type(caught.value) is StoreError


def test_a_missing_entry_on_delete_is_not_an_error() -> None:
    backend = DictKeyring()
    CredentialStore(SERVICE, keyring_backend=backend).clear()
    assert backend.entries == {}


class PlaintextKeyring(DictKeyring):
    """Stands in for keyrings.alt.file.PlaintextKeyring (keyrings.alt is not installed here)."""

    priority = 0.5  # keyrings.alt's own value


PlaintextKeyring.__module__ = "keyrings.alt.file"


class PromotedPlaintextKeyring(PlaintextKeyring):
    """The same file backend with its priority raised by a configuration."""

    priority = 10


PromotedPlaintextKeyring.__module__ = "keyrings.alt.file"


class SubclassedPlaintextKeyring(PromotedPlaintextKeyring):
    """A subclass of the file backend in another module (here, this test module), promoted."""

    priority = 10


assert SubclassedPlaintextKeyring.__module__ == __name__


class UnrecommendedKeyring(DictKeyring):
    """A backend of unknown make that keyring itself rates "not recommended"."""

    priority = 0.2


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        (PlaintextKeyring(), "keeps secrets in a file"),
        (PromotedPlaintextKeyring(), "keeps secrets in a file"),
        (SubclassedPlaintextKeyring(), "keeps secrets in a file"),
        (UnrecommendedKeyring(), "does not recommend it"),
        (null.Keyring(), "stores nothing"),
    ],
)
def test_a_keyring_that_would_not_protect_the_tokens_is_refused(
    backend: DictKeyring, reason: str
) -> None:
    store = CredentialStore(SERVICE, keyring_backend=backend)
    with pytest.raises(KeychainUnavailable, match=reason) as caught:
        store.save(CREDENTIALS)
    assert "never written to a plaintext file" in str(caught.value)
    assert getattr(backend, "entries", {}) == {}
    assert store.backend_name.startswith("none usable")


def test_a_chain_of_keyrings_uses_its_first_safe_member() -> None:
    safe = DictKeyring()

    class Chain(chainer.ChainerBackend):
        viable = False
        backends: ClassVar = [PlaintextKeyring(), safe]

    CredentialStore(SERVICE, keyring_backend=Chain()).save(CREDENTIALS)
    assert safe.entries == {(SERVICE, "default"): CREDENTIALS}


def test_a_chain_with_no_safe_member_is_refused_naming_each_member() -> None:
    class Chain(chainer.ChainerBackend):
        viable = False
        backends: ClassVar = [PlaintextKeyring(), fail.Keyring()]

    with pytest.raises(KeychainUnavailable, match=r"file PlaintextKeyring: .*no keychain"):
        CredentialStore(SERVICE, keyring_backend=Chain()).load()


def test_a_secret_service_that_is_not_running_is_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    store = CredentialStore(SERVICE, keyring_backend=SecretService.Keyring())
    with pytest.raises(KeychainUnavailable, match=r"Secret Service .*not usable here"):
        store.load()


# -- names and counts ---------------------------------------------------------------------


@pytest.mark.integration
def test_the_launchers_private_keyring_is_named_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEYCHAIN_ENV, "private gnome-keyring")
    store = CredentialStore(SERVICE, keyring_backend=SecretService.Keyring())
    assert store.backend_name == "Secret Service (private gnome-keyring)"


def test_the_memory_store_says_it_is_not_persistent() -> None:
    assert "not persistent" in MemoryStore().backend_name


def test_the_memory_store_counts_saves_loads_and_clears() -> None:
    store = MemoryStore()
    store.save(CREDENTIALS)
    store.load()
    store.load()
    store.clear()
    assert (store.saves, store.loads, store.clears) == (1, 2, 1)


def test_the_memory_store_counts_every_save_from_many_threads() -> None:
    store = MemoryStore()
    start = threading.Barrier(32)

    def save() -> None:
        start.wait()
        for _ in range(100):
            store.save(CREDENTIALS)

    threads = [threading.Thread(target=save) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.saves == 3200


def test_repr_names_the_entry_and_backend_but_not_the_data() -> None:
    backend = DictKeyring()
    store = CredentialStore(SERVICE, "ada@example.com", keyring_backend=backend)
    store.save(SECRET_MARKER)
    assert repr(store) == (
        "CredentialStore(service='session-tutorial-tests', account='ada@example.com', "
        "backend='test store DictKeyring')"
    )
