"""How long ``make test`` takes on this machine, alone or back to back with another revision.

A single figure says little here: this machine's speed drifts by a quarter within hours (the
same code took 135 s at one hour and 171 s two hours later). So each run is printed with the
CPU the whole machine spent meanwhile (``/proc/stat``) and a speed index taken just before it
(one Argon2id check at the tenant's parameters, and a pure-Python loop). With ``--against REV``
the script also runs REV's suite, from a detached git worktree with its own venv (kept in the
temp dir for the next comparison), in the order A B B A: the figure to quote is the ratio
within each pair, which the drift cancels.

    make bench-suite                         # this checkout's suite, once
    make bench-suite AGAINST=86187ee         # and 86187ee's, back to back (about 10 minutes)

Each suite is ``make test`` (setup included, so a run right after another costs only the
tests); its output goes to a log file named in the report.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRESS = re.compile(r"\[\s*(\d+)%\]")
SUMMARY = re.compile(r"=+ (.*(?:passed|failed|error).*) in ([\d.]+)s")


@dataclass(frozen=True)
class Run:
    label: str
    wall: float
    busy_cpu: float | None  # seconds of CPU on all cores, from /proc/stat (Linux only)
    pytest: str  # pytest's own summary, e.g. "1042 passed in 136.08s"
    returncode: int
    argon2_ms: float
    loop_s: float
    log: Path

    def line(self) -> str:
        cpu = f"{self.busy_cpu:6.1f} s CPU" if self.busy_cpu is not None else "   n/a CPU"
        status = "ok" if self.returncode == 0 else f"FAILED (exit {self.returncode})"
        return (
            f"{self.label:<14} {self.wall:6.1f} s wall  {cpu}   speed: Argon2id "
            f"{self.argon2_ms:4.1f} ms, loop {self.loop_s:.3f} s   {self.pytest}   {status}"
        )


def busy_cpu_seconds() -> float | None:
    """CPU seconds spent on all cores since boot, idle and I/O wait left out."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return None
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / os.sysconf("SC_CLK_TCK")


def speed_index() -> tuple[float, float]:
    """(ms per Argon2id check at the tenant's parameters, s for a 3-million-step Python loop),
    both CPU time of this process, the median of a few tries."""
    from session_tutorial.provider.passwords import hash_password, verify_password

    stored = hash_password("speed-index")
    checks = []
    for _ in range(7):
        started = time.process_time()
        verify_password("speed-index", stored)
        checks.append((time.process_time() - started) * 1000)
    loops = []
    for _ in range(3):
        started = time.process_time()
        total = 0
        for i in range(3_000_000):
            total += i
        loops.append(time.process_time() - started)
    return statistics.median(checks), statistics.median(loops)


def run_suite(label: str, checkout: Path, logs: Path) -> Run:
    argon2_ms, loop_s = speed_index()
    log = logs / f"{label.replace(' ', '-')}.log"
    print(f"{label}: make test in {checkout} (log: {log})", flush=True)
    cpu0, started = busy_cpu_seconds(), time.monotonic()
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["make", "test"], cwd=checkout, stdout=out, stderr=subprocess.STDOUT, text=True
        )
        while proc.poll() is None:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                done = PROGRESS.findall(log.read_text(errors="replace")[-4000:])
                share = f"{done[-1]}% of the tests" if done else "setting up"
                print(f"  ... {time.monotonic() - started:4.0f} s, {share}", flush=True)
    wall, cpu1 = time.monotonic() - started, busy_cpu_seconds()
    text = log.read_text(errors="replace")
    found = SUMMARY.findall(text)
    summary = f"{found[-1][0]} in {float(found[-1][1]):.1f}s" if found else "no pytest summary"
    busy = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    run = Run(label, wall, busy, summary, proc.returncode, argon2_ms, loop_s, log)
    print("  " + run.line(), flush=True)
    return run


def checkout_of(rev: str, logs: Path) -> Path:
    """A detached worktree of ``rev`` with its venv and site tools installed: made the first
    time (a few minutes), in the temp dir, and kept for the next comparison with ``rev``."""
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not commit:
        sys.exit(f"suite_time: {rev!r} is not a commit of this repository")
    where = Path(tempfile.gettempdir()) / f"session-tutorial-suite-{commit[:12]}"
    if not (where / ".git").exists():
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(where), commit],
            cwd=ROOT,
            check=True,
        )
    print(f"{rev}: its checkout is {where}; installing its venv and site tools", flush=True)
    with (logs / "install-against.log").open("w") as out:
        setup = subprocess.run(
            ["make", "install", "system-deps", "site-deps"],
            cwd=where,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if setup.returncode != 0:
        sys.exit(f"suite_time: setting up {rev} failed; see {logs / 'install-against.log'}")
    return where


def report(runs: list[Run], pairs: list[tuple[Run, Run]], against: str, load: str) -> None:
    print(f"\nmake test on {os.cpu_count()} CPUs, load average at the start: {load}")
    for run in runs:
        print("  " + run.line())
    for this, that in pairs:
        cpu = (
            f", CPU {this.busy_cpu / that.busy_cpu:.2f}x" if this.busy_cpu and that.busy_cpu else ""
        )
        print(f"  pair {this.label} / {that.label}: wall {this.wall / that.wall:.2f}x{cpu}")
    if pairs:
        ratio = statistics.geometric_mean(this.wall / that.wall for this, that in pairs)
        print(f"  wall, this / {against}, geometric mean of the pairs: {ratio:.2f}x")


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="REV", help="also run REV's suite: A B B A")
    args = parser.parse_args(argv)
    logs = Path(tempfile.mkdtemp(prefix="suite-time-"))
    load = load_average()
    runs: list[Run] = []
    pairs: list[tuple[Run, Run]] = []
    if args.against:
        other = checkout_of(args.against, logs)
        first = run_suite("this 1", ROOT, logs), run_suite(f"{args.against} 1", other, logs)
        second = run_suite(f"{args.against} 2", other, logs), run_suite("this 2", ROOT, logs)
        runs = [*first, *second]
        pairs = [first, (second[1], second[0])]
        print(f"({args.against}'s checkout stays for next time: git worktree remove {other})")
    else:
        runs = [run_suite("this", ROOT, logs)]
    report(runs, pairs, args.against or "", load)
    return 0 if all(run.returncode == 0 for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
