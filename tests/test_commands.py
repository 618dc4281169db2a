"""Every command a message or a notebook tells a learner to run works as written.

Where it is run: JupyterLab's terminal as ``make lab`` starts it. That terminal has the PATH of
the shell that ran ``make`` (no ``.venv/bin``: neither ``python`` nor ``jupyter`` is the
tutorial's), starts in ``notebooks/`` (the server's root) and inherits the server's environment
(the keychain's D-Bus address, ``SESSION_TUTORIAL_TENANT_DIR``). Binder's terminal has its
Python on PATH and starts in the repository; a command that names ``sys.executable`` works in
both. Each command found is run there with ``bash -c``, exactly as spelled, against a tenant of
the test's own.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from server_ready import drained, read_until

from session_tutorial import status
from session_tutorial.client import AuthClient
from session_tutorial.errors import (
    AccountBlocked,
    KeychainUnavailable,
    NetworkError,
    WrongCredentials,
)
from session_tutorial.provider import background
from session_tutorial.store import HOW_TO_GET_A_KEYCHAIN
from session_tutorial.tenant import Tenant
from session_tutorial.tutorial import Tutorial
from session_tutorial.widgets.messages import explain
from tests.provider_helpers import data_dir_with_key

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell's quoting"),
]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
BACKTICKED = re.compile(r"`([^`\n]+)`")
PYTHON = shlex.quote(sys.executable)
# The first words of a command that does not work in JupyterLab's terminal as make lab starts it.
NOT_ON_PATH = ("python ", "python3 ", "jupyter ", "pip ")
EMAIL = "ada@example.com"


def commands_in(text: str) -> list[str]:
    """The backticked commands of ``text`` that run this interpreter."""
    return [c for c in BACKTICKED.findall(text) if c.startswith(PYTHON + " ")]


def messages(tenant: Tenant, lock_dir: Path, local_tenant) -> dict[str, str]:
    """Every message that names a command, as the learner sees it for the local tenant."""
    client = AuthClient(tenant)
    try:
        for _ in range(10):  # brute-force protection blocks the account after 10 wrong tries
            with pytest.raises(WrongCredentials):
                client.login(EMAIL, "not-the-password")
        with pytest.raises(AccountBlocked) as blocked:
            client.login(EMAIL, "not-the-password")
    finally:
        local_tenant.unblock(EMAIL)
        client.close()
    down = Tenant(f"http://127.0.0.1:{background.free_port()}", "tutorial-app")
    with AuthClient(down) as offline, pytest.raises(NetworkError) as unreachable:
        offline.userinfo("not-a-token")
    return {
        "client: blocked": str(blocked.value),
        "client: unreachable": str(unreachable.value),
        "widget: blocked": explain(blocked.value, tenant, email=EMAIL).text,
        "widget: unreachable": explain(NetworkError("did not answer"), tenant).text,
        "widget: no keychain": explain(KeychainUnavailable("No keychain."), tenant).text,
        "status: start": status.START_TENANT,
        "status: clear": status.CLEAR_ENTRY,
        "store: keychain": HOW_TO_GET_A_KEYCHAIN,
        "idtoken: clock": _clock_message(tenant, lock_dir),
    }


def _clock_message(tenant: Tenant, lock_dir: Path) -> str:
    """The message of an ID token issued "later than now": a client clock an hour behind."""
    from session_tutorial import SessionManager, TokenVerificationFailed, verify_id_token
    from session_tutorial.store import MemoryStore

    with SessionManager(tenant, MemoryStore(), lock_dir=lock_dir) as m:
        m.login(EMAIL, "Analytical-Engine-1843")
        id_token = m.credentials().id_token
    assert id_token is not None
    with pytest.raises(TokenVerificationFailed) as caught:
        verify_id_token(id_token, tenant, now=tenant.clock() - 3600)
    return str(caught.value)


@pytest.fixture(scope="module")
def learner_messages(_tenant_process, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """messages(), made once for the module's two tests: they only read its text (11 Argon2id
    checks of the tenant's each time: ten wrong passwords, one sign-in)."""
    _tenant_process.control.reset()  # what local_tenant does: no clock or block left behind
    tenant = Tenant(_tenant_process.url, "tutorial-app", clock=_tenant_process.clock)
    return messages(tenant, tmp_path_factory.mktemp("locks"), _tenant_process)


