"""A sync HTTP client for an ASGI app in this process, on an event loop in the calling thread.

Starlette's TestClient runs the app on an event loop in a thread of its own and hands each
request to it and back about eight times (events, a stream, a cancel scope, the body): 2.5 ms of
CPU a request here, against 0.6 ms for httpx's own ASGITransport driven from this thread. The
fuzz tests send well over a thousand requests. The app is the same, its lifespan too (started
on entering the client, ended on leaving); only the way a request gets in differs. The
arguments and defaults are TestClient's (redirects followed, an exception in the app raised
unless ``raise_server_exceptions=False``, then a 500 answer), the peer address too; a HEAD
answer has no body, as a real server sends it. The app runs in the caller's thread, so a
request cannot be sent from inside the app while it handles another (a test that replays a
request from within a handler keeps TestClient, whose app runs in a thread of its own).
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

import httpx
from starlette.types import ASGIApp, Message


class _LoopTransport(httpx.BaseTransport):
    def __init__(
        self, app: ASGIApp, loop: asyncio.AbstractEventLoop, *, raise_errors: bool
    ) -> None:
        # The peer TestClient gives, for brute-force protection's per-source counts.
        self._asgi = httpx.ASGITransport(
            app, raise_app_exceptions=raise_errors, client=("testclient", 50000)
        )
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._loop.run_until_complete(self._send(request))

    async def _send(self, request: httpx.Request) -> httpx.Response:
        answer = await self._asgi.handle_async_request(request)
        body = b"".join([chunk async for chunk in answer.aiter_raw()])
        await answer.aclose()
        if request.method == "HEAD":
            body = b""
        return httpx.Response(answer.status_code, headers=answer.headers, content=body)


class AppClient(httpx.Client):
    """``with AppClient(app) as client: client.get("/path")`` (the app's lifespan runs), or
    ``AppClient(app).get("/path")`` (it does not), as with TestClient."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        raise_server_exceptions: bool = True,
        follow_redirects: bool = True,
        base_url: str = "http://testserver",
        **kwargs: Any,
    ) -> None:
        self.app = app  # as TestClient.app
        self._loop = asyncio.new_event_loop()
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._lifespan: asyncio.Task[None] | None = None
        transport = _LoopTransport(app, self._loop, raise_errors=raise_server_exceptions)
        super().__init__(
            transport=transport, base_url=base_url, follow_redirects=follow_redirects, **kwargs
        )

    def __enter__(self) -> AppClient:
        super().__enter__()
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        self._lifespan = self._loop.create_task(
            self.app(scope, self._to_app.get, self._from_app.put)  # type: ignore[arg-type]
        )
        self._lifespan_step("startup")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            self._lifespan_step("shutdown")
            assert self._lifespan is not None
            self._loop.run_until_complete(self._lifespan)
        finally:
            super().__exit__(exc_type, exc_value, traceback)
            self._loop.close()

    def close(self) -> None:
        super().close()
        self._loop.close()

    def _lifespan_step(self, step: str) -> None:
        self._loop.run_until_complete(self._to_app.put({"type": f"lifespan.{step}"}))
        answer = self._loop.run_until_complete(self._from_app.get())
        assert answer["type"] == f"lifespan.{step}.complete", answer
