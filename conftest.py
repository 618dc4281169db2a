"""Shared by tests/ and notebooks/: a private tenant data dir, and a real local tenant.

Tests and notebook runs never touch a learner's own tenant: the default data dir points into a
temporary folder, and whatever tenant runs there is stopped when the session ends.

Parallel runs (``pytest -n 3``, as ``make test`` does on 2 cores): each pytest-xdist worker is
a process of its own, so it imports this file itself and gets its own tenant data dir and
tenant; under the keychain launcher each worker also gets its own private keychain (a launcher
of its own, see ``pytest_configure``), so no test sees another's entries. The notebooks' cells
stay together, in order, on one worker (see ``pytest_xdist_make_scheduler``).
"""

from __future__ import annotations

import gc
import os
import shlex
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

# Tests never touch a learner's own tenant: every default data dir points into a temp dir.
_TMP = Path(tempfile.mkdtemp(prefix="session-tutorial-tests-"))
os.environ["SESSION_TUTORIAL_TENANT_DIR"] = str(_TMP / "tenant")

# The exercise solutions run inside a notebook's namespace, not on their own.
collect_ignore_glob = ["notebooks/solutions/*"]
# Imported only in the suite kernels' fork server (tests/forked_kernels.py), and it checks that
# nothing before it fixed the temp dir: not a module for --doctest-modules to import.
# So are tests/tenant_template.py, in the tenants' (tests/forked_tenants.py),
# tests/lab_kernel_template.py, in the browser tests' JupyterLab's (tests/lab_kernels.py), and
# tests/client_template.py, in the client scripts' (tests/client_scripts.py).
collect_ignore = [
    "tests/client_template.py",
    "tests/kernel_template.py",
    "tests/lab_kernel_template.py",
    "tests/tenant_template.py",
]

from keyring.backends import SecretService  # noqa: E402

from session_tutorial import (  # noqa: E402
    CredentialStore,
    KeychainUnavailable,
    SessionManager,
    Tenant,
)
from session_tutorial.launcher import PRIVATE_KEYCHAIN  # noqa: E402
from session_tutorial.provider import background  # noqa: E402
from session_tutorial.provider.control import SyncedClock, TenantControl  # noqa: E402
from session_tutorial.provider.keyfiles import admin_key  # noqa: E402
from session_tutorial.scripted_browser import ScriptedBrowser  # noqa: E402
from session_tutorial.store import KEYCHAIN_ENV  # noqa: E402
from session_tutorial.tenant import default_ssl_context  # noqa: E402
from tests.authorize_helpers import AuthRequest  # noqa: E402
from tests.forked_tenants import spawn_tenant  # noqa: E402
from tests.kernels import use_for_nbval  # noqa: E402
from tests.provider_helpers import ADA, TEST_API  # noqa: E402

# The tenants this process starts (background.start) are forks of a warm template, not cold
# Python processes: see tests/forked_tenants.py. The command line's starts stay cold.
background.spawn = spawn_tenant

# Each tenant this session starts in its default data dir (a notebook's kernel, Tutorial.start)
# gets a free port of its own instead of the default 8941: workers running side by side, and
# the notebook-alone runs they start, would otherwise race for it and one would fail to bind.
(_TMP / "tenant").mkdir(mode=0o700)
(_TMP / "tenant" / background.PORT_FILE).write_text(str(background.free_port()))

# Whole files on one worker, in order: a notebook's cells share one kernel (nbval), and these
# modules share one costly server per module (a module-scoped fixture).
_ONE_WORKER_FILES = (
    "test_binder.py",
    "test_browser.py",
    "test_commands.py",  # its two tests share one lockout's messages
    "test_site.py",
    "test_tenant_connections.py",  # its two tests share one tenant
)
_NOTEBOOK_GROUP = "notebooks-in-sequence"
# Parametrized tests whose cases all read one costly session-scoped run: every case on one worker.
_ONE_WORKER_TESTS = (  # one pytest that runs every notebook alone
    "test_notebooks.py::test_notebook_passes_alone_in_a_fresh_kernel_with_an_empty_keychain",
)

