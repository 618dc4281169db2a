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
global one; its ``_launch`` is the standard library's own (Python 3.11), with two changes: that
one, and the fork is not told the parent's main module. Multiprocessing has a fork import (or, for
a script, run again as ``__mp_main__``) the parent's main, so that targets defined there exist;
these targets live in tests/ and a fork becomes a kernel or a tenant, which needs nothing of the
parent's main (pytest, or JupyterLab's ``jupyter-lab`` script).

A template records what its imports read from the environment and wrote to it
(:class:`EnvironmentAtImport`): a fork whose command has another value for one of those keys
is not what a cold start would be, and can start cold instead.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
from collections.abc import Callable, Mapping
from multiprocessing import (
    forkserver,
    popen_forkserver,
    process,
    reduction,
    resource_tracker,
    spawn,
    util,
)
from multiprocessing.context import set_spawning_popen
from typing import Any

#: Each template's fork server in this process, by the template's module name.
_SERVERS: dict[str, forkserver.ForkServer] = {}


class _Popen(popen_forkserver.Popen):
    """multiprocessing's fork-server Popen, asking the fork's own template server."""

    def _launch(self, process_obj: Any) -> None:  # as popen_forkserver.Popen._launch
        prep_data = spawn.get_preparation_data(process_obj._name)
        prep_data.pop("init_main_from_path", None)  # the change: see the module's docstring
        prep_data.pop("init_main_from_name", None)
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


class EnvironmentAtImport:
    """While entered, what this process reads from ``os.environ`` (each key's value at its first
    read, None if unset) and writes to it (each key's last value, None if deleted): the
    environment that importing a template depended on and what it left there."""

    def __init__(self) -> None:
        self.read: dict[str, str | None] = {}
        self.written: dict[str, str | None] = {}
        self.iterated = False
        self._recording = False

    def __enter__(self) -> EnvironmentAtImport:
        self._environ, self._recording = os.environ, True
        os.environ = _Recording(self, os.environ)  # noqa: B003 - the same data, recorded
        return self

    def __exit__(self, *exc: object) -> None:
        os.environ, self._recording = self._environ, False

    def differs(self, env: Mapping[str, str], ignoring: frozenset[str] = frozenset()) -> list[str]:
        """The keys read at import whose value in ``env`` is another."""
        return [k for k, v in self.read.items() if k not in ignoring and env.get(k) != v]

    def replay(self) -> None:
        """Write to ``os.environ`` what the imports wrote (importing again would)."""
        for key, value in self.written.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Recording(os._Environ):  # type: ignore[type-arg]
    """``os.environ`` (the same data, putenv and unsetenv) telling an EnvironmentAtImport."""

    def __init__(self, seen: EnvironmentAtImport, environ: Any) -> None:
        args = (environ.encodekey, environ.decodekey, environ.encodevalue, environ.decodevalue)
        super().__init__(environ._data, *args)
        self._seen = seen

    def __getitem__(self, key: str) -> str:
        try:
            value: str | None = super().__getitem__(key)
        except KeyError:
            value = None
        if self._seen._recording and isinstance(key, str) and key not in self._seen.written:
            self._seen.read.setdefault(key, value)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key, value)
        if self._seen._recording:
            self._seen.written[key] = value

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        if self._seen._recording:
            self._seen.written[key] = None

    def __iter__(self) -> Any:
        self._seen.iterated |= self._seen._recording
        return super().__iter__()

    def copy(self) -> dict[str, str]:
        self._seen.iterated |= self._seen._recording
        return dict(self)


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

    def run(self) -> None:
        # In the fork, before its target: multiprocessing took the fork for a child of its own
        # (daemonic, so refused children of its own, named, with a parent process); what each
        # fork stands for, a cold `python ...`, is its own main process.
        me: Any = process.current_process()
        me._config["daemon"], me.name, me._identity = False, "MainProcess", ()
        process._parent_process = None  # type: ignore[attr-defined]
        super().run()


class _Attached(forkserver.ForkServer):
    """A fork server another process started (see :meth:`TemplateServer.attach`)."""

    def ensure_running(self) -> None:
        # Not this process's child, nor its to restart: only the resource tracker, which each
        # request names, is this process's (a fork server's fork has its requester's).
        resource_tracker.ensure_running()


class Handle:
    """What another process needs to ask a running :class:`TemplateServer` for forks: the
    template, the server's socket and its "alive" pipe (which each request carries, and which
    keeps the server running while a holder lives). Picklable as a fork's argument."""

    def __init__(self, template: str, address: str, alive: Fd) -> None:
        self.template, self.address, self.alive = template, address, alive


class TemplateServer:
    """A private fork server that has imported ``template`` (a module name) once."""

    def __init__(self, template: str) -> None:
        self.template = template
        #: Whether this process started the server: its forks stop when this process exits.
        self.owned = True
        server = _SERVERS.setdefault(template, forkserver.ForkServer())
        server.set_forkserver_preload([template])

    def handle(self) -> Handle:
        """What another process passes to :meth:`attach` to fork from this server (started now
        if it is not running)."""
        self.ensure_running()
        server = _SERVERS[self.template]
        return Handle(self.template, server._forkserver_address, Fd(server._forkserver_alive_fd))

    @classmethod
    def attach(cls, handle: Handle) -> TemplateServer:
        """In another process (one that got ``handle`` as a fork's argument): the server it
        names. Its forks are not this process's to stop: like a child started in a new session,
        they outlive it (multiprocessing neither stops nor waits for them when it exits)."""
        server = _Attached()
        server._forkserver_address = handle.address
        server._forkserver_alive_fd = handle.alive  # an int once received
        _SERVERS[handle.template] = server
        attached = cls.__new__(cls)
        attached.template, attached.owned = handle.template, False
        return attached

    def ensure_running(self) -> None:
        """Start the fork server now if it is not running (else the first start does). It runs
        ``python -c`` in this process's working directory, which its sys.path starts with."""
        _SERVERS[self.template].ensure_running()

    def start(self, target: Callable[..., None], args: tuple[Any, ...]) -> Forked:
        """Fork the template and run ``target(*args)`` there (``args`` are pickled; pass file
        descriptors as :class:`Fd`)."""
        # An owned server's forks are stopped when this process exits; an attached one's not.
        proc = _Process(target=target, args=args, daemon=self.owned)
        proc.template = self.template
        proc.start()
        if not self.owned:
            process._children.discard(proc)  # type: ignore[attr-defined]  # not joined at exit
        return Forked(proc)
