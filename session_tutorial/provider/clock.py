"""The tenant's clock: real time plus an offset a teacher can advance.

Advancing the clock lets a notebook show a token expiring without waiting for it. The offset
is kept in the database, so it survives a restart of the tenant, and published in a small file
beside it (``clock.json``), so that clients on this machine can follow it (see
:class:`~session_tutorial.provider.control.SyncedClock`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from .storage import Database


class TenantClock:
    """``now()`` is ``base() + offset``; ``advance(seconds)`` moves it forward."""

    def __init__(
        self,
        db: Database,
        base: Callable[[], float] = time.time,
        published: Path | None = None,
    ) -> None:
        self._db = db
        self._base = base
        self._published = published
        self._offset = float(db.setting("clock_offset", "0") or 0)
        self._publish()

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
        self._publish()

    def _publish(self) -> None:
        if self._published is None:
            return
        tmp = self._published.with_suffix(".tmp")
        tmp.write_text(json.dumps({"offset": self._offset}))
        tmp.replace(self._published)
