#!/bin/sh
# Every test: the package, the tenant, the keychain, the notebooks. pytest's exit code 5
# ("no tests collected") is a failure here: a run that tests nothing must not pass.
set -e
# The suite starts hundreds of Python processes (workers, kernels, tenants, JupyterLabs,
# commands): let the first compile this project's modules once and the rest reuse the bytecode
# (__pycache__/ is git-ignored), even where the environment says not to write it.
unset PYTHONDONTWRITEBYTECODE
.venv/bin/ruff check session_tutorial tests benchmarks examples scripts notebooks/solutions docs/site conftest.py
# mypy (about 8 s of CPU from a clean clone, 804 modules to analyse; well under 1 s once its
# cache is warm) checks beside pytest, at the lowest priority: pytest's processes keep the
# cores busy, and mypy runs in the moments they all wait (on a browser, a kernel, a tenant)
# instead of taking turns with them. Its report comes after pytest's; either failing fails
# the run.
mypy_log=$(mktemp)
nice -n 19 .venv/bin/mypy >"$mypy_log" 2>&1 &
mypy_pid=$!
set +e
# One pytest-xdist worker more than the cores (3 on 2 cores; TEST_WORKERS=N to choose), each
# with its own tenant and its own private keychain (conftest.py); the notebooks stay together,
# in order, on one of them. A worker often waits on a kernel, a tenant or a browser starting:
# with one worker per core, both cores were idle for about 35 core-seconds of a run; with one
# more, about 7 (make bench-suite: 137/138 s -> 124/127 s of pytest, A B B A). Arguments come
# after, so `-n 0` runs everything in this one process.
workers=${TEST_WORKERS:-$(.venv/bin/python -c 'import os
cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
print(min(8, cores + 1))')}
.venv/bin/python -m pytest -n "$workers" "$@"
rc=$?
wait "$mypy_pid"
mypy_rc=$?
echo "mypy:"
cat "$mypy_log"
rm -f "$mypy_log"
[ $rc -eq 5 ] && echo "run-tests: pytest collected no tests" >&2 && exit 1
[ $rc -ne 0 ] && exit $rc
exit $mypy_rc
