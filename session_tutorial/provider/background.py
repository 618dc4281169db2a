"""One tenant in the background per data dir: start, stop, status, and ensure it runs.

``make lab`` and the notebooks call :func:`ensure_running`, so a learner who opened
JupyterLab by hand, with no terminal, still gets a tenant.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from . import keyfiles
from .config import DEFAULT_PORT, STATE_FILE, default_data_dir

START_TIMEOUT = 30.0
PORT_FILE = "port"  # the port of the last background start, tried first next time
# The tenant outlives the call that started it; holding its Popen here keeps Python from
# warning that a child it no longer references is still running.
_CHILDREN: list[Any] = []


def popen(cmd: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """Run the tenant's command in a new session, its output to ``log``: how :func:`start`
    runs it, unless :data:`spawn` says otherwise."""
    return subprocess.Popen(  # noqa: S603
        cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
    )


#: How :func:`start` runs ``python -m session_tutorial.provider serve ...``: something with a
#: Popen's ``pid``, ``poll()``, ``wait(timeout)`` and ``kill()``. The test suite forks its
#: tenants from a warm template instead (tests/forked_tenants.py).
spawn: Callable[[list[str], IO[bytes]], Any] = popen


@dataclass(frozen=True)
class Running:
    """A tenant running in the background: its process id, URL and data dir."""

    pid: int
    url: str
    data_dir: Path
    teaching: bool = True

    def __str__(self) -> str:
        return f"local tenant at {self.url} (pid {self.pid}, data in {self.data_dir})"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` still runs: a zombie (exited, not yet reaped) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A tenant another process started is reaped by init once that process has exited, which in
    # containers can take a second or more; meanwhile the signal above still reaches it. Linux
    # tells: its state is Z. Where /proc is missing (macOS, Windows), the signal is the answer.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _answers(url: str) -> bool:
    """Whether the tenant at ``url`` serves its discovery document (HTTP 200) within 2 s.

    With the standard library's http.client, not httpx: ``provider start``, ``stop`` and
    ``status`` load nothing else of the HTTP stack (httpx costs about 0.1 s of CPU to import).
    https uses the process's one TLS context, as the tenant's clients do.
    """
    parts = urlsplit(url + "/.well-known/openid-configuration")
    try:
        if parts.scheme == "https":
            from session_tutorial.tenant import ssl_context_for

            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=2.0, context=ssl_context_for(url)
            )
        elif parts.scheme == "http":
            conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=2.0)
        else:
            return False
        try:
            conn.request("GET", parts.path, headers={"Accept": "application/json"})
            response = conn.getresponse()
            response.read()
            return response.status == 200
        finally:
            conn.close()
    except (OSError, http.client.HTTPException, ValueError):
        return False  # refused, reset, timed out, a TLS failure, or no HTTP: not ready


def _trusted_state(data_dir: Path) -> None:
    """Refuse a state file that another user could have written (TenantFilesError).

    It names the tenant's URL and process: planted, it would send the app's sign-ins to
    someone else's tenant and have ``stop`` signal a process of the attacker's choosing.
    """
    keyfiles.secure_data_dir(data_dir)
    try:
        owner = (data_dir / STATE_FILE).lstat().st_uid
    except FileNotFoundError:
        return
    if owner != os.geteuid():
        raise keyfiles.TenantFilesError(
            f"{data_dir / STATE_FILE} belongs to another user (uid {owner}): the app will not "
            "use the tenant it names. Remove the file and start the tenant again."
        )


def _state_field(data_dir: Path, name: str) -> int | None:
    """An integer field (``pid``, ``port``) of the tenant's state file; None if it has none."""
    try:
        return int(json.loads((data_dir / STATE_FILE).read_text())[name])
    except (OSError, ValueError, KeyError, TypeError):  # not there (yet, or any more)
        return None


