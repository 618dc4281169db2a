"""The suite's notebook kernels: over Unix sockets, and a kernel that dies at start says why.

jupyter_client's default (TCP) transport picks five free loopback ports, closes them, writes
them into the kernel's connection file and starts the kernel, which binds them a second or so
later, once Python and IPython are imported. The suite starts dozens of kernels, tenants and
JupyterLabs side by side on loopback; if another process binds one of those ports in that
second, the kernel exits at once and the notebook fails with "Kernel died before replying to
kernel_info" (jupyter/jupyter_client#154). CI failed that way once, on notebook 06, with
nothing else wrong. The IPC transport names Unix sockets in the Jupyter runtime dir instead of
ports, so there is nothing to race for. The browser tests' JupyterLab starts its kernels so too
(tests/lab_kernels.py). (Learners' kernels keep the default: one kernel at a time does not
race.)

The suite's kernels start without ipykernel's debugger: importing debugpy and its pydevd is
about a quarter of a kernel's CPU until it is ready (0.49 -> 0.38 s here), and no test debugs a
notebook. The kernel runs ``ipykernel_launcher`` as ``-m`` does, with ``debugpy`` made
unimportable, so ipykernel finds no debugger and says so in its kernel info, as it does where
debugpy is not installed. JupyterLab's kernels (the browser tests', a learner's) keep it.

nbval sends a kernel's stderr to /dev/null, so a kernel that dies at start leaves no reason.
:func:`use_for_nbval` keeps the stderr of the kernel's start in a temporary file and puts its
end into the error.
"""

from __future__ import annotations

import functools
import os
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

import zmq
from jupyter_client.manager import KernelManager
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import CaselessStrEnum, HasTraits, default

from tests.forked_kernels import ForkedKernels

#: Unix sockets where ZeroMQ has them (Linux, macOS); TCP elsewhere.
TRANSPORT = "ipc" if zmq.has("ipc") else "tcp"
#: ``python -m ipykernel_launcher`` (the working directory first on sys.path, as ``-m`` puts
#: it), with ``debugpy`` unimportable: ipykernel leaves its debugger out.
WITHOUT_DEBUGGER = (
    "import os, runpy, sys; sys.path[0] = os.getcwd(); sys.modules['debugpy'] = None; "
    "runpy.run_module('ipykernel_launcher', run_name='__main__', alter_sys=True)"
)


class SocketFiles(HasTraits):
    """For a kernel manager class: its kernels listen on Unix sockets, not on loopback ports."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value=TRANSPORT, config=True)

    @default("ip")
    def _socket_files(self) -> str:
        # jupyter_client's own default for IPC is a path relative to the working directory,
        # "kernel-ipc", decided before the connection file is named: the same for every
        # kernel, and not where the client looks when the kernel runs in another directory.
        # Here each kernel has its own absolute prefix in the private (0700) runtime dir.
        if self.transport != "ipc":
            return "127.0.0.1"
        runtime = jupyter_runtime_dir()
        os.makedirs(runtime, mode=0o700, exist_ok=True)
        return os.path.join(runtime, f"kernel-{uuid.uuid4().hex}-ipc")


class SocketFileKernelManager(ForkedKernels, SocketFiles, KernelManager):
    """nbval's and nbclient's kernels here: on Unix sockets, without the debugger, and forked
    from a warm template (tests/forked_kernels.py)."""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd: list[str] = super().format_kernel_cmd(extra_arguments)
        for i in range(len(cmd) - 1):
            if cmd[i : i + 2] == ["-m", "ipykernel_launcher"]:
                return [*cmd[:i], "-c", WITHOUT_DEBUGGER, *cmd[i + 2 :]]
        return cmd  # another kernel: as its spec says


def _explaining_deaths(start: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(start)
    def start_new_kernel(*args: Any, **kwargs: Any) -> Any:
        devnull = kwargs.pop("stderr", None)
        if devnull is not None:
            devnull.close()
        with tempfile.TemporaryFile() as stderr:
            try:
                return start(*args, stderr=stderr, **kwargs)
            except RuntimeError as exc:
                stderr.seek(0)
                said = stderr.read().decode(errors="replace")[-3000:] or "(nothing)"
                raise RuntimeError(f"{exc}; the kernel's stderr ended with:\n{said}") from exc

    return start_new_kernel


def use_for_nbval() -> None:
    """Make nbval start its kernels with :class:`SocketFileKernelManager`, explaining deaths."""
    import nbval.kernel

    if nbval.kernel.KernelManager is SocketFileKernelManager:
        return
    nbval.kernel.KernelManager = SocketFileKernelManager
    nbval.kernel.start_new_kernel = _explaining_deaths(nbval.kernel.start_new_kernel)
