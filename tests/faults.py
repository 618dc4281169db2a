"""FAULT INJECTION FOR TESTS ONLY: an httpx transport that fails on purpose.

The real local tenant cannot produce these on demand: a 500, a connection refused or dropped,
a timeout, a 429 with ``Retry-After``, or a response lost after the tenant acted on the request.
:class:`FaultyTransport` wraps any transport (a ``MockTransport`` or a real
``httpx.HTTPTransport``) and replaces the next matching requests with a fault; every other
request passes through untouched. It also records every request, so tests can count them.

Example::

    transport = FaultyTransport(httpx.HTTPTransport())
    transport.inject(server_error(500), path="/oauth/token")
    client = AuthClient(tenant, transport=transport)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import httpx

#: A fault gets the request and the wrapped transport, and answers or raises.
Fault = Callable[[httpx.Request, httpx.BaseTransport], httpx.Response]


def server_error(status: int = 500) -> Fault:
    """Answer with a 5xx and Auth0's error shape, without reaching the tenant."""

    def fault(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        body = {"error": "server_error", "error_description": "injected fault"}
        return httpx.Response(status, json=body, request=request)

    return fault


def rate_limited(
    retry_after: str | None = "7", *, error: str = "too_many_requests", reset: str | None = None
) -> Fault:
    """Answer 429 with ``Retry-After`` (seconds or an HTTP date) and/or ``X-RateLimit-Reset``."""

    def fault(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        headers = {}
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        if reset is not None:
            headers["X-RateLimit-Reset"] = reset
        body = {"error": error, "error_description": "injected fault"}
        return httpx.Response(429, json=body, headers=headers, request=request)

    return fault


def dropped_connection() -> Fault:
    """The connection closes before any answer: the tenant never saw the request."""

    def fault(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        raise httpx.RemoteProtocolError("injected fault: server disconnected", request=request)

    return fault


def refused() -> Fault:
    """The connection is refused: the request provably never reached the tenant."""

    def fault(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        raise httpx.ConnectError("injected fault: connection refused", request=request)

    return fault


def timeout() -> Fault:
    """No answer within the timeout."""

    def fault(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        raise httpx.ReadTimeout("injected fault: timed out", request=request)

    return fault


def lost_response() -> Fault:
    """The tenant acts on the request (e.g. rotates a refresh token), then the answer is lost."""

    def fault(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        inner.handle_request(request).close()
        raise httpx.ReadError("injected fault: connection reset after the request", request=request)

    return fault


@dataclass
class _Planned:
    fault: Fault
    path: str | None
    times: int


class FaultyTransport(httpx.BaseTransport):
    """Wraps a transport; the next requests matching an injected fault get the fault instead."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str]] = []
        self._planned: list[_Planned] = []
        self._lock = threading.Lock()

    def inject(self, fault: Fault, *, path: str | None = None, times: int = 1) -> FaultyTransport:
        """Replace the next ``times`` requests to ``path`` (any path if None) with ``fault``."""
        with self._lock:
            self._planned.append(_Planned(fault, path, times))
        return self

    def count(self, path: str) -> int:
        """How many requests went to ``path``, faulted or not."""
        with self._lock:
            return sum(1 for _, p in self.requests if p == path)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append((request.method, request.url.path))
            planned = next((p for p in self._planned if p.path in (None, request.url.path)), None)
            if planned is not None:
                planned.times -= 1
                if planned.times == 0:
                    self._planned.remove(planned)
        if planned is not None:
            return planned.fault(request, self.inner)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()
