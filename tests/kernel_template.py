"""What the suite's kernel template holds: imported once, in the fork server only.

tests/forked_kernels.py starts the suite's nbval and nbclient kernels as forks of one process
that has imported this module: ipykernel and IPython (without debugpy, as the suite's kernels
always ran), the package's modules that the notebooks' first cells import, and what every
kernel imports anyway (at its start, or in every notebook: tests/kernel_preloads.py). A fork
starts with them in memory instead of importing them again, so only what a kernel *does* is paid
for per kernel. Nothing here runs anything: no kernel, shell, event loop, thread, connection or
keychain exists before the fork, and the checks at the end fail the template if one does.

ipywidgets, anywidget and the package's widgets are imported here too, but out of each kernel's
sight until it imports them: importing ipywidgets inside a running kernel is what registers the
widget comm targets with that kernel (``ipywidgets._handle_ipython``), so each kernel's import
does that then (tests/deferred_widgets.py).
"""

from __future__ import annotations

import gc
import sys
import tempfile
import threading

sys.modules["debugpy"] = None  # type: ignore[assignment]  # as tests/kernels.py's kernels

#: A fresh interpreter's sys.path after its first entry ("" for ``-c``), which is what a cold
#: kernel has once ipykernel_launcher removed its working directory from the front: Python
#: 3.11's fork server starts as ``python -c`` and does not take its parent's path.
FRESH_PATH = tuple(sys.path[1:])

import ipykernel.ipkernel  # noqa: E402
import ipykernel.kernelapp  # noqa: E402
import ipykernel.zmqshell  # noqa: E402, F401
import IPython  # noqa: E402
import keyring.backends.SecretService  # noqa: E402

import session_tutorial.browser_login  # noqa: E402
import session_tutorial.secret_service  # noqa: E402
import session_tutorial.tutorial  # noqa: E402, F401
import tests.forked_kernels  # noqa: E402, F401  # the forks' entry point
from tests import deferred_widgets, kernel_preloads  # noqa: E402
from tests.forks import EnvironmentAtImport  # noqa: E402

# What every kernel imports anyway (tests/kernel_preloads.py): none reads the environment.
with EnvironmentAtImport() as _read_at_import:
    kernel_preloads.import_every_kernel()  # ipykernel.debugger without debugpy, as they run

# The widgets' groups (tests/deferred_widgets.py), and what they import that is everyone's
# (psygnal, importlib_metadata...): psygnal reads PSYGNAL_UNCOMPILED at import, so a kernel
# whose environment says otherwise starts cold (tests/forked_kernels.py).
with EnvironmentAtImport() as ENVIRONMENT:
    import psygnal  # noqa: F401
with EnvironmentAtImport() as _widgets_read:
    _WIDGETS = deferred_widgets.DeferredWidgets(deferred_widgets.import_groups())
assert set(_widgets_read.read) == {"JUPYTER_WIDGETS_ECHO"}, _widgets_read.read  # done again
assert not (_widgets_read.written or _widgets_read.iterated)
assert set(ENVIRONMENT.read) <= {"PSYGNAL_UNCOMPILED"}, ENVIRONMENT.read
assert not (ENVIRONMENT.written or ENVIRONMENT.iterated)

_running = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
assert not _running, f"the kernel template must not run threads before forking: {_running}"
assert tempfile.tempdir is None, "the template fixed TMPDIR for every kernel"
assert IPython.get_ipython() is None, "a shell ran: importing ipywidgets registered with it"
assert keyring.core._keyring_backend is None, "the template chose a keychain for every kernel"
assert not (_read_at_import.read or _read_at_import.written or _read_at_import.iterated), (
    f"an import read the environment: {_read_at_import.read} {_read_at_import.written}"
)


def in_the_kernel() -> None:
    """In each fork, just before ipykernel launches: the widgets wait for the kernel's import."""
    _WIDGETS.hide()


# What the template imported stays shared with every fork: the collector need not look at it
# (and touch, so copy, its pages) in each kernel.
gc.freeze()