def status(data_dir: Path | None = None) -> Running | None:
    """The tenant running for ``data_dir``, or None."""
    data_dir = data_dir or default_data_dir()
    _trusted_state(data_dir)
    try:
        state = json.loads((data_dir / STATE_FILE).read_text())
        running = Running(
            int(state["pid"]), str(state["url"]), data_dir, bool(state.get("teaching", True))
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    # The state file outlives a tenant killed without its shutdown (SIGKILL, the OOM killer),
    # and its pid can come back as anyone's process, listening on its port: only the folder's
    # lock, which a running tenant holds and no other user can open, says the tenant is real.
    if _alive(running.pid) and keyfiles.tenant_lock_held(data_dir) and _answers(running.url):
        return running
    return None


def answering(data_dir: Path | None = None) -> Running | None:
    """The tenant running for ``data_dir``, once it answers; None if none runs.

    As :func:`status`, but a tenant that runs (its process holds the folder's lock) and is too
    busy to answer within the readiness check's 2 s (a loaded machine) is waited for, up to
    ``START_TIMEOUT``, not taken for none. Raises RuntimeError if it never answers.
    """
    data_dir = data_dir or default_data_dir()
    return status(data_dir) or _once_it_answers(data_dir)


def _port_free(host: str, port: int) -> bool:
    """Whether the tenant could listen on ``host:port`` now.

    With SO_REUSEADDR, as the tenant's own socket has it (``server.serve``): a port whose old
    connections linger in TIME-WAIT after a stop is free for a new listener, and a tenant that
    restarts keeps its port (its issuer, and the keychain entry named after it).
    """
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now, for a server that binds it later: another process may take it first.

    To start a tenant on any free port, pass ``port=0`` to :func:`start` instead: the tenant
    then binds a port the system picks, and nothing can take it in between.
    """
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _choose_port(data_dir: Path, host: str) -> int:
    """The port this tenant had last time, else the default, else 0 (any free one).

    The port is part of the issuer and of the keychain account, so keeping it keeps the
    learner's saved session valid across restarts.
    """
    try:
        last = int((data_dir / PORT_FILE).read_text())
    except (OSError, ValueError):
        last = None
    for candidate in (last, DEFAULT_PORT):
        if candidate is not None and _port_free(host, candidate):
            return candidate
    return 0  # the tenant binds one the system picks


def start(
    data_dir: Path | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    extra_args: tuple[str, ...] = (),
    quiet: bool = False,
) -> Running:
    """Start a background tenant for ``data_dir`` unless one runs; return it.

    ``port`` 0 takes any free port (the tenant binds it, and says which in its state file);
    None the port of the last start, else the default, else any free one.
    """
    data_dir = data_dir or default_data_dir()
    from filelock import FileLock  # only a start takes the lock

    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with FileLock(str(data_dir / "start.lock"), timeout=START_TIMEOUT + 10):
        running = answering(data_dir)
        if running:
            return running
        if port is None:
            port = _choose_port(data_dir, host)
        log = open(data_dir / "tenant.log", "ab")  # noqa: SIM115 - handed to the child
        cmd = [
            sys.executable,
            "-m",
            "session_tutorial.provider",
            "serve",
            "--host",
            host,
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *extra_args,
        ]
        proc = spawn(cmd, log)
        log.close()
        _CHILDREN.append(proc)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            running = status(data_dir)
            if running and running.pid == proc.pid:
                (data_dir / PORT_FILE).write_text(str(_state_field(data_dir, "port") or port))
                if not quiet:
                    print(f"Started the {running}", file=sys.stderr)
                return running
            if proc.poll() is not None:
                break
            time.sleep(0.1)  # polling a child process for readiness, not a test wait
        proc.kill()
        tail = (data_dir / "tenant.log").read_text(errors="replace")[-1500:]
        raise RuntimeError(f"The local tenant did not start. Its log ends with:\n{tail}")


def _once_it_answers(data_dir: Path) -> Running | None:
    """The tenant that runs for ``data_dir`` but did not answer, once it does; None if none runs.

    It runs (its process holds the folder's lock) but did not answer the readiness check in
    time: it is starting, or busy on a loaded machine. Another tenant beside it would take
    another port, so another issuer, and the app's keychain entry under another account (what
    test_browser's last check, which once failed, would see). Raises RuntimeError if it never
    answers.
    """
    deadline = time.monotonic() + START_TIMEOUT
    while keyfiles.tenant_lock_held(data_dir):
        running = status(data_dir)
        if running:
            return running
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"A local tenant runs for {data_dir} but has not answered for "
                f"{START_TIMEOUT:g} s. End its process ({_holder(data_dir)}) and start it "
                f"again; its log is {data_dir / 'tenant.log'}."
            )
        time.sleep(0.1)  # polling a running process for readiness, not a test wait
    return None  # none runs (or it exited meanwhile)


def _holder(data_dir: Path) -> str:
    """Which process holds the folder's lock, as far as its state file tells."""
    pid = _state_field(data_dir, "pid")  # None while it starts: no state file yet
    if pid is None:
        return f"the one that holds {data_dir / keyfiles.TENANT_LOCK}"
    return f"pid {pid}"


def stop(data_dir: Path | None = None) -> bool:
    """Stop the background tenant for ``data_dir``; False if none was running.

    A tenant that runs but is too busy to answer (a loaded machine) is waited for, as
    :func:`start` waits for it, not taken for none and left running.
    """
    data_dir = data_dir or default_data_dir()
    running = answering(data_dir)
    if running is None:
        return False
    os.kill(running.pid, signal.SIGTERM)
    ours = [p for p in _CHILDREN if p.pid == running.pid]
    for proc in ours:  # our own child: reap it, so it does not linger as a zombie
        proc.wait(timeout=10)
        _CHILDREN.remove(proc)
    deadline = time.monotonic() + 10
    while _alive(running.pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # another process's child: poll until it is gone
    return True


def ensure_running(data_dir: Path | None = None) -> str:
    """The base URL of the local tenant, starting it in the background if needed."""
    running = status(data_dir) or start(data_dir, quiet=True)
    return running.url
