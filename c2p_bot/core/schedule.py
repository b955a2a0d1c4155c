"""Check-in schedules: "every DURATION" or "daily HH:MM[,HH:MM…]" in the HRD's time zone.

Daily times are wall-clock times: 09:00 stays 09:00 local across daylight-saving changes. A
time that does not exist on a spring-forward day moves forward by the gap (02:30 → 03:30); a
time that happens twice on an autumn day means the first occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from c2p_bot.core.number_words import ascii_digits

MAX_TIMES = 12
_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?(am|pm|h)?$")
_AM_PM = re.compile(r"(\d)\s*([ap])\.?\s?m\b\.?")  # "9 p.m." → "9pm"
_TIME_SEPARATORS = re.compile(r"[\s,;/|&+،؛]+")
_CONNECTORS = {"and", "et", "y", "и", "و"}


class ScheduleError(ValueError):
    """Bad schedule text; ``code`` says what was wrong and ``item`` which part (the caller translates)."""

    def __init__(self, code: str, item: str = "") -> None:
        super().__init__(f"{code}: {item!r}" if item else code)
        self.code = code
        self.item = item


@dataclass(frozen=True)
class Schedule:
    kind: str  # every | daily
    interval: timedelta = timedelta(days=1)
    times: tuple[time, ...] = ()
    timezone: str = "UTC"

    def next_due(self, after: datetime) -> datetime:
        """The first due time strictly after ``after`` (aware, UTC)."""
        if self.kind == "every":
            return (after + self.interval).astimezone(UTC)
        zone = ZoneInfo(self.timezone)
        local_day = after.astimezone(zone).date()
        for offset in range(0, 3):
            day = local_day + timedelta(days=offset)
            for slot in sorted(self.times):
                candidate = wall_clock_to_utc(datetime.combine(day, slot), zone)
                if candidate > after:
                    return candidate
        raise AssertionError("a daily schedule always has a slot within three days")

    def describe_times(self) -> str:
        return ",".join(t.strftime("%H:%M") for t in sorted(self.times))


def wall_clock_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall-clock time in ``zone`` as UTC (gaps move forward, folds take the first)."""
    first = local.replace(tzinfo=zone, fold=0)
    as_utc = first.astimezone(UTC)
    round_trip = as_utc.astimezone(zone).replace(tzinfo=None)
    if round_trip != local:  # in a spring-forward gap: zoneinfo used the offset from before
        later = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
        return max(as_utc, later)
    return as_utc


def parse_times(text: str) -> tuple[time, ...]:
    """Times of day as people write them, separated by anything: ``21:00, 09:00``, ``9am 9:30 pm``,
    ``21h``, ``9h30``, ``21.30``, ``٠٩:٠٠``; sorted, once each. A wrong one raises
    :class:`ScheduleError` with ``code`` ``bad_time`` and the ``item`` as written."""
    cleaned = _AM_PM.sub(lambda m: m.group(1) + m.group(2) + "m", ascii_digits(text).lower())
    parts = [p.removeprefix("و") for p in _TIME_SEPARATORS.split(cleaned) if p and p.strip()]
    parts = [p for p in parts if p and p not in _CONNECTORS]
    if not parts:
        raise ScheduleError("no_times")
    if len(parts) > MAX_TIMES:
        raise ScheduleError("too_many", str(MAX_TIMES))
    return tuple(sorted({_time_of_day(part) for part in parts}))


def _time_of_day(item: str) -> time:
    match = _TIME.match(item)
    if not match:
        raise ScheduleError("bad_time", item)
    hour, minute, suffix = int(match.group(1)), int(match.group(2) or 0), match.group(3)
    if suffix in ("am", "pm"):
        if not 1 <= hour <= 12:
            raise ScheduleError("bad_time", item)
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ScheduleError("bad_time", item)
    return time(hour, minute)
