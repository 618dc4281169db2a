"""Counting failures per source in a sliding window, in memory (the tenant is one process).

Used for user-code guessing at ``/activate`` (RFC 8628 5.1). Times come from the tenant's
clock, so tests move time instead of waiting; memory is bounded by ``max_sources``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque


class FailureWindow:
    """``blocked(key)`` once ``limit`` failures of ``key`` fall within ``window`` seconds."""

    def __init__(self, limit: int, window: float, max_sources: int = 10_000) -> None:
        self._limit = limit
        self._window = window
        self._max = max_sources
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._seen.get(key)
        if times is None:
            return deque()
        # A failure "in the future" (the clock was reset since) counts as recent.
        while times and not now - times[0] < self._window:
            times.popleft()
        return times

    def failed(self, key: str, now: float) -> None:
        with self._lock:
            times = self._recent(key, now)
            times.append(now)
            self._seen[key] = times
            self._seen.move_to_end(key)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)

    def blocked(self, key: str, now: float) -> bool:
        with self._lock:
            return len(self._recent(key, now)) >= self._limit

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
