"""A client script forked from the warm template (tests/client_scripts.py) is what ``python -c``
would be: the same argv, namespace, path, working directory, environment and streams, a process
of its own, its exit status; only the template's modules are already there."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.client_scripts import run_script

PROBE = """\
import json, os, sys
line = sys.stdin.readline()
template = sys.modules.get("tests.client_template")
print(json.dumps({
    "argv": sys.argv, "name": __name__, "path": sys.path, "cwd": os.getcwd(), "pid": os.getpid(),
    "env": os.environ.get("CLIENT_SCRIPT_PROBE"), "stdin": line,
    "streams": [s.fileno() for s in (sys.stdin, sys.stdout, sys.stderr)],
    "warm": "session_tutorial.session" in sys.modules,
    "read_at_import": sorted(template.ENVIRONMENT.read) if template else None,
}), flush=True)
print("to stderr", file=sys.stderr)
sys.exit(3)
"""


def forked(*args: str) -> tuple[dict[str, object], str]:
    script = run_script(PROBE, *args)
    script.stdin.write("hello\n")
    script.stdin.flush()
    out, err = script.communicate(timeout=60)
    assert script.returncode == 3, err
    return json.loads(out), err


def test_a_forked_script_is_what_python_c_would_be(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLIENT_SCRIPT_PROBE", "given")
    args = ("a b", "--c")
    fork, fork_err = forked(*args)
    cold_run = subprocess.run(
        [sys.executable, "-c", PROBE, *args], input="hello\n", capture_output=True, text=True
    )
    assert cold_run.returncode == 3, cold_run.stderr
    cold = json.loads(cold_run.stdout)

    assert fork_err == cold_run.stderr == "to stderr\n"
    assert fork.pop("pid") not in (os.getpid(), cold.pop("pid"))  # a process of its own
    assert fork.pop("warm") is True and cold.pop("warm") is False  # the difference
    assert fork.pop("read_at_import") is not None and cold.pop("read_at_import") is None
    assert fork == cold
    assert fork["argv"] == ["-c", *args] and fork["env"] == "given" and fork["stdin"] == "hello\n"


def test_a_script_whose_environment_differs_where_the_imports_read_it_starts_cold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fork, _ = forked()
    read = fork["read_at_import"]
    assert isinstance(read, list) and read, "the template's imports read nothing: test another"
    monkeypatch.setenv(read[0], f"{os.environ.get(read[0])}-but-another")
    again, err = forked()
    assert again["warm"] is False and again["read_at_import"] is None, err  # cold, as execve'd
    assert again["argv"] == fork["argv"] and again["path"] == fork["path"]
