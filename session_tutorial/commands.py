"""The commands messages tell a learner to run, spelled so that they work as written.

In JupyterLab's terminal, as ``make lab`` starts it, neither ``python`` nor the tutorial's
virtual environment is on ``PATH`` (and ``python3`` may lack every dependency), and ``make``
targets only work from the repository's folder. So each command names the interpreter that runs
this very code, ``sys.executable``: the kernel's in a notebook, the script's in a script.

>>> tenant_command("unblock", "ada@example.com").endswith(
...     " -m session_tutorial.provider unblock ada@example.com")
True
"""

from __future__ import annotations

import os
import shlex
import sys


def python_command(*args: str) -> str:
    """``args`` run by this interpreter, quoted for a POSIX shell."""
    return shlex.join([sys.executable or "python3", *args])


def tenant_command(*args: str) -> str:
    """A command of the local tenant (``start``, ``unblock EMAIL``, ``clock --reset``...)."""
    return python_command("-m", "session_tutorial.provider", *args)


def lab_with_keychain_command() -> str:
    """JupyterLab started with a keychain (a private one where the machine has none).

    As root (a container), Jupyter refuses to start without ``--allow-root``, as ``make lab``
    knows: the command says it too, so that it works as written there.
    """
    root = ["--allow-root"] if hasattr(os, "getuid") and os.getuid() == 0 else []
    return python_command(
        "-m", "session_tutorial.launcher", "--", sys.executable, "-m", "jupyter", "lab", *root
    )
