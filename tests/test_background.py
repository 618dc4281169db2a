"""The background tenant keeps its port across a stop and a start, TIME-WAIT or not."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from session_tutorial.provider import background, keyfiles
from session_tutorial.provider.control import TenantControl
from session_tutorial.tenant import default_ssl_context

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="SO_REUSEADDR means something else on Windows"
)


def linger_in_time_wait(port: int) -> None:
    """Leave a connection of ``port`` in TIME-WAIT, as a stopped server's last connections are.

    TIME-WAIT stays with the side that closes first: here the listening side, as when the
    tenant shuts down and closes its keep-alive connections.
    """
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(1)
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the server side closes first: its end goes to TIME-WAIT
        client.recv(1)  # reads the FIN
        client.close()


def test_a_port_in_time_wait_counts_as_free_as_it_is_for_the_tenants_socket() -> None:
    port = background.free_port()
    linger_in_time_wait(port)
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))  # without SO_REUSEADDR: "in use" (the old check)
    assert background._port_free("127.0.0.1", port)


def test_a_port_someone_listens_on_is_not_free() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        assert not background._port_free("127.0.0.1", other.getsockname()[1])


@contextlib.contextmanager
def _listening(port: int = 0) -> Iterator[int]:
    """Another program listening on ``port`` (0: any) meanwhile; the port."""
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.bind(("127.0.0.1", port))
        other.listen(1)
        yield other.getsockname()[1]


@pytest.mark.integration
def test_a_tenant_on_a_port_another_program_holds_says_so_and_port_0_takes_a_free_one(
    tmp_path: Path,
) -> None:
    # A port chosen first and bound later (free_port) can be taken in between; the tenant
    # then says which port and why, and port 0 (bound by the tenant itself) cannot race.
    with _listening() as taken:
        with pytest.raises(RuntimeError) as refused:
            background.start(tmp_path, port=taken, quiet=True)
        assert f"cannot listen on 127.0.0.1:{taken} (Address already in use)" in str(refused.value)
        assert "Traceback" not in str(refused.value)
        assert background.status(tmp_path) is None


# Holds a data folder's tenant lock, as a running tenant does, until its stdin closes.
_HOLD_LOCK = """
import fcntl, sys
handle = open(sys.argv[1], "a+b")
fcntl.flock(handle, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


@pytest.mark.integration
def test_a_tenant_that_runs_but_does_not_answer_is_waited_for_never_doubled_nor_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A tenant starting, or busy on a loaded machine, misses the readiness check; starting a
    # second one beside it moved the app to another port (another issuer and keychain account,
    # which fits test_browser's intermittent last-check failure). MOCK: a process that holds
    # the folder's lock and never answers stands for a tenant too busy to answer, which cannot
    # be had on demand.
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(tmp_path / keyfiles.TENANT_LOCK)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline() == "held\n"
        monkeypatch.setattr(background, "START_TIMEOUT", 0.2)  # how long it waits, not a bet
        with pytest.raises(RuntimeError, match=r"runs for .* but has not answered for 0\.2 s"):
            background.ensure_running(tmp_path)
        assert not (tmp_path / "tenant.log").exists()  # no second tenant was started
        # Nor does a stop take it for none (and leave it running, saying nothing ran), nor
        # answering() (what the teaching controls and the tests look a running tenant up by).
        with pytest.raises(RuntimeError, match=r"runs for .* but has not answered for 0\.2 s"):
            background.stop(tmp_path)
        with pytest.raises(RuntimeError, match=r"runs for .* but has not answered for 0\.2 s"):
            background.answering(tmp_path)
        with pytest.raises(RuntimeError, match=r"runs for .* but has not answered for 0\.2 s"):
            TenantControl.local(tmp_path, start=False)
        assert background.status(tmp_path) is None  # status() itself never waits
        # A form whose sign-in got no answer says it is busy, not to start it (a second one).
        from session_tutorial.errors import NetworkError
        from session_tutorial.provider.control import SyncedClock
        from session_tutorial.tenant import Tenant
        from session_tutorial.widgets.messages import explain

        tenant = Tenant("http://127.0.0.1:9", "tutorial-app", clock=SyncedClock.following(tmp_path))
        said_busy = explain(NetworkError("did not answer"), tenant).text
        assert "too busy to answer" in said_busy and "Start the local tenant" not in said_busy
        # The command says so in one line, and which process to end (no state file yet).
        from session_tutorial.provider.__main__ import main

        assert main(["--data-dir", str(tmp_path), "stop"]) == 1
        said = capsys.readouterr()
        assert said.out == "" and "Traceback" not in said.err
        assert f"End its process (the one that holds {tmp_path / 'tenant.lock'})" in said.err
        # A teaching command waits for it as well, and says so in one line too; status says it
        # runs but does not answer, not that none runs.
        assert main(["--data-dir", str(tmp_path), "clock"]) == 1
        said = capsys.readouterr()
        assert "has not answered for 0.2 s" in said.err and "Traceback" not in said.err
        assert main(["--data-dir", str(tmp_path), "status"]) == 1
        said = capsys.readouterr().out
        assert "runs for" in said and "did not answer within 2 s" in said, said
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()
    assert not keyfiles.tenant_lock_held(tmp_path)  # the lock goes with its process


def test_stopping_where_no_tenant_ever_ran_says_none_ran_and_makes_nothing(tmp_path: Path) -> None:
    assert background.stop(tmp_path / "never-made") is False
    assert background.stop(tmp_path) is False
    assert list(tmp_path.iterdir()) == []


@pytest.mark.integration
def test_a_stopped_and_started_tenant_keeps_its_port_and_url(tmp_path: Path) -> None:
    # Started on port 0: the port the tenant bound is the one kept for the next start.
    first = background.start(tmp_path, port=0, quiet=True)
    try:
        assert keyfiles.tenant_lock_held(tmp_path)  # the running tenant holds its folder's lock
        assert background.answering(tmp_path) == first
        # A keep-alive connection, as a kernel's client has.
        with httpx.Client(verify=default_ssl_context()) as client:
            client.get(first.url + "/.well-known/openid-configuration").raise_for_status()
            assert background.stop(tmp_path)
        assert not keyfiles.tenant_lock_held(tmp_path)
        assert background.answering(tmp_path) is None  # none runs: nothing to wait for
        linger_in_time_wait(int(first.url.rsplit(":", 1)[1]))  # whatever the stop left
        again = background.start(tmp_path, quiet=True)  # no port given: the last one
        assert again.url == first.url
    finally:
        background.stop(tmp_path)


@pytest.mark.integration
def test_a_form_notices_the_local_tenant_stopped_started_again_and_moved(tmp_path: Path) -> None:
    from session_tutorial.errors import NetworkError
    from session_tutorial.provider.control import SyncedClock
    from session_tutorial.session import SessionManager
    from session_tutorial.store import MemoryStore
    from session_tutorial.tenant import Tenant
    from session_tutorial.widgets import LoginForm
    from session_tutorial.widgets.messages import explain

    url = background.start(tmp_path, port=0, quiet=True).url
    # What Tenant.local() makes for this data dir: it follows the tenant's published clock.
    tenant = Tenant(url, "tutorial-app", clock=SyncedClock.following(tmp_path))
    down = NetworkError("did not answer")
    try:
        with SessionManager(tenant, MemoryStore(), lock_dir=tmp_path) as manager:
            form = LoginForm(manager)
            background.stop(tmp_path)
            assert form.sign_in("ada@example.com", "Analytical-Engine-1843") is None
            assert "Start the local tenant with" in form.status.value
            assert background.start(tmp_path, quiet=True).url == url  # as the message says
            assert "answers again now" in explain(down, tenant).text
            assert form.sign_in("ada@example.com", "Analytical-Engine-1843") is not None
        background.stop(tmp_path)
        with _listening(int(url.rsplit(":", 1)[1])):  # held, so the next start cannot get it
            moved = background.start(tmp_path, port=0, quiet=True).url
        assert f"runs at {moved} now" in explain(down, tenant).text
        assert "restart the kernel" in explain(down, tenant).text
    finally:
        background.stop(tmp_path)


def test_a_dead_tenants_state_file_is_not_trusted_when_its_pid_and_port_are_someone_elses(
    tmp_path: Path,
) -> None:
    # A tenant killed without its shutdown leaves server.json; another local user who gets a
    # process with its pid and listens on its port would receive the learner's sign-ins. Here
    # this test process plays that impostor: alive, answering discovery, but not holding the
    # folder's tenant lock.
    import http.server
    import json
    import os
    import threading

    class Discovery(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    data_dir = tmp_path / "tenant"
    data_dir.mkdir(mode=0o700)
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Discovery) as impostor:
        threading.Thread(target=impostor.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{impostor.server_address[1]}"
        (data_dir / "server.json").write_text(json.dumps({"pid": os.getpid(), "url": url}))
        try:
            assert background._answers(url)  # it does answer...
            assert background.status(data_dir) is None  # ...but it is no tenant of this folder
            lock = keyfiles.hold_tenant_lock(data_dir)  # a real tenant holds the lock
            assert lock is not None
            try:
                running = background.status(data_dir)
                assert running is not None and running.url == url
            finally:
                lock.close()
        finally:
            impostor.shutdown()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_an_exited_tenant_that_is_not_reaped_yet_counts_as_stopped() -> None:
    # A tenant that another process started is reaped by init, which in a container can take
    # seconds: stop() must not wait for that. A child of ours that exited, left unreaped
    # (WNOWAIT), is exactly such a zombie.
    import os
    import subprocess

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited; still in the table
    try:
        assert not background._alive(child.pid)
    finally:
        child.wait()
    assert background._alive(os.getpid())


def test_a_forked_tenant_answers_as_a_cold_one(tmp_path: Path, monkeypatch) -> None:
    """The suite's tenants are forks of a warm template (tests/forked_tenants.py, installed by
    conftest); the command line starts them cold. In one data dir, each way: the same discovery
    document (but for the port), key set and password grant, and stop ends either."""
    from tests.forked_tenants import spawn_tenant
    from tests.forks import Forked
    from tests.provider_helpers import ADA, CLIENT, data_dir_with_key

    data_dir = data_dir_with_key(tmp_path / "tenant")
    seen = []
    for spawn in (background.popen, spawn_tenant):
        monkeypatch.setattr(background, "spawn", spawn)
        running = background.start(data_dir, port=0, quiet=True)
        try:
            child = next(c for c in background._CHILDREN if c.pid == running.pid)
            assert isinstance(child, Forked) == (spawn is spawn_tenant)
            with httpx.Client(base_url=running.url, verify=default_ssl_context()) as client:
                discovery = client.get("/.well-known/openid-configuration").text
                keys = client.get("/.well-known/jwks.json").json()
                grant = client.post(
                    "/oauth/token",
                    data={"grant_type": "password", "client_id": CLIENT, "username": ADA[0]}
                    | {"password": ADA[1], "scope": "openid offline_access"},
                )
            assert grant.status_code == 200, grant.text
            seen.append((discovery.replace(running.url, "URL"), keys, sorted(grant.json())))
        finally:
            assert background.stop(data_dir)
        assert background.answering(data_dir) is None
    assert seen[0] == seen[1]