def notebook_outputs() -> str:
    """The notebooks' committed outputs, naming this interpreter where they name another one."""
    text = "\n".join(
        json.dumps(cell.get("outputs", []))
        for path in NOTEBOOKS
        for cell in nbformat.read(path, as_version=4).cells
    )
    # The machine that ran them had its interpreter elsewhere (nbval-sanitize.cfg masks it).
    return re.sub(
        r"[^\s`\"']*python[0-9.]* -m session_tutorial", f"{PYTHON} -m session_tutorial", text
    )


def test_no_message_or_notebook_names_a_program_that_is_not_on_the_terminals_path(
    learner_messages: dict[str, str],
) -> None:
    for where, text in learner_messages.items():
        for command in BACKTICKED.findall(text):
            assert not command.startswith(NOT_ON_PATH), f"{where}: `{command}`"
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "markdown":
                continue
            for command in BACKTICKED.findall(cell.source):
                assert not command.startswith(NOT_ON_PATH), f"{path.name}: `{command}`"
            # `make ...` works only in the repository's folder, not where the terminal starts.
            assert not re.search(r"\brun `make ", cell.source), f"{path.name}: run `make ...`"


@pytest.fixture
def terminal_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """JupyterLab's terminal's environment, with a tenant data dir of the test's own."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "AUTH0_"))}
    env.update(
        PATH=path,
        # Its tenant's data dir holds this test process's signing key, as an earlier start
        # leaves it: the commands are the subject here, not the key (no RSA key made).
        SESSION_TUTORIAL_TENANT_DIR=str(data_dir_with_key(tmp_path / "tenant")),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        BROWSER="true",  # Jupyter opens no browser window from a test
    )
    yield env
    background.stop(tmp_path / "tenant")


def run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-c", command],
        cwd=ROOT / "notebooks",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_command_a_message_or_notebook_gives_runs_as_written(
    learner_messages: dict[str, str], terminal_env: dict[str, str]
) -> None:
    found = {c for text in learner_messages.values() for c in commands_in(text)}
    found |= set(commands_in(notebook_outputs()))
    found |= set(commands_in(_backticked(Tutorial.commands(None))))  # type: ignore[arg-type]
    found = {c.replace(" EMAIL", f" {EMAIL}") for c in found if "<" not in c}  # templates
    start = f"{PYTHON} -m session_tutorial.provider start"
    stop = f"{PYTHON} -m session_tutorial.provider stop"
    lab = next(c for c in found if " -m jupyter lab" in c)
    assert start in found and f"{PYTHON} -m session_tutorial.provider unblock {EMAIL}" in found
    # The tenant's commands, against a tenant of the test's own: start it first, stop it last.
    for command in [start, *sorted(found - {start, stop, lab}), stop]:
        result = run(command, terminal_env)
        ok = (0, status.SIGN_IN_NEEDED) if command.endswith(" status") else (0,)
        assert result.returncode in ok, f"{command}\n{result.stdout}\n{result.stderr}"
    _starts_jupyter(lab, terminal_env)


def _backticked(note: str) -> str:
    """Tutorial.commands() indents each command under what it does: backtick them as messages do."""
    return "\n".join(f"`{line.strip()}`" for line in note.splitlines() if line.startswith("    "))


def _starts_jupyter(command: str, env: dict[str, str]) -> None:
    """Run the command that starts JupyterLab until it says where it runs, then stop it."""
    proc = subprocess.Popen(
        ["bash", "-c", command],
        cwd=ROOT / "notebooks",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        assert read_until(proc.stdout, lines, "is running at", 60), "".join(lines[-30:])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        if proc.stdout is not None:
            drained(proc.stdout, 30)
            proc.stdout.close()
