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
    """Raised for text that is not a duration such as ``15m`` or ``1h30m``."""


def parse_duration(text: str) -> timedelta:
    """Parse ``"90s"``, ``"15m"``, ``"2h"``, ``"1d"``, ``"1w"`` or combinations like ``"1h30m"``."""
    cleaned = text.strip().lower().replace(" ", "")
    if not _WHOLE.match(cleaned):
        raise DurationError(text)
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(cleaned))
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
