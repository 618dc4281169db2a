"""The suite's in-process tenant starts fork a warm template instead of starting Python cold.

``background.start`` runs ``python -m session_tutorial.provider serve ...``: a cold start
imports uvicorn, Starlette, the endpoints and ``cryptography`` before it answers (about 0.27 s
of CPU here, nine tenths of it imports), and the test processes start a few dozen tenants per
run (their session tenants, the fault and connection tests' own ones).

Here a fork server (tests/forks.py: the standard library's ``multiprocessing`` fork server, a
private one per test process; the kernels' one preloads another template) imports
tests/tenant_template.py once; each tenant is a fork of it that becomes what the command would
be: a new session (process group) of its own, the caller's working directory and environment,
stdin from /dev/null and stdout and stderr to the tenant's log, and then the command line's own
``main(["serve", ...])``. From there on it is the served tenant: it binds its port, writes its
state file, answers over real HTTP, starts its signing helpers cold (``sys.executable -m``), is
stopped by SIGTERM and killed by SIGKILL as before; the fork server reaps it.

What differs from a cold start: the template's modules are already imported (none reads the
environment, the clock or the data dir at import; tenant_template.py checks that nothing runs),
and the tenant's parent is the fork server, not the test process (``background.stop`` then
waits for it by its pid, as for a tenant another process started). Only ``background.start``
called inside a test process forks, and in the kernels of tests/notebooks_alone.py's run, which
ask the test process's server (:func:`fork_from`: its socket and "alive" pipe are given to each
kernel; those tenants outlive their kernel, as a cold one does). The command line's ``provider
start``, the other notebook kernels (nbval in sequence, the run without teaching controls) and
JupyterLab start their tenants cold, as a learner's do; test_background compares a forked tenant
with a cold one.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import IO, Any

from session_tutorial.provider import background
from tests.forks import Fd, Forked, Handle, TemplateServer

TEMPLATE = "tests.tenant_template"
_SERVER = TemplateServer(TEMPLATE)
_COMMAND = ["-m", "session_tutorial.provider", "serve"]


def _tenant(argv: list[str], env: dict[str, str], cwd: str, log: int) -> None:
    """In the fork: become ``python -m session_tutorial.provider ARGV`` in ``cwd`` with ``env``."""
    os.setsid()  # as start_new_session=True: its own session and process group
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    from session_tutorial.provider import __main__ as command

    sys.argv = [command.__file__, *argv]  # as `python -m` sets it
    command.gc.disable()  # as `python -m` runs it (the template froze what it loaded)
    sys.exit(command.main(argv))


def spawn_tenant(cmd: list[str], log: IO[bytes], server: TemplateServer = _SERVER) -> Forked | Any:
    """``background.start``'s spawn: a fork of the template for this interpreter's
    ``-m session_tutorial.provider serve``, else the cold Popen."""
    if cmd[1:4] != _COMMAND or not os.path.samefile(cmd[0], sys.executable):
        return background.popen(cmd, log)
    return server.start(_tenant, (cmd[3:], dict(os.environ), os.getcwd(), Fd(log.fileno())))


def handle() -> Handle:
    """What a kernel needs to fork its tenants from this process's template server."""
    return _SERVER.handle()


def fork_from(tenants: Handle) -> None:
    """In a kernel (tests/forked_kernels.py) given ``tenants``: its ``background.start`` forks
    from that template server, another process's, instead of starting Python cold. The tenant
    outlives the kernel, as a cold one started in its own session does."""
    background.spawn = functools.partial(spawn_tenant, server=TemplateServer.attach(tenants))
