#!/bin/sh
# Every test: the package, the tenant, the keychain, the notebooks. pytest's exit code 5
# ("no tests collected") is a failure here: a run that tests nothing must not pass.
set -e
.venv/bin/ruff check session_tutorial tests benchmarks examples scripts notebooks/solutions docs/site conftest.py
.venv/bin/mypy
set +e
.venv/bin/python -m pytest "$@"
rc=$?
[ $rc -eq 5 ] && echo "run-tests: pytest collected no tests" >&2 && exit 1
exit $rc
