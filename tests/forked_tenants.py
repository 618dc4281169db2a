"""The suite's in-process tenant starts fork a warm template instead of starting Python cold.

``background.start`` runs ``python -m session_tutorial.provider serve ...``: a cold start
imports uvicorn, Starlette, the endpoints and ``cryptography`` before it answers (about 0.27 s
of CPU here, nine tenths of it imports), and the test processes start a few dozen tenants per
run (their session tenants, the fault and connection tests' own ones).

Here a fork server (the standard library's ``multiprocessing`` fork server, a private one per
test process: the kernels' one, tests/forked_kernels.py, preloads another template) imports
tests/tenant_template.py once; each tenant is a fork of it that becomes what the command would
be: a new session (process group) of its own, the caller's working directory and environment,
stdin from /dev/null and stdout and stderr to the tenant's log, and then the command line's own
``main(["serve", ...])``. From there on it is the served tenant: it binds its port, writes its
state file, answers over real HTTP, starts its signing helpers cold (``sys.executable -m``), is
stopped by SIGTERM and killed by SIGKILL as before; the fork server reaps it.

What differs from a cold start: the template's modules are already imported (none reads the
environment, the clock or the data dir at import; tenant_template.py checks that nothing runs),
and the tenant's parent is the fork server, not the test process (``background.stop`` then
waits for it by its pid, as for a tenant another process started). Only ``background.start``
called inside a test process forks: the command line's ``provider start``, the notebooks'
kernels and JupyterLab start their tenants cold, as a learner's do; test_background compares a
forked tenant with a cold one.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from multiprocessing import forkserver, popen_forkserver, process, reduction, spawn, util
from multiprocessing.context import set_spawning_popen
from typing import IO, Any

from session_tutorial.provider import background

TEMPLATE = "tests.tenant_template"
_SERVER = forkserver.ForkServer()
_SERVER.set_forkserver_preload([TEMPLATE])
_COMMAND = ["-m", "session_tutorial.provider", "serve"]


class _Popen(popen_forkserver.Popen):
    """multiprocessing's fork-server Popen, asking this module's fork server."""

    def _launch(self, process_obj: Any) -> None:  # as popen_forkserver.Popen._launch
        prep_data = spawn.get_preparation_data(process_obj._name)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = _SERVER.connect_to_new_process(self._fds)
        _parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class _Process(process.BaseProcess):
    _start_method = "forkserver"

    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


class _Fd:
    """A file descriptor sent to the fork server with the tenant's arguments (SCM_RIGHTS)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Any, ...]:
        return (_received, (reduction.DupFd(self.fd),))


def _received(dup: Any) -> int:
    return int(dup.detach())


def _tenant(argv: list[str], env: dict[str, str], cwd: str, log: int) -> None:
    """In the fork: become ``python -m session_tutorial.provider ARGV`` in ``cwd`` with ``env``."""
    os.setsid()  # as start_new_session=True: its own session and process group
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    from session_tutorial.provider import __main__ as command

    sys.argv = [command.__file__, *argv]  # as `python -m` sets it
    command.gc.disable()  # as `python -m` runs it (the template froze what it loaded)
    sys.exit(command.main(argv))


class ForkedTenant:
    """What ``background`` uses of a ``Popen`` (pid, poll, wait, kill), for a forked tenant."""

    def __init__(self, proc: _Process) -> None:
        self._process = proc
        self.pid: int = proc.pid  # type: ignore[assignment]

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int | None:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(f"tenant {self.pid}", timeout or 0)
        return self._process.exitcode

    def kill(self) -> None:
        if self._process.exitcode is None:  # not yet reaped: the pid is still the tenant's
            self._process.kill()


def _main_is_a_script() -> bool:
    """Whether this process runs a script file: multiprocessing would run that script again
    (as ``__mp_main__``) in every fork. pytest runs as ``-c`` (xdist's workers) or ``-m``."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", None) is None and getattr(main, "__file__", None) is not None


def spawn_tenant(cmd: list[str], log: IO[bytes]) -> Any:
    """``background.start``'s spawn: a fork of the template for this interpreter's
    ``-m session_tutorial.provider serve``, else the cold Popen."""
    if cmd[1:4] != _COMMAND or _main_is_a_script() or not os.path.samefile(cmd[0], sys.executable):
        return background.popen(cmd, log)
    proc = _Process(
        target=_tenant,
        args=(cmd[3:], dict(os.environ), os.getcwd(), _Fd(log.fileno())),
        daemon=True,  # a tenant still running when its test process exits is stopped
    )
    proc.start()
    return ForkedTenant(proc)
