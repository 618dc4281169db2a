"""Where the credentials live between launches: one string entry in the system keychain.

A :class:`Store` holds one entry (the credentials as versioned JSON; this module neither reads
nor writes its fields): :meth:`~Store.load` returns it or ``None`` (signed out),
:meth:`~Store.save` replaces it, :meth:`~Store.clear` removes it. Two implementations:

- :class:`CredentialStore`, the system keychain through ``keyring``: the Secret Service on
  Linux (see :mod:`session_tutorial.launcher` for machines without a desktop), the macOS
  Keychain, the Windows Credential Manager. It never falls back to a plaintext file.
- :class:`MemoryStore`, an explicit in-memory store for demos and tests that counts its calls,
  like Auth0.swift's ``SpyCredentialsStorage``.

Example::

    >>> store = MemoryStore()
    >>> store.save('{"v": 1}')
    >>> store.load(), store.saves
    ('{"v": 1}', 1)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from typing import Final, Protocol, runtime_checkable

import keyring
import keyring.errors
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from .commands import python_command
from .errors import CorruptEntry, KeychainUnavailable, StoreError
from .launcher import KEYCHAIN_ENV

__all__ = ["CredentialStore", "MemoryStore", "Store"]


HOW_TO_GET_A_KEYCHAIN: Final = (
    "On Linux without a desktop keychain (a server, a container, CI, Binder), run the command "
    f"through `{python_command('-m', 'session_tutorial.launcher', '--')} <command>` (`make lab` "
    "and `make test` do this); if the launcher reports gnome-keyring missing, run "
    "`make system-deps` in the repository's folder."
)
#: Windows Credential Manager's CRED_MAX_CREDENTIAL_BLOB_SIZE (keyring #355, #540).
WINDOWS_MAX_SECRET_SIZE: Final = 2560

_AUTO: Final = -1  # max_secret_size default: decided by the backend
_MANIFEST_PREFIX: Final = '{"chunked": '
_MANIFEST_VERSION: Final = 1
_SLOTS: Final = ("a", "b")
_READ_ATTEMPTS: Final = 3
#: The most pieces an entry is split into (640 kB at Windows' limit, far beyond any
#: credentials). A manifest claiming more is corrupt: reading or clearing it stays bounded.
MAX_CHUNKS: Final = 256
_MAX_MANIFEST: Final = 1024  # characters; a real manifest has about 110

# Backends that keep secrets in a file, in plaintext or behind a getpass() prompt that a
# notebook kernel cannot answer. keyring itself rates them below 1, "not recommended"; the
# module check (of the backend's class and every base class) also catches them if a
# configuration raises their priority, or a subclass in another module does.
_REFUSED_MODULES: Final = ("keyrings.alt", "keyrings.cryptfile")
_SECRET_SERVICE: Final = "keyring.backends.SecretService.Keyring"
_FRIENDLY_NAMES: Final = {
    _SECRET_SERVICE: "Secret Service (D-Bus)",
    "keyring.backends.libsecret.Keyring": "Secret Service (libsecret)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Manager",
}


def _foreign_errors() -> tuple[type[BaseException], ...]:
    """The exception types a keyring backend lets through, besides keyring's own."""
    errors: list[type[BaseException]] = [keyring.errors.KeyringError, OSError]
    with contextlib.suppress(ImportError):
        from secretstorage.exceptions import SecretStorageException

        errors.append(SecretStorageException)
    with contextlib.suppress(ImportError):
        from jeepney.wrappers import DBusErrorResponse

        errors.append(DBusErrorResponse)
    return tuple(errors)


_FOREIGN_ERRORS: Final = _foreign_errors()


