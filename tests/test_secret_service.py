"""The Secret Service backend that keeps its connection: on the real keychain, under the launcher.

It must store exactly what keyring's own backend stores, reuse its connection and session, and
open new ones whenever the old ones cannot be trusted: a broken connection, another bus, a
forked child, a Secret Service that was restarted.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import socket
import threading
import uuid
from collections.abc import Iterator

import pytest
from keyring.backends import SecretService

from session_tutorial import CredentialStore, KeptSessionKeyring
from session_tutorial import secret_service as kept_module
from session_tutorial.errors import KeychainUnavailable

pytestmark = pytest.mark.integration
SERVICE = "session-tutorial-tests"


@pytest.fixture
def account() -> Iterator[str]:
    name = f"kept-{uuid.uuid4()}"
    yield name
    CredentialStore(SERVICE, name).clear()


def kept() -> kept_module._Kept:
    return kept_module._POOL.kept[os.environ["DBUS_SESSION_BUS_ADDRESS"]]


def test_calls_reuse_one_connection_and_session_and_store_what_keyring_stores(
    account: str,
) -> None:
    backend = KeptSessionKeyring()
    backend.set_password(SERVICE, account, "first")
    first = kept()
    assert backend.get_password(SERVICE, account) == "first"
    backend.set_password(SERVICE, account, "second")

    assert kept() is first
    assert kept().session.object_path == first.session.object_path
    # keyring's own backend, on a connection of its own, finds the same item.
    assert SecretService.Keyring().get_password(SERVICE, account) == "second"
    backend.delete_password(SERVICE, account)
    assert SecretService.Keyring().get_password(SERVICE, account) is None


def test_the_store_uses_it_where_keyring_chooses_the_secret_service(account: str) -> None:
    store = CredentialStore(SERVICE, account)
    store.save("data")

    assert isinstance(store._keyring(), KeptSessionKeyring)
    assert store.backend_name.startswith("Secret Service")
    explicit = CredentialStore(SERVICE, account, keyring_backend=SecretService.Keyring())
    assert isinstance(explicit._keyring(), KeptSessionKeyring)
    assert explicit.load() == "data"


def test_a_broken_connection_is_replaced_and_the_call_still_succeeds(account: str) -> None:
    store = CredentialStore(SERVICE, account)
    store.save("before")
    broken = kept()
    broken.connection.sock.shutdown(socket.SHUT_RDWR)  # the real socket, cut

    assert store.load() == "before"
    assert kept() is not broken


def test_another_bus_gets_its_own_connection_and_a_missing_one_is_keychain_unavailable(
    account: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    store = CredentialStore(SERVICE, account)
    store.save("here")
    ours = kept()
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus-here")

    with pytest.raises(KeychainUnavailable, match="could not read"):
        store.load()

    monkeypatch.undo()
    assert store.load() == "here"
    assert kept() is ours


def _save_in_child(account: str, queue: multiprocessing.Queue[object]) -> None:
    try:
        parents = kept_module._POOL.kept.copy()
        CredentialStore(SERVICE, account).save("from the child")
        queue.put((not parents, kept() is not None))
    except BaseException as exc:  # the parent reports it
        queue.put(repr(exc))


def test_a_forked_child_opens_its_own_connection_and_the_parents_keeps_working(
    account: str,
) -> None:
    store = CredentialStore(SERVICE, account)
    store.save("from the parent")
    ours = kept()
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[object] = context.Queue()
    child = context.Process(target=_save_in_child, args=(account, queue))
    child.start()
    outcome = queue.get(timeout=60)
    child.join(timeout=60)

    assert outcome == (True, True), outcome  # nothing inherited; a connection of its own
    assert store.load() == "from the child"
    assert kept() is ours


def test_threads_take_turns_on_the_one_connection() -> None:
    accounts = [f"kept-thread-{i}-{uuid.uuid4()}" for i in range(6)]
    failures: list[str] = []

    def work(account: str) -> None:
        store = CredentialStore(SERVICE, account)
        try:
            for n in range(8):
                store.save(f"{account}:{n}")
                if store.load() != f"{account}:{n}":
                    failures.append(f"{account} read back something else")
            store.clear()
        except Exception as exc:  # reported below
            failures.append(repr(exc))

    threads = [threading.Thread(target=work, args=(a,)) for a in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not failures
    assert all(CredentialStore(SERVICE, a).load() is None for a in accounts)


def test_a_session_from_a_secret_service_that_was_replaced_is_not_reused(account: str) -> None:
    store = CredentialStore(SERVICE, account)
    store.save("data")
    old = kept()
    # MOCK: restarting the worker's gnome-keyring would take every later test's keychain with
    # it, so the kept session is made to look as if another daemon had opened it.
    old.owner = ":1.99999"

    assert store.load() == "data"
    assert kept() is not old
    assert kept().session.object_path != old.session.object_path


def test_close_kept_connections_closes_them_and_the_next_call_opens_one(account: str) -> None:
    store = CredentialStore(SERVICE, account)
    store.save("data")
    old = kept()

    kept_module.close_kept_connections()

    assert not kept_module._POOL.kept
    assert old.connection.sock.fileno() == -1
    assert store.load() == "data"


def test_a_session_the_service_closed_is_replaced_and_the_call_still_succeeds(
    account: str,
) -> None:
    from jeepney import DBusAddress, new_method_call

    store = CredentialStore(SERVICE, account)
    store.save("data")
    old = kept()
    # The service drops our session but keeps its name on the bus (as one may when it
    # expires sessions): done here by closing it over the kept connection itself.
    session = DBusAddress(
        old.session.object_path, "org.freedesktop.secrets", "org.freedesktop.Secret.Session"
    )
    old.connection.send_and_get_reply(new_method_call(session, "Close"))

    assert store.load() == "data"
    assert kept() is not old
    store.save("again")
    assert store.load() == "again"


def test_messages_another_process_queues_on_the_kept_connection_are_dropped_unread(
    account: str,
) -> None:
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    store = CredentialStore(SERVICE, account)
    store.save("data")
    old = kept()
    target = DBusAddress("/", old.connection.unique_name, "org.example.Flood")
    with open_dbus_connection(bus="SESSION") as other:
        for _ in range(3):
            other.send(new_method_call(target, "Junk", "s", ("x" * 60_000,)))
        # Until the bus has passed the first on (a wait for that event, not a sleep).
        waiting, _, _ = select.select([old.connection.sock], [], [], 30)
    assert waiting

    assert store.load() == "data"
    assert kept() is not old


def test_a_bus_address_jeepney_cannot_speak_is_keychain_unavailable(
    account: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "tcp:host=127.0.0.1,port=1")

    with pytest.raises(KeychainUnavailable, match="not supported"):
        CredentialStore(SERVICE, account).load()
