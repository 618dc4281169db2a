"""Processes the suite starts as forks of a warm template instead of cold Python processes.

The suite starts dozens of kernels (tests/forked_kernels.py) and tenants
(tests/forked_tenants.py); a cold start spends most of its CPU importing the same modules each
time. A :class:`TemplateServer` is a fork server of the standard library's ``multiprocessing``
(one per template and test process) that imports its template module once; each process is a
fork of it, which then becomes the command it stands for (the callers do that part). The fork
server's socket is this user's own (mode 0600), and it exits with the test process.

Each template server is private: multiprocessing has one fork server per process, with one
preload list, and a kernel should not carry the tenant's modules nor a tenant the kernel's. So
:class:`_Popen` is multiprocessing's fork-server ``Popen`` asking this server instead of the
global one; its ``_launch`` is the standard library's own (Python 3.11), with that one change.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from multiprocessing import forkserver, popen_forkserver, process, reduction, spawn, util
from multiprocessing.context import set_spawning_popen
from typing import Any

#: Each template's fork server in this process, by the template's module name.
_SERVERS: dict[str, forkserver.ForkServer] = {}


class _Popen(popen_forkserver.Popen):
    """multiprocessing's fork-server Popen, asking the fork's own template server."""

    def _launch(self, process_obj: Any) -> None:  # as popen_forkserver.Popen._launch
        prep_data = spawn.get_preparation_data(process_obj._name)
        buf = io.BytesIO()
        set_spawning_popen(self)
        try:
            reduction.dump(prep_data, buf)
            reduction.dump(process_obj, buf)
        finally:
            set_spawning_popen(None)
        self.sentinel, w = _SERVERS[process_obj.template].connect_to_new_process(self._fds)
        _parent_w = os.dup(w)
        self.finalizer = util.Finalize(self, util.close_fds, (_parent_w, self.sentinel))
        with open(w, "wb", closefd=True) as f:
            f.write(buf.getbuffer())
        self.pid = forkserver.read_signed(self.sentinel)


class Fd:
    """A file descriptor sent to the fork server with a fork's arguments (SCM_RIGHTS): the
    fork gets its own copy, as a child gets the streams Popen was given."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Any, ...]:
        return (_received, (reduction.DupFd(self.fd),))


def _received(dup: Any) -> int:
    return int(dup.detach())


def main_is_a_script() -> bool:
    """Whether this process runs a script file: multiprocessing would run that script again
    (as ``__mp_main__``) in every fork, so such a process starts its children cold. pytest
    runs as ``-c`` (xdist's workers) or ``-m``."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", None) is None and getattr(main, "__file__", None) is not None


class Forked:
    """What the callers use of a ``Popen`` (pid, poll, wait, signals), for a fork."""

    stdin = stdout = stderr = None

    def __init__(self, proc: process.BaseProcess) -> None:
        self._process = proc
        self.pid: int = proc.pid  # type: ignore[assignment]

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(f"process {self.pid}", timeout or 0)
        return self._process.exitcode

    def group(self) -> int | None:
        """Its process group if it leads one (each fork starts its own session), else None."""
        try:
            return self.pid if self.poll() is None and os.getpgid(self.pid) == self.pid else None
        except ProcessLookupError:
            return None

    def send_signal(self, signum: int) -> None:
        if self._process.exitcode is None:  # not yet reaped: the pid is still the fork's
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class _Process(process.BaseProcess):
    _start_method = "forkserver"
    template = ""  # set on each instance (pickled with it: a name, not the server)

    @staticmethod
    def _Popen(process_obj: Any) -> _Popen:
        return _Popen(process_obj)


class TemplateServer:
    """A private fork server that has imported ``template`` (a module name) once."""

    def __init__(self, template: str) -> None:
        self.template = template
        server = _SERVERS.setdefault(template, forkserver.ForkServer())
        server.set_forkserver_preload([template])

    def start(self, target: Callable[..., None], args: tuple[Any, ...]) -> Forked:
        """Fork the template and run ``target(*args)`` there (``args`` are pickled; pass file
        descriptors as :class:`Fd`)."""
        proc = _Process(target=target, args=args, daemon=True)  # stopped when this one exits
        proc.template = self.template
        proc.start()
        return Forked(proc)
