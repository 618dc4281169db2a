"""Load on one local tenant: N learners at once sign in, fetch /userinfo, and refresh.

Starts its own tenant (loopback only, a temp data dir), runs a bounded workload, prints
throughput and latency per endpoint, and checks correctness (no errors). Run:

    .venv/bin/python benchmarks/tenant_load.py --clients 100 --refreshes 10
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

from session_tutorial.provider import background

CLIENT = "tutorial-app"
REALM = "http://auth0.com/oauth/grant-type/password-realm"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


async def learner(
    http: httpx.AsyncClient,
    i: int,
    refreshes: int,
    lat: dict[str, list[float]],
    errors: list[str],
) -> None:
    email, password = f"learner{i}@example.com", f"Workshop-Password-{i}"

    async def call(name: str, method: str, url: str, **kw: object) -> httpx.Response:
        t = time.perf_counter()
        r = await http.request(method, url, **kw)  # type: ignore[arg-type]
        lat[name].append(time.perf_counter() - t)
        if r.status_code != 200:
            errors.append(f"{name}: {r.status_code} {r.text[:80]}")
        return r

    await call(
        "signup",
        "POST",
        "/dbconnections/signup",
        json={
            "client_id": CLIENT,
            "email": email,
            "password": password,
            "connection": "Username-Password-Authentication",
        },
    )
    body = (
        await call(
            "login",
            "POST",
            "/oauth/token",
            data={
                "grant_type": REALM,
                "client_id": CLIENT,
                "username": email,
                "password": password,
                "realm": "Username-Password-Authentication",
                "scope": "openid profile email offline_access",
            },
        )
    ).json()
    await call(
        "userinfo", "GET", "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    token = body["refresh_token"]
    for _ in range(refreshes):
        r = await call(
            "refresh",
            "POST",
            "/oauth/token",
            data={"grant_type": "refresh_token", "client_id": CLIENT, "refresh_token": token},
        )
        token = r.json().get("refresh_token", token)
    await call("revoke", "POST", "/oauth/revoke", data={"client_id": CLIENT, "token": token})


async def run(
    url: str, clients: int, refreshes: int
) -> tuple[dict[str, list[float]], list[str], float]:
    lat: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        t = time.perf_counter()
        await asyncio.wait_for(
            asyncio.gather(*(learner(http, i, refreshes, lat, errors) for i in range(clients))),
            timeout=300,
        )
        return lat, errors, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--refreshes", type=int, default=10)
    args = ap.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="tenant-bench-"))
    running = background.start(data_dir, port=background.free_port(), quiet=True)
    try:
        lat, errors, wall = asyncio.run(run(running.url, args.clients, args.refreshes))
    finally:
        background.stop(data_dir)
    print(
        f"{args.clients} concurrent learners, {args.refreshes} refreshes each, "
        f"{wall:.2f} s wall time"
    )
    print(
        f"{'endpoint':<10} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    )
    for name, values in lat.items():
        ms = [v * 1000 for v in values]
        print(
            f"{name:<10} {len(values):>8} {len(values) / wall:>8.1f} "
            f"{statistics.median(ms):>8.1f} {pct(ms, 95):>8.1f} {pct(ms, 99):>8.1f}"
        )
    print(f"errors: {len(errors)}")
    for e in errors[:10]:
        print("  ", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
