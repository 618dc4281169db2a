"""The local tenant side by side with panva's oidc-provider, under one load generator.

``make bench-peers`` installs the pinned peer (``npm ci`` here, into ``node_modules/``) and runs
this. Both servers run on loopback, one process each: the local tenant as ``make lab`` starts
it (with ``--refresh-leeway 0``, so both detect reuse the same strict way), and oidc-provider
configured by ``peer.mjs`` for the same work. wrk (Debian's) drives both with the same Lua
scripts, one connection and one refresh-token family per client, in interleaved rounds
(A B, B A, A B ...), after the same unmeasured warm-up for both. Per endpoint it prints
requests/s, p50/p95/p99, errors, server CPU per request and the ratio project/peer, checks
that wrk is not the bottleneck, and measures the RS256 signatures/s this machine manages on one
core in the same run (each refresh grant needs at least one, for its ID token: that is the
ceiling a one-process server can reach).

Correctness under load, checked for both servers with the tokens the run leaves behind:

- nothing lost: every client rotated exactly as often as it asked, and its last token still works;
- one live refresh token per family: the token before the last is refused;
- reuse detection: presenting it revokes the family, so the token just issued is refused too.

Run::

    .venv/bin/python benchmarks/peers/bench_peers.py --clients 50 --rotations 100 --rounds 3

Exits non-zero if any check fails or any request failed.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from session_tutorial.provider import background

HERE = Path(__file__).resolve().parent
CLIENT = "tutorial-app"
REALM = "http://auth0.com/oauth/grant-type/password-realm"
ADA = ("ada@example.com", "Analytical-Engine-1843")
SCOPE = "openid profile email offline_access"
TICKS = os.sysconf("SC_CLK_TCK")
BENCH_LINE = re.compile(r"^BENCH (.*)$", re.M)


# -- the two servers -------------------------------------------------------------------------
@dataclass
class Server:
    name: str
    url: str
    pid: int

    def cpu_seconds(self) -> dict[int, float]:
        """User + system CPU so far of the server process and its children (its helpers)."""
        found: dict[int, float] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            pid, ppid = int(stat.parent.name), int(fields[1])
            if pid == self.pid or ppid == self.pid:
                found[pid] = (int(fields[11]) + int(fields[12])) / TICKS
        return found

    def seed(self, http: httpx.Client) -> str:
        """One new refresh-token family, as a sign-in leaves it; returns its refresh token."""
        raise NotImplementedError


class Tenant(Server):
    def seed(self, http: httpx.Client) -> str:
        form = {
            "grant_type": REALM,
            "client_id": CLIENT,
            "username": ADA[0],
            "password": ADA[1],
            "realm": "Username-Password-Authentication",
            "scope": SCOPE,
        }
        r = http.post(f"{self.url}/oauth/token", data=form)
        r.raise_for_status()
        return str(r.json()["refresh_token"])


class Peer(Server):
    def seed(self, http: httpx.Client) -> str:
        r = http.post(f"{self.url}/_bench/seed")
        r.raise_for_status()
        return str(r.json()["refresh_token"])


@contextmanager
def tenant() -> Iterator[Tenant]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench-peers-tenant-"))
    extra = ("--refresh-leeway", "0")
    running = background.start(data_dir, port=0, extra_args=extra, quiet=True)
    try:
        yield Tenant("project", running.url, running.pid)
    finally:
        background.stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def peer() -> Iterator[Peer]:
    port = background.free_port()
    env = {**os.environ, "NODE_ENV": "production"}
    proc = subprocess.Popen(
        ["node", str(HERE / "peer.mjs"), str(port)],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A session of its own, as the tenant has (background.start): Linux schedules each
        # session as one group (autogroup), so neither server shares its group with wrk.
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # the peer prints this once it accepts connections
        if "listening" not in line:
            raise SystemExit(f"oidc-provider did not start: {line}{proc.stderr.read()[-2000:]}")
        yield Peer("oidc-provider", f"http://127.0.0.1:{port}", proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# -- one measured run ------------------------------------------------------------------------
@dataclass
class Run:
    server: str
    endpoint: str
    requests: int
    seconds: float
    p50: float  # ms
    p95: float
    p99: float
    errors: int
    server_cpu: float  # seconds
    wrk_cpu: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.server_cpu / self.requests if self.requests else float("nan")

    @property
    def wrk_ms(self) -> float:
        return 1000 * self.wrk_cpu / self.requests if self.requests else float("nan")


@dataclass
class Checks:
    failed: list[str] = field(default_factory=list)
    passed: dict[str, int] = field(default_factory=dict)

    def record(self, name: str, problems: list[str]) -> None:
        if problems:
            self.failed += [f"{name}: {p}" for p in problems[:5]]
        else:
            self.passed[name] = self.passed.get(name, 0) + 1


def wrk(
    server: Server,
    script: str,
    args: list[str],
    clients: int,
    limit: int,
    until: Path | None = None,
) -> Run | str:
    """Run wrk against ``server`` and parse the BENCH line its script prints.

    With ``until`` (refresh.lua), the clients stop by themselves after their rotations, each
    writing ``until.N``; wrk itself only ends at its ``-d`` limit, so once every client is done
    it is interrupted (it then prints its figures) and the run's length is the time from the
    start to the last client's file, not wrk's own.
    """
    cmd = ["wrk", "-t", str(clients), "-c", str(clients), "-d", f"{limit}s", "--timeout", "30s"]
    cmd += ["-s", str(HERE / script), server.url, "--", *args]
    before, children = server.cpu_seconds(), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seconds = None
    if until is not None:
        files = [Path(f"{until}.{n}") for n in range(1, clients + 1)]
        while proc.poll() is None and not all(f.exists() for f in files):
            time.sleep(0.02)
        server_cpu = cpu_since(server, before)
        if all(f.exists() for f in files):
            seconds = max(f.stat().st_mtime for f in files) - started
        proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=limit + 60)
    if until is None:
        server_cpu = cpu_since(server, before)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is the only child reaped
    wrk_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    m = BENCH_LINE.search(out)
    if not m:
        return f"wrk failed ({proc.returncode}): {out[-500:]} {err[-500:]}"
    f = dict(kv.split("=") for kv in m.group(1).split())
    return Run(
        server.name,
        script.removesuffix(".lua"),
        int(f["requests"]),
        seconds if seconds is not None else int(f["duration_us"]) / 1e6,
        int(f["p50_us"]) / 1000,
        int(f["p95_us"]) / 1000,
        int(f["p99_us"]) / 1000,
        int(f["status_errors"]) + int(f["socket_errors"]) + int(f.get("wrong_answers", 0)),
        server_cpu,
        wrk_cpu,
    )


def refresh(http: httpx.Client, server: Server, token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "client_id": CLIENT, "refresh_token": token}
    return http.post(f"{server.url}/oauth/token", data=form)


def cpu_since(server: Server, before: dict[int, float]) -> float:
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in server.cpu_seconds().items())


def refused(r: httpx.Response) -> bool:
    """An invalid_grant answer: 400 from oidc-provider (RFC 6749), 403 from Auth0's API."""
    return r.status_code in (400, 403) and r.json().get("error") == "invalid_grant"


