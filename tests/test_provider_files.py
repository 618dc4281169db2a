"""The tenant's data folder and key files, with real files: private, whole, and its own.

Another user's folder is simulated as root with ``os.chown`` to a different uid (the test
is skipped when not run as root: only root can give a file away).
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from session_tutorial.provider import IdentityProvider, TenantConfig, background
from session_tutorial.provider.keyfiles import TenantFilesError, admin_key, read_or_create
from session_tutorial.tenant import default_ssl_context
from tests.provider_helpers import data_dir_with_key

OTHER_UID = 54321
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root can chown to another user")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _start(data_dir: Path) -> IdentityProvider:
    return IdentityProvider(TenantConfig(issuer="http://testserver/", data_dir=data_dir))


@pytest.mark.parametrize("content", ["", "abc", "   \n", "a key with spaces in the middle 1234"])
def test_an_empty_short_or_blank_admin_key_is_replaced_with_a_warning(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "admin.key").write_text(content)
    with caplog.at_level(logging.WARNING, "session_tutorial.provider"):
        key = admin_key(tmp_path)
    assert len(key) >= 24 and key == (tmp_path / "admin.key").read_text()
    assert "empty or too short" in caplog.text
    assert _mode(tmp_path / "admin.key") == 0o600
    assert admin_key(tmp_path) == key  # the new key stays


def test_a_tenant_with_an_empty_admin_key_does_not_run_controls_without_a_key(
    tmp_path: Path,
) -> None:
    (tmp_path / "admin.key").write_text("")
    running = background.start(tmp_path, port=0, quiet=True)
    try:
        for given in ("", "0"):
            r = httpx.post(
                running.url + "/_teaching/clock/advance",
                headers={"X-Admin-Key": given},
                json={"seconds": "3600"},
                timeout=10,
                verify=default_ssl_context(),
            )
            assert r.status_code == 401, r.text
    finally:
        background.stop(tmp_path)


def test_two_processes_making_one_key_at_once_agree_and_leave_no_temp_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "refresh-secret.key"
    barrier = threading.Barrier(8)
    made: list[bytes] = []

    def make() -> None:
        barrier.wait()
        made.append(read_or_create(path, lambda: os.urandom(32)))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 1 and made[0] == path.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["refresh-secret.key"]
    assert _mode(path) == 0o600


def test_a_folder_and_key_files_open_to_others_are_made_private(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "tenant"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)  # as `mkdir -p` leaves it
    _start(data).close()
    for name in ("signing-key.pem", "tenant.sqlite3"):
        os.chmod(data / name, 0o644)
    os.chmod(data, 0o755)
    with caplog.at_level(logging.WARNING, "session_tutorial.provider"):
        _start(data).close()
    assert _mode(data) == 0o700
    assert _mode(data / "signing-key.pem") == 0o600 and _mode(data / "tenant.sqlite3") == 0o600
    assert "readable by other users" in caplog.text
    fresh = tmp_path / "fresh"
    _start(fresh).close()  # a new folder: private from the start, database files too
    assert _mode(fresh) == 0o700
    assert {_mode(p) for p in fresh.iterdir() if p.name.startswith(("tenant.", "signing"))} == {
        0o600
    }


@as_root
def test_a_folder_prepared_by_another_user_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "tenant"
    data.mkdir(mode=0o700)
    os.chown(data, OTHER_UID, OTHER_UID)
    with pytest.raises(TenantFilesError, match="belongs to another user"):
        _start(data)
    assert not (data / "signing-key.pem").exists()  # nothing was made in it


@as_root
def test_a_planted_signing_key_is_refused(tmp_path: Path) -> None:
    data = data_dir_with_key(tmp_path / "tenant")  # a key as a start leaves it, not a new one
    _start(data).close()
    os.chown(data / "signing-key.pem", OTHER_UID, OTHER_UID)  # someone else's key
    with pytest.raises(TenantFilesError, match=r"signing-key\.pem belongs to another user"):
        _start(data)


@as_root
def test_the_cli_refuses_another_users_folder_without_a_traceback(tmp_path: Path) -> None:
    os.chown(tmp_path, OTHER_UID, OTHER_UID)
    for command in ("start", "admin-key", "stop", "status"):
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "session_tutorial.provider",
                "--data-dir",
                str(tmp_path),
                command,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert r.returncode == 1 and "belongs to another user" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr


class _AnyTenant(BaseHTTPRequestHandler):
    """The attacker's stand-in tenant: answers its discovery document, as a real one would."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


@as_root
@pytest.mark.parametrize("planted", ["folder", "file"])
def test_a_planted_state_file_never_names_the_tenant_or_the_process_to_stop(
    tmp_path: Path, planted: str
) -> None:
    # Attack: another user who owns the data folder (or planted server.json in it) names a
    # tenant of theirs and one of the learner's processes; status() trusted both, so the app
    # signed in at the attacker's tenant and stop() would SIGTERM that process.
    with ThreadingHTTPServer(("127.0.0.1", 0), _AnyTenant) as fake:
        threading.Thread(target=fake.serve_forever, daemon=True).start()
        state = tmp_path / "server.json"
        url = f"http://127.0.0.1:{fake.server_address[1]}"
        state.write_text(json.dumps({"pid": os.getpid(), "url": url}))
        tmp_path.chmod(0o700)
        os.chown(tmp_path if planted == "folder" else state, OTHER_UID, OTHER_UID)
        try:
            with pytest.raises(TenantFilesError, match="another user"):
                background.status(tmp_path)
            with pytest.raises(TenantFilesError, match="another user"):
                background.ensure_running(tmp_path)
        finally:
            fake.shutdown()


@pytest.mark.parametrize(
    "damage",
    [{"d": 2, "dmp1": 2}, {"d": 2}, {"dmp1": 2}, {"dmq1": 2}, {"iqmp": 1}],
    ids=lambda d: "+".join(d),
)
def test_a_signing_key_whose_parts_do_not_belong_together_is_refused(
    tmp_path: Path, damage: dict[str, int]
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    data = data_dir_with_key(tmp_path / "tenant")  # a key as a start leaves it, not a new one
    _start(data).close()
    path = data / "signing-key.pem"
    good = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(good, rsa.RSAPrivateKey)
    n = good.private_numbers()
    parts = {"d": n.d, "dmp1": n.dmp1, "dmq1": n.dmq1, "iqmp": n.iqmp}
    parts = {k: v + damage.get(k, 0) for k, v in parts.items()}
    # Still a well-formed PEM file. With only a CRT part off, OpenSSL would still sign
    # correctly (falling back to d, four times slower); with d off too, wrongly.
    damaged = rsa.RSAPrivateNumbers(
        n.p, n.q, parts["d"], parts["dmp1"], parts["dmq1"], parts["iqmp"], n.public_numbers
    ).private_key(unsafe_skip_rsa_key_validation=True)
    path.write_bytes(
        damaged.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )

    with pytest.raises(ValueError, match=r"signing-key\.pem holds an RSA key whose parts do not"):
        _start(data)
