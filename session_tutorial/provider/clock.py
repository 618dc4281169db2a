"""The tenant's clock: real time plus an offset a teacher can advance.

Advancing the clock lets a notebook show a token expiring without waiting for it. The offset
is kept in the database, so it survives a restart of the tenant.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .storage import Database


class TenantClock:
    """``now()`` is ``base() + offset``; ``advance(seconds)`` moves it forward."""

    def __init__(self, db: Database, base: Callable[[], float] = time.time) -> None:
        self._db = db
        self._base = base
        self._offset = float(db.setting("clock_offset", "0") or 0)

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        return self._base() + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward by ``seconds`` (never back); return the new offset."""
        if seconds < 0:
            raise ValueError("the tenant's clock only moves forward")
        self.set_offset(self._offset + seconds)
        return self._offset

    def set_offset(self, offset: float) -> None:
        self._offset = float(offset)
        self._db.set_setting("clock_offset", repr(self._offset))
