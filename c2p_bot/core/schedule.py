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

_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class ScheduleError(ValueError):
    """Bad schedule text; ``code`` says what was wrong (the caller translates)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


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
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or len(parts) > 12:
        raise ScheduleError("bad_times")
    result = []
    for part in parts:
        match = _TIME.match(part)
        if not match:
            raise ScheduleError("bad_times")
        result.append(time(int(match.group(1)), int(match.group(2))))
    return tuple(sorted(set(result)))