def _translate(exc: BaseException, backend: str, action: str) -> StoreError:
    """Map an error raised by a keyring backend to this package's errors (the one place)."""
    if isinstance(exc, keyring.errors.KeyringLocked):
        return KeychainUnavailable(
            f"The keychain ({backend}) is locked and was not unlocked, so it could not "
            f"{action}. Unlock it (a desktop usually prompts for your login password) and "
            f"try again. {HOW_TO_GET_A_KEYCHAIN}"
        )
    if isinstance(exc, keyring.errors.KeyringError) and not isinstance(
        exc, (keyring.errors.NoKeyringError, keyring.errors.InitError)
    ):
        return StoreError(f"The keychain ({backend}) failed to {action}: {exc}")
    # No keyring, or D-Bus and Secret Service failures (secretstorage, jeepney, sockets):
    # the keychain is not there or stopped answering.
    return KeychainUnavailable(
        f"The keychain ({backend}) could not {action}: {exc}. {HOW_TO_GET_A_KEYCHAIN}"
    )


def _describe(backend: KeyringBackend) -> str:
    for cls in type(backend).__mro__:
        path = f"{cls.__module__}.{cls.__qualname__}"
        if path == _SECRET_SERVICE and KEYCHAIN_ENV in os.environ:
            return f"Secret Service ({os.environ[KEYCHAIN_ENV]})"
        if path in _FRIENDLY_NAMES:
            return _FRIENDLY_NAMES[path]
    return str(type(backend).name)


def _refusal(backend: KeyringBackend) -> str | None:
    """Why ``backend`` must not hold tokens, or None when it may."""
    if isinstance(backend, fail.Keyring):
        return "keyring found no keychain on this machine"
    if isinstance(backend, null.Keyring):
        return "the null keyring stores nothing"
    # The whole class hierarchy: a subclass defined elsewhere still writes the file its base does.
    if any(cls.__module__.startswith(_REFUSED_MODULES) for cls in type(backend).__mro__):
        return "it keeps secrets in a file, in plaintext or behind a passphrase prompt"
    try:
        priority = type(backend).priority
    except Exception as exc:  # keyring says "not viable here" with any error
        return f"it is not usable here ({exc})"
    if priority < 1:
        return f"keyring does not recommend it (priority {priority:g} < 1)"
    return None


def _keeping_its_session(backend: KeyringBackend) -> KeyringBackend:
    """keyring's Secret Service backend becomes one that keeps its connection and session.

    The same items in the same collection, without a new D-Bus connection and Diffie-Hellman
    exchange on every call (secret_service.py); any other backend is used as it is.
    """
    if f"{type(backend).__module__}.{type(backend).__qualname__}" != _SECRET_SERVICE:
        return backend
    from .secret_service import KeptSessionKeyring

    kept = KeptSessionKeyring()
    kept.__dict__.update(vars(backend))  # its scheme and preferred collection, if any
    return kept


def _choose(backend: KeyringBackend) -> tuple[KeyringBackend | None, str]:
    """The backend to use (a chainer's first acceptable member) and why none, if none."""
    candidates = backend.backends if isinstance(backend, chainer.ChainerBackend) else [backend]
    reasons = []
    for candidate in candidates:
        reason = _refusal(candidate)
        if reason is None:
            return _keeping_its_session(candidate), ""
        reasons.append(f"{_describe(candidate)}: {reason}")
    return None, "; ".join(reasons) or "keyring found no keychain on this machine"


def _choose_configured(configured: KeyringBackend | None) -> tuple[KeyringBackend | None, str]:
    """:func:`_choose` on ``configured``, else on keyring's backend for this machine.

    A backend named by ``PYTHON_KEYRING_BACKEND`` (the launcher names the Secret Service) is
    loaded without keyring's viability check, so a bus that has gone away raises from inside
    keyring (``FileNotFoundError`` from the D-Bus socket): that is the keychain being gone.
    """
    if configured is not None:
        return _choose(configured)
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # keyring lets any backend's loading error through
        return None, f"keyring could not load its backend ({type(exc).__name__}: {exc})"
    return _choose(backend)


