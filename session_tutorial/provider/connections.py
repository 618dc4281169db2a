"""Connection hygiene for a room tenant: slow and idle clients cannot hold it.

uvicorn already closes a kept-alive connection that stays idle (``timeout_keep_alive``),
bounds a request's headers in size (``h11_max_incomplete_event_size``) and answers 503 beyond
``limit_concurrency`` connections. It has no deadline for a request's *headers*: a client that
sends half a request line and then nothing (slowloris) keeps its connection for ever. The
protocol class made here closes a connection whose next request has not arrived whole within
``request_timeout`` seconds, counted from the connection (or the previous response); a slow
*body* is bounded by :func:`.params.read_body` with the same timeout (408).
"""

from __future__ import annotations

import asyncio
from typing import Any


def with_request_deadline(base: type[asyncio.Protocol], request_timeout: float) -> type:
    """``base`` (uvicorn's h11 or httptools protocol) with a deadline for each request."""

    class Guarded(base):  # type: ignore[misc,valid-type]
        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            awaited = self.cycle  # a new request replaces it once its headers are complete
            self._deadline = self.loop.call_later(request_timeout, self._expire, awaited)

        def _expire(self, awaited: object) -> None:
            if self.cycle is awaited and not self.transport.is_closing():
                self.transport.close()

    Guarded.__name__ = f"Guarded{base.__name__}"
    return Guarded
