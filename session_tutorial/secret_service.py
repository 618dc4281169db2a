"""keyring's Secret Service backend, keeping its D-Bus connection and encrypted session.

keyring's own backend (``keyring.backends.SecretService.Keyring``) opens a new D-Bus
connection for every read, write or delete, and secretstorage negotiates a new encrypted
session on it (a 1024-bit Diffie-Hellman exchange, computed in pure Python on this side and
with libgcrypt in gnome-keyring), then both are closed. Measured on a 2-core machine: about
12 ms of the caller's CPU and 7 ms of the daemon's for one ``get_password``, of which the
session is 8 ms and 5 ms. A sign-in reads and writes the keychain several times; the test
suite does it thousands of times.

:class:`KeptSessionKeyring` is that backend with one change: the connection and its session
are kept and reused by the next call, in this process, for as long as they work. Everything
else (finding items by their attributes, locking and unlocking, what is stored, the errors)
is keyring's and secretstorage's own code. Reuse stops, and a new connection is opened, when:

- the process forked (a child never writes to its parent's socket);
- ``DBUS_SESSION_BUS_ADDRESS`` changed (another bus, another keychain);
- the Secret Service on the bus is another process than the one the session was opened with
  (gnome-keyring restarted: the old session means nothing to the new daemon);
- something is waiting on the connection between calls, where nothing is expected (another
  process on the bus queued messages there to slow the next call down): it is dropped unread;
- the connection failed (the bus went away): if the new connection fails too, that error is
  the caller's, exactly as with keyring's backend;
- a call on a kept session fails with a D-Bus or Secret Service error (the service closed the
  session): the call is made once more on a new connection and session.

Calls from several threads take turns on the one connection (a lock), because a D-Bus
connection carries one conversation at a time.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from keyring.backends import SecretService

__all__ = ["KeptSessionKeyring", "close_kept_connections"]

_BUS_NAME = "org.freedesktop.secrets"
_T = TypeVar("_T")


class _Kept:
    """A D-Bus connection that keyring's ``closing(collection.connection)`` leaves open."""

    def __init__(self, connection: Any, owner: str, session: Any) -> None:
        self.connection = connection
        self.owner = owner  # the Secret Service's unique bus name when the session was opened
        self.session = session

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection, name)

    def close(self) -> None:
        """Kept for the next call: :func:`close_kept_connections` really closes it."""


