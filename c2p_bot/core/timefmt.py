"""Showing times to people: their own zone, with UTC beside it."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def local(moment: datetime, zone: str) -> str:
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@lru_cache(maxsize=4096)  # a burst of alerts shows the same few deadlines in the same few zones
def both(moment: datetime, zone: str) -> str:
    """``2026-03-01 12:00 EAT (09:00 UTC)``, or just UTC when the zone is UTC."""
    if zone in ("UTC", "Etc/UTC"):
        return utc(moment)
    return f"{local(moment, zone)} ({moment.astimezone(UTC):%H:%M} UTC)"
