"""Times shown to people read the same as strftime would write them, in every zone."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from c2p_bot.core.timefmt import both, local, utc


def reference(moment: datetime, zone: str) -> str:
    if zone in ("UTC", "Etc/UTC"):
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    there = moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
    return f"{there} ({moment.astimezone(UTC):%H:%M} UTC)"


def test_matches_strftime_across_zones_and_years() -> None:
    rng = random.Random(4)
    zones = sorted(available_timezones())
    start = datetime(1990, 1, 1, tzinfo=UTC)
    for _ in range(5_000):
        moment = start + timedelta(seconds=rng.randrange(60 * 365 * 86_400))
        zone = rng.choice(zones)
        assert both(moment, zone) == reference(moment, zone)


def test_daylight_saving_days_and_unknown_zones() -> None:
    spring = datetime(2026, 3, 29, 0, 59, tzinfo=UTC)  # Europe/Berlin jumps 02:00 -> 03:00 at 01:00 UTC
    assert local(spring, "Europe/Berlin") == "2026-03-29 01:59 CET"
    assert local(spring + timedelta(minutes=1), "Europe/Berlin") == "2026-03-29 03:00 CEST"
    assert both(spring, "Africa/Nairobi") == "2026-03-29 03:59 EAT (00:59 UTC)"
    assert local(spring, "Not/AZone") == "2026-03-29 00:59 UTC"
    assert utc(spring.astimezone(ZoneInfo("Asia/Kolkata"))) == "2026-03-29 00:59 UTC"
