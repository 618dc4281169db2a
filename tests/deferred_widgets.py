"""ipywidgets in the suite's kernel template: imported there, imported "again" by each kernel.

Importing ipywidgets inside a kernel is what registers its comm targets with that kernel
(``ipywidgets._handle_ipython``, at the end of ``ipywidgets/__init__.py``), and a frontend can
tell: JupyterLab's widget manager opens a ``jupyter.widget.control`` comm, which a kernel without
the target refuses. So a kernel must not have ipywidgets before its notebook imports it. The
template (tests/kernel_template.py) imports ipywidgets, anywidget and the package's widgets in
that order (each group the modules one of them loads, the next importing the ones before) where
no shell runs, so nothing is registered; :class:`DeferredWidgets` then, in each fork before its
kernel starts, takes those modules out of ``sys.modules`` (and ``session_tutorial.widgets`` off
its package) and puts itself first on ``sys.meta_path``.

When the kernel imports one of them (``import ipywidgets``, ``from session_tutorial.widgets
import LoginForm``, a submodule), the import finds it here and gets the module the template
loaded; that group and the groups before it (what a cold import of it would have loaded, its
own imports) go back into ``sys.modules`` and onto their packages, and what their import does
at import time is done then, in the kernel: ipywidgets reads ``JUPYTER_WIDGETS_ECHO`` from the
environment as it is now and registers its comm targets. Nothing else in these groups reads the
environment or runs at import (the template checks what they read); the modules they share with
others (psygnal, importlib_metadata...) are the template's like its other modules. Once every
group is back the finder leaves ``sys.meta_path``. tests/test_kernels.py compares what a kernel
sees of them, before and after the import, with a cold kernel.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

#: The groups, in the order the template imports them: each one's modules are what importing
#: its root loaded after the groups before it.
ROOTS = ("ipywidgets", "anywidget", "session_tutorial.widgets")


def _ours(name: str, root: str) -> bool:
    return name == root or name.startswith(root + ".")


def import_groups() -> list[dict[str, ModuleType]]:
    """Import :data:`ROOTS` in order (in the template); each group's modules, by name."""
    groups = []
    for root in ROOTS:
        before = set(sys.modules)
        importlib.import_module(root)
        new = [n for n in sys.modules if n not in before and any(_ours(n, r) for r in ROOTS)]
        assert all(_ours(n, root) for n in new), f"{root} loaded another group's modules: {new}"
        groups.append({n: sys.modules[n] for n in new})
    return groups


class DeferredWidgets(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """The template's widget modules, out of ``sys.modules`` until the kernel imports one."""

    def __init__(self, groups: Sequence[dict[str, ModuleType]]) -> None:
        self.groups = list(groups)
        self.back = 0  # how many groups are back in sys.modules
        #: Each module's own spec: the import gives it this finder's, and gets its own back.
        self.specs = {name: m.__spec__ for group in groups for name, m in group.items()}

    def hide(self) -> None:
        """In the fork: take the groups out and wait on ``sys.meta_path``."""
        for group in self.groups:
            for name in group:
                del sys.modules[name]
                parent, _, child = name.rpartition(".")
                if parent in sys.modules and parent not in self.specs:  # session_tutorial
                    delattr(sys.modules[parent], child)
        sys.meta_path.insert(0, self)

    def _group(self, name: str) -> int | None:
        return next((i for i, g in enumerate(self.groups) if name in g), None)

    def find_spec(
        self, fullname: str, path: Any = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        which = self._group(fullname)
        if which is None or which < self.back:
            return None
        original = self.specs[fullname]
        assert original is not None
        spec = importlib.machinery.ModuleSpec(
            fullname,
            self,
            origin=original.origin,
            is_package=original.submodule_search_locations is not None,
        )
        spec.submodule_search_locations = original.submodule_search_locations
        spec.has_location = original.has_location
        spec.cached = original.cached
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        which = self._group(spec.name)
        assert which is not None
        return self.groups[which][spec.name]

    def exec_module(self, module: ModuleType) -> None:
        which = self._group(module.__name__)
        assert which is not None
        module.__spec__ = self.specs[module.__name__]
        while self.back <= which:
            self._put_back(self.groups[self.back])
            self.back += 1
        if self.back == len(self.groups):
            sys.meta_path.remove(self)

    def _put_back(self, group: dict[str, ModuleType]) -> None:
        for name, module in group.items():
            sys.modules.setdefault(name, module)  # the one being imported is there already
        for name, module in group.items():  # (a package is after its modules: Python moves it)
            parent, _, child = name.rpartition(".")
            if parent:
                setattr(sys.modules[parent], child, module)
        if "ipywidgets" in group:  # what the end of its import does, now, in this kernel
            widget: Any = group["ipywidgets.widgets.widget"]
            widget.JUPYTER_WIDGETS_ECHO = widget.envset("JUPYTER_WIDGETS_ECHO", default=True)
            ipywidgets: Any = group["ipywidgets"]
            ipywidgets._handle_ipython()
