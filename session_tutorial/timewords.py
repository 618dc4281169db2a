"""Durations in words, for people: exact for a live countdown, rough for saved outputs."""

from __future__ import annotations


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
