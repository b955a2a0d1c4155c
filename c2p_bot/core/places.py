"""Countries and regions as people type them, and as the reader reads them.

A country by its name in any bot language ("Kenya", "Kenia", "Кения", "Côte d'Ivoire" or "cote
d'ivoire") or its code ("KE", "KEN"); a region by its name ("East Africa", "Afrique de l'Est",
"Eastern Africa"). Stored values stay what the matcher understands: two-letter country codes,
UN M49 grouping names (e.g. "Eastern Africa") and "global".
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources

import pycountry
from babel import Locale

from c2p_bot.core.field_error import FieldError
from c2p_bot.core.i18n import SUPPORTED_LANGUAGES, Translate
from c2p_bot.core.name_lists import AmbiguousName, TooMany, UnknownName, lookup, name_key, read_list, shown
from c2p_bot.core.settings import CoreSettings
from storage.models import Person

GLOBAL = "global"
MAX_PLACES = 20

# Names Babel and pycountry lack, as people say them.
_COUNTRY_ALIASES = {
    "DRC": "CD", "DR Congo": "CD", "RDC": "CD", "RD Congo": "CD", "Democratic Republic of the Congo": "CD",
    "Democratic Republic of Congo": "CD", "Republic of the Congo": "CG", "Congo Brazzaville": "CG",
    "Ivory Coast": "CI", "Burma": "MM", "Palestine": "PS", "UK": "GB", "Great Britain": "GB",
    "England": "GB", "Holland": "NL", "Swaziland": "SZ", "Turkey": "TR", "East Timor": "TL",
    "Cape Verde": "CV", "Czech Republic": "CZ", "Macedonia": "MK", "UAE": "AE", "Emirates": "AE",
    "KSA": "SA", "Vatican": "VA", "USA": "US", "United States of America": "US", "EEUU": "US",
    "EE UU": "US", "США": "US", "Россия": "RU", "Viet Nam": "VN",
}
_AMBIGUOUS = {"Congo": ("CD", "CG"), "Korea": ("KR", "KP"), "Virgin Islands": ("VG", "VI")}
_WORLD = ("global", "world", "worldwide", "whole world", "everywhere", "anywhere", "monde entier",
          "le monde entier", "partout", "mundial", "todo el mundo", "en todas partes", "мир", "весь мир",
          "везде", "العالم", "كل العالم")
# M49 codes (and names) people use for a grouping the matcher knows under another code.
_REGION_CODE_ALIASES = {"003": "021"}
_REGION_ALIASES = {
    "East Africa": "014", "Afrique de l'Est": "014", "Afrique de l’Est": "014", "África del Este": "014",
    "Africa Oriental": "014", "West Africa": "011", "Afrique de l'Ouest": "011", "África del Oeste": "011",
    "North Africa": "015", "Afrique du Nord": "015", "África del Norte": "015", "Central Africa": "017",
    "South East Asia": "035", "South-East Asia": "035", "Southeast Asia": "035", "South Asia": "034",
    "East Asia": "030", "West Asia": "145", "Middle East": "145", "Moyen-Orient": "145",
    "Oriente Medio": "145", "Medio Oriente": "145", "Ближний Восток": "145", "الشرق الأوسط": "145",
    "East Europe": "151", "Europe de l'Est": "151", "Europa del Este": "151", "Latin America": "419",
    "América Latina": "419", "Amérique latine": "419", "North America": "021",
}


def _add(index: dict[str, tuple[str, ...]], name: str, *values: str) -> None:
    key = name_key(name)
    if key and key not in index:
        index[key] = values


@lru_cache(maxsize=1)
def _codes() -> frozenset[str]:
    return frozenset(str(c.alpha_2) for c in pycountry.countries)


@lru_cache(maxsize=1)
def country_index() -> dict[str, tuple[str, ...]]:
    """Folded name or code of every country → its two-letter code."""
    index: dict[str, tuple[str, ...]] = {}
    for country in pycountry.countries:
        _add(index, country.alpha_2, country.alpha_2)
        _add(index, country.alpha_3, country.alpha_2)
    for language in SUPPORTED_LANGUAGES:
        for code, name in Locale.parse(language).territories.items():
            if code in _codes():
                _add(index, name, code)
    for country in pycountry.countries:
        for attribute in ("common_name", "name", "official_name"):
            name = getattr(country, attribute, None)
            if name:
                _add(index, str(name), country.alpha_2)
    for name, code in _COUNTRY_ALIASES.items():
        _add(index, name, code)
    for name, codes in _AMBIGUOUS.items():
        index[name_key(name)] = codes
    return index


@lru_cache(maxsize=1)
def region_codes() -> dict[str, str]:
    """Each M49 grouping the matcher knows (by its English name) → its numeric code."""
    text = resources.files("matching").joinpath("data/m49.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in io.StringIO(text) if not line.startswith("#"))
    codes: dict[str, str] = {}
    for row in rows:
        for level in ("region", "subregion", "intermediate"):
            name = row["intermediate_region" if level == "intermediate" else level]
            if name:
                codes[name] = row[f"{level}_code"]
    return codes


@lru_cache(maxsize=1)
def region_index() -> dict[str, tuple[str, ...]]:
    """Folded name of every region (any bot language), M49 code or country → its stored value."""
    index: dict[str, tuple[str, ...]] = {}
    by_code = {code: name for name, code in region_codes().items()}
    by_code.update({alias: by_code[code] for alias, code in _REGION_CODE_ALIASES.items()})
    for name in _WORLD:
        _add(index, name, GLOBAL)
    for name, code in region_codes().items():
        _add(index, name, name)
        _add(index, code, name)
    for language in SUPPORTED_LANGUAGES:
        territories = Locale.parse(language).territories
        _add(index, territories.get("001", GLOBAL), GLOBAL)
        for code, region in by_code.items():
            if code in territories:
                _add(index, territories[code], region)
    for name, code in _REGION_ALIASES.items():
        _add(index, name, by_code[code])
    for key, codes in country_index().items():
        index.setdefault(key, codes)
    return index


@lru_cache(maxsize=4096)
def country_label(code: str, language: str) -> str:
    """A country's name in ``language``: ``("KE", "fr") → "Kenya"``."""
    return str(Locale.parse(language).territories.get(code, code))


