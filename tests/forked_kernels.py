"""The suite's nbval and nbclient kernels start as forks of a warm template, not cold.

A kernel started cold imports ipykernel, IPython and ZeroMQ before it answers (about 0.45 s of
CPU here), and each notebook's first cell then imports the package, httpx, PyJWT and the
keychain (about 0.4 s more). The suite starts 24 such kernels, each notebook three times (in
sequence, alone, without teaching controls), and those imports were most of their CPU.

Here a fork server (tests/forks.py: the standard library's ``multiprocessing`` fork server, a
private one per test process that starts kernels) imports tests/kernel_template.py once; each
kernel is a fork of it. The fork then becomes what ``python -m ipykernel_launcher -f
CONNECTION_FILE`` would be: a new session (process group) of its own, the kernel's working
directory, environment, sys.path and argv as a cold start has them, the standard streams
jupyter_client asked for, and then ipykernel's own ``launch_new_instance``. From there on it is
an ordinary ipykernel: it binds its sockets, answers, runs the cells, is interrupted, restarted
and killed through jupyter_client as before (the provisioner below gives jupyter_client the
process; signals go to the kernel's own process group). tests/test_kernels.py compares one
with a cold kernel.

What differs from a cold start, and why it does not matter to what the suite checks: the
template's modules are already imported (no module here reads the environment, the clock or the
keychain at import; kernel_template.py checks the ones that could); ipywidgets is not among
them (see kernel_template.py). The kernel's parent is the fork server, so its parent handle
names it, and the kernel exits if the fork server goes (it goes with the test process).
Like every fork of tests/forks.py, the kernel is its own main process (not daemonic, no parent
process), as a cold one is. The kernels of tests/notebooks_alone.py's
run fork their tenants too (``fork_tenants``); the others start theirs cold.

The browser tests' JupyterLab forks its kernels the same way from another template, which keeps
the debugger (tests/lab_kernels.py, tests/lab_kernel_template.py). That template records what
its imports read from the environment: a kernel whose environment differs there (debugpy's
pydevd reads dozens of variables at import) replaces its fork with the cold command
(``execve``: the same process, as jupyter_client started it).
A learner's JupyterLab starts its kernels cold, as before.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import IO, Any
from uuid import uuid4

from jupyter_client.provisioning import LocalProvisioner
from jupyter_client.provisioning.provisioner_base import KernelConnectionInfo

from tests.forks import Fd, Forked, Handle, TemplateServer

TEMPLATE = "tests.kernel_template"
_SERVER = TemplateServer(TEMPLATE)


def _stream(stream: IO[Any] | int | None) -> Fd | None:
    if stream is None or stream == -1 or isinstance(stream, bool):  # -1: subprocess.PIPE
        return None
    return Fd(stream if isinstance(stream, int) else stream.fileno())


def _kernel(
    template: str,
    cold: list[str],
    argv: list[str],
    env: dict[str, str],
    cwd: str,
    stdout: int | None,
    stderr: int | None,
    tenants: Handle | None = None,
) -> None:
    """In the fork: become ``cold`` (``python -m ipykernel_launcher ARGV``, or tests/kernels.py's
    form of it) run in ``cwd`` with ``env``; its tenants fork from ``tenants`` if given."""
    os.setsid()  # its own process group, as jupyter_client gives a kernel it starts
    for target, fd in ((1, stdout), (2, stderr)):
        if fd is not None:
            os.dup2(fd, target)
            os.close(fd)
    os.chdir(cwd)
    # Its parent is the fork server: the kernel watches it (and exits if it goes). The
    # environment names the process that asked for it, as jupyter_client's launcher does.
    watch = f"--IPKernelApp.parent_handle={os.getppid()}"
    warm = importlib.import_module(template)  # imported already where the template worked
    recorded = warm.ENVIRONMENT  # what the template's imports read, if it records it
    if recorded is not None and recorded.differs(env, ignoring=_GIVEN_AGAIN):
        os.execve(cold[0], [*cold, watch], env)  # its imports would differ: start it cold
    os.environ.clear()
    os.environ.update(env)
    if recorded is not None:
        recorded.replay()  # what importing its modules wrote there (debugpy: one variable)
    # As a cold kernel has it once ipykernel_launcher dropped the working directory from the
    # front (`-m` puts it there, as tests/kernels.py's `-c` command does); IPython adds ""
    # later, as in a cold kernel.
    sys.path[:] = warm.FRESH_PATH
    import ipykernel_launcher
    from ipykernel import kernelapp

    # ipykernel read JPY_PARENT_PID when the template imported it: the handle is given here.
    sys.argv = [ipykernel_launcher.__file__, *argv, watch]
    warm.in_the_kernel()
    if tenants is not None:
        from tests import forked_tenants

        forked_tenants.fork_from(tenants)
    kernelapp.launch_new_instance()


#: Read at import by ipykernel (a trait's default): each fork is given its parent handle.
_GIVEN_AGAIN = frozenset({"JPY_PARENT_PID"})


def launcher_args(cmd: list[str]) -> list[str] | None:
    """The arguments after the launcher if ``cmd`` starts ipykernel with this interpreter
    (cold, as tests/kernels.py writes it) and it can be forked here; else None: that kernel
    starts as its spec says."""
    from tests.kernels import WITHOUT_DEBUGGER

    return _after(cmd, ["-c", WITHOUT_DEBUGGER])


def _after(cmd: list[str], launcher: list[str]) -> list[str] | None:
    if cmd[1 : 1 + len(launcher)] != launcher:
        return None
    try:
        same = os.path.samefile(cmd[0], sys.executable)
    except OSError:
        return None
    return cmd[1 + len(launcher) :] if same else None


class ForkedKernelProvisioner(LocalProvisioner):  # type: ignore[misc]
    """jupyter_client's local provisioner, forking the suite's ipykernels from the template."""

    server = _SERVER
    #: Whether the kernels' own tenants (``background.start``: ``Tutorial.start`` in a notebook's
    #: first cell) fork from this process's tenant template (tests/forked_tenants.py) instead of
    #: starting cold, as a learner's do. tests/notebooks_alone.py turns it on for its run.
    fork_tenants = False

    def forkable(self, cmd: list[str]) -> list[str] | None:
        """The kernel's arguments if ``cmd`` is one this provisioner forks, else None."""
        return launcher_args(cmd)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        argv = self.forkable(cmd)
        if argv is None:
            return await super().launch_kernel(cmd, **kwargs)
        env = dict(os.environ if kwargs.get("env") is None else kwargs["env"])
        env["JPY_PARENT_PID"] = str(os.getpid())  # as jupyter_client's launcher says it
        self.process = self.server.start(
            _kernel,
            (
                self.server.template,
                cmd,
                argv,
                env,
                os.fspath(kwargs.get("cwd") or os.getcwd()),
                _stream(kwargs.get("stdout")),
                _stream(kwargs.get("stderr")),
                self._tenants(),
            ),
        )
        self.pid = self.process.pid
        self.pgid = None  # known once the fork has made its own group: send_signal asks
        self.cwd = kwargs.get("cwd") or os.getcwd()
        return self.connection_info

    def _tenants(self) -> Handle | None:
        if not self.fork_tenants:
            return None
        from tests import forked_tenants

        return forked_tenants.handle()

    async def send_signal(self, signum: int) -> None:
        if self.pgid is None and isinstance(self.process, Forked):
            self.pgid = self.process.group()  # then to the kernel's group, as for a cold one
        await super().send_signal(signum)


class ForkedKernels:
    """For a jupyter_client kernel manager class: its kernels start through
    :attr:`provisioner_class` (forks of its template), not the local provisioner the kernel
    spec would name."""

    provisioner_class: type[ForkedKernelProvisioner] = ForkedKernelProvisioner

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        manager: Any = self
        if manager.provisioner is None:  # a restart keeps the one it has
            manager.kernel_id = manager.kernel_id or kw.pop("kernel_id", None) or str(uuid4())
            manager.provisioner = self.provisioner_class(
                kernel_id=manager.kernel_id, kernel_spec=manager.kernel_spec, parent=manager
            )
        return await super()._async_pre_start_kernel(**kw)  # type: ignore[misc, no-any-return]
