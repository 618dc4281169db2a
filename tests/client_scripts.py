"""The fault and session tests' client scripts: forks of a warm template, not cold ``python -c``.

test_faults and test_session run short SessionManager scripts in processes of their own: a
client SIGKILLed after the tenant answered and before its keychain write, two processes renewing
one keychain entry at the same moment. A cold ``python -c`` spends about 0.3 s of CPU importing
the client (httpx, PyJWT, keyring's Secret Service backend, cryptography) before its first line.

Here each script is a fork of a template (tests/client_template.py, in a fork server of its own:
tests/forks.py) that imported those modules once. The fork then runs the script as ``python -c
CODE ARGS`` would: in the ``__main__`` namespace, with ``sys.argv == ["-c", *ARGS]``, the
caller's environment and working directory, a fresh interpreter's ``sys.path`` with "" first,
and as its standard streams the pipes the caller reads and writes (:class:`Script`). Each is a
process of its own, as the tests need: its own pid, D-Bus connection to the keychain, file
lock and signals (SIGKILL kills it alone; the exit status of a killed one is ``-SIGKILL``).

What differs from a cold start: the template's modules are already imported (the template
checks that none chose a keychain, opened a connection or started a thread, and records what
their imports read from the environment: a script whose environment differs there replaces
its fork with the cold command, ``execve``); the script's parent is the fork server; and it
ends as a multiprocessing child does (``os._exit`` after flushing its streams, no ``atexit``
handlers), which none of these scripts uses.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from typing import IO

from tests.forks import Fd, Forked, TemplateServer

TEMPLATE = "tests.client_template"
_SERVER = TemplateServer(TEMPLATE)


def _script(code: str, args: list[str], env: dict[str, str], cwd: str, fds: list[int]) -> None:
    """In the fork: become ``python -c CODE ARGS`` in ``cwd`` with ``env`` and streams ``fds``."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    warm = importlib.import_module(TEMPLATE)  # imported already: the server preloaded it
    if warm.ENVIRONMENT.differs(env):
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-c", code, *args], env)  # as a cold start
    # The streams a cold interpreter opens on them (multiprocessing gave the fork /dev/null).
    sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own stdin, never closed
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False, errors="backslashreplace")  # noqa: SIM115
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    sys.path[:] = ["", *warm.FRESH_PATH]
    sys.argv = ["-c", *args]
    exec(compile(code, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})


class Script:
    """A running script: ``stdin``, ``stdout`` and ``stderr`` are text pipes to it, as a
    ``Popen(..., stdin=PIPE, stdout=PIPE, stderr=PIPE, text=True)`` has them."""

    def __init__(self, process: Forked, stdin: IO[str], stdout: IO[str], stderr: IO[str]) -> None:
        self.process, self.pid = process, process.pid
        self.stdin, self.stdout, self.stderr = stdin, stdout, stderr

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def communicate(self, timeout: float = 60) -> tuple[str, str]:
        """Close its stdin, read both of its outputs to the end and wait for it to exit."""
        if not self.stdin.closed:
            self.stdin.close()
        err: list[str] = []
        reader = threading.Thread(target=lambda: err.append(self.stderr.read()), daemon=True)
        reader.start()
        try:
            out = self.stdout.read()
            reader.join(timeout)
            self.process.wait(timeout)
        finally:
            self.stdout.close()
            self.stderr.close()
        return out, "".join(err)

    def kill(self) -> None:
        self.process.kill()


def run_script(code: str, *args: str) -> Script:
    """Start ``python -c CODE ARGS`` as a fork of the client template (see the module)."""
    pipes = [os.pipe() for _ in range(3)]  # stdin, stdout, stderr: (read end, write end)
    theirs = [pipes[0][0], pipes[1][1], pipes[2][1]]
    try:
        forked = _SERVER.start(
            _script, (code, list(args), dict(os.environ), os.getcwd(), [Fd(fd) for fd in theirs])
        )
    finally:
        for fd in theirs:
            os.close(fd)
    return Script(
        forked,
        open(pipes[0][1], "w"),
        open(pipes[1][0]),
        open(pipes[2][0]),
    )
