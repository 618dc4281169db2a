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
names it, and the kernel exits if the fork server goes (it goes with the test process). A
process whose main module is a script file starts its kernels cold: multiprocessing would run
that script again in every fork.

JupyterLab's kernels (the browser tests', a learner's) start cold, as before.
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from jupyter_client.provisioning import LocalProvisioner
from jupyter_client.provisioning.provisioner_base import KernelConnectionInfo

from tests.forks import Fd, Forked, TemplateServer, main_is_a_script

TEMPLATE = "tests.kernel_template"
_SERVER = TemplateServer(TEMPLATE)


def _stream(stream: IO[Any] | int | None) -> Fd | None:
    if stream is None or stream == -1 or isinstance(stream, bool):  # -1: subprocess.PIPE
        return None
    return Fd(stream if isinstance(stream, int) else stream.fileno())


def _kernel(
    argv: list[str], env: dict[str, str], cwd: str, stdout: int | None, stderr: int | None
) -> None:
    """In the fork: become ``python -m ipykernel_launcher ARGV`` run in ``cwd`` with ``env``."""
    os.setsid()  # its own process group, as jupyter_client gives a kernel it starts
    for target, fd in ((1, stdout), (2, stderr)):
        if fd is not None:
            os.dup2(fd, target)
            os.close(fd)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    parent = str(os.getppid())  # the fork server: the kernel exits if it goes
    os.environ["JPY_PARENT_PID"] = parent
    sys.modules.setdefault("debugpy", None)  # type: ignore[arg-type]
    from tests import kernel_template  # the template's (imported already where it worked)

    # As `python -c` (tests/kernels.py's command) has it; ipykernel_launcher would then drop
    # the working directory from the front, and IPython adds "" later, as in a cold kernel.
    sys.path[:] = kernel_template.FRESH_PATH
    import ipykernel_launcher
    from ipykernel import kernelapp

    # ipykernel read JPY_PARENT_PID when the template imported it: say it again here.
    sys.argv = [ipykernel_launcher.__file__, *argv, f"--IPKernelApp.parent_handle={parent}"]
    kernelapp.launch_new_instance()


def launcher_args(cmd: list[str]) -> list[str] | None:
    """The arguments after the launcher if ``cmd`` starts ipykernel with this interpreter
    (cold, as tests/kernels.py writes it) and it can be forked here; else None: that kernel
    starts as its spec says."""
    from tests.kernels import WITHOUT_DEBUGGER

    if len(cmd) < 3 or cmd[1:3] != ["-c", WITHOUT_DEBUGGER] or main_is_a_script():
        return None
    try:
        same = os.path.samefile(cmd[0], sys.executable)
    except OSError:
        return None
    return cmd[3:] if same else None


class ForkedKernelProvisioner(LocalProvisioner):  # type: ignore[misc]
    """jupyter_client's local provisioner, forking the suite's ipykernels from the template."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        argv = launcher_args(cmd)
        if argv is None:
            return await super().launch_kernel(cmd, **kwargs)
        env = kwargs.get("env")
        self.process = _SERVER.start(
            _kernel,
            (
                argv,
                dict(os.environ if env is None else env),
                os.fspath(kwargs.get("cwd") or os.getcwd()),
                _stream(kwargs.get("stdout")),
                _stream(kwargs.get("stderr")),
            ),
        )
        self.pid = self.process.pid
        self.pgid = None  # known once the fork has made its own group: send_signal asks
        self.cwd = kwargs.get("cwd") or os.getcwd()
        return self.connection_info

    async def send_signal(self, signum: int) -> None:
        if self.pgid is None and isinstance(self.process, Forked):
            self.pgid = self.process.group()  # then to the kernel's group, as for a cold one
        await super().send_signal(signum)
