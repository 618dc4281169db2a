"""A local identity provider that speaks Auth0's Authentication API over real HTTP.

It is the tutorial's default tenant: no account, no internet. See ``python -m
session_tutorial.provider --help`` and the README.
"""

from __future__ import annotations

from .app import create_app
from .background import ensure_running
from .config import CLIENT_ID, CONNECTION, DEMO_USERS, TenantConfig
from .control import SyncedClock, TenantControl
from .idp import IdentityProvider

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
