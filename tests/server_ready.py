"""Waiting for a server that says it is running to accept connections."""

from __future__ import annotations

import re
import select
import socket
import time
from typing import IO


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


def read_until(
    stream: IO[str], lines: list[str], needle: str | re.Pattern[str], timeout: float
) -> bool:
    """Read ``stream`` into ``lines`` until a line holds ``needle`` (a string, or a pattern it
    matches somewhere); False at its end or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([stream], [], [], deadline - time.monotonic())
        if not ready:
            return False
        line = stream.readline()
        if not line:
            return False
        lines.append(line)
        if needle.search(line) if isinstance(needle, re.Pattern) else needle in line:
            return True
    return False
