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


#: What a committed output shows instead of this checkout's folder: commands the notebooks
#: print name the interpreter by its full path (``sys.executable``), which is the path of the
#: machine that ran ``make notebooks``, not the reader's.
PLACEHOLDER_ROOT = "/path/to/session-tutorial"


def _neutral(value: object) -> object:
    if isinstance(value, str):
        return value.replace(str(ROOT), PLACEHOLDER_ROOT)
    if isinstance(value, list):
        return [_neutral(v) for v in value]
    if isinstance(value, dict):
        return {k: _neutral(v) for k, v in value.items()}
    return value


def clean(nb: nbformat.NotebookNode) -> None:
    """No widget state (a Password widget's value would be in it), no timings, and no path of
    this machine in the outputs."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("widgets", None)
        if "outputs" in cell:
            cell.outputs = [nbformat.from_dict(_neutral(o)) for o in cell.outputs]


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