def _encoded_size(text: str) -> int:
    """Bytes ``text`` takes in the larger of the encodings a backend may use (UTF-8, UTF-16)."""
    return max(len(text.encode("utf-8")), len(text.encode("utf-16-le")))


def _split(data: str, limit: int) -> list[str]:
    chunks, start, size = [], 0, 0
    for i, char in enumerate(data):
        cost = _encoded_size(char)
        if size + cost > limit:
            chunks.append(data[start:i])
            start, size = i, 0
        size += cost
    chunks.append(data[start:])
    return chunks


def _count(number: int) -> str:
    return f"{number:,}" if number < 10**9 else "billions of"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _digest(data: str) -> str:
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


@runtime_checkable
class Store(Protocol):
    """Storage for one entry: the serialized credentials, or nothing (signed out)."""

    @property
    def backend_name(self) -> str:
        """Where the entry is kept, for people: ``"macOS Keychain"``."""
        ...

    def load(self) -> str | None:
        """The stored entry, or None when nothing is stored."""
        ...

    def save(self, data: str) -> None:
        """Replace the stored entry with ``data``."""
        ...

    def clear(self) -> None:
        """Remove the stored entry; clearing an empty store is fine."""
        ...


class MemoryStore:
    """An in-memory store for demos and tests; it counts saves, loads and clears.

    Nothing survives the process. Thread-safe, so a test can assert that 32 threads renewing
    at once caused exactly one save.
    """

    def __init__(self, data: str | None = None) -> None:
        self._data = data
        self._lock = threading.Lock()
        self.saves = 0
        self.loads = 0
        self.clears = 0

    @property
    def backend_name(self) -> str:
        return "in-memory (not persistent)"

    def load(self) -> str | None:
        with self._lock:
            self.loads += 1
            return self._data

    def save(self, data: str) -> None:
        with self._lock:
            self.saves += 1
            self._data = data

    def clear(self) -> None:
        with self._lock:
            self.clears += 1
            self._data = None

    def __repr__(self) -> str:
        state = "empty" if self._data is None else f"{len(self._data)} characters stored"
        return f"MemoryStore({state}, saves={self.saves}, loads={self.loads})"


