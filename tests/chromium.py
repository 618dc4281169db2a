"""Debian's Chromium as the browser tests start it (tests/test_browser.py, tests/test_site.py)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# Flags that keep Chromium off the network it cannot reach (Playwright adds --headless and a
# fresh --user-data-dir itself).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
