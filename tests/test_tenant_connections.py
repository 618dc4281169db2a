"""Slow and idle clients against a real tenant on loopback: a learner still gets through.

Bounded in time: the tenant runs with ``--request-timeout 1``; every socket read has a
timeout, and no test sleeps: each waits for the server to answer or to close.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from session_tutorial.provider import background
from session_tutorial.tenant import default_ssl_context
from tests.provider_helpers import ADA, login

pytestmark = pytest.mark.integration

SLOW_HEADERS = 40  # half a request each, then nothing (slowloris)
SLOW_BODIES = 10  # whole headers, a promised body that never comes
IDLE = 20  # connected, silent


@pytest.fixture(scope="module")
def strict_tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("strict-tenant")
    options = ("--request-timeout", "1", "--max-connections", "200")
    running = background.start(data_dir, port=0, extra_args=options, quiet=True)
    yield running.url
    background.stop(data_dir)


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _until_closed(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection, before ``deadline``."""
    received = b""
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        chunk = sock.recv(4096)  # socket.timeout (a failure) once the deadline has passed
        if not chunk:
            return received
        received += chunk


def test_a_learner_gets_through_while_slow_clients_hang_on_and_are_dropped(
    strict_tenant: str,
) -> None:
    host = urlsplit(strict_tenant).netloc
    with ExitStack() as stack:
        slow_headers = [stack.enter_context(_connect(strict_tenant)) for _ in range(SLOW_HEADERS)]
        for sock in slow_headers:
            sock.sendall(f"GET /.well-known/jwks.json HTTP/1.1\r\nHost: {host}\r\nX-A".encode())
        slow_bodies = [stack.enter_context(_connect(strict_tenant)) for _ in range(SLOW_BODIES)]
        for sock in slow_bodies:
            sock.sendall(
                f"POST /oauth/token HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "Content-Length: 500\r\n\r\nclient_id=tut".encode()
            )
        idle = [stack.enter_context(_connect(strict_tenant)) for _ in range(IDLE)]

        # Meanwhile, a learner signs in and reads the key set, as if nothing were wrong.
        with httpx.Client(
            base_url=strict_tenant, timeout=5, verify=default_ssl_context()
        ) as learner:
            assert login(learner, ADA).status_code == 200
            assert learner.get("/.well-known/jwks.json").status_code == 200

        # Then every slow client is dropped by the tenant, within its request timeout (1 s;
        # the test allows 10 s in all, for a loaded machine).
        deadline = time.monotonic() + 10
        for sock in slow_headers + idle:
            assert _until_closed(sock, deadline) == b""  # closed without an answer
        for sock in slow_bodies:
            answer = _until_closed(sock, deadline)
            assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
            assert b'"error":"invalid_request"' in answer


def test_a_client_that_sends_its_request_whole_keeps_its_connection_for_the_next(
    strict_tenant: str,
) -> None:
    with httpx.Client(base_url=strict_tenant, timeout=5, verify=default_ssl_context()) as client:
        first = client.get("/.well-known/jwks.json")
        second = client.get("/.well-known/openid-configuration")  # same kept-alive connection
        assert first.status_code == second.status_code == 200


def test_headers_past_16_kib_are_refused_with_431_unread_and_a_normal_request_still_works(
    strict_tenant: str,
) -> None:
    # Under httptools uvicorn bounds no header: a 52 MB one was read whole and answered 200.
    from session_tutorial.provider.connections import MAX_HEAD

    head = b"GET /.well-known/jwks.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    with _connect(strict_tenant) as big:
        big.sendall(head + b"X-Big: ")
        sent = 0
        try:
            while sent < 4 * MAX_HEAD:  # a header that never ends; the tenant stops reading it
                big.sendall(b"a" * 4096)
                sent += 4096
        except OSError:
            pass  # reset once the tenant has closed: it did not read the rest
        # The tenant closes with bytes of ours unread, so its 431 may be followed by a reset
        # rather than an orderly end: read what came until either.
        big.settimeout(5)
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := big.recv(4096):
                answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 ")
    near = b"X-Near: " + b"a" * (MAX_HEAD - len(head) - 200) + b"\r\n"
    with _connect(strict_tenant) as ok:
        ok.sendall(head + near + b"Connection: close\r\n\r\n")
        assert _until_closed(ok, time.monotonic() + 5).startswith(b"HTTP/1.1 200 ")
