"""What every suite kernel imports anyway, for the kernel templates to import once.

At its start a kernel imports IPython's debugger, completer, logger, inspector and storemagic,
ipykernel's debugger module and tornado's queues; each notebook then imports httpx's transport
(httpcore, h11, anyio, certifi, the IDNA codec) and the local tenant's client side (its start,
its control and key files, filelock, sqlite3). tests/kernel_template.py and
tests/lab_kernel_template.py import them before forking, each checking that none of them reads
the environment at import.
"""

from __future__ import annotations

import importlib

EVERY_KERNEL = (
    "encodings.idna",
    "sqlite3",
    "stringprep",
    "anyio",
    "certifi",
    "filelock",
    "httpcore",
    "ipykernel.debugger",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.logger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "tornado.gen",
    "tornado.locks",
    "tornado.platform.asyncio",
    "tornado.queues",
    "session_tutorial.provider.background",
    "session_tutorial.provider.control",
    "session_tutorial.provider.keyfiles",
)


def import_every_kernel() -> None:
    """Import :data:`EVERY_KERNEL` (in a template, before it forks)."""
    for name in EVERY_KERNEL:
        importlib.import_module(name)