# Work units that take longest (seconds of one worker, measured on main), handed out first.
_LONGEST_FIRST = (
    "tests/test_browser.py",  # one JupyterLab, Chromium, three journeys
    "tests/test_notebooks.py::test_notebook_passes_alone_in_a_fresh_kernel_with_an_empty_keychain",
    "tests/test_site.py",  # the site's build and its walk in Chromium
    _NOTEBOOK_GROUP,
    "tests/test_binder.py",
    "tests/test_notebooks.py::test_notebooks_run_against_a_tenant_without_teaching_controls",
    "tests/test_commands.py",  # every command a message or notebook gives, run as written
)


def pytest_configure(config: pytest.Config) -> None:
    """Under the launcher's private keychain, start each xdist worker under a launcher too.

    ``-n N`` makes N ``popen`` workers that would share this process's keychain; instead each
    one runs as ``python -m session_tutorial.launcher -- python ...`` with the session bus
    unset, so it gets a private, empty keychain of its own.

    nbval's kernels listen on Unix sockets, not on loopback ports another process could take
    first, and one that dies at start says why (tests/kernels.py).
    """
    use_for_nbval()
    tx = getattr(config.option, "tx", None)
    if not tx or os.environ.get(KEYCHAIN_ENV) != PRIVATE_KEYCHAIN:
        return
    if all(spec == "popen" for spec in tx):
        python = shlex.quote(sys.executable)
        command = (
            f"env -u DBUS_SESSION_BUS_ADDRESS -u {KEYCHAIN_ENV} "
            f"{python} -m session_tutorial.launcher -- {python}"
        )
        config.option.tx = [f"popen//python={command}" for _ in tx]


@dataclass
class LocalTenant:
    """A running local tenant with its teaching controls."""

    url: str
    data_dir: Path
    control: TenantControl

    @property
    def clock(self) -> SyncedClock:
        """A client clock that follows the tenant's (pass it to SessionManager)."""
        return self.control.clock

    def advance_clock(self, seconds: float) -> float:
        return self.control.advance_clock(seconds)

    def revoke_user(self, email: str) -> int:
        return self.control.revoke_user(email)

    def unblock(self, email: str) -> None:
        self.control.unblock(email)


@pytest.fixture(scope="session")
def _tenant_process() -> LocalTenant:
    data_dir = Path(os.environ["SESSION_TUTORIAL_TENANT_DIR"])
    running = background.start(data_dir, port=0, quiet=True)
    control = TenantControl(running.url, admin_key(data_dir), data_dir=data_dir)
    return LocalTenant(running.url, data_dir, control)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Stops the tenant whoever started it: the fixture above, or a notebook's kernel.
    background.stop(Path(os.environ["SESSION_TUTORIAL_TENANT_DIR"]))
    if (_TMP / "api-tenant").exists():
        background.stop(_TMP / "api-tenant")
    # The tenants' data dirs hold their signing and admin keys: nothing of them stays in /tmp.
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(scope="session")
def api_tenant_url() -> str:
    """A real tenant that knows one API, TEST_API: it issues JWT access tokens (typ at+jwt)
    only for an API's audience, as Auth0 does (for /userinfo alone they are opaque)."""
    data_dir = _TMP / "api-tenant"
    extra = ("--api", TEST_API)
    return background.start(data_dir, port=0, quiet=True, extra_args=extra).url


@pytest.fixture
def keychain() -> Iterator[CredentialStore]:
    """A fresh entry in the real Secret Service (run under the launcher, as `make test` does)."""
    store = CredentialStore(
        "session-tutorial-tests", f"test-{uuid.uuid4()}", keyring_backend=SecretService.Keyring()
    )
    try:
        store.load()
    except KeychainUnavailable as exc:
        pytest.fail(str(exc))
    yield store
    store.clear()


@pytest.fixture
def manager(local_tenant: LocalTenant, keychain: CredentialStore) -> Iterator[SessionManager]:
    """A SessionManager of the real tenant, saving in a fresh entry of the real keychain."""
    tenant = Tenant(local_tenant.url, "tutorial-app", clock=local_tenant.clock)
    with SessionManager(tenant, keychain, clock=local_tenant.clock) as m:
        yield m


