"""Crafted keychain entries, in the real keychain, against the real tenant: each is a
``CorruptEntry`` that ``restore()`` reports, a plain ``sign_out()`` clears and ``login()``
replaces, in bounded time (no RecursionError, no loop over a count the entry claims).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from keyring.backends import SecretService

from session_tutorial.errors import CorruptEntry
from session_tutorial.session import SessionManager
from session_tutorial.store import MAX_CHUNKS
from session_tutorial.tenant import Tenant

ADA, PASSWORD = "ada@example.com", "Analytical-Engine-1843"
DEEP = "[" * 50_000 + "]" * 50_000  # far deeper than Python's parser recursion limit

pytestmark = pytest.mark.integration


def manifest(chunks: object, sha256: str = "0" * 64, slot: str = "a") -> str:
    return json.dumps({"chunked": 1, "slot": slot, "chunks": chunks, "sha256": sha256})


ENTRIES = {
    "deeply nested JSON": {"": DEEP},
    "deeply nested credentials": {"": '{"version": 1, "access_token": ' + DEEP + "}"},
    "deeply nested manifest": {"": '{"chunked": ' + DEEP + "}"},
    "deeply nested piece of a split entry": {
        "": manifest(1, hashlib.sha256(DEEP.encode()).hexdigest()),
        "#a1": DEEP,
    },
    "a manifest claiming 10**12 pieces": {"": manifest(10**12), "#a1": "x", "#a2": "y"},
    # Parsed as inf by json: status and SessionApp failed with OverflowError showing the date.
    **{
        f"an expiry of {value}": {
            "": '{"version": 1, "access_token": "a", "id_token": "b", "refresh_token": "c",'
            f' "token_type": "Bearer", "scope": "openid", "expires_at": {value}}}'
        }
        for value in ("Infinity", "1e400")
    },
}
# More shapes, without the keychain, in test_store.py.


@pytest.fixture
def launch(local_tenant, tmp_path: Path):
    managers: list[SessionManager] = []

    def make(store) -> SessionManager:
        tenant = Tenant(local_tenant.url, "tutorial-app")
        managers.append(SessionManager(tenant, store, clock=local_tenant.clock, lock_dir=tmp_path))
        return managers[-1]

    yield make
    for manager in managers:
        manager.close()


@pytest.mark.parametrize("entries", ENTRIES.values(), ids=ENTRIES.keys())
def test_a_crafted_entry_is_corrupt_clearable_and_replaced_by_a_login(launch, keychain, entries):
    backend = SecretService.Keyring()
    for suffix, data in entries.items():
        backend.set_password(keychain.service, keychain.account + suffix, data)
    manager = launch(keychain)
    with pytest.raises(CorruptEntry, match="sign in again") as caught:
        manager.restore()
    assert len(str(caught.value)) < 300
    manager.sign_out()  # what the message says; clears the pieces too
    for suffix in entries:
        assert backend.get_password(keychain.service, keychain.account + suffix) is None
    assert manager.login(ADA, PASSWORD)["name"] == "Ada Lovelace"


def test_a_login_over_a_manifest_claiming_too_many_pieces_does_not_loop(launch, keychain):
    # Without sign_out first: login saves over the crafted manifest directly.
    crafted = manifest(MAX_CHUNKS + 10**12)
    SecretService.Keyring().set_password(keychain.service, keychain.account, crafted)
    assert launch(keychain).login(ADA, PASSWORD)["name"] == "Ada Lovelace"
    assert launch(keychain).restore()["name"] == "Ada Lovelace"
