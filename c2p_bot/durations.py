"""Durations as written in config and chat commands: ``45s``, ``15m``, ``2h``, ``1d``, ``1h30m``.

The accepted grammar is part of the public interface (config keys and chat
commands), so it is parsed here exactly, rather than by a library that would
also accept forms we do not document.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d{1,6})([smhdw])")
_WHOLE = re.compile(r"^(?:\d{1,6}[smhdw])+$")


class DurationError(ValueError):
    """Raised for text that is not a duration such as ``15m`` or ``1h30m``; ``reason`` says
    what is wrong when more can be said than "not a duration"."""

    def __init__(self, text: str, reason: str | None = None) -> None:
        super().__init__(f"{text!r}: {reason}" if reason else text)
        self.text = text
        self.reason = reason


def parse_duration(text: str) -> timedelta:
    """Parse ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``, ``"1w"`` or combinations like ``"1h30m"``."""
    cleaned = text.strip().lower().replace(" ", "")
    if not _WHOLE.match(cleaned):
        raise DurationError(text)
    parts = _PART.findall(cleaned)
    units = [unit for _count, unit in parts]
    repeated = next((unit for unit in units if units.count(unit) > 1), None)
    if repeated is not None:  # "1h1h" is a typo, not 2h
        raise DurationError(text, f"the unit {repeated!r} appears more than once; write each unit once, "
                                  "e.g. \"1h30m\"")
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise DurationError(text)
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """Render a duration compactly, the inverse of :func:`parse_duration` (``5400s`` → ``1h30m``)."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            count, seconds = divmod(seconds, size)
            out.append(f"{count}{unit}")
    return "".join(out)