class CredentialStore:
    """The credentials entry in the system keychain, through ``keyring``.

    ``keyring_backend`` defaults to keyring's choice for this machine. A backend that keeps
    secrets in a file, or none at all, is refused with :class:`KeychainUnavailable` rather than
    used. Entries larger than ``max_secret_size`` bytes (default: 2,560 on Windows, whose
    Credential Manager rejects more; unlimited elsewhere) are split across several entries.

    Example::

        store = CredentialStore(account="ada@example.com")
        store.save(credentials.to_json())
        store.load()  # the same string, in this process or the next

    Raises :class:`KeychainUnavailable` when there is no usable keychain or it is locked,
    :class:`CorruptEntry` when a split entry is incomplete or altered, and :class:`StoreError`
    for other keychain failures.

    Split entries: the entry at ``account`` becomes a small manifest,
    ``{"chunked": 1, "slot": "a", "chunks": 3, "sha256": "..."}``, and the data goes to
    ``account#a1`` ... ``account#a3``. A save writes the chunks into the slot the current
    manifest does not use, then replaces the manifest (one entry, so the switch is atomic),
    then removes the other slot; a reader checks the count and the hash, and re-reads the
    manifest if a save replaced it meanwhile. So a reader never takes a half-written set for
    data and is not disturbed by one concurrent save. keyring has no locking (keyring #456):
    callers that may save from two processes at once must serialize their saves.
    """

    def __init__(
        self,
        service: str = "session-tutorial",
        account: str = "default",
        *,
        keyring_backend: KeyringBackend | None = None,
        max_secret_size: int | None = _AUTO,
    ) -> None:
        if not service or not account:
            raise ValueError(
                "service and account must be non-empty (keyring deprecates empty names)"
            )
        if max_secret_size is not None and max_secret_size != _AUTO and max_secret_size < 256:
            # the manifest itself (about 110 characters, 220 bytes in UTF-16) must fit
            raise ValueError(f"max_secret_size must be at least 256 bytes, not {max_secret_size}")
        self.service = service
        self.account = account
        self._configured = keyring_backend
        self._max_secret_size = max_secret_size
        self._backend: KeyringBackend | None = None

    @property
    def backend_name(self) -> str:
        """Which keychain holds the entry; never raises, even when none is usable."""
        if self._backend is not None:
            return _describe(self._backend)
        chosen, reason = _choose_configured(self._configured)
        return _describe(chosen) if chosen else f"none usable ({reason})"

    @property
    def max_secret_size(self) -> int | None:
        """The largest entry, in bytes, the backend takes in one piece; None for no limit."""
        if self._max_secret_size != _AUTO:
            return self._max_secret_size
        from keyring.backends.Windows import WinVaultKeyring

        windows = isinstance(self._keyring(), WinVaultKeyring)
        return WINDOWS_MAX_SECRET_SIZE if windows else None

    def load(self) -> str | None:
        """The stored entry, or None when nothing is stored (signed out)."""
        for _ in range(_READ_ATTEMPTS):
            entry = self._get(self.account)
            manifest = self._manifest(entry)
            if manifest is None:
                return entry
            data, problem = self._read_chunks(manifest)
            if data is not None:
                return data
            if self._get(self.account) == entry:
                break  # nobody replaced the manifest meanwhile: the set really is damaged
        raise CorruptEntry(
            f"The keychain entry {self.service}/{self.account} is split into pieces, but "
            f"{problem}. Clear it (sign out) and sign in again."
        )

    def save(self, data: str) -> None:
        """Replace the stored entry with ``data``, split across entries if it is too large."""
        limit = self.max_secret_size
        try:
            old = self._manifest(self._get(self.account))
        except CorruptEntry:
            old = None  # a damaged entry is simply replaced; clear() sweeps its pieces
        fits = limit is None or _encoded_size(data) <= limit
        if fits and not data.startswith(_MANIFEST_PREFIX):
            self._set(self.account, data)
        else:
            # Data that merely looks like a manifest is stored split, so that the entry at
            # `account` is a manifest exactly when it starts with the prefix.
            chunks = _split(data, limit or _encoded_size(data) or 1)
            if len(chunks) > MAX_CHUNKS:
                raise StoreError(
                    f"The entry is too large for the keychain ({_encoded_size(data):,} bytes, "
                    f"more than {MAX_CHUNKS} pieces of {limit:,}): nothing was saved."
                )
            slot = _SLOTS[1] if old and old["slot"] == _SLOTS[0] else _SLOTS[0]
            for number, chunk in enumerate(chunks, start=1):
                self._set(self._chunk_account(slot, number), chunk)
            self._delete_chunks(slot, start=len(chunks) + 1)
            manifest = {
                "chunked": _MANIFEST_VERSION,
                "slot": slot,
                "chunks": len(chunks),
                "sha256": _digest(data),
            }
            self._set(self.account, json.dumps(manifest))
        if old:
            assert isinstance(old["chunks"], int)
            self._delete_chunks(str(old["slot"]), through=old["chunks"])

    def clear(self) -> None:
        """Remove the entry and any pieces of it; clearing an empty store is fine."""
        try:
            manifest = self._manifest(self._get(self.account))
        except CorruptEntry:
            manifest = None
        self._delete(self.account)
        for slot in _SLOTS:
            known = manifest["chunks"] if manifest and manifest["slot"] == slot else 0
            assert isinstance(known, int)
            self._delete_chunks(slot, through=known)

    def __repr__(self) -> str:
        return (
            f"CredentialStore(service={self.service!r}, account={self.account!r}, "
            f"backend={self.backend_name!r})"
        )

    # -- the manifest and its chunks ------------------------------------------------------

    def _chunk_account(self, slot: str, number: int) -> str:
        return f"{self.account}#{slot}{number}"

    def _manifest(self, entry: str | None) -> dict[str, object] | None:
        if entry is None or not entry.startswith(_MANIFEST_PREFIX):
            return None
        manifest = None
        if len(entry) <= _MAX_MANIFEST:
            # RecursionError: JSON nested deeper than the parser's stack.
            with contextlib.suppress(ValueError, RecursionError):
                manifest = json.loads(entry)
        where = f"The keychain entry {self.service}/{self.account}"
        if not isinstance(manifest, dict) or not _is_int(manifest.get("chunked")):
            raise CorruptEntry(f"{where} is not a readable manifest. Clear it and sign in again.")
        if manifest["chunked"] != _MANIFEST_VERSION:
            raise CorruptEntry(
                f"{where} was split by a newer version of session_tutorial (manifest version "
                f"{manifest['chunked']}). Upgrade, or clear it and sign in again."
            )
        chunks, slot, digest = manifest.get("chunks"), manifest.get("slot"), manifest.get("sha256")
        if not (_is_int(chunks) and slot in _SLOTS and isinstance(digest, str) and digest):
            raise CorruptEntry(f"{where} has an invalid manifest. Clear it and sign in again.")
        assert isinstance(chunks, int)
        if not 1 <= chunks <= MAX_CHUNKS:
            raise CorruptEntry(
                f"{where} claims to be split into {_count(chunks)} pieces; no entry has more "
                f"than {MAX_CHUNKS}. Clear it and sign in again."
            )
        return manifest

    def _read_chunks(self, manifest: dict[str, object]) -> tuple[str | None, str]:
        count, slot = manifest["chunks"], str(manifest["slot"])
        assert isinstance(count, int)
        chunks = []
        for number in range(1, count + 1):
            chunk = self._get(self._chunk_account(slot, number))
            if chunk is None:
                return None, f"piece {number} of {count} is missing"
            chunks.append(chunk)
        data = "".join(chunks)
        if _digest(data) != manifest["sha256"]:
            return None, f"its {count} pieces do not match the manifest's SHA-256"
        return data, ""

    def _delete_chunks(self, slot: str, start: int = 1, through: int = 0) -> None:
        """Delete ``slot``'s chunks ``start`` to ``through``, and on up to the first missing one.

        keyring cannot list entries, so chunks past the known count (left by a save that died)
        are found by probing.
        """
        number = start
        while number <= MAX_CHUNKS and (
            self._delete(self._chunk_account(slot, number)) or number <= through
        ):
            number += 1

    # -- the keyring boundary -------------------------------------------------------------

    def _keyring(self) -> KeyringBackend:
        if self._backend is None:
            chosen, reason = _choose_configured(self._configured)
            if chosen is None:
                raise KeychainUnavailable(
                    f"No usable keychain: {reason}. Tokens are never written to a plaintext "
                    f"file instead. {HOW_TO_GET_A_KEYCHAIN}"
                )
            self._backend = chosen
        return self._backend

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except _FOREIGN_ERRORS as exc:
            raise _translate(exc, _describe(self._keyring()), action) from exc

    def _get(self, account: str) -> str | None:
        backend = self._keyring()
        with self._errors(f"read {self.service}/{account}"):
            return backend.get_password(self.service, account)

    def _set(self, account: str, data: str) -> None:
        backend = self._keyring()
        with self._errors(f"write {self.service}/{account}"):
            backend.set_password(self.service, account, data)

    def _delete(self, account: str) -> bool:
        """Delete one entry; False when there was none."""
        backend = self._keyring()
        with self._errors(f"delete {self.service}/{account}"):
            try:
                backend.delete_password(self.service, account)
            except keyring.errors.PasswordDeleteError:
                return False
        return True
