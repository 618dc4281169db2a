#!/bin/sh
# Every test: the package, the tenant, the keychain, the notebooks. pytest's exit code 5
# ("no tests collected") is a failure here: a run that tests nothing must not pass.
set -e
.venv/bin/ruff check session_tutorial tests benchmarks examples scripts notebooks/solutions docs/site conftest.py
.venv/bin/mypy
set +e
# Two workers (pytest-xdist), one per core: each with its own tenant and its own private
# keychain (conftest.py); the notebooks stay together, in order, on one of them. Arguments
# come after, so `-n 0` runs everything in this one process.
.venv/bin/python -m pytest -n "${TEST_WORKERS:-2}" "$@"
rc=$?
[ $rc -eq 5 ] && echo "run-tests: pytest collected no tests" >&2 && exit 1
exit $rc
