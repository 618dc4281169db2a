"""Small HTML pieces the widgets share: status boxes, durations in words, safe text."""

from __future__ import annotations

from html import escape
from typing import Literal

Kind = Literal["info", "ok", "error", "busy"]

_COLOURS: dict[Kind, tuple[str, str]] = {
    "info": ("#eef3fb", "#234"),
    "ok": ("#e6f4ea", "#174d26"),
    "error": ("#fdecea", "#7a1c12"),
    "busy": ("#fff8e1", "#5d4300"),
}
_ICONS: dict[Kind, str] = {"info": "ℹ️", "ok": "✅", "error": "⚠️", "busy": "⏳"}


def status_box(text: str, kind: Kind = "info") -> str:
    """``text`` (escaped) in a small coloured box, with an icon that says what kind it is."""
    background, colour = _COLOURS[kind]
    return (
        f'<div role="status" style="padding:.4em .6em;border-radius:.3em;'
        f'background:{background};color:{colour};max-width:42em">'
        f"{_ICONS[kind]} {escape(text)}</div>"
    )


def code(text: str) -> str:
    """``text`` escaped and set in monospace."""
    return f"<code>{escape(text)}</code>"


def duration(seconds: float) -> str:
    """A duration for a live display, e.g. ``59 min 58 s`` or ``2 h 5 min``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def rough_duration(seconds: float) -> str:
    """A duration rounded to its largest unit, e.g. ``59 min`` or ``10 h``: stable between runs.

    >>> rough_duration(35_999.4), rough_duration(3_540.7), rough_duration(12)
    ('10 h', '59 min', '12 s')
    """
    s = max(0.0, seconds)
    if s < 60:
        return f"{round(s)} s"
    if s < 3600 - 30:
        return f"{round(s / 60)} min"
    if s < 86400 - 1800:
        return f"{round(s / 3600)} h"
    return f"{round(s / 86400)} d"


def expiry_words(seconds_left: float, *, rough: bool = True) -> str:
    """``expires in 59 min`` or ``expired 3 min ago``."""
    words = rough_duration if rough else duration
    if seconds_left > 0:
        return f"expires in {words(seconds_left)}"
    return f"expired {words(-seconds_left)} ago"
