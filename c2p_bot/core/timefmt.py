"""Showing times to people: their own zone, with UTC beside it, written their language's way.

English keeps the unambiguous ``2026-03-01 12:00 EAT``; other languages get Babel's
medium date and 24-hour time for their locale (``1 mars 2026 12:00 EAT``).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_skeleton


@lru_cache(maxsize=512)
def _zone(zone: str) -> tzinfo:
    try:
        return ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _minute(moment: datetime) -> str:
    # What strftime("%Y-%m-%d %H:%M") gives, at half its cost (a burst of alerts formats
    # thousands of these).
    return f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d} {moment.hour:02d}:{moment.minute:02d}"


def _wall(moment: datetime, language: str) -> str:
    if language == "en":
        return _minute(moment)
    return f"{format_date(moment, 'medium', locale=language)} {format_skeleton('Hm', moment, locale=language)}"


def local(moment: datetime, zone: str, language: str = "en") -> str:
    """``2026-03-01 12:00 EAT``: the moment on the wall clock of ``zone`` (UTC if unknown)."""
    there = moment.astimezone(_zone(zone))
    return f"{_wall(there, language)} {there.tzname()}"


def utc(moment: datetime, language: str = "en") -> str:
    return f"{_wall(moment.astimezone(UTC), language)} UTC"


@lru_cache(maxsize=4096)  # a burst of alerts shows the same few deadlines in the same few zones
def both(moment: datetime, zone: str, language: str = "en") -> str:
    """``2026-03-01 12:00 EAT (09:00 UTC)``, or just UTC when the zone is UTC."""
    if zone in ("UTC", "Etc/UTC"):
        return utc(moment, language)
    at_utc = moment.astimezone(UTC)
    return f"{local(moment, zone, language)} ({at_utc.hour:02d}:{at_utc.minute:02d} UTC)"
