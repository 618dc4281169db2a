"""What the suite's client-script template holds: imported once, in its fork server only.

tests/client_scripts.py runs the short client scripts of the fault and session tests (a
SessionManager in a process of its own) as forks of one process that has imported this
module: what such a script imports before its first renewal (the session manager, the keychain
store and keyring's Secret Service backend, the HTTP client, PyJWT, filelock). Nothing here runs
anything: no thread, socket, D-Bus connection, keychain choice or TLS context exists before the
fork, and the checks at the end fail the template if one does.
"""

from __future__ import annotations

import gc
import sys
import tempfile
import threading

from tests.forks import EnvironmentAtImport

#: A fresh interpreter's sys.path after its first entry ("" for ``-c``): Python 3.11's fork
#: server starts as ``python -c`` and does not take its parent's path (see kernel_template.py).
FRESH_PATH = tuple(sys.path[1:])

with EnvironmentAtImport() as ENVIRONMENT:
    import filelock
    import jwt
    import keyring.backends.SecretService

    import session_tutorial.secret_service
    import session_tutorial.session
    import session_tutorial.store
    import session_tutorial.tenant
    import tests.client_scripts  # noqa: F401  # the forks' entry point

_running = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
assert not _running, f"the client template must not run threads before forking: {_running}"
assert tempfile.tempdir is None, "the template fixed TMPDIR for every script"
assert keyring.core._keyring_backend is None, "the template chose a keychain for every script"
assert not session_tutorial.secret_service._POOL.kept, "the template opened a D-Bus connection"
assert not ENVIRONMENT.iterated, "an import read the whole environment: compare all of it"
del filelock, jwt

# What the template imported stays shared with every fork: the collector need not walk it.
gc.freeze()
