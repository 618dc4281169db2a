"""Waiting for a server that says it is running to accept connections."""

from __future__ import annotations

import re
import socket
import threading
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
) -> str | None:
    """Read ``stream`` into ``lines`` until a line holds ``needle`` (a string, or a pattern it
    matches somewhere); return that line, or None at the stream's end or the timeout.

    A thread reads the stream line by line, and goes on to its end, so the process never
    blocks on a full pipe (join it with :func:`drained`). Waiting with ``select()`` on the
    stream instead missed lines: a line already in Python's buffer, read with the one before
    it, leaves nothing for ``select()`` to see, and the wait ran out with the line read.
    """
    start = len(lines)
    changed = threading.Condition()
    ended: list[bool] = []

    def drain() -> None:
        try:
            for line in stream:
                with changed:
                    lines.append(line)
                    changed.notify_all()
        except (OSError, ValueError):  # closed under it: the caller is done with it
            pass
        finally:
            with changed:
                ended.append(True)
                changed.notify_all()

    def match() -> str | None:
        for line in lines[start:]:
            if needle.search(line) if isinstance(needle, re.Pattern) else needle in line:
                return line
        return None

    reader = threading.Thread(target=drain, daemon=True, name=f"read_until {needle!r}")
    _READERS[id(stream)] = reader
    reader.start()
    with changed:
        changed.wait_for(lambda: match() is not None or bool(ended), timeout)
        return match()


_READERS: dict[int, threading.Thread] = {}


def drained(stream: IO[str], timeout: float) -> None:
    """Wait up to ``timeout`` for :func:`read_until`'s reader of ``stream`` to reach its end."""
    reader = _READERS.pop(id(stream), None)
    if reader is not None:
        reader.join(timeout)
