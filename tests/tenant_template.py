"""What the suite's tenant template holds: imported once, in its fork server only.

tests/forked_tenants.py starts the test processes' tenants as forks of one process that has
imported this module: the served tenant's modules (the command line, the server, uvicorn's
HTTP protocol and lifespan, which it loads when it starts serving). A fork starts with them in
memory instead of importing them again. Nothing here runs anything: no event loop, thread,
socket, database or key exists before the fork, and the checks at the end fail the template
if one does.
"""

from __future__ import annotations

import gc
import threading

import uvicorn.lifespan.on
import uvicorn.loops.asyncio
import uvicorn.protocols.http.httptools_impl  # noqa: F401

import session_tutorial.provider.__main__
import session_tutorial.provider.server  # noqa: F401
import tests.forked_tenants  # noqa: F401  # the forks' entry point

_running = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
assert not _running, f"the tenant template must not run threads before forking: {_running}"

# What the template imported stays shared with every fork: the collector need not walk it
# (and touch, so copy, its pages) in each tenant.
gc.freeze()
