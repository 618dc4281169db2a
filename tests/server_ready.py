"""Waiting for a server that says it is running to accept connections."""

from __future__ import annotations

import socket
import time


def wait_until_listening(host: str, port: int, timeout: float = 30.0) -> None:
    """Return once ``host:port`` accepts a TCP connection; AssertionError after ``timeout``.

    Jupyter Server logs "is running at <url>" before its event loop has bound the port (it
    binds in a loop callback), so the banner alone is no proof it listens yet.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"nothing listens on {host}:{port} after {timeout} s"
                ) from None
            time.sleep(0.02)  # the condition is polled: a refused connect returns at once
