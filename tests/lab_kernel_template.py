"""What the browser tests' lab kernel template holds: imported once, in its fork server only.

tests/lab_kernels.py starts the test JupyterLab's kernels as forks of a process that has imported
this module: what tests/kernel_template.py imports for the suite's kernels, and ipykernel's
debugger (debugpy and its pydevd), which these kernels keep. Nothing here runs anything, and the
checks at the end fail the template if something did (as kernel_template.py's).

What importing the debugger takes from the process, and how each fork gets what a cold kernel
would have taken:

- The environment. pydevd reads about fifty variables at import (PYDEVD_*, DEBUGPY_*, GEVENT_*,
  IDE_PROJECT_ROOTS, PATH...) and debugpy sets one (PYDEVD_USE_FRAME_EVAL=NO when unset). The
  template imports in the lab server's environment; a kernel gets that environment plus its
  JPY_SESSION_NAME and JPY_PARENT_PID (jupyter_server, jupyter_client). ``ENVIRONMENT`` records
  every key these imports read and wrote; a kernel whose environment has another value for one
  of those starts cold instead (tests/forked_kernels.py), and each fork writes what the imports
  wrote.
- Its streams. A cold kernel imports the debugger in ``IPKernelApp.init_kernel``, after
  ``init_io`` made sys.stdout and sys.stderr the kernel's own streams, so pydevd's log and
  debugpy's stderr log write to the kernel's stderr stream, and pydevd's warning at import
  (Python's frozen modules: the kernel spec has no -Xfrozen_modules=off) goes there. Here the
  import writes to a buffer; at the same point of each fork's start (``in_the_kernel``) both
  logs are pointed at that kernel's sys.stderr and the warning is written there once.
- Its clocks: debugpy's and pydevd's log times count from then, not from the template's import.

Also imported: what every kernel imports anyway (tests/kernel_preloads.py), and ipywidgets with
the package's widgets, out of each kernel's sight until it imports them, as in
kernel_template.py (tests/deferred_widgets.py).
"""

from __future__ import annotations

import contextlib
import gc
import io
import sys
import tempfile
import threading
import time
from typing import Any

from tests import deferred_widgets, kernel_preloads
from tests.forks import EnvironmentAtImport

#: sys.path as a cold kernel has it once ipykernel_launcher removed its working directory (see
#: kernel_template.py).
FRESH_PATH = tuple(sys.path[1:])

_said = io.StringIO()  # what importing the debugger wrote, for each kernel's stderr
_printed = io.StringIO()
with EnvironmentAtImport() as ENVIRONMENT:
    import ipykernel.ipkernel
    import ipykernel.kernelapp
    import ipykernel.zmqshell
    import IPython
    import keyring.backends.SecretService

    import session_tutorial.browser_login
    import session_tutorial.secret_service
    import session_tutorial.tutorial  # noqa: F401
    import tests.forked_kernels  # noqa: F401  # the forks' entry point

    with contextlib.redirect_stderr(_said), contextlib.redirect_stdout(_printed):
        import ipykernel.debugger
        from _pydev_bundle import pydev_log
        from debugpy.common import log, timestamp
    kernel_preloads.import_every_kernel()  # what every kernel imports anyway
    import psygnal  # noqa: F401  # the widgets' (and reads PSYGNAL_UNCOMPILED)

# The widgets, out of each kernel's sight until it imports them (tests/deferred_widgets.py).
with EnvironmentAtImport() as _widgets_read:
    _WIDGETS = deferred_widgets.DeferredWidgets(deferred_widgets.import_groups())
assert set(_widgets_read.read) == {"JUPYTER_WIDGETS_ECHO"}, _widgets_read.read  # done again
assert not (_widgets_read.written or _widgets_read.iterated)

SAID = _said.getvalue()

_running = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
assert not _running, f"the kernel template must not run threads before forking: {_running}"
assert tempfile.tempdir is None, "the template fixed TMPDIR for every kernel"
assert IPython.get_ipython() is None, "a shell ran: importing ipywidgets registered with it"
assert keyring.core._keyring_backend is None, "the template chose a keychain for every kernel"
assert ipykernel.debugger._is_debugpy_available, "the lab's kernels have the debugger"
assert not ENVIRONMENT.iterated, "an import read the whole environment: compare all of it"
assert not _printed.getvalue(), f"importing the debugger printed: {_printed.getvalue()!r}"
assert log.stderr.file is _said, "debugpy's stderr log is not where this template put it"

gc.freeze()  # as kernel_template.py


def in_the_kernel() -> None:
    """In each fork, before ipykernel launches: when ``init_kernel`` begins (where a cold kernel
    imports the debugger), give the debugger what its import would have taken there."""
    _WIDGETS.hide()
    app = ipykernel.kernelapp.IPKernelApp
    init_kernel = app.init_kernel

    def init_kernel_with_the_debugger_as_if_imported_now(self: Any) -> None:
        timestamp.reset()
        pydev_log._last_log_time = time.time()
        log.stderr.file = sys.stderr
        if pydev_log._LoggingGlobals._debug_stream is _said:
            pydev_log._LoggingGlobals._debug_stream = sys.stderr
        if SAID:
            sys.stderr.write(SAID)
            sys.stderr.flush()
        init_kernel(self)

    app.init_kernel = init_kernel_with_the_debugger_as_if_imported_now  # type: ignore[method-assign]