def round_for(
    server: Server, clients: int, rotations: int, seconds: int, checks: Checks, work: Path
) -> list[Run]:
    """Refresh load, then /userinfo load, on one server; the correctness checks around them."""
    runs: list[Run] = []
    with httpx.Client(timeout=30) as http:
        with ThreadPoolExecutor(8) as pool:
            seeds = list(pool.map(lambda _: server.seed(http), range(clients)))
        tokens = work / f"{server.name}-seeds.txt"
        tokens.write_text("\n".join(seeds) + "\n")
        out = work / f"{server.name}-chains"
        for old in work.glob(f"{server.name}-chains.*"):
            old.unlink()
        args = [str(tokens), str(rotations), str(out)]
        result = wrk(server, "refresh.lua", args, clients, 600, until=out)
        if isinstance(result, str):
            checks.record("wrk ran", [result])
            return runs
        runs.append(result)

        chains = []
        for n in range(1, clients + 1):
            path = Path(f"{out}.{n}")
            chains.append(path.read_text().split() if path.exists() else None)
        unfinished = [f"client {n + 1}" for n, c in enumerate(chains) if c is None]
        short = [
            f"client {n + 1}: {c[3]}/{rotations}"
            for n, c in enumerate(chains)
            if c and int(c[3]) != rotations
        ]
        checks.record("every client rotated as often as it asked", unfinished + short)
        done = [c for c in chains if c]
        if result.requests != rotations * clients:
            checks.record(
                "every request answered once",
                [f"{result.requests} requests, expected {rotations * clients}"],
            )
        else:
            checks.record("every request answered once", [])

        # Nothing lost: each family's last token still works (and rotates once more).
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda c: refresh(http, server, c[1]), done))
        lost = [f"{r.status_code} {r.text[:80]}" for r in answers if r.status_code != 200]
        checks.record("nothing lost: every last token still works", lost)
        fresh = [r.json() for r in answers if r.status_code == 200]

        access = work / f"{server.name}-access.txt"
        access.write_text("\n".join(b["access_token"] for b in fresh) + "\n")
        if len(fresh) == clients:
            result = wrk(server, "userinfo.lua", [str(access)], clients, seconds)
            if isinstance(result, str):
                checks.record("wrk ran", [result])
            else:
                runs.append(result)

        # One live token per family, and reuse detection: the token before the last is refused,
        # and presenting it revokes the family, so the newest token is refused as well.
        replayed, revoked = [], []
        for c, body in zip(done, fresh, strict=False):
            if not refused(refresh(http, server, c[1])):
                replayed.append("a retired token was accepted")
            r = refresh(http, server, body["refresh_token"])
            if not refused(r):
                revoked.append(f"the family survived reuse: {r.status_code}")
        checks.record("one live refresh token per family", replayed)
        checks.record("reuse revokes the family", revoked)
    return runs


