"""RS256 signatures in helper processes, so that the tenant's event loop keeps serving meanwhile.

An RS256 signature (2048-bit RSA) is the costliest step of a grant: about as much CPU as all
the rest of it. ``cryptography`` holds the GIL while it signs, so threads cannot sign side by
side; helper processes can, on other cores. The token endpoint lets a grant leave its JWTs
unsigned (:class:`~.tokens.Unsigned`, under :func:`~.tokens.deferred_signing`) and hands them
to :class:`Signer`, which signs them in a helper once they run, in-process otherwise.

A served tenant starts :data:`HELPERS` helpers the first time it signs :data:`BURST` JWTs
within a second (a workshop room, not a single learner, who never pays for them), and gives
each JWT to the least busy one. A helper gets the key once, over its stdin; then the tenant
sends it a JWT's signing input (:meth:`~.tokens.Unsigned.signing_input`, one ASCII line) and it
answers with the base64url signature (one line, PyJWT's RS256), in order: no JSON, nothing
to parse but the lines. If one fails, exits or answers anything but base64url, the tenant
signs in its own process instead: a grant never fails because of it. The helper is
:mod:`.signing_helper`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any, cast

from .jws import compact
from .signing_helper import READY as _READY
from .tokens import TokenMinter, Unsigned

log = logging.getLogger("session_tutorial.provider")

BURST = 10  # JWTs signed within one second that start the helpers ("auto")
HELPERS = 4  # as many as Node's libuv gives oidc-provider's WebCrypto signatures
_LIMIT = 1 << 16  # bytes of an answer not yet ended by a newline: a signature is 342


class SigningProcess(asyncio.SubprocessProtocol):
    """One helper process: ``await sign(signing_input)`` returns the base64url signature.

    The helper's answers come in order, one line each, straight to :meth:`pipe_data_received`
    (no stream reader, no task per helper).
    """

    def __init__(self) -> None:
        self._transport: asyncio.SubprocessTransport | None = None
        self._stdin: asyncio.WriteTransport | None = None
        self._waiting: deque[asyncio.Future[bytes]] = deque()
        self._partial = b""
        self.ready = False  # the helper has the key and answers
        self.failed = False
        self.settled = asyncio.Event()  # set once it is ready, or has failed
        self._exited = asyncio.Event()

    @property
    def pid(self) -> int | None:
        return self._transport.get_pid() if self._transport else None

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def start(self, pem: bytes) -> None:
        loop = asyncio.get_running_loop()
        await loop.subprocess_exec(
            lambda: self,
            sys.executable,
            "-m",
            "session_tutorial.provider.signing_helper",
            stderr=None,
        )
        assert self._stdin is not None
        self._stdin.write(json.dumps(pem.decode()).encode() + b"\n")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Cast, not checked: uvloop's transports are not subclasses of asyncio's.
        self._transport = cast(asyncio.SubprocessTransport, transport)
        self._stdin = cast(asyncio.WriteTransport, self._transport.get_pipe_transport(0))

    async def sign(self, signing_input: bytes) -> bytes:
        if not self.ready or self.failed or self._stdin is None or self._stdin.is_closing():
            raise RuntimeError("the signing process is not running")
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self._stdin.write(signing_input + b"\n")
        return await future

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        if fd != 1 or self.failed:
            return
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            if not self.ready:
                if line != _READY:
                    return self._fail("a garbled start")
                self.ready = True
                self.settled.set()
            elif not self._waiting or not line or line.strip(_B64URL):
                return self._fail("a garbled answer")  # nothing asked, or not base64url
            else:
                future = self._waiting.popleft()
                if not future.done():  # not cancelled meanwhile (its client went away)
                    future.set_result(line)
        if len(self._partial) > _LIMIT:
            self._fail("an endless answer")

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        if fd == 1:
            self._fail(None)

    def process_exited(self) -> None:
        self._exited.set()
        self._fail(None)

    def _fail(self, why: str | None) -> None:
        if why is not None and not self.failed:
            log.error("the signing process sent %s; signing in-process", why)
        self.failed = True
        self.settled.set()
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(RuntimeError("the signing process exited"))
        if why is not None and self._transport is not None:
            self._transport.kill()  # a helper that talks nonsense is not asked again

    async def close(self) -> None:
        if self._transport is None:
            return
        if self._stdin is not None:
            self._stdin.close()  # the helper ends at the end of its input
        try:
            await asyncio.wait_for(self._exited.wait(), timeout=3)
        except asyncio.TimeoutError:
            self._transport.kill()
            await self._exited.wait()
        self._transport.close()


_B64URL = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


class Signer:
    """Signs what a grant left unsigned: in the helper when it runs, else in this process.

    ``helper`` is ``"off"`` (always in-process: tests, an app served by other means),
    ``"auto"`` (the served tenant: start the helper at the first burst) or ``"on"``.
    """

    def __init__(
        self,
        minter: TokenMinter,
        *,
        helper: str = "off",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if helper not in ("off", "auto", "on"):
            raise ValueError(f"helper must be off, auto or on, not {helper!r}")
        self._minter = minter
        self._mode = helper
        self._clock = clock
        self._helpers: list[SigningProcess] = []
        self._starting: asyncio.Task[list[None]] | None = None
        self._recent: deque[float] = deque(maxlen=BURST)

    @property
    def helper_running(self) -> bool:
        return any(h.ready and not h.failed for h in self._helpers)

    @property
    def helper_pids(self) -> list[int]:
        return [h.pid for h in self._helpers if h.pid is not None]

    async def settled(self) -> bool:
        """Wait until started helpers are ready or have failed; whether any is running."""
        if self._starting is None:
            return False
        with contextlib.suppress(OSError):
            await self._starting
        for helper in self._helpers:
            if helper.pid is not None:
                await helper.settled.wait()
        return self.helper_running

    async def complete(self, body: dict[str, Any]) -> None:
        """Replace every :class:`Unsigned` value of ``body`` by its signed JWT."""
        for name, value in body.items():
            if isinstance(value, Unsigned):
                body[name] = await self.sign(value)

    async def sign(self, unsigned: Unsigned) -> str:
        self._maybe_start()
        signing_input = unsigned.signing_input()
        running = [h for h in self._helpers if h.ready and not h.failed]
        if running:
            helper = min(running, key=lambda h: h.waiting)  # the least busy one
            try:
                return compact(signing_input, await helper.sign(signing_input))
            except RuntimeError:
                pass  # it exited meanwhile: sign here (the others, if any, next time)
        return self._minter.sign_input(signing_input)

    def _maybe_start(self) -> None:
        if self._mode == "off" or self._starting is not None:
            return
        now = self._clock()
        self._recent.append(now)
        if self._mode == "on" or (len(self._recent) == BURST and now - self._recent[0] < 1.0):
            pem = self._minter.private_pem()
            self._helpers = [SigningProcess() for _ in range(HELPERS)]
            starts = [helper.start(pem) for helper in self._helpers]
            self._starting = asyncio.get_running_loop().create_task(self._start_all(starts))

    @staticmethod
    async def _start_all(starts: list[Any]) -> list[None]:
        return list(await asyncio.gather(*starts))

    async def close(self) -> None:
        if self._starting is not None:
            with contextlib.suppress(OSError):
                await self._starting
        for helper in self._helpers:
            await helper.close()