@pytest.fixture
def http(local_tenant: LocalTenant) -> Iterator[httpx.Client]:
    """An HTTP client of the real tenant (with the process's one TLS context: a new one costs
    about 40 ms of CPU to read the CA certificates, even for http://)."""
    with httpx.Client(base_url=local_tenant.url, timeout=10, verify=default_ssl_context()) as c:
        yield c


@pytest.fixture
def browser() -> Iterator[ScriptedBrowser]:
    """The tenant's pages played by code (session_tutorial.scripted_browser), not Chromium."""
    with ScriptedBrowser() as b:
        yield b


@pytest.fixture(scope="session")
def _ada_login_session(_tenant_process: LocalTenant) -> str:
    """The tenant's login-session cookie of one sign-in as Ada on its page, made once a worker:
    one Argon2id check (about 25 ms of the tenant's CPU) instead of one in every test that only
    needs a signed-in browser. Nothing here ends it: a test that ends its session (Not you?,
    /v2/logout) signs in for itself."""
    _tenant_process.control.reset()  # no block or clock an earlier test left
    with ScriptedBrowser() as b:
        page = b.open(AuthRequest().url(_tenant_process.url))
        signed_in = b.press(page, "login", username=ADA[0], password=ADA[1])
        assert signed_in.status == 303, signed_in.text
        return b.http.cookies["st_session"]


@pytest.fixture
def signed_in_browser(
    _ada_login_session: str, local_tenant: LocalTenant
) -> Iterator[ScriptedBrowser]:
    """A fresh browser (played by code) already signed in to the tenant as Ada: its next
    /authorize asks "Continue as Ada Lovelace?", not for the password. The login session is
    shared by the worker's tests (see _ada_login_session); its CSRF cookie is its own."""
    with ScriptedBrowser() as b:
        b.http.cookies.set("st_session", _ada_login_session)
        yield b


@pytest.fixture
def local_tenant(_tenant_process: LocalTenant) -> LocalTenant:
    """The real tenant (over HTTP), with its clock reset and every account unblocked."""
    _tenant_process.control.reset()
    return _tenant_process


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """xdist's per-scope scheduler, with this project's scopes (see _work_unit).

    (``--dist loadgroup`` and ``xdist_group`` marks would say the same, but xdist 3.8 renames
    a node id in a way pytest 9 no longer sees, so the groups are lost.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

        def _assign_work_unit(self, node: object) -> None:
            # The longest units first, then the rest in collection order: a long unit handed
            # out last would leave one worker running it alone at the end of the run.
            if not getattr(self, "_ordered", False):
                self._ordered = True
                first = [s for s in _LONGEST_FIRST if s in self.workqueue]
                for scope in reversed(first):
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)  # type: ignore[arg-type]

    return Scheduling(config, log)


def _work_unit(nodeid: str) -> str:
    """What must run on one worker, in order: every notebook's cells (nbval, in sequence as a
    learner takes them, each notebook's cells in one kernel), a module in _ONE_WORKER_FILES,
    the cases of a test in _ONE_WORKER_TESTS; any other test goes wherever a worker is free."""
    file, _, test = nodeid.partition("::")
    if file.endswith(".ipynb"):
        return _NOTEBOOK_GROUP
    if Path(file).name in _ONE_WORKER_FILES:
        return file
    if f"{Path(file).name}::{test.split('[', 1)[0]}" in _ONE_WORKER_TESTS:
        return nodeid.split("[", 1)[0]
    return nodeid


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Docstring examples that need a live tenant are marked +SKIP for the reader's sake; a
    # docstring made only of those has nothing to check, so it is not collected at all.
    import doctest

    from _pytest.doctest import DoctestItem

    def only_illustrative(item: pytest.Item) -> bool:
        examples = item.dtest.examples if isinstance(item, DoctestItem) and item.dtest else []
        return bool(examples) and all(e.options.get(doctest.SKIP) for e in examples)

    dropped = [item for item in items if only_illustrative(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if item not in dropped]


def pytest_collection_finish(session: pytest.Session) -> None:
    # What collection loaded (the modules, their functions and classes, a thousand test items)
    # stays until the process ends: the cyclic collector's full passes need not walk it again.
    gc.freeze()