@lru_cache(maxsize=4096)
def region_label(value: str, language: str) -> str:
    """A stored coverage value (country code, M49 grouping or "global") by name in ``language``."""
    territories = Locale.parse(language).territories
    if value == GLOBAL:
        name = str(territories.get("001", value))
        return name[:1].upper() + name[1:]
    if len(value) == 2:
        return country_label(value, language)
    code = region_codes().get(value)
    return str(territories.get(code, value)) if code else value


# --- the profile fields -------------------------------------------------------------------------


def accepted_country(_: Translate, config: CoreSettings) -> str:
    return _("Write the country's name or its two-letter code, for example Kenya or KE.")


def parse_country(raw: str, config: CoreSettings, _: Translate) -> str:
    codes = lookup(raw, country_index())
    if len(codes) == 1:
        return codes[0]
    try:
        values = read_list(raw, country_index(), MAX_PLACES)
    except UnknownName as unknown:
        if lookup(unknown.item, region_index()):
            raise FieldError(_("“{item}” is a region. Write the one country you work in, for example "
                               "Kenya or KE.").format(item=unknown.item)) from None
        raise FieldError(_("I don't know the country “{item}”. Write its name or its two-letter code, "
                           "for example Kenya or KE.").format(item=unknown.item)) from None
    except AmbiguousName as ambiguous:
        raise _which_one(_, ambiguous) from None
    except TooMany:
        values = []
    if len(values) == 1:  # "the Philippines"
        return values[0]
    if not values:
        raise FieldError(accepted_country(_, config))
    raise FieldError(_("“{item}” is more than one country. Write just the one you work in, for example "
                       "Kenya.").format(item=shown(raw)))


def _which_one(_: Translate, ambiguous: AmbiguousName) -> FieldError:
    names = [country_label(code, _.language) for code in ambiguous.options]
    return FieldError(_("“{item}” could mean {names}. Which one?").format(
        item=ambiguous.item, names=", ".join(names)), list(zip(names, ambiguous.options, strict=True)))


def show_country(person: Person, _: Translate) -> str:
    return country_label(person.country, _.language) if person.country else ""


def accepted_regions(_: Translate, config: CoreSettings) -> str:
    return _("Write countries or regions, for example Kenya, Uganda, East Africa — or World for "
             "everywhere.")


def parse_regions(raw: str, config: CoreSettings, _: Translate) -> list[str]:
    try:
        values = read_list(raw, region_index(), MAX_PLACES)
    except UnknownName as unknown:
        raise FieldError(_("I don't know the country or region “{item}”. Write its name or a two-letter "
                           "country code, for example Kenya, KE or East Africa.").format(
            item=unknown.item)) from None
    except AmbiguousName as ambiguous:  # no buttons: one would replace the whole list
        raise FieldError(_which_one(_, ambiguous).message) from None
    except TooMany:
        raise FieldError(_.ngettext("That is more than {n} place. Name a wider region instead, for example "
                                    "East Africa.", "That is more than {n} places. Name a wider region "
                                    "instead, for example East Africa.", MAX_PLACES).format(
            n=_.number(MAX_PLACES))) from None
    if not values:
        raise FieldError(accepted_regions(_, config))
    return values


def show_regions(person: Person, _: Translate) -> str:
    return ", ".join(region_label(value, _.language) for value in person.regions.split(",") if value)
