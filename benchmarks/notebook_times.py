"""Each notebook's run time, in a fresh kernel, against a fresh local tenant.

The notebooks (and the ``examples/`` they call) are copied to a temporary folder first and
run there, so the committed notebooks and their outputs are never rewritten (``make
notebooks`` is what rewrites them). Needs a keychain: run under the launcher, as ``make
bench`` does::

    .venv/bin/python -m session_tutorial.launcher -- .venv/bin/python benchmarks/notebook_times.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def run_all() -> list[tuple[str, float]]:
    work = Path(tempfile.mkdtemp(prefix="notebook-times-"))
    shutil.copytree(ROOT / "notebooks", work / "notebooks")
    shutil.copytree(ROOT / "examples", work / "examples")
    tenant_dir = work / "tenant"
    os.environ["SESSION_TUTORIAL_TENANT_DIR"] = str(tenant_dir)  # inherited by each kernel
    from session_tutorial.provider import background

    times = []
    try:
        for path in sorted((work / "notebooks").glob("[0-9][0-9]-*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            started = time.perf_counter()
            NotebookClient(
                nb,
                timeout=120,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            ).execute(stderr=subprocess.DEVNULL)  # the kernel's startup chatter; errors still raise
            times.append((path.name, time.perf_counter() - started))
    finally:
        background.stop(tenant_dir)
        shutil.rmtree(work, ignore_errors=True)
    return times


def main() -> int:
    times = run_all()
    print("notebooks, each in a fresh kernel (temp copy, committed files untouched):")
    for name, seconds in times:
        print(f"  {name:<40} {seconds:5.1f} s")
    print(f"  {'all notebooks':<40} {sum(s for _, s in times):5.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
