"""Time zones as people type them: a city ("Nairobi", "Bogotá", "Найроби"), a zone name
("Africa/Nairobi") or a country ("Kenya", "KE").

A country with several zones, a clock difference ("GMT+3") or a zone that does not follow a place's
clock changes ("EST", "Etc/GMT+3") gets a short choice of real zones instead. "UTC" stays accepted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale

from c2p_bot.core.field_error import FieldError
from c2p_bot.core.i18n import SUPPORTED_LANGUAGES, Translate
from c2p_bot.core.name_lists import name_key
from c2p_bot.core.places import country_index
from c2p_bot.core.settings import CoreSettings

UTC_ZONE = "UTC"
MAX_CHOICES = 12
MAX_AT_OFFSET = 8
_UTC_NAMES = frozenset({"utc", "etc/utc", "uct", "etc/uct", "universal", "etc/universal", "zulu", "etc/zulu",
                        "z", "coordinated universal time"})
_GMT_NAMES = frozenset({"gmt", "gmt0", "gmt+0", "gmt-0", "etc/gmt", "etc/gmt0", "etc/gmt+0", "etc/gmt-0",
                        "greenwich", "etc/greenwich", "ut", "utc+0", "utc-0", "utc0"})
_OFFSET = re.compile(r"^(?:(?:utc|gmt|ut)\s*)?([+\-−–])\s*(\d{1,2})(?:\s*[:.h]?\s*(\d{2}))?\s*(?:h|hrs?|hours?)?$")
_ABBREVIATION = re.compile(r"\(([A-Z][A-Za-z]{1,4})(?:/([A-Z][A-Za-z]{1,4}))?\)")
_LEGACY = re.compile(r"^[A-Z]{3,4}(\d[A-Z]{3})?$")  # EST, MST, HST, CET, EST5EDT, PST8PDT, PRC …
_AREAS = ("Africa/", "America/", "Antarctica/", "Arctic/", "Asia/", "Atlantic/", "Europe/", "Indian/", "Pacific/")


class ZoneChoice(ValueError):
    """``item`` does not name one place's clock; ``why`` is one of "several", "offset",
    "no_offset", "abbreviation", "unknown"; ``zones`` are the real zones to choose from."""

    def __init__(self, why: str, item: str, zones: tuple[str, ...] = ()) -> None:
        super().__init__(item)
        self.why, self.item, self.zones = why, item, zones


def _tzdata(name: str) -> str:
    try:
        return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        return ""


def _rows(name: str) -> list[list[str]]:
    return [line.split("\t") for line in _tzdata(name).splitlines() if line and not line.startswith("#")]


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """Lower-case zone name → zone name, for every zone this machine knows."""
    return {zone.lower(): zone for zone in available_timezones()}


@lru_cache(maxsize=1)
def _links() -> dict[str, str]:
    """Old or alias zone name → the zone it now points to (tzdata's links)."""
    return {parts[2]: parts[1] for parts in (line.split() for line in _tzdata("tzdata.zi").splitlines())
            if len(parts) == 3 and parts[0] == "L"}


@lru_cache(maxsize=1)
def country_zones() -> dict[str, tuple[str, ...]]:
    """Two-letter country code → its zones, as tzdata lists them (main zone first)."""
    zones: dict[str, list[str]] = {}
    for row in _rows("zone.tab"):
        if len(row) >= 3:
            zones.setdefault(row[0], []).append(row[2])
    return {code: tuple(names) for code, names in zones.items()}


@lru_cache(maxsize=1)
def _places_zones() -> frozenset[str]:
    return frozenset(zone for zones in country_zones().values() for zone in zones)


@lru_cache(maxsize=1)
def _common() -> tuple[tuple[str, str], ...]:
    """One zone for each way clocks run in the world today (research stations left out), with its
    description."""
    return tuple((row[2], row[3] if len(row) > 3 else "") for row in _rows("zonenow.tab")
                 if len(row) >= 3 and not row[2].startswith("Antarctica/"))


def _canonical(zone: str) -> str:
    """The zone a place uses: ``Asia/Calcutta`` → ``Asia/Kolkata``; a country's own zone stays."""
    seen = 0
    while zone not in _places_zones() and zone in _links() and seen < 5:
        zone, seen = _links()[zone], seen + 1
    return zone


@lru_cache(maxsize=1)
def city_index() -> dict[str, tuple[str, ...]]:
    """Folded city name (its tzdata name or its name in any bot language) → zone(s)."""
    index: dict[str, list[str]] = {}
    for zone in sorted(_places_zones()):
        index.setdefault(name_key(zone.rsplit("/", 1)[-1]), []).append(zone)
    countries = country_index()
    for language in SUPPORTED_LANGUAGES:
        for zone, names in Locale.parse(language).time_zones.items():
            city, zone = names.get("city"), _canonical(zone)
            key = name_key(str(city or ""))
            if city and zone in _places_zones() and key not in countries:  # French "Mexico": the country
                index.setdefault(key, [zone])
    return {key: tuple(zones) for key, zones in index.items()}


@lru_cache(maxsize=1)
def _old_city_index() -> dict[str, str]:
    """Cities of old zone names (``Asia/Calcutta``, ``Europe/Kiev``) → today's zone."""
    return {name_key(link.rsplit("/", 1)[-1]): _canonical(link) for link in _links()
            if link.startswith(_AREAS) and not link.startswith("Australia/") and "/" not in link[len("Pacific/"):]}


@lru_cache(maxsize=1)
def _abbreviations() -> dict[str, tuple[str, ...]]:
    """Abbreviations people use for a clock ("EAT", "EST", "IST") → the zones that use them."""
    found: dict[str, list[str]] = {}
    for zone, description in _common():
        for match in _ABBREVIATION.finditer(description):
            for abbreviation in filter(None, match.groups()):
                found.setdefault(abbreviation.upper(), []).append(zone)
    return {key: tuple(zones) for key, zones in found.items()}


def _offset(zone: str, moment: datetime) -> timedelta:
    return ZoneInfo(zone).utcoffset(moment) or timedelta(0)


def _standard(zone: str, moment: datetime) -> timedelta:
    info = ZoneInfo(zone)
    return (info.utcoffset(moment) or timedelta(0)) - (info.dst(moment) or timedelta(0))


def _year_of(zone: str, moment: datetime) -> tuple[timedelta, ...]:
    """How a zone's clock runs over the coming year (its offset at the start of each month)."""
    return tuple(_offset(zone, moment + timedelta(days=30 * month)) for month in range(12))


def distinct(zones: tuple[str, ...], moment: datetime) -> tuple[str, ...]:
    """One zone per distinct clock over the coming year, the common one where there is one."""
    common = {zone for zone, _ in _common()}
    chosen: dict[tuple[timedelta, ...], str] = {}
    for zone in zones:
        year = _year_of(zone, moment)
        if year not in chosen or (zone in common and chosen[year] not in common):
            chosen[year] = zone
    return tuple(sorted(chosen.values(), key=lambda zone: _year_of(zone, moment)))


def resolve(raw: str, moment: datetime | None = None) -> str:
    """The zone ``raw`` names, or :class:`ZoneChoice` saying why not and what to choose from."""
    now = moment or datetime.now(UTC)
    text = " ".join(raw.split()).strip(".")
    lowered = text.lower()
    if lowered in _UTC_NAMES:
        return UTC_ZONE
    if lowered in _GMT_NAMES or _OFFSET.match(lowered):
        _at_offset(text, now)
    name = _names().get(lowered)
    if name is not None and name.startswith("Etc/"):
        raise ZoneChoice("abbreviation", text, _same_standard(name, now))
    if name is not None and "/" in name:
        return _canonical(name)
    if text.upper() in _abbreviations():
        raise ZoneChoice("abbreviation", text, _abbreviations()[text.upper()])
    if name is not None and _LEGACY.match(name):
        raise ZoneChoice("abbreviation", text, _same_standard(name, now))
    key = name_key(text)
    zones = city_index().get(key) or _country(key, now)
    if not zones and key in _old_city_index():
        zones = (_old_city_index()[key],)
    if not zones and name is not None and _canonical(name) != name:
        zones = (_canonical(name),)
    if len(zones) == 1:
        return zones[0]
    if not zones and "," in text:  # "Nairobi, Kenya": the city, else the country
        for part in text.split(","):
            try:
                return resolve(part, now)
            except ZoneChoice:
                continue
    raise ZoneChoice("several" if zones else "unknown", text, zones[:MAX_CHOICES])


def _at_offset(text: str, now: datetime) -> None:
    match = _OFFSET.match(text.lower())
    minutes = 0
    if match:
        sign = -1 if match.group(1) != "+" else 1
        minutes = sign * (int(match.group(2)) * 60 + int(match.group(3) or 0))
    wanted = timedelta(minutes=minutes)
    zones = tuple(zone for zone, _ in _common() if _offset(zone, now) == wanted)[:MAX_AT_OFFSET]
    if minutes == 0:
        zones = (*zones[:MAX_AT_OFFSET - 1], UTC_ZONE)
    raise ZoneChoice("offset" if zones else "no_offset", text, zones)


def _same_standard(name: str, now: datetime) -> tuple[str, ...]:
    """Zones whose standard time is the legacy zone's, the place it points to first (PRC: Shanghai)."""
    wanted, target = _standard(name, now), _canonical(name)
    zones = [zone for zone, _ in _common() if _standard(zone, now) == wanted and zone != target]
    if "/" in target and not target.startswith("Etc/"):
        zones.insert(0, target)
    return tuple(zones[:MAX_AT_OFFSET])


def _country(key: str, now: datetime) -> tuple[str, ...]:
    zones = tuple(zone for code in country_index().get(key, ()) for zone in country_zones().get(code, ()))
    return distinct(zones, now) if len(zones) > 1 else zones


def offset_label(zone: str, moment: datetime | None = None) -> str:
    """``"UTC+3"``, ``"UTC-5"``, ``"UTC+5:30"``, ``"UTC"``: the zone's clock now."""
    minutes = int(_offset(zone, moment or datetime.now(UTC)).total_seconds() // 60)
    if minutes == 0:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


# --- the profile field --------------------------------------------------------------------------


def accepted_timezone(_: Translate, config: CoreSettings) -> str:
    return _("Write your city or your country, for example Nairobi or Kenya, or a time zone such as "
             "Africa/Nairobi or UTC.")


def parse_timezone(raw: str, config: CoreSettings, _: Translate) -> str:
    try:
        return resolve(raw)
    except ZoneChoice as choice:
        item, zones = choice.item[:40], ", ".join(choice.zones)
        messages = {
            "several": _("“{item}” has several time zones: {zones}. Which one is yours?"),
            "offset": _("“{item}” is a clock difference, not a place, and many places change theirs "
                        "during the year. Places at that time now: {zones}. Which one is yours? You can "
                        "also write your city."),
            "abbreviation": _("“{item}” is not a place, so I can't follow its clock changes for you. "
                              "Did you mean one of these: {zones}? You can also write your city."),
        }
        message = messages.get(choice.why) or _(
            "I don't know the time zone “{item}”. Write your city or your country, for example "
            "Nairobi or Kenya.")
        raise FieldError(message.format(item=item, zones=zones),
                         [(f"{zone} ({offset_label(zone)})", zone) for zone in choice.zones]) from None
