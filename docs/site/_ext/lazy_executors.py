"""myst-nb's notebook executors, imported when a notebook is first executed, not at start-up.

myst-nb imports its three executors when Sphinx loads it: jupyter-cache with SQLAlchemy (the
"cache" mode), nbclient with jupyter_client and ZeroMQ ("force", "auto", "inline"). That is
about 0.45 s of CPU in every build of this site, which never executes a notebook
(``nb_execution_mode = "off"`` in conf.py). ``install()``, called by conf.py before Sphinx
loads myst-nb, puts a stand-in for each executor module in ``sys.modules``: its one class
imports the real module when it is first made and returns the real client, so another
execution mode still works. Should myst-nb rename a class, its import fails the build loudly;
should it move a module, the stand-in is never used and only the saving is lost.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

# module -> the client class myst_nb.core.execute imports from it
EXECUTORS = {
    "myst_nb.core.execute.cache": "NotebookClientCache",
    "myst_nb.core.execute.direct": "NotebookClientDirect",
    "myst_nb.core.execute.inline": "NotebookClientInline",
}


def _real(module: str) -> types.ModuleType:
    """The executor module itself, imported now in place of its stand-in."""
    if getattr(sys.modules.get(module), "__lazy_stand_in__", False):
        del sys.modules[module]
    return importlib.import_module(module)


def _stand_in(module: str, name: str) -> types.ModuleType:
    def __new__(cls: type, *args: Any, **kwargs: Any) -> Any:
        return getattr(_real(module), name)(*args, **kwargs)

    stand_in = types.ModuleType(module, f"Imports {module} when a {name} is first made.")
    stand_in.__lazy_stand_in__ = True  # type: ignore[attr-defined]
    setattr(stand_in, name, type(name, (), {"__new__": __new__, "__module__": module}))
    return stand_in


def install() -> None:
    for module, name in EXECUTORS.items():
        if module not in sys.modules:  # not imported yet: myst-nb not loaded in this process
            sys.modules[module] = _stand_in(module, name)
