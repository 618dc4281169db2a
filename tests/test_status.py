"""``python -m session_tutorial status``: each exit code, in the real keychain and with none.

The real local tenant over HTTP and the real Secret Service (run under the launcher, as
``make test`` does). "No keychain" is real too: keyring's own ``fail`` backend, which is what
keyring picks on a machine without one, and a D-Bus address where no Secret Service listens.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
from keyring.backends import SecretService, fail

from session_tutorial import status
from session_tutorial.__main__ import main
from session_tutorial.commands import tenant_command
from session_tutorial.credentials import Credentials
from session_tutorial.session import SERVICE, SessionManager
from session_tutorial.store import CredentialStore
from session_tutorial.tenant import Tenant

pytestmark = pytest.mark.integration

ADA, PASSWORD = "ada@example.com", "Analytical-Engine-1843"


@pytest.fixture
def tenant(local_tenant) -> Tenant:
    return Tenant(local_tenant.url, "tutorial-app", clock=local_tenant.clock)


def signed_in(tenant: Tenant, store, tmp_path: Path) -> Credentials:
    with SessionManager(tenant, store, lock_dir=tmp_path) as session:
        session.login(ADA, PASSWORD)
    return Credentials.from_json(store.load())


def assert_no_token(report: status.Status, credentials: Credentials) -> None:
    text = str(report)
    for token in (credentials.access_token, credentials.id_token, credentials.refresh_token):
        assert token is not None
        assert token not in text and token[-16:] not in text and token[20:36] not in text


def test_signed_in_exits_0_and_says_for_whom_and_when_without_a_token(
    tenant, keychain, tmp_path, local_tenant
):
    credentials = signed_in(tenant, keychain, tmp_path)
    report = status.check(tenant, keychain, teaching=True)
    assert report.exit_code == status.SIGNED_IN == 0
    text = str(report)
    assert "Secret Service" in text and "encrypted" in text
    assert f"answers, issuer {tenant.issuer}" in text
    assert "saved for Ada Lovelace <ada@example.com>" in text
    assert "Access token:      expires in about 1 h" in text
    assert "ID token:          verified" in text
    assert "Teaching controls: available" in text and text.endswith("Signed in.")
    assert_no_token(report, credentials)

    local_tenant.advance_clock(3660)  # expired, but the refresh token renews it: still signed in
    later = status.check(tenant, keychain, teaching=True)
    assert later.exit_code == 0
    assert "expired about 1 min ago; the refresh token renews" in str(later)


def test_a_session_unused_past_the_inactivity_lifetime_exits_4(local_tenant, keychain, tmp_path):
    tenant = Tenant(
        local_tenant.url,
        "tutorial-app",
        clock=local_tenant.clock,
        refresh_token_idle_lifetime=86400,
    )
    signed_in(tenant, keychain, tmp_path)
    fresh = status.check(tenant, keychain)
    assert fresh.exit_code == 0 and "If unused:         the session ends in about 1 d" in str(fresh)
    local_tenant.advance_clock(2 * 86400)
    stale = status.check(tenant, keychain)
    assert stale.exit_code == 4
    assert "unused for too long: the tenant ended the session about 1 d ago" in str(stale)
    assert "renews it" not in str(stale)


def test_nothing_saved_exits_4_and_says_how_to_sign_in(tenant, keychain):
    report = status.check(tenant, keychain, teaching=False)
    assert report.exit_code == status.SIGN_IN_NEEDED == 4
    assert "none saved for this tenant and app" in str(report)
    assert "Sign-in needed: run notebook 01" in str(report)
    assert "Teaching controls: not available on this tenant" in str(report)


def test_expired_without_a_refresh_token_exits_4(tenant, keychain, tmp_path, local_tenant):
    credentials = signed_in(tenant, keychain, tmp_path)
    keychain.save(dataclasses.replace(credentials, refresh_token=None).to_json())
    local_tenant.advance_clock(3660)
    report = status.check(tenant, keychain)
    assert report.exit_code == 4
    assert "no refresh token is saved to renew it" in str(report)


def test_a_tenant_that_does_not_answer_exits_1_and_says_what_to_run(keychain):
    down = Tenant("http://127.0.0.1:9", "tutorial-app")  # port 9 refuses every connection
    report = status.check(down, keychain)
    assert report.exit_code == status.BROKEN == 1
    assert "does not answer (ConnectError)" in str(report)
    assert f"`{tenant_command('start')}`" in str(report)


def test_a_crafted_entrys_names_reach_the_report_short_printable_and_without_tokens(
    tenant, keychain, tmp_path
):
    # Attack: another program rewrites the entry; its ID token (only read, for display) names
    # the user with terminal escapes (OSC 52 writes the clipboard), a line break, the entry's
    # own refresh token and 100 kB: status printed all of it.
    credentials = signed_in(tenant, keychain, tmp_path)
    name = "\x1b]52;c;ZXZpbA==\x07Mallory\n\x1b[2J" + str(credentials.refresh_token)
    claims = {"name": name, "email": "m" * 100_000 + "@example.com", "sub": "auth0|x"}
    forged = jwt.encode(claims, "k" * 32, algorithm="HS256")
    keychain.save(dataclasses.replace(credentials, id_token=forged).to_json())
    text = str(status.check(tenant, keychain))
    saved_line = next(line for line in text.splitlines() if "saved for" in line)
    assert "Mallory" in saved_line and len(saved_line) < 300
    assert not any(c in text for c in "\x1b\x07")
    assert_no_token(status.check(tenant, keychain), credentials)


def test_a_tenant_with_another_issuer_exits_1(local_tenant, keychain):
    # The same tenant under another name for this machine: its issuer is not this address.
    aliased = Tenant(local_tenant.url.replace("127.0.0.1", "localhost"), "tutorial-app")
    report = status.check(aliased, keychain)
    assert report.exit_code == 1 and "--issuer" in str(report)


def test_a_corrupt_entry_exits_1_and_names_the_command_that_clears_it(tenant, keychain):
    SecretService.Keyring().set_password(keychain.service, keychain.account, "{not json")
    report = status.check(tenant, keychain)
    assert report.exit_code == 1
    assert "-m session_tutorial sign-out" in str(report)


def test_no_keychain_at_all_exits_1_and_says_what_to_run(tenant):
    # keyring's fail backend: what keyring itself chooses on a machine with no keychain.
    store = CredentialStore(SERVICE, tenant.account, keyring_backend=fail.Keyring())
    report = status.check(tenant, store)
    assert report.exit_code == 1
    assert "Keychain:          none usable" in str(report)
    assert "session_tutorial.launcher" in str(report)  # what to run
    assert "Session:           unknown (the keychain cannot be read)" in str(report)


# -- the command itself, in a process of its own --------------------------------------------


def run_status(env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "session_tutorial", "status"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env or dict(os.environ),
        check=False,
    )


def test_the_command_exits_4_then_0_then_1_without_a_keychain(local_tenant, tmp_path, capsys):
    # The entry the notebooks use, for the tenant this test run started (found, not started).
    tenant = Tenant(local_tenant.url, "tutorial-app", clock=local_tenant.clock)
    store = CredentialStore(SERVICE, tenant.account)
    saved = store.load()
    try:
        store.clear()
        assert main(["status"]) == 4  # in this process: the command's code, minus the startup
        assert f"the local tenant at {local_tenant.url}: answers" in capsys.readouterr().out

        credentials = signed_in(tenant, store, tmp_path)
        assert main(["status"]) == 0
        out = capsys.readouterr().out
        assert "Ada Lovelace" in out
        assert "If unused:         the session ends in about 15 d" in out  # as the tenant says
        assert credentials.refresh_token not in out and credentials.access_token not in out

        # A process of its own, where the Secret Service's bus is not there (a server over ssh).
        gone = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"}
        broken = run_status(gone)
        assert broken.returncode == 1, broken.stdout + broken.stderr
        assert "cannot be used" in broken.stdout and "launcher" in broken.stdout

        assert main(["sign-out"]) == 0  # revokes at the tenant, clears the entry
        assert store.load() is None
        assert not local_tenant.control.sessions(ADA)[0]["active"]
    finally:
        store.clear()
        if saved is not None:
            store.save(saved)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can chown to another user")
@pytest.mark.parametrize("command", ["status", "sign-out"])
def test_another_users_data_folder_is_said_not_a_traceback(tmp_path, monkeypatch, capsys, command):
    # Attack: the tenant folder belongs to someone else (who could plant its server.json);
    # the app refuses it (TenantFilesError), and the command says so instead of a traceback.
    (tmp_path / "server.json").write_text('{"pid": 1, "url": "http://127.0.0.1:9"}')
    os.chown(tmp_path, 54321, 54321)
    monkeypatch.setenv("SESSION_TUTORIAL_TENANT_DIR", str(tmp_path))
    monkeypatch.delenv("AUTH0_DOMAIN", raising=False)
    assert main([command]) == 1
    assert "belongs to another user" in capsys.readouterr().err
