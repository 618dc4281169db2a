"""A pytest plugin: every notebook nbval runs starts as a first launch of the app, alone.

tests/test_notebooks.py runs one pytest with it (``-p tests.notebooks_alone``) under a new
keychain launcher, over all the notebooks: one process and one launcher instead of one of each
per notebook. nbval gives each notebook a fresh kernel; before that kernel starts, this plugin
gives the notebook what a new launcher and a new pytest would:

- an empty keychain: every item of every collection of the launcher's private Secret Service
  is deleted (it refuses to run on any other keychain, such as a desktop's own);
- a tenant nobody used: ``SESSION_TUTORIAL_TENANT_DIR`` points at a new, empty data dir with a
  free port of its own, so the kernel's ``Tutorial.start()`` starts a new tenant there (new
  signing key, new users, new clock); the previous notebook's tenant is stopped first. That
  start forks the tenant from this process's warm tenant template (tests/forked_tenants.py,
  through tests/forked_kernels.py's ``fork_tenants``), as the suite's own tenants start, instead
  of a cold Python process: a new tenant all the same, and the in-sequence nbval run's kernels
  start theirs cold, as a learner's kernel does.

nbval starts a notebook's kernel in the notebook file's own setup, which pytest runs inside the
first cell's ``pytest_runtest_setup``: the hook below is ``tryfirst`` so that it runs before.

What became of each notebook is written to ``--notebooks-alone-report`` as JSON, for the test
to turn into one assertion per notebook: its cells' outcomes (with each failure's text), how
many keychain items were left after emptying, and which tenant (data dir, URL, pid) it had.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from session_tutorial.launcher import KEYCHAIN_ENV, PRIVATE_KEYCHAIN
from session_tutorial.provider import background
from session_tutorial.provider.config import STATE_FILE
from tests.forked_kernels import ForkedKernelProvisioner

TENANT_DIR_ENV = "SESSION_TUTORIAL_TENANT_DIR"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--notebooks-alone-report",
        metavar="PATH",
        help="where to write each notebook's outcome (JSON)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get(KEYCHAIN_ENV) != PRIVATE_KEYCHAIN:
        raise pytest.UsageError(
            "tests.notebooks_alone empties the keychain before each notebook: run it only "
            "under a new `python -m session_tutorial.launcher` (a private keychain)"
        )
    if not config.getoption("notebooks_alone_report"):
        raise pytest.UsageError("tests.notebooks_alone needs --notebooks-alone-report PATH")
    config.pluginmanager.register(_Alone(config), "notebooks-alone")
    ForkedKernelProvisioner.fork_tenants = True  # the kernels' tenants: forks, see above


def _empty_keychain() -> tuple[int, int]:
    """Delete every item of every collection; return (items deleted, items left)."""
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        deleted = 0
        for collection in secretstorage.get_all_collections(connection):
            if collection.is_locked():
                raise RuntimeError(f"the private keychain's {collection.get_label()!r} is locked")
            for item in collection.get_all_items():
                item.delete()
                deleted += 1
        left = sum(
            len(list(c.get_all_items())) for c in secretstorage.get_all_collections(connection)
        )
    finally:
        connection.close()
    return deleted, left


class _Alone:
    def __init__(self, config: pytest.Config) -> None:
        self.report_path = Path(config.getoption("notebooks_alone_report"))
        self.root = Path(tempfile.mkdtemp(prefix="session-tutorial-alone-"))
        self.notebooks: dict[str, dict[str, Any]] = {}
        self.current: str | None = None
        self.ports: set[int] = set()

    def _tenant_dir(self, notebook: str) -> Path:
        return Path(self.notebooks[notebook]["tenant_dir"])

    def _finish(self, notebook: str) -> None:
        """Note which tenant the notebook's kernel started, then stop it."""
        data_dir = self._tenant_dir(notebook)
        try:
            state = json.loads((data_dir / STATE_FILE).read_text())
        except (OSError, ValueError):
            state = {}
        self.notebooks[notebook]["tenant"] = {"url": state.get("url"), "pid": state.get("pid")}
        background.stop(data_dir)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        notebook = item.nodeid.split("::", 1)[0]
        if not notebook.endswith(".ipynb") or notebook == self.current:
            return
        # The previous notebook's cells are done and its kernel shut down (its file's teardown
        # ran with its last cell's): stop its tenant, then give this notebook a clean start.
        if self.current is not None:
            self._finish(self.current)
        self.current = notebook
        deleted, left = _empty_keychain()
        data_dir = self.root / f"{len(self.notebooks):02d}-tenant"
        data_dir.mkdir(mode=0o700)
        port = background.free_port()
        while port in self.ports:  # the OS may hand out a port again once it is free
            port = background.free_port()
        self.ports.add(port)
        (data_dir / background.PORT_FILE).write_text(str(port))
        os.environ[TENANT_DIR_ENV] = str(data_dir)
        self.notebooks[notebook] = {
            "tenant_dir": str(data_dir),
            "keychain_items_deleted": deleted,
            "keychain_items_left": left,
            "passed": 0,
            "skipped": 0,
            "failed": [],
        }

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        notebook = report.nodeid.split("::", 1)[0]
        if notebook not in self.notebooks:
            return
        outcome = self.notebooks[notebook]
        if report.failed:
            outcome["failed"].append(
                {"cell": report.nodeid, "when": report.when, "text": report.longreprtext}
            )
        elif report.when == "call" or report.skipped:
            outcome["passed" if report.passed else "skipped"] += 1

    @pytest.hookimpl(tryfirst=True)  # before conftest.py stops the last tenant itself
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.current is not None:
            self._finish(self.current)
        for notebook, outcome in self.notebooks.items():
            if outcome["failed"]:
                log = self._tenant_dir(notebook) / "tenant.log"
                outcome["tenant_log"] = (
                    log.read_text(errors="replace")[-2000:] if log.exists() else ""
                )
        self.report_path.write_text(json.dumps(self.notebooks, indent=1))
        # The tenants' data dirs hold their signing keys and admin keys: nothing to leave in /tmp.
        shutil.rmtree(self.root, ignore_errors=True)
