"""Thin ipywidgets over ``SessionManager``: they hold fields and call the manager, never httpx.

Every widget has a short, stable ``repr`` (nbval compares it) and keeps tokens and passwords out
of its synced state (which is sent to the browser and can be saved in a notebook).
"""

from __future__ import annotations

from .app import SessionApp
from .browser import BrowserLoginWidget, SignOutLink
from .device import DeviceLoginWidget
from .inspector import TokenInspector
from .links import browser_url
from .login import LoginForm
from .profile import ProfileCard

__all__ = [
    "BrowserLoginWidget",
    "DeviceLoginWidget",
    "LoginForm",
    "ProfileCard",
    "SessionApp",
    "SignOutLink",
    "TokenInspector",
    "browser_url",
]
