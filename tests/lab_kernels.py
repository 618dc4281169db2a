"""The browser tests' JupyterLab starts its kernels on Unix sockets, as forks of a warm template.

The Jupyter server config the test's lab gets (``tests/test_browser.py``, ``Lab``) names
:class:`LabSocketFileKernelManager` for its kernels: jupyter_server's own kernel manager, with
each kernel's sockets under a prefix of its own in the lab's private runtime dir instead of five
loopback ports chosen first and bound a second later (``tests/kernels.py`` says why). Unlike the
suite's nbval kernels, these keep ipykernel's debugger: they are the kernels a learner sees.

Each kernel the spec's ``python -m ipykernel_launcher -f ...`` would start is a fork of a warm
template (tests/lab_kernel_template.py: ipykernel, IPython, debugpy and the package's modules the
notebooks import first), as the suite's kernels are (tests/forked_kernels.py says what a fork
does to become the kernel); one whose environment would make those imports differ starts cold.
The config starts the template's fork server at once (:func:`start_template`), while the lab
loads.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

from jupyter_server.services.kernels.kernelmanager import ServerKernelManager

from tests.forked_kernels import ForkedKernelProvisioner, ForkedKernels, _after
from tests.forks import TemplateServer
from tests.kernels import SocketFiles

_SERVER = TemplateServer("tests.lab_kernel_template")
#: The checkout: where ``python -c`` (the fork server) finds tests/.
_ROOT = Path(__file__).resolve().parent.parent


def start_template() -> None:
    """Start the lab template's fork server now, from the checkout (its ``python -c`` finds
    ``tests`` in its working directory). Only while this process has one thread (the lab's
    config, before its server runs): another could mind the working directory changing; later,
    the first kernel starts it where the lab runs and the forks import the template themselves."""
    if threading.active_count() == 1:
        with contextlib.chdir(_ROOT):
            _SERVER.ensure_running()


class LabForkedKernelProvisioner(ForkedKernelProvisioner):
    """The local provisioner, forking the lab's ipykernels (with the debugger) from its template."""

    server = _SERVER

    def forkable(self, cmd: list[str]) -> list[str] | None:
        return _after(cmd, ["-m", "ipykernel_launcher"])


class LabSocketFileKernelManager(ForkedKernels, SocketFiles, ServerKernelManager):
    """jupyter_server's kernel manager, its kernels on Unix sockets and forked."""

    provisioner_class = LabForkedKernelProvisioner
