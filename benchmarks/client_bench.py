"""The client's figures: restore() split into its parts, the credentials() hot path, and
single-flight renewal (32 threads on an expired token -> 1 refresh).

Runs against its own local tenant (loopback, a temp data dir) and the real system keychain,
so on Linux without a desktop run it under the launcher (``make bench`` does)::

    .venv/bin/python -m session_tutorial.launcher -- .venv/bin/python benchmarks/client_bench.py
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import httpx

from session_tutorial.client import AuthClient
from session_tutorial.credentials import Credentials
from session_tutorial.provider import background
from session_tutorial.provider.control import TenantControl
from session_tutorial.provider.keyfiles import admin_key
from session_tutorial.secret_service import close_kept_connections
from session_tutorial.session import SessionManager
from session_tutorial.store import CredentialStore
from session_tutorial.tenant import Tenant

ADA, PASSWORD = "ada@example.com", "Analytical-Engine-1843"
THREADS = 32


class TimedTransport(httpx.BaseTransport):
    """A real HTTP transport that records how long each path took, and counts requests."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.times: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        t = time.perf_counter()
        response = self.inner.handle_request(request)
        response.read()
        with self._lock:
            self.times[request.url.path].append(time.perf_counter() - t)
        return response

    def count(self, path: str | None = None) -> int:
        with self._lock:
            if path is None:
                return sum(len(v) for v in self.times.values())
            return len(self.times.get(path, []))

    def close(self) -> None:
        self.inner.close()


class TimedStore:
    """The keychain store, with each load() timed and saves counted."""

    def __init__(self, inner: CredentialStore) -> None:
        self.inner = inner
        self.load_times: list[float] = []
        self.saves = 0
        self._lock = threading.Lock()

    @property
    def backend_name(self) -> str:
        return self.inner.backend_name

    def load(self) -> str | None:
        t = time.perf_counter()
        data = self.inner.load()
        with self._lock:
            self.load_times.append(time.perf_counter() - t)
        return data

    def save(self, data: str) -> None:
        with self._lock:
            self.saves += 1
        self.inner.save(data)

    def clear(self) -> None:
        self.inner.clear()

    # Where the single-flight lock's key comes from: the entry, not this wrapper.
    @property
    def service(self) -> str:
        return self.inner.service

    @property
    def account(self) -> str:
        return self.inner.account


def ms(values: list[float]) -> str:
    v = sorted(x * 1000 for x in values)
    return (
        f"p50 {statistics.median(v):6.2f} ms  p95 {v[max(0, -(-95 * len(v) // 100) - 1)]:6.2f} ms"
    )


class Launch:
    """One launch of the app: a fresh manager (fresh connections, fresh key cache)."""

    def __init__(
        self, tenant: Tenant, store: TimedStore, clock: Callable[[], float], lock_dir: Path
    ) -> None:
        self.transport = TimedTransport()
        client = AuthClient(tenant, transport=self.transport, clock=clock)
        self.manager = SessionManager(tenant, store, clock=clock, client=client, lock_dir=lock_dir)
        self.verify_times: list[float] = []
        verify = self.manager._verify

        def timed_verify(credentials: Credentials) -> None:
            t = time.perf_counter()
            verify(credentials)
            self.verify_times.append(time.perf_counter() - t)

        self.manager._verify = timed_verify  # type: ignore[method-assign]


def bench(launches: int, hot_calls: int) -> list[str]:
    data_dir = Path(tempfile.mkdtemp(prefix="client-bench-tenant-"))
    lock_dir = Path(tempfile.mkdtemp(prefix="client-bench-locks-"))
    running = background.start(data_dir, port=0, quiet=True)
    control = TenantControl(running.url, admin_key(data_dir))
    tenant = Tenant(running.url, "tutorial-app")
    store = TimedStore(CredentialStore("session-tutorial-bench", f"bench-{uuid.uuid4()}"))
    out = [f"keychain: {store.backend_name}"]
    try:
        first = Launch(tenant, store, control.clock, lock_dir)
        first.manager.login(ADA, PASSWORD)
        first.manager.close()

        # restore() at the next launch, split into its parts.
        parts: dict[str, list[float]] = defaultdict(list)
        for _ in range(launches):
            launch = Launch(tenant, store, control.clock, lock_dir)
            close_kept_connections()  # a new process has no keychain connection yet
            store.load_times.clear()
            t = time.perf_counter()
            profile = launch.manager.restore()
            total = time.perf_counter() - t
            assert profile is not None and profile["name"] == "Ada Lovelace", profile
            jwks = sum(launch.transport.times["/.well-known/jwks.json"])
            parts["keychain read"] += store.load_times
            parts["key set fetch (jwks.json)"].append(jwks)
            parts["ID-token checks (CPU)"].append(sum(launch.verify_times) - jwks)
            parts["/userinfo"] += launch.transport.times["/userinfo"]
            parts["restore() total"].append(total)
            launch.manager.close()
        out.append(f"restore() at the next launch, {launches} launches (fresh manager each):")
        out += [f"  {name:<27} {ms(values)}" for name, values in parts.items()]
        store.load_times.clear()
        for _ in range(launches):
            store.load()
        out.append(
            f"keychain read again in the same process (kept connection and session), "
            f"{launches} reads: {ms(store.load_times)}"
        )

        # credentials() on a valid token: memory only.
        launch = Launch(tenant, store, control.clock, lock_dir)
        launch.manager.restore()
        requests, loads = launch.transport.count(), len(store.load_times)
        t = time.perf_counter()
        for _ in range(hot_calls):
            launch.manager.credentials()
        per_call = (time.perf_counter() - t) / hot_calls
        assert launch.transport.count() == requests and len(store.load_times) == loads
        out.append(
            f"credentials() on a valid token, {hot_calls} calls: {per_call * 1e6:.2f} µs per call, "
            f"{launch.transport.count() - requests} HTTP requests, "
            f"{len(store.load_times) - loads} keychain reads"
        )

        # 32 threads at once on an expired access token.
        control.advance_clock(3600)
        saves, refreshes = store.saves, launch.transport.count("/oauth/token")
        barrier = threading.Barrier(THREADS)
        tokens: list[str] = []

        def renew() -> None:
            barrier.wait()
            tokens.append(launch.manager.credentials().access_token)

        threads = [threading.Thread(target=renew) for _ in range(THREADS)]
        t = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - t
        assert launch.transport.count("/oauth/token") - refreshes == 1
        assert store.saves - saves == 1 and len(set(tokens)) == 1 and len(tokens) == THREADS
        out.append(
            f"{THREADS} threads on an expired token: "
            f"{launch.transport.count('/oauth/token') - refreshes} refresh request, "
            f"{store.saves - saves} keychain save, {len(set(tokens))} distinct access token "
            f"handed out, {wall * 1000:.0f} ms"
        )
        launch.manager.sign_out()
        launch.manager.close()
    finally:
        store.clear()
        background.stop(data_dir)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--launches", type=int, default=30)
    ap.add_argument("--hot-calls", type=int, default=10_000)
    args = ap.parse_args(argv)
    print("\n".join(bench(args.launches, args.hot_calls)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
