"""Debian's Chromium as the browser tests start it (tests/test_browser.py, tests/test_site.py).

Its headless shell (Debian's ``chromium-headless-shell``: the same Chromium build without the
browser's own windows, the build Playwright itself runs headless): the same Blink, V8 and
renderer draw the pages and take the screenshots, but no tab strip, toolbar or omnibox is laid
out and composited for every window, and no omnibox popup page is preloaded in a renderer of
its own. For the browser journeys that is about 48 -> 35 s of Chromium's CPU, for the
website's walk about 51 -> 44 s (tests/test_browser.py 81 -> 65 s of CPU, all its processes).
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium-headless-shell")
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
    # V8 without its optimising compilers (Maglev, TurboFan), Sparkplug's baseline code instead
    # (compiled at once from the bytecode). Each page here lives in a fresh context: the
    # website's walk runs axe-core and mermaid for under a second a page, a journey's JupyterLab
    # for half a minute, and V8 compiled the same hot functions anew in each, on background
    # threads, to throw the code away at the next load: about 6 s of the walk's CPU for 1-2 s of
    # faster JavaScript, and for the journeys 5.4 -> 2.5 s on those threads, their main threads
    # unchanged (20.2-21.1 -> 20.6-21.4 s). The same Chromium, Blink and JavaScript semantics;
    # only how fast V8 runs it changes.
    "--js-flags=--max-opt=1 --always-sparkplug",
]
VIEWPORT = {"width": 1280, "height": 800}
