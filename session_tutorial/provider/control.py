"""The local tenant's teaching controls, from Python: its clock, revoking, unblocking.

Example::

    control = TenantControl.local()
    control.advance_clock(3600)     # an hour passes, for the tenant
    control.revoke_user("ada@example.com")
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from session_tutorial.commands import tenant_command
from session_tutorial.tenant import ssl_context_for

from .background import answering, ensure_running
from .config import CLOCK_FILE, default_data_dir
from .keyfiles import admin_key


class TeachingControlError(RuntimeError):
    """A teaching control failed: no tenant, no such user, a bad value; the message says why."""


class SyncedClock:
    """A client-side clock that reads what the tenant's clock reads: real time + offset.

    ``Tenant.local()`` hands one to every ``SessionManager``, so tokens minted after a teacher
    moved the tenant's clock are not "from the future" to the client. With ``path`` (the
    tenant's published ``clock.json``) it notices when any process moves the clock; the file
    is checked with one ``stat`` per call, and read only when it changed.
    """

    def __init__(self, offset: float = 0.0, path: Path | None = None) -> None:
        self.offset = offset
        self.path = path
        self._seen: tuple[int, int, int] | None = None

    @classmethod
    def following(cls, data_dir: Path) -> SyncedClock:
        """The clock of the tenant whose state is in ``data_dir``."""
        return cls(path=data_dir / CLOCK_FILE)

    def __call__(self) -> float:
        if self.path is not None:
            self._follow(self.path)
        return time.time() + self.offset

    def _follow(self, path: Path) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return  # no tenant has published a clock there yet: real time
        seen = (st.st_ino, st.st_mtime_ns, st.st_size)
        if seen != self._seen:
            try:
                self.offset = float(json.loads(path.read_text())["offset"])
            except (OSError, ValueError, KeyError, TypeError):
                return  # mid-replace or damaged: keep the last offset, look again next call
            self._seen = seen

    def __repr__(self) -> str:
        return f"SyncedClock(offset={self.offset:+.0f}s)"


@dataclass
class TenantControl:
    """Calls ``/_teaching/*`` on a local tenant with its admin key."""

    url: str
    admin_key: str = field(repr=False)
    transport: httpx.BaseTransport | None = field(default=None, repr=False)
    #: The tenant's data dir, when it runs on this machine: its clock is then read from there.
    data_dir: Path | None = None

    @classmethod
    def local(cls, data_dir: Path | None = None, *, start: bool = True) -> TenantControl:
        """Control the background tenant of ``data_dir``, started if needed (``start``).

        Raises ``TeachingControlError`` when none runs and ``start`` is False.
        """
        data_dir = data_dir or default_data_dir()
        if start:
            url = ensure_running(data_dir)
        else:
            running = answering(data_dir)  # a busy tenant is waited for, not taken for none
            if running is None:
                raise TeachingControlError(
                    f"No local tenant is running for {data_dir}: start it with "
                    f"`{tenant_command('start')}`."
                )
            url = running.url
        return cls(url, admin_key(data_dir), data_dir=data_dir)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            # verify: one TLS context for the process, not a new one (~40 ms of CPU) per call.
            with httpx.Client(
                transport=self.transport, timeout=10, verify=ssl_context_for(self.url)
            ) as client:
                r = client.request(
                    method,
                    f"{self.url.rstrip('/')}/_teaching/{path}",
                    headers={"X-Admin-Key": self.admin_key},
                    **kwargs,
                )
        except httpx.HTTPError as exc:
            raise TeachingControlError(f"The tenant at {self.url} did not answer: {exc}") from exc
        if r.status_code == 404 and "clock" in path:
            raise TeachingControlError(
                "This tenant has no teaching controls (a real Auth0 tenant, or one started "
                "with --no-teaching)."
            )
        if r.status_code >= 400:
            try:
                why = r.json()["error_description"]
            except (ValueError, KeyError, TypeError):
                why = f"HTTP {r.status_code}"
            raise TeachingControlError(f"The tenant refused: {why}")
        return r.json()

    @cached_property
    def clock(self) -> SyncedClock:
        """A clock for the client that follows this tenant's clock."""
        if self.data_dir is not None:
            return SyncedClock.following(self.data_dir)
        return SyncedClock(self.offset())

    def now(self) -> float:
        """The tenant's current time (real time plus the offset)."""
        return float(self._call("GET", "clock")["now"])

    def offset(self) -> float:
        return float(self._call("GET", "clock")["offset"])

    def advance_clock(self, seconds: float) -> float:
        """Move the tenant's clock forward; return its new time."""
        state = self._call("POST", "clock/advance", json={"seconds": str(seconds)})
        self.clock.offset = float(state["offset"])
        return float(state["now"])

    def reset(self) -> None:
        """Clock back to real time; every account unblocked."""
        self._call("POST", "reset")
        self.clock.offset = 0.0

    def revoke_user(self, email: str) -> int:
        """Revoke all of a user's refresh tokens; return how many sessions ended."""
        return int(self._call("POST", f"users/{quote(email)}/revoke")["revoked"])

    def sessions(self, email: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"users/{quote(email)}/sessions")["sessions"])

    def unblock(self, email: str) -> None:
        self._call("POST", f"users/{quote(email)}/unblock")
