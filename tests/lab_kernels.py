"""The browser tests' JupyterLab starts its kernels on Unix sockets, as the suite's others.

The Jupyter server config the test's lab gets (``tests/test_browser.py``, ``Lab``) names
:class:`LabSocketFileKernelManager` for its kernels: jupyter_server's own kernel manager, with
each kernel's sockets under a prefix of its own in the lab's private runtime dir instead of five
loopback ports chosen first and bound a second later (``tests/kernels.py`` says why). Unlike the
suite's nbval kernels, these keep ipykernel's debugger: they are the kernels a learner sees.
"""

from __future__ import annotations

from jupyter_server.services.kernels.kernelmanager import ServerKernelManager

from tests.kernels import SocketFiles


class LabSocketFileKernelManager(SocketFiles, ServerKernelManager):
    """jupyter_server's kernel manager, its kernels on Unix sockets."""
