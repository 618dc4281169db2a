"""The local tenant's teaching controls, from Python: its clock, revoking, unblocking.

Example::

    control = TenantControl.local()
    control.advance_clock(3600)     # an hour passes, for the tenant
    control.revoke_user("ada@example.com")
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from .app import admin_key
from .background import ensure_running
from .config import default_data_dir


class SyncedClock:
    """A client-side clock that reads what the tenant's clock reads: real time + offset.

    Pass it as ``SessionManager(..., clock=control.clock)``: then tokens minted after the
    tenant's clock moved forward are not "from the future" to the client.
    """

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def __call__(self) -> float:
        return time.time() + self.offset

    def __repr__(self) -> str:
        return f"SyncedClock(offset={self.offset:+.0f}s)"


@dataclass
class TenantControl:
    """Calls ``/_teaching/*`` on a local tenant with its admin key."""

    url: str
    admin_key: str = field(repr=False)
    transport: httpx.BaseTransport | None = field(default=None, repr=False)

    @classmethod
    def local(cls, data_dir: Path | None = None) -> TenantControl:
        """Control the background tenant of ``data_dir`` (started if needed)."""
        data_dir = data_dir or default_data_dir()
        url = ensure_running(data_dir)
        return cls(url, admin_key(data_dir))

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        with httpx.Client(transport=self.transport, timeout=10) as client:
            r = client.request(
                method,
                f"{self.url.rstrip('/')}/_teaching/{path}",
                headers={"X-Admin-Key": self.admin_key},
                **kwargs,
            )
        if r.status_code == 404 and "clock" in path:
            raise RuntimeError(
                "This tenant has no teaching controls (a real Auth0 tenant, or one started "
                "with --no-teaching)."
            )
        r.raise_for_status()
        return r.json()

    @cached_property
    def clock(self) -> SyncedClock:
        """A clock for the client that follows this tenant's clock."""
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
