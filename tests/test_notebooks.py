"""The notebooks as a learner meets them: structure, secrets, solutions, and other tenants.

The committed outputs themselves are compared by nbval (``pytest --nbval``, run by
``make test`` over ``notebooks/`` in sequence). These tests add what nbval does not check.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from scripts.execute_notebooks import PLACEHOLDER_ROOT, clean
from session_tutorial import MemoryStore, verify_id_token
from session_tutorial.provider import background
from session_tutorial.provider.config import DEMO_USERS
from session_tutorial.tutorial import Tutorial
from tests.kernels import SocketFileKernelManager

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
SOLUTIONS = ROOT / "notebooks" / "solutions"
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# Refresh tokens and device codes are long URL-safe random strings; prose and ids are not.
OPAQUE = re.compile(
    r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Z])"
    r"(?=[A-Za-z0-9_-]*[a-z])[A-Za-z0-9_-]{40,}(?![A-Za-z0-9_-])"
)


def _saved_text(path: Path) -> str:
    """Everything a notebook file keeps besides its sources: outputs and metadata."""
    nb = json.loads(path.read_text())
    return json.dumps(nb.get("metadata", {})) + "".join(
        json.dumps(c.get("outputs", [])) + json.dumps(c.get("metadata", {})) for c in nb["cells"]
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_holds_no_secret(path: Path) -> None:
    saved = _saved_text(path)
    assert not JWT.search(saved), "a JWT-shaped string"
    assert not OPAQUE.search(saved), "a refresh-token-shaped string"
    for _email, password, _name in DEMO_USERS:
        assert password not in saved, "a demo password"
    assert "widgets" not in json.loads(path.read_text())["metadata"], "saved widget state"


# An interpreter path in an output: ``<folder>/.venv/bin/python`` (in JSON, so no backslash).
VENV_PYTHON = re.compile(r"""(/[^\s`'"\\]+)/\.venv/bin/python""")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_name_no_folder_of_the_machine_that_ran_them(path: Path) -> None:
    saved = _saved_text(path)
    assert str(ROOT) not in saved
    assert {m.group(1) for m in VENV_PYTHON.finditer(saved)} <= {PLACEHOLDER_ROOT}


def test_make_notebooks_writes_the_placeholder_for_this_checkouts_folder() -> None:
    nb = nbformat.v4.new_notebook()
    command = f"{ROOT}/.venv/bin/python -m session_tutorial status"
    nb.cells = [nbformat.v4.new_code_cell("tutorial.commands()")]
    nb.cells[0].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text=[command, "\n"]),
        nbformat.v4.new_output("execute_result", data={"text/plain": command}),
    ]

    clean(nb)

    expected = f"{PLACEHOLDER_ROOT}/.venv/bin/python -m session_tutorial status"
    assert nb.cells[0].outputs[0].text == [expected, "\n"]
    assert nb.cells[0].outputs[1].data["text/plain"] == expected
    nbformat.validate(nb)


def test_the_secret_scan_catches_what_it_claims_to() -> None:
    assert JWT.search('"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJlX2J5dGVz"')
    assert OPAQUE.search(" ZDqCARH0ma0Ja45ud03TZMDhpcGnoR-H3qHby4qq7qNSowlH ")
    assert not OPAQUE.search("session_tutorial.provider.background_ensure_running_helper")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_opens_with_its_goal_and_closes_with_key_points_and_a_link(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    first, last = nb.cells[0].source, nb.cells[-1].source
    assert first.startswith(f"# {path.name[:2]} · ")
    for heading in ("**Goal:**", "**You will learn", "**You need:**", "**Time:**"):
        assert heading in first, heading
    assert "## Key points" in last
    if path != NOTEBOOKS[-1]:
        assert f"({NOTEBOOKS[NOTEBOOKS.index(path) + 1].name})" in last


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_cells_are_short_and_outputs_deterministic(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert [c.execution_count for c in code if c.outputs or c.execution_count] == list(
        range(1, 1 + len([c for c in code if c.outputs or c.execution_count]))
    )
    assert all(len(c.source.splitlines()) <= 12 for c in code)


def test_most_outputs_are_compared_by_nbval() -> None:
    with_output = ignored = 0
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and cell.outputs:
                with_output += 1
                tags = cell.metadata.get("tags", [])
                ignored += "nbval-ignore-output" in tags or "nbval-skip" in tags
    assert with_output and (with_output - ignored) / with_output >= 0.85


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_solution_the_notebook_loads_exists(path: Path) -> None:
    for cell in nbformat.read(path, as_version=4).cells:
        for name in re.findall(r"# %load (solutions/\S+\.py)", cell.source):
            assert (ROOT / "notebooks" / name).exists(), name


# -- links: each opens something in JupyterLab, as `make lab` (root: notebooks/) and Binder
# (root: the repository, opening notebooks/) serve it; relative links resolve from notebooks/.
MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HTML_LINK = re.compile(r"""href=["']([^"']+)["']""")


def _links(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return MARKDOWN_LINK.findall(text) + HTML_LINK.findall(text)


def _headings(path: Path) -> set[str]:
    """The anchors JupyterLab gives a notebook's headings: their text, spaces as hyphens."""
    nb = nbformat.read(path, as_version=4)
    found = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for title in re.findall(r"^#+\s+(.+?)\s*$", cell.source, flags=re.M):
                found.add(title.replace(" ", "-"))
    return found


def link_problems(path: Path, served: Path) -> list[str]:
    """What is wrong with each link of the notebook at ``path`` when ``served`` is the root."""
    problems = []
    for link in _links(path):
        if re.match(r"^[a-z]+:", link):
            continue  # an absolute URL (none today): not a file of this repository
        target, _, anchor = link.partition("#")
        file = (path.parent / target).resolve() if target else path.resolve()
        if not file.is_relative_to(served.resolve()):
            problems.append(f"{link}: outside {served.name}/, which `make lab` serves")
        elif not file.is_file():
            problems.append(f"{link}: no such file")
        elif anchor and file.suffix == ".ipynb" and anchor not in _headings(file):
            problems.append(f"{link}: no such heading")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_link_in_a_notebook_opens_a_file_jupyterlab_serves(path: Path) -> None:
    assert link_problems(path, ROOT / "notebooks") == []


def test_the_link_check_catches_dead_links_and_links_out_of_the_served_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "README.md").write_text("# A readme\n")
    served = tmp_path / "notebooks"
    served.mkdir()
    nb = nbformat.v4.new_notebook()
    links = "[README](../README.md#design), [gone](gone.py), [ok](#A-heading)"
    nb.cells = [nbformat.v4.new_markdown_cell(f"# A heading\n\nSee the {links}.")]
    nbformat.write(nb, served / "probe.ipynb")
    assert link_problems(served / "probe.ipynb", served) == [
        "../README.md#design: outside notebooks/, which `make lab` serves",
        "gone.py: no such file",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS[1:-1], ids=lambda p: p.name)
def test_every_next_link_after_a_session_notebook_says_to_restart_the_kernel(path: Path) -> None:
    # Each notebook is a launch of the app: the next one must start from a fresh kernel.
    last = nbformat.read(path, as_version=4).cells[-1].source
    assert "restart the kernel" in last.split("**Next:**", 1)[1].lower().replace("\n", " ")


def test_the_script_notebook_06_runs_is_the_example_the_readme_shows() -> None:
    ours, example = ROOT / "notebooks" / "whoami.py", ROOT / "examples" / "whoami.py"
    assert ours.read_text() == example.read_text(), f"copy {example} to {ours}"


# -- the solutions, run as a learner would after the cells before them -------------------------
@pytest.fixture
def tutorial(local_tenant: object) -> Iterator[Tutorial]:
    tutorial = Tutorial.start(store=MemoryStore())
    yield tutorial
    tutorial.close()


def _run(name: str, namespace: dict[str, object], capsys: pytest.CaptureFixture[str]) -> str:
    exec((SOLUTIONS / name).read_text(), namespace)
    return capsys.readouterr().out


@pytest.mark.integration
def test_solution_forge_a_token(tutorial: Tutorial, capsys: pytest.CaptureFixture[str]) -> None:
    tutorial.ensure_signed_in()
    namespace = {
        "tutorial": tutorial,
        "credentials": tutorial.session.credentials(),
        "verify_id_token": verify_id_token,
    }
    out = _run("01_forge_a_token.py", namespace, capsys)
    assert out.startswith("Not fooled: ")


@pytest.mark.integration
def test_solution_tamper_with_pkce(tutorial: Tutorial, capsys: pytest.CaptureFixture[str]) -> None:
    namespace = {"tutorial": tutorial, "session": tutorial.session}
    out = _run("01_tamper_with_pkce.py", namespace, capsys)
    assert out.splitlines() == [
        "The app's receiver answered 400: Not this sign-in",
        "The tenant refused: The tenant refused the authorization code (Failed to verify code "
        "verifier.): start the sign-in again.",
    ]
    assert tutorial.store.load() is None  # nothing was saved


@pytest.mark.integration
def test_solution_greet(tutorial: Tutorial, capsys: pytest.CaptureFixture[str]) -> None:
    tutorial.ensure_signed_in()
    empty = Tutorial.start(store=MemoryStore())
    out = _run("02_greet.py", {"tutorial": tutorial, "first_launch": empty.session}, capsys)
    empty.close()
    assert out.splitlines() == ["Welcome back, Ada Lovelace!", "Please sign in."]


@pytest.mark.integration
def test_solution_renew_or_explain(tutorial: Tutorial, capsys: pytest.CaptureFixture[str]):
    tutorial.ensure_signed_in()
    out = _run("03_renew_or_explain.py", {"tutorial": tutorial}, capsys)
    assert out.splitlines() == ["Renewed.", "Offline — we'll try again later."]


@pytest.mark.integration
def test_solution_force_sign_out(tutorial: Tutorial, capsys: pytest.CaptureFixture[str]) -> None:
    tutorial.ensure_signed_in()
    out = _run(
        "04_force_sign_out.py",
        {"tutorial": tutorial, "offline": tutorial.offline_session()},
        capsys,
    )
    assert "Signed out on this machine only: the keychain entry is deleted" in out
    assert "The keychain holds no entry for this app." in out


@pytest.mark.integration
def test_solution_deny_a_device(tutorial: Tutorial, capsys: pytest.CaptureFixture[str]) -> None:
    from session_tutorial.widgets import DeviceLoginWidget

    namespace = {
        "tutorial": tutorial,
        "session": tutorial.session,
        "DeviceLoginWidget": DeviceLoginWidget,
    }
    assert _run("05_deny_a_device.py", namespace, capsys).strip() == "DeviceLoginWidget(denied)"


@pytest.mark.integration
def test_solution_expiry_script_runs_as_a_script_as_the_exercise_asks(local_tenant) -> None:
    # The real keychain (the launcher's) and the real tenant: what a script of the learner's has.
    tutorial = Tutorial.start()
    try:
        tutorial.ensure_signed_in()
        note = tutorial.run_script(str(SOLUTIONS / "06_expiry_script.py"))
        assert re.fullmatch(
            r"process 1: ada@example.com: the access token has about \d+ minutes left\n"
            r"the tenant saw \d+ refresh\(es\)",
            note,
        ), note
    finally:
        tutorial.start_signed_out()
        tutorial.close()


# -- each notebook alone, and against a tenant without teaching controls ------------------------
@dataclass(frozen=True)
class AloneRun:
    """One pytest under one new launcher that ran every notebook through nbval, each as if alone
    (tests/notebooks_alone.py): what became of each notebook, and the run's own output."""

    notebooks: dict[str, dict[str, Any]]
    returncode: int
    output: str


@pytest.fixture(scope="session")
def notebooks_alone(tmp_path_factory: pytest.TempPathFactory) -> AloneRun:
    # A new launcher: a new private keychain, emptied again before each notebook. One pytest
    # for all of them (each notebook still gets its own kernel, and its own new tenant): a
    # pytest and a launcher of their own cost each notebook about 6 s of CPU to start.
    report = tmp_path_factory.mktemp("notebooks-alone") / "report.json"
    unused = ("hypothesispytest", "anyio", "xdist", "xdist.looponfail", "cacheprovider")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "session_tutorial.launcher",
            "--",
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "--color=no",  # nbval colours its diffs unless told: plain text in the messages
            *[arg for name in unused for arg in ("-p", f"no:{name}")],
            "-p",
            "tests.notebooks_alone",
            f"--notebooks-alone-report={report}",
            *[str(path.relative_to(ROOT)) for path in NOTEBOOKS],
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={
            k: v
            for k, v in os.environ.items()
            if k not in ("DBUS_SESSION_BUS_ADDRESS", "SESSION_TUTORIAL_KEYCHAIN")
        },
    )
    notebooks = json.loads(report.read_text()) if report.exists() else {}
    return AloneRun(notebooks, result.returncode, result.stdout[-3000:] + result.stderr[-2000:])


@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_passes_alone_in_a_fresh_kernel_with_an_empty_keychain(
    path: Path, notebooks_alone: AloneRun
) -> None:
    ours = notebooks_alone.notebooks.get(str(path.relative_to(ROOT)))
    assert ours is not None, f"{path.name} did not run:\n{notebooks_alone.output}"
    assert not ours["failed"], (
        "\n\n".join(f"{f['cell']} ({f['when']}):\n{f['text'][-3000:]}" for f in ours["failed"])
        + f"\n\nThe tenant's log ends with:\n{ours.get('tenant_log', '')}"
    )
    code_cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert ours["passed"] + ours["skipped"] == len(code_cells), "not every cell ran"
    assert ours["keychain_items_left"] == 0, "the keychain was not empty"
    others = [
        n for name, n in notebooks_alone.notebooks.items() if name != str(path.relative_to(ROOT))
    ]
    tenant = ours["tenant"]
    assert tenant["url"] and tenant["pid"], (
        "the notebook's kernel started no tenant in the data dir it was given "
        "(each notebook opens with Tutorial.start())"
    )
    assert all(tenant["url"] != n["tenant"]["url"] for n in others), "a tenant another used"
    assert all(ours["tenant_dir"] != n["tenant_dir"] for n in others), "a tenant another used"
    # A failure elsewhere in the run shows in its own notebook's test; nothing else may fail.
    assert notebooks_alone.returncode == 0 or any(
        n["failed"] for n in notebooks_alone.notebooks.values()
    ), notebooks_alone.output


@pytest.fixture
def tenant_without_teaching(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    running = background.start(tmp_path, port=0, quiet=True, extra_args=("--no-teaching",))
    monkeypatch.setenv("AUTH0_DOMAIN", running.url)
    monkeypatch.setenv("AUTH0_CLIENT_ID", "tutorial-app")
    yield running.url
    background.stop(tmp_path)


@pytest.mark.integration
def test_notebooks_run_against_a_tenant_without_teaching_controls(
    tenant_without_teaching: str,
) -> None:
    skipped = 0
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        NotebookClient(
            nb,
            timeout=120,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
            # As nbval does: the kernel is killed once its cells ran, not asked to exit and
            # waited for (up to 5 s when a notebook left a thread running).
            shutdown_kernel="immediate",
            kernel_manager_class=SocketFileKernelManager,  # no loopback ports to race for
        ).execute()
        text = json.dumps([c.get("outputs", []) for c in nb.cells])
        assert '"output_type": "error"' not in text, path.name
        skipped += text.count("Skipped: this tenant has no teaching controls")
    assert skipped >= 2


# -- what the notebooks' helpers say when a learner did things by hand -------------------------
@pytest.mark.integration
def test_ensure_signed_in_says_whether_it_restored_or_signed_in(tutorial: Tutorial) -> None:
    assert tutorial.ensure_signed_in().startswith("Ready: no saved session, so signed Ada")
    assert tutorial.ensure_signed_in() == (
        "Ready: restored the session of Ada Lovelace saved in the keychain."
    )


@pytest.mark.integration
def test_playing_the_person_leaves_a_device_login_approved_by_hand_as_it_is(
    tutorial: Tutorial,
) -> None:
    from session_tutorial.widgets import DeviceLoginWidget

    device = DeviceLoginWidget(tutorial.session)
    assert "no code" in tutorial.approve_device_login(device)  # not started: nothing sent
    device.begin()
    assert "Approved" in tutorial.approve_device_login(device)  # the learner, by hand
    device.interval = 0.01
    device.start()
    assert device.wait(timeout=10) is not None
    # The notebook's next cells, run in order: no HTTP 400, no new code, still signed in.
    assert "signed in already" in tutorial.approve_device_login(device)
    assert device.poll_once() is not None and device.state == "signed in"


def test_outside_jupyterlab_the_logout_return_address_is_jupyterlabs_usual_one() -> None:
    # Inside JupyterLab it is that JupyterLab's address: tests/test_browser.py checks it.
    assert Tutorial.lab_url(None) == "http://localhost:8888/lab"  # type: ignore[arg-type]
