"""RS256 signatures in helper processes, so that the tenant's event loop keeps serving meanwhile.

An RS256 signature (2048-bit RSA) is the costliest step of a grant: about as much CPU as all
the rest of it. ``cryptography`` holds the GIL while it signs, so threads cannot sign side by
side; helper processes can, on other cores. The token endpoint lets a grant leave its JWTs
unsigned (:class:`~.tokens.Unsigned`, under :func:`~.tokens.deferred_signing`) and hands them
to :class:`Signer`, which signs them in a helper once they run, in-process otherwise.

A served tenant starts :data:`HELPERS` helpers the first time it signs :data:`BURST` JWTs
within a second (a workshop room, not a single learner, who never pays for them), and gives
each JWT to the least busy one. A helper gets the key once, over its stdin, and signs with
PyJWT as the tenant itself does: one JSON line per JWT each way, answered in order. If one
fails or exits, the tenant signs in its own process instead: a grant never fails because of
it. Run as ``python -m session_tutorial.provider.signer``.
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
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from .tokens import TokenMinter, Unsigned

log = logging.getLogger("session_tutorial.provider")

BURST = 10  # JWTs signed within one second that start the helpers ("auto")
HELPERS = 4  # as many as Node's libuv gives oidc-provider's WebCrypto signatures
_READY = "ready"
_LIMIT = 1 << 20  # the pipe reader's line limit; a JWT is about 1 KB


class SigningProcess:
    """One helper process: ``await sign(unsigned)`` returns the compact JWT."""

    def __init__(self) -> None:
        self._proc: asyncio.subprocess.Process | None = None
        self._waiting: deque[asyncio.Future[str]] = deque()
        self._reader: asyncio.Task[None] | None = None
        self.ready = False  # the helper has the key and answers
        self.failed = False
        self.settled = asyncio.Event()  # set once it is ready, or has failed

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def start(self, pem: bytes) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "session_tutorial.provider.signer",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=_LIMIT,
        )
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(pem.decode()).encode() + b"\n")
        self._reader = asyncio.get_running_loop().create_task(self._read_answers())

    async def sign(self, unsigned: Unsigned) -> str:
        if not self.ready or self.failed or self._proc is None or self._proc.stdin is None:
            raise RuntimeError("the signing process is not running")
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        line = json.dumps([unsigned.claims, unsigned.headers], separators=(",", ":"))
        self._proc.stdin.write(line.encode() + b"\n")
        return await future

    async def _read_answers(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        try:
            if (await self._proc.stdout.readline()).strip() == _READY.encode():
                self.ready = True
                self.settled.set()
                while line := await self._proc.stdout.readline():
                    self._waiting.popleft().set_result(line.decode().rstrip("\n"))
        except Exception as exc:  # a garbled answer: stop using the helper
            log.error("the signing process failed (%s); signing in-process", type(exc).__name__)
        self.failed = True
        self.settled.set()
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(RuntimeError("the signing process exited"))

    async def close(self) -> None:
        if self._proc is None:
            return
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            await asyncio.wait_for(self._proc.wait(), timeout=3)
        except asyncio.TimeoutError:
            self._proc.kill()
            await self._proc.wait()
        if self._reader is not None:
            await self._reader


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
        running = [h for h in self._helpers if h.ready and not h.failed]
        if running:
            helper = min(running, key=lambda h: h.waiting)  # the least busy one
            try:
                return await helper.sign(unsigned)
            except RuntimeError:
                pass  # it exited meanwhile: sign here (the others, if any, next time)
        return self._minter.sign(unsigned)

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


def main() -> int:
    """The helper: the key on the first line of stdin, then one ``[claims, headers]`` per line."""
    pem = json.loads(sys.stdin.readline())
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    del pem
    out = sys.stdout
    out.write(_READY + "\n")
    out.flush()
    for line in sys.stdin:
        claims, headers = json.loads(line)
        out.write(jwt.encode(claims, key, algorithm="RS256", headers=headers) + "\n")  # type: ignore[arg-type]
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
