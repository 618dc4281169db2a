"""Connection hygiene for a room tenant: slow and idle clients cannot hold it.

uvicorn already closes a kept-alive connection that stays idle (``timeout_keep_alive``) and
answers 503 beyond ``limit_concurrency`` connections. It bounds a request's headers in size
only with its pure-Python parser (``h11_max_incomplete_event_size``); with httptools, the C
parser the tenant uses, a 52 MB header was read whole and answered 200, and 8 of 200 MB took
the tenant to 1.6 GB. The protocol class made here answers 431 and closes the connection once
``MAX_HEAD`` bytes have come without the request's headers being complete.

uvicorn has no deadline for a request's *headers* either: a client that sends half a request
line and then nothing (slowloris) keeps its connection for ever. The class also closes a
connection whose next request has not arrived whole within ``request_timeout`` seconds,
counted from the connection (or the previous response); a slow *body* is bounded by
:func:`.params.read_body` with the same timeout (408).
"""

from __future__ import annotations

import asyncio
from typing import Any

#: The most bytes a request line and its headers may take (a browser's are about 1 KiB).
MAX_HEAD = 16 * 1024
_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\ncontent-length: 31\r\n"
    b"connection: close\r\n\r\nRequest header fields too large"
)


def with_request_deadline(base: type[asyncio.Protocol], request_timeout: float) -> type:
    """``base`` (uvicorn's httptools protocol) with a deadline for each request and a bound
    on its headers' size."""

    # uvicorn's h11 protocol bounds the head itself (and has no such parser callbacks).
    counts_head = hasattr(base, "on_headers_complete")

    class Guarded(base):  # type: ignore[misc,valid-type]
        _deadline: asyncio.TimerHandle | None = None

        _in_head = True  # the next request's headers are not complete yet
        _head_bytes = 0

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            in_head = self._in_head
            super().data_received(data)
            # Counted only while the headers stay incomplete across the whole chunk: a chunk
            # that completes them (or carries a body) is not a head's.
            if counts_head and in_head and self._in_head and not self.transport.is_closing():
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD:
                    self.transport.write(_TOO_LARGE)
                    self.transport.close()

        def on_headers_complete(self) -> None:
            self._in_head = False
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_head, self._head_bytes = True, 0
            super().on_message_complete()

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
