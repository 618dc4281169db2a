"""Re-execute every notebook in order and save it with clean, committed-ready outputs.

Runs against a fresh local tenant in a temporary data dir (as the tests do), in a fresh kernel
per notebook, then strips saved widget state and timing metadata, so that outputs hold no
secrets and execution counts are deterministic. Used by ``make notebooks``.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def clean(nb: nbformat.NotebookNode) -> None:
    """No widget state (a Password widget's value would be in it), no timings."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("widgets", None)


def main(names: list[str]) -> int:
    tenant_dir = Path(tempfile.mkdtemp(prefix="notebooks-tenant-"))
    os.environ["SESSION_TUTORIAL_TENANT_DIR"] = str(tenant_dir)
    paths = [NOTEBOOKS / n for n in names] or sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    from session_tutorial.provider import background

    try:
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            started = time.perf_counter()
            NotebookClient(
                nb,
                timeout=120,
                kernel_name="python3",
                resources={"metadata": {"path": str(NOTEBOOKS)}},
            ).execute()
            clean(nb)
            nbformat.write(nb, path)
            print(f"{path.name}: {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        background.stop(tenant_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