class _Pool:
    """The one kept connection of this process (per bus address), and the lock to use it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.kept: dict[str, _Kept] = {}
        self.fresh = False  # whether the current call opened its connection itself

    def forget(self, address: str) -> None:
        kept = self.kept.pop(address, None)
        if kept is not None:
            kept.connection.close()

    def forget_all(self) -> None:
        for address in list(self.kept):
            self.forget(address)


_POOL = _Pool()


def _after_fork_in_child() -> None:
    global _POOL
    old = _POOL
    _POOL = _Pool()  # a lock another thread held at the fork would never be released here
    for kept in old.kept.values():
        kept.connection.close()  # the child's copy of the socket; the parent's stays open


os.register_at_fork(after_in_child=_after_fork_in_child)


def close_kept_connections() -> None:
    """Close the connections :class:`KeptSessionKeyring` keeps (the next call opens one)."""
    with _POOL.lock:
        _POOL.forget_all()


def _bus_address() -> str:
    """The session bus this process would connect to now (what a kept connection is kept by)."""
    return os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")


def _name_owner(connection: Any) -> str:
    from jeepney import DBus
    from jeepney.wrappers import unwrap_msg

    reply = connection.send_and_get_reply(DBus().GetNameOwner(_BUS_NAME))
    (owner,) = unwrap_msg(reply)
    return str(owner)


def _name_owner_or_none(connection: Any) -> str | None:
    from jeepney.wrappers import DBusErrorResponse

    try:
        return _name_owner(connection)
    except DBusErrorResponse:  # nobody owns it yet (a service started on first use)
        return None


def _still_good(kept: _Kept) -> bool:
    """Whether nothing is waiting on the connection, it answers, and its session's Secret
    Service still owns the name. Between calls nothing is expected: whatever another process
    queued there (to slow the next call down) goes with the connection, unread."""
    try:
        waiting, _, _ = select.select([kept.connection.sock], [], [], 0)
        if waiting:
            return False
        return _name_owner(kept.connection) == kept.owner
    except Exception:  # the bus went away, or no Secret Service owns the name now
        return False


class KeptSessionKeyring(SecretService.Keyring):
    """``keyring.backends.SecretService.Keyring`` reusing one connection and session.

    Example::

        backend = KeptSessionKeyring()
        backend.set_password("session-tutorial", "ada", "...")
        backend.get_password("session-tutorial", "ada")  # no new connection, no new session

    :class:`~session_tutorial.CredentialStore` uses it in place of keyring's backend when
    keyring chooses the Secret Service.
    """

    def get_password(self, service: str, username: str) -> str | None:
        return self._with_connection(super().get_password, service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self._with_connection(super().set_password, service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        self._with_connection(super().delete_password, service, username)

    def get_credential(self, service: str, username: str | None) -> Any:
        return self._with_connection(super().get_credential, service, username)

    def get_preferred_collection(self) -> Any:
        """keyring's choice of collection, on the kept connection with its session."""
        import secretstorage
        from keyring.errors import InitError, KeyringLocked
        from secretstorage import exceptions

        try:
            kept = self._kept()
            if hasattr(self, "preferred_collection"):
                collection = secretstorage.Collection(
                    kept, self.preferred_collection, session=kept.session
                )
            else:
                collection = secretstorage.get_default_collection(kept, session=kept.session)
        except exceptions.SecretStorageException as e:
            raise InitError(f"Failed to create the collection: {e}.") from e
        collection.session = kept.session  # get_default_collection leaves a found one without
        if collection.is_locked():
            collection.unlock()
            if collection.is_locked():  # the person dismissed the prompt
                raise KeyringLocked("Failed to unlock the collection!")
        return collection

    # -- the kept connection ----------------------------------------------------------

    def _with_connection(self, call: Callable[..., _T], *args: Any) -> _T:
        from jeepney.wrappers import DBusErrorResponse
        from secretstorage.exceptions import SecretStorageException

        with _POOL.lock:
            try:
                return call(*args)
            except (DBusErrorResponse, SecretStorageException):
                if _POOL.fresh:
                    raise  # a new connection and session failed: that is the keychain's answer
            # A kept session the service no longer knows (it closed it, or a new daemon took
            # over between two checks): once more on a new connection. Reads, deletes and
            # replacing writes are all safe to repeat.
            _POOL.forget(_bus_address())
            return call(*args)

    def _kept(self) -> _Kept:
        """The kept connection, checked; a new one when there is none or it no longer works."""
        import secretstorage
        from secretstorage import exceptions
        from secretstorage.util import open_session

        pool = _POOL
        address = _bus_address()
        kept = pool.kept.get(address)
        if kept is not None:
            if _still_good(kept):
                pool.fresh = False
                return kept
            pool.forget(address)
        try:
            connection = secretstorage.dbus_init()
        except RuntimeError as exc:  # jeepney: a transport it does not speak (tcp:, ...)
            raise exceptions.SecretServiceNotAvailableException(str(exc)) from exc
        try:
            before = _name_owner_or_none(connection)
            session = open_session(connection)  # starts the Secret Service if it is activatable
            owner = _name_owner(connection)
        except BaseException:
            connection.close()
            raise
        if before not in (None, owner):
            owner = ""  # replaced while the session was opened: never reused, checked again
        kept = pool.kept[address] = _Kept(connection, owner, session)
        pool.fresh = True
        return kept