def warm_up(server: Server, clients: int, rotations: int, work: Path) -> str:
    """Refresh load that is not measured: what a server does once in its life happens here.

    The tenant starts its signing helpers at its first burst of grants (a few seconds, during
    which it signs in-process), and Node compiles its hot paths: neither belongs in round 1.
    """
    with httpx.Client(timeout=30) as http, ThreadPoolExecutor(8) as pool:
        seeds = list(pool.map(lambda _: server.seed(http), range(clients)))
    tokens = work / f"{server.name}-warm-seeds.txt"
    tokens.write_text("\n".join(seeds) + "\n")
    out = work / f"{server.name}-warm"
    result = wrk(server, "refresh.lua", [str(tokens), str(rotations), str(out)], clients, 600, out)
    if isinstance(result, str):
        raise SystemExit(f"warm-up of {server.name} failed: {result}")
    return f"{result.requests} refresh grants in {result.seconds:.1f} s"


# -- the ceiling -----------------------------------------------------------------------------
def rs256_per_second(seconds: float = 1.5) -> float:
    """RS256 (2048-bit) signatures per second on one core, with OpenSSL through cryptography."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message = b"x" * 400
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(50):
            key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        n += 50
    return n / (time.perf_counter() - start)


# -- report ----------------------------------------------------------------------------------
def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    wrk_v = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout
    wrk_v = wrk_v.split()[1] if wrk_v else "?"
    load = os.getloadavg()[0]
    return (
        f"machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"Node {node}, wrk {wrk_v}, load average {load:.1f} at start"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rotations", type=int, default=100, help="refreshes per client per round")
    ap.add_argument("--seconds", type=int, default=5, help="/userinfo load per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--warm-up", type=int, default=20, help="unmeasured refreshes per client before round 1"
    )
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: run `make system-deps` (Debian package wrk)")
    print(machine(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-peers-"))
    checks = Checks()
    runs: list[Run] = []
    sigs: list[float] = []
    with tenant() as a, peer() as b:
        print(f"project: {a.url} (pid {a.pid}); oidc-provider: {b.url} (pid {b.pid})")
        for server in (a, b):
            done = warm_up(server, args.clients, args.warm_up, work)
            print(f"  warm-up, not measured: {server.name} {done}", flush=True)
        for r in range(args.rounds):
            order = (a, b) if r % 2 == 0 else (b, a)
            sigs.append(rs256_per_second())
            for server in order:
                got = round_for(server, args.clients, args.rotations, args.seconds, checks, work)
                for run in got:
                    print(f"  round {r + 1} {line(run)}", flush=True)
                runs += got
    shutil.rmtree(work, ignore_errors=True)
    print(summary(runs, sigs, args.clients))
    print("checks (both servers, every round):")
    for name, count in checks.passed.items():
        print(f"  ok   {name} ({count}x)")
    for problem in checks.failed:
        print(f"  FAIL {problem}")
    errors = sum(r.errors for r in runs)
    return 0 if not checks.failed and errors == 0 else 1


def line(run: Run) -> str:
    return (
        f"{run.server:<13} {run.endpoint:<8} {run.requests:>7} req {run.rps:>7.0f}/s "
        f"p50 {run.p50:>6.1f} p95 {run.p95:>6.1f} p99 {run.p99:>6.1f} ms "
        f"errors {run.errors} cpu {run.cpu_ms:.2f} ms/req"
    )


def summary(runs: list[Run], sigs: list[float], clients: int) -> str:
    out = [f"\nmedian of the rounds, {clients} clients:"]
    out.append(
        f"  {'endpoint':<9}{'server':<14}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
        f"{'errors':>7}{'cpu ms/req':>11}"
    )
    med: dict[tuple[str, str], dict[str, float]] = {}
    for endpoint in ("refresh", "userinfo"):
        for server in ("project", "oidc-provider"):
            these = [r for r in runs if r.endpoint == endpoint and r.server == server]
            if not these:
                continue
            m = {
                k: statistics.median(getattr(r, k) for r in these)
                for k in ("rps", "p50", "p95", "p99", "cpu_ms", "wrk_ms")
            }
            m["errors"] = sum(r.errors for r in these)
            med[endpoint, server] = m
            out.append(
                f"  {endpoint:<9}{server:<14}{m['rps']:>8.0f}{m['p50']:>8.1f}{m['p95']:>8.1f}"
                f"{m['p99']:>8.1f}{m['errors']:>7.0f}{m['cpu_ms']:>11.2f}"
            )
    for endpoint in ("refresh", "userinfo"):
        a, b = med.get((endpoint, "project")), med.get((endpoint, "oidc-provider"))
        if a and b:
            out.append(
                f"  ratio project/peer {endpoint}: {a['rps'] / b['rps']:.2f}x req/s, "
                f"p95 {a['p95']:.1f} vs {b['p95']:.1f} ms"
            )
    sig = statistics.median(sigs)
    for server in ("project", "oidc-provider"):
        m = med.get(("refresh", server))
        if m:
            out.append(
                f"  {server} refresh at {m['rps'] / sig:.0%} of the one-core ceiling "
                f"({sig:.0f} RS256 signatures/s measured in this run, one per grant at least)"
            )
    worst = max((m["wrk_ms"] / m["cpu_ms"] for m in med.values() if m["cpu_ms"]), default=0)
    verdict = "not the bottleneck" if worst < 0.5 else "POSSIBLY THE BOTTLENECK"
    out.append(
        f"  load generator: wrk spent at most {worst:.0%} of the server's CPU per request: "
        f"{verdict}"
    )
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
