"""Every figure of the README's "Performance and reliability" section, in a few minutes.

``make bench`` runs this under the keychain launcher. Loopback only; each part starts its own
local tenant in a temporary folder and stops it. Exits non-zero when a correctness check fails.

    .venv/bin/python -m session_tutorial.launcher -- .venv/bin/python benchmarks/run_all.py

``--with-tests`` also times the test suite (``sh scripts/run-tests.sh``, what ``make test``
runs once set up), which adds its own few minutes.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import client_bench
import notebook_times
import tenant_load

ROOT = Path(__file__).resolve().parent.parent


def machine() -> str:
    mem_kb = 0
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"machine: {os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024**2:.0f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def section(title: str) -> None:
    print(f"\n== {title} ==", flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=100)
    ap.add_argument("--refreshes", type=int, default=10)
    ap.add_argument("--with-tests", action="store_true", help="also time the test suite")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    print(machine(), flush=True)

    section("Tenant under a workshop room's load (benchmarks/tenant_load.py)")
    ok = tenant_load.main(["--clients", str(args.clients), "--refreshes", str(args.refreshes)]) == 0

    section("Client (benchmarks/client_bench.py)")
    ok = client_bench.main([]) == 0 and ok

    section("Notebooks (benchmarks/notebook_times.py)")
    ok = notebook_times.main() == 0 and ok

    if args.with_tests:
        section("Test suite (sh scripts/run-tests.sh, as make test runs it)")
        t = time.perf_counter()
        rc = subprocess.call(["sh", "scripts/run-tests.sh", "-q"], cwd=ROOT)
        print(f"  test suite: {time.perf_counter() - t:.0f} s wall time (exit code {rc})")
        ok = ok and rc == 0

    print(
        f"\nall figures in {time.perf_counter() - started:.0f} s; correctness: "
        f"{'all checks passed' if ok else 'FAILED (see above)'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
