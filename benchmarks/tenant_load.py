"""A workshop room on one local tenant: 100 learners at once, then the same under variations.

Each learner signs up (``POST /dbconnections/signup``), signs in, fetches ``/userinfo``, renews
ten times and signs out (revokes its refresh token). The script starts its own tenant for each
scenario (loopback only, a temp data dir), prints throughput and p50/p95/p99 latency per
endpoint, and asserts correctness, not speed, through the teaching controls:

- zero errors (every request answered as expected);
- zero refresh tokens lost (each learner's family was rotated exactly as often as it renewed);
- zero false reuse detections (no family revoked for reuse);
- every family revoked at the end (by the learner's sign-out).

Scenarios: ``plain`` (leeway 0), ``leeway`` (``--refresh-leeway 10``; each learner also loses
one refresh answer and replays its previous token, which the leeway must forgive with the
same successor), and
``attackers`` (a few brute-force attackers hammer other accounts with wrong passwords: their
targets end blocked, nobody else's account does). Run::

    .venv/bin/python benchmarks/tenant_load.py --clients 100 --refreshes 10
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from session_tutorial.provider import background
from session_tutorial.provider.control import TenantControl
from session_tutorial.provider.keyfiles import admin_key

CLIENT = "tutorial-app"
CONNECTION = "Username-Password-Authentication"
REALM = "http://auth0.com/oauth/grant-type/password-realm"
SCOPE = "openid profile email offline_access"
ATTEMPTS_PER_ATTACKER = 12  # the tenant blocks after 10 consecutive failures
TIMEOUT = 300.0  # seconds for one scenario's workload: the benchmark is bounded


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


@dataclass(frozen=True)
class Scenario:
    name: str
    leeway: int = 0
    replay: bool = False  # lose one refresh answer per learner and replay the previous token
    attackers: int = 0


@dataclass
class Result:
    scenario: Scenario
    clients: int
    refreshes: int
    wall: float = 0.0
    lat: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    checks: dict[str, str] = field(default_factory=dict)  # name -> "ok" or what went wrong

    @property
    def ok(self) -> bool:
        return not self.errors and all(v == "ok" for v in self.checks.values())


def login_form(email: str, password: str) -> dict[str, str]:
    return {
        "grant_type": REALM,
        "client_id": CLIENT,
        "username": email,
        "password": password,
        "realm": CONNECTION,
        "scope": SCOPE,
    }


def signup_body(email: str, password: str) -> dict[str, str]:
    return {"client_id": CLIENT, "email": email, "password": password, "connection": CONNECTION}


class Room:
    """The workload: learners and attackers sharing one HTTP client pool."""

    def __init__(self, http: httpx.AsyncClient, result: Result) -> None:
        self.http = http
        self.result = result

    async def call(
        self, name: str, method: str, url: str, expect: int = 200, **kw: object
    ) -> httpx.Response:
        t = time.perf_counter()
        r = await self.http.request(method, url, **kw)  # type: ignore[arg-type]
        self.result.lat[name].append(time.perf_counter() - t)
        if r.status_code != expect:
            self.result.errors.append(f"{name}: {r.status_code} {r.text[:100]}")
        return r

    async def learner(self, i: int) -> None:
        email, password = f"learner{i}@example.com", f"Workshop-Password-{i}"
        await self.call(
            "signup", "POST", "/dbconnections/signup", json=signup_body(email, password)
        )
        body = (
            await self.call("login", "POST", "/oauth/token", data=login_form(email, password))
        ).json()
        bearer = {"Authorization": f"Bearer {body.get('access_token')}"}
        await self.call("userinfo", "GET", "/userinfo", headers=bearer)
        token = body.get("refresh_token")
        replay_at = self.result.refreshes // 2 if self.result.scenario.replay else -1
        for n in range(self.result.refreshes):
            form = {"grant_type": "refresh_token", "client_id": CLIENT, "refresh_token": token}
            r = await self.call("refresh", "POST", "/oauth/token", data=form)
            fresh = r.json().get("refresh_token")
            if not fresh or fresh == token:
                self.result.errors.append(f"learner{i}: refresh {n} returned no new refresh token")
            if n == replay_at:
                # The answer is "lost" on the way to the keychain: the learner still holds
                # the previous token and sends it again, as the next launch would.
                r = await self.call("refresh", "POST", "/oauth/token", data=form)
                if r.json().get("refresh_token") != fresh:
                    self.result.errors.append(f"learner{i}: the replay got another successor")
            token = fresh
        revoke = {"client_id": CLIENT, "token": token}
        await self.call("revoke", "POST", "/oauth/revoke", data=revoke)

    async def attacker(self, i: int) -> None:
        email = f"target{i}@example.com"
        for n in range(ATTEMPTS_PER_ATTACKER):
            expect = 403 if n < 10 else 429  # invalid_grant, then too_many_attempts
            form = login_form(email, f"guess-{n}-wrong")
            await self.call("attack", "POST", "/oauth/token", expect=expect, data=form)


def target_password(i: int) -> str:
    return f"Target-Password-{i}"


async def _workload(url: str, result: Result) -> None:
    scenario = result.scenario
    limits = httpx.Limits(max_connections=result.clients + scenario.attackers)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        room = Room(http, result)
        for i in range(scenario.attackers):  # the accounts under attack exist beforehand
            await http.post(
                "/dbconnections/signup",
                json=signup_body(f"target{i}@example.com", target_password(i)),
            )
        t = time.perf_counter()
        jobs = [room.learner(i) for i in range(result.clients)]
        jobs += [room.attacker(i) for i in range(scenario.attackers)]
        await asyncio.wait_for(asyncio.gather(*jobs), timeout=TIMEOUT)
        result.wall = time.perf_counter() - t


def _check(result: Result, url: str, control: TenantControl) -> None:
    """Correctness through the teaching controls: what each family went through."""
    scenario, checks = result.scenario, result.checks
    rotations = result.refreshes  # a replay gets the same successor: it is no rotation
    lost, reuse, alive, families = [], [], [], 0
    for i in range(result.clients):
        sessions = control.sessions(f"learner{i}@example.com")
        families += len(sessions)
        for s in sessions:
            if s["rotations"] != rotations:
                lost.append(f"learner{i}: {s['rotations']} rotations, expected {rotations}")
            if s["revoked_reason"] == "reuse":
                reuse.append(f"learner{i}")
            if s["active"] or s["revoked_reason"] != "revoked":
                alive.append(f"learner{i}: active={s['active']} reason={s['revoked_reason']}")
    checks["one family per learner"] = (
        "ok" if families == result.clients else f"{families} families"
    )
    checks["zero refresh tokens lost"] = "ok" if not lost else "; ".join(lost[:3])
    checks["zero false reuse detections"] = "ok" if not reuse else f"reuse: {reuse[:5]}"
    checks["every family revoked at the end"] = "ok" if not alive else "; ".join(alive[:3])
    if scenario.attackers:
        blocked, spared = [], []
        with httpx.Client(base_url=url, timeout=30) as http:
            for i in range(scenario.attackers):
                form = login_form(f"target{i}@example.com", target_password(i))
                r = http.post("/oauth/token", data=form)  # the right password, too late
                if r.status_code != 429 or r.json().get("error") != "too_many_attempts":
                    spared.append(f"target{i}: {r.status_code}")
                else:
                    blocked.append(i)
            # Nobody else: a learner and a demo user still sign in after the attack.
            others = [("learner0@example.com", "Workshop-Password-0")]
            others.append(("ada@example.com", "Analytical-Engine-1843"))
            wrongly = [
                e
                for e, p in others
                if http.post("/oauth/token", data=login_form(e, p)).status_code != 200
            ]
        checks["every attacked account blocked"] = "ok" if not spared else f"not blocked: {spared}"
        checks["no other account blocked"] = "ok" if not wrongly else f"blocked: {wrongly}"


def run_scenario(scenario: Scenario, clients: int, refreshes: int) -> Result:
    """Start a fresh tenant for ``scenario``, run the room against it, check, and stop it."""
    result = Result(scenario, clients, refreshes)
    data_dir = Path(tempfile.mkdtemp(prefix=f"tenant-bench-{scenario.name}-"))
    extra = ("--refresh-leeway", str(scenario.leeway))
    running = background.start(data_dir, port=0, extra_args=extra, quiet=True)
    try:
        asyncio.run(_workload(running.url, result))
        _check(result, running.url, TenantControl(running.url, admin_key(data_dir)))
    finally:
        background.stop(data_dir)
    return result


def report(result: Result) -> str:
    s = result.scenario
    extra = (
        f", {s.attackers} attackers x {ATTEMPTS_PER_ATTACKER} wrong passwords"
        if s.attackers
        else ""
    )
    extra += ", one lost answer + replay per learner" if s.replay else ""
    total = sum(len(v) for v in result.lat.values())
    lines = [
        f"[{s.name}] --refresh-leeway {s.leeway}: {result.clients} learners at once, "
        f"{result.refreshes} renewals each{extra}",
        f"  {total} requests in {result.wall:.1f} s = {total / result.wall:.0f} req/s",
        f"  {'endpoint':<9} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}",
    ]
    for name in ("signup", "login", "userinfo", "refresh", "revoke", "attack"):
        values = result.lat.get(name)
        if not values:
            continue
        ms = [v * 1000 for v in values]
        lines.append(
            f"  {name:<9} {len(values):>8} {len(values) / result.wall:>7.1f} "
            f"{statistics.median(ms):>8.0f} {pct(ms, 95):>8.0f} {pct(ms, 99):>8.0f}"
        )
    lines.append(f"  errors: {len(result.errors)}")
    lines += [f"    {e}" for e in result.errors[:10]]
    lines += [f"  {name}: {verdict}" for name, verdict in result.checks.items()]
    return "\n".join(lines)


SCENARIOS = (
    Scenario("plain"),
    Scenario("leeway", leeway=10, replay=True),
    Scenario("attackers", attackers=3),
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--refreshes", type=int, default=10)
    ap.add_argument("--only", choices=[s.name for s in SCENARIOS], action="append")
    args = ap.parse_args(argv)
    ok = True
    for scenario in SCENARIOS:
        if args.only and scenario.name not in args.only:
            continue
        result = run_scenario(scenario, args.clients, args.refreshes)
        print(report(result), flush=True)
        ok = ok and result.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
