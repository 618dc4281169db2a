"""Small HTML pieces the widgets share: status boxes, expiry in words, safe text."""

from __future__ import annotations

import re
from html import escape
from typing import Literal

from session_tutorial.timewords import duration, rough_duration

Kind = Literal["info", "ok", "error", "busy"]

_COLOURS: dict[Kind, tuple[str, str]] = {
    "info": ("#eef3fb", "#234"),
    "ok": ("#e6f4ea", "#174d26"),
    "error": ("#fdecea", "#7a1c12"),
    "busy": ("#fff8e1", "#5d4300"),
}
_ICONS: dict[Kind, str] = {"info": "ℹ️", "ok": "✅", "error": "⚠️", "busy": "⏳"}


_BACKTICKED = re.compile(r"`([^`]+)`")


def status_box(text: str, kind: Kind = "info") -> str:
    """``text`` (escaped) in a small coloured box, with an icon that says what kind it is.

    Messages are plain text that mark commands with backticks, as errors do; here they are
    set in monospace instead of showing the backticks:

    >>> status_box("run `make tenant-start`")  # doctest: +ELLIPSIS
    '<div ...>ℹ️ run <code>make tenant-start</code></div>'
    """
    background, colour = _COLOURS[kind]
    shown = _BACKTICKED.sub(r"<code>\1</code>", escape(text))
    return (
        f'<div role="status" style="padding:.4em .6em;border-radius:.3em;line-height:1.4;'
        f'background:{background};color:{colour};max-width:42em">'
        f"{_ICONS[kind]} {shown}</div>"
    )


def code(text: str) -> str:
    """``text`` escaped and set in monospace."""
    return f"<code>{escape(text)}</code>"


def expiry_words(seconds_left: float, *, rough: bool = True) -> str:
    """``expires in 59 min`` or ``expired 3 min ago``."""
    words = rough_duration if rough else duration
    if seconds_left > 0:
        return f"expires in {words(seconds_left)}"
    return f"expired {words(-seconds_left)} ago"
