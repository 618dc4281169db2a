"""A local identity provider that speaks Auth0's Authentication API over real HTTP.

It is the tutorial's default tenant: no account, no internet. See ``python -m
session_tutorial.provider --help`` and the README.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# The server's parts (Starlette, uvicorn, Argon2, the endpoints) are imported on first use
# (PEP 562): a kernel, a script or `python -m session_tutorial status` that only finds or
# controls a running tenant does not load the tenant itself. Its settings too (platformdirs):
# a signing helper (`python -m` .signing_helper) loads neither.
_LAZY = {
    "CLIENT_ID": "config",
    "CONNECTION": "config",
    "DEMO_USERS": "config",
    "TenantConfig": "config",
    "create_app": "app",
    "ensure_running": "background",
    "IdentityProvider": "idp",
    "SyncedClock": "control",
    "TenantControl": "control",
}

if TYPE_CHECKING:
    from .app import create_app
    from .background import ensure_running
    from .config import CLIENT_ID, CONNECTION, DEMO_USERS, TenantConfig
    from .control import SyncedClock, TenantControl
    from .idp import IdentityProvider


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)


__all__ = [
    "CLIENT_ID",
    "CONNECTION",
    "DEMO_USERS",
    "IdentityProvider",
    "SyncedClock",
    "TenantConfig",
    "TenantControl",
    "create_app",
    "ensure_running",
]
