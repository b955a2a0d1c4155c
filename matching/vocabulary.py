"""Controlled vocabularies: ISO countries and languages, UN M49 regions, tags, partner kinds."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

import pycountry

from matching.m49 import M49Entry, m49_table

__all__ = [
    "DEFAULT_EXPERTISE",
    "GLOBAL",
    "PARTNER_KINDS",
    "VocabularyError",
    "country_groupings",
    "country_intermediate_region",
    "country_name",
    "country_region",
    "country_subregion",
    "language_name",
    "normalise_country",
    "normalise_expertise",
    "normalise_kind",
    "normalise_language",
    "normalise_region",
    "region_names",
]

DEFAULT_EXPERTISE: tuple[str, ...] = (
    "land-rights",
    "environment",
    "indigenous-rights",
    "lgbti-rights",
    "womens-rights",
    "press-freedom",
    "labour-rights",
    "anti-corruption",
    "digital-rights",
    "freedom-of-assembly",
    "detention",
)
PARTNER_KINDS: tuple[str, ...] = ("mp", "lawyer", "journalist")
GLOBAL = "global"
"""Region token meaning "anywhere in the world"."""

_GLOBAL_ALIASES = frozenset({"global", "world"})
# pycountry's names carry ISO 639 qualifiers that read oddly to people.
_LANGUAGE_NAME_OVERRIDES = {"el": "Greek"}
_QUALIFIER = re.compile(r"\s*\((macrolanguage|post 1500|1453-)\)$")


class VocabularyError(ValueError):
    """A value is not in the controlled vocabulary; the message says what is accepted."""


def normalise_country(code: str) -> str:
    """Return the upper-case ISO 3166-1 alpha-2 code for ``code`` (any case, padded)."""
    token = code.strip().upper()
    if len(token) == 2 and pycountry.countries.get(alpha_2=token) is not None:
        return token
    raise VocabularyError(
        f"unknown country {code!r}: expected an ISO 3166-1 alpha-2 code such as 'KE' or 'BR'"
    )


def normalise_language(code: str) -> str:
    """Return the lower-case ISO 639-1 code for ``code`` (any case, padded)."""
    token = code.strip().lower()
    if len(token) == 2 and pycountry.languages.get(alpha_2=token) is not None:
        return token
    raise VocabularyError(
        f"unknown language {code!r}: expected an ISO 639-1 two-letter code such as 'en' or 'sw'"
    )


def normalise_kind(kind: str) -> str:
    """Return ``kind`` lower-cased if it is one of :data:`PARTNER_KINDS`."""
    token = kind.strip().lower()
    if token in PARTNER_KINDS:
        return token
    raise VocabularyError(f"unknown partner kind {kind!r}: expected one of {', '.join(PARTNER_KINDS)}")


def normalise_expertise(tag: str, allowed: Iterable[str] = DEFAULT_EXPERTISE) -> str:
    """Return ``tag`` lower-cased with spaces/underscores as hyphens if it is in ``allowed``."""
    token = re.sub(r"[\s_]+", "-", tag.strip().lower())
    allowed_tags = tuple(allowed)
    if token in allowed_tags:
        return token
    raise VocabularyError(f"unknown expertise {tag!r}: expected one of {', '.join(allowed_tags)}")


def country_name(code: str) -> str:
    """English short name of a country, e.g. ``"KE" -> "Kenya"``, ``"TZ" -> "Tanzania"``."""
    country = pycountry.countries.get(alpha_2=normalise_country(code))
    if country is None:
        raise ValueError(f"unknown country code {code!r}")
    return str(getattr(country, "common_name", None) or country.name)


def language_name(code: str) -> str:
    """English name of a language, e.g. ``"sw" -> "Swahili"``."""
    token = normalise_language(code)
    if token in _LANGUAGE_NAME_OVERRIDES:
        return _LANGUAGE_NAME_OVERRIDES[token]
    language = pycountry.languages.get(alpha_2=token)
    if language is None:
        raise ValueError(f"unknown language code {code!r}")
    return _QUALIFIER.sub("", str(language.name))


def _entry(code: str) -> M49Entry | None:
    return m49_table().get(normalise_country(code))


def country_region(code: str) -> str | None:
    """M49 region (e.g. ``"Africa"``); ``None`` if M49 gives none (Antarctica) or omits it."""
    entry = _entry(code)
    return entry.region or None if entry else None


def country_intermediate_region(code: str) -> str | None:
    """M49 intermediate region (e.g. ``"Eastern Africa"``, ``"Channel Islands"``) or ``None``."""
    entry = _entry(code)
    return entry.intermediate_region or None if entry else None


@cache
def _split_subregions() -> frozenset[str]:
    """M49 sub-regions whose every member has an intermediate region."""
    by_sub: dict[str, bool] = {}
    for entry in m49_table().values():
        if entry.subregion:
            has = bool(entry.intermediate_region)
            by_sub[entry.subregion] = by_sub.get(entry.subregion, True) and has
    return frozenset(sub for sub, split in by_sub.items() if split)


def country_subregion(code: str) -> str | None:
    """Geoscheme sub-region, e.g. ``"KE" -> "Eastern Africa"``, ``"GG" -> "Northern Europe"``.

    Where M49 splits a whole sub-region into intermediate regions (Sub-Saharan Africa, Latin
    America and the Caribbean) the intermediate region is returned, else the M49 sub-region.
    """
    entry = _entry(code)
    if entry is None or not entry.subregion:
        return None
    if entry.subregion in _split_subregions():
        return entry.intermediate_region
    return entry.subregion


def country_groupings(code: str) -> tuple[str, ...]:
    """Every M49 grouping between the country and its region, most specific first."""
    entry = _entry(code)
    return entry.groupings if entry else ()


@cache
def _region_lookup() -> dict[str, str]:
    """Map folded names and M49 numeric codes of all groupings to their canonical names."""
    lookup: dict[str, str] = {}
    for entry in m49_table().values():
        for name in (entry.region, entry.subregion, entry.intermediate_region):
            if name:
                lookup[_fold(name)] = name
    return lookup


def _fold(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())


@cache
def region_names() -> tuple[str, ...]:
    """All M49 region, sub-region and intermediate-region names, sorted."""
    return tuple(sorted(set(_region_lookup().values())))


def normalise_region(token: str) -> str:
    """Canonical coverage token: an ISO alpha-2 code, an M49 grouping name, or ``"global"``.

    Accepts any case and spacing, e.g. ``"ke" -> "KE"``, ``"eastern africa" -> "Eastern
    Africa"``, ``"World" -> "global"``.
    """
    raw = token.strip()
    if raw.lower() in _GLOBAL_ALIASES:
        return GLOBAL
    if len(raw) == 2 and pycountry.countries.get(alpha_2=raw.upper()) is not None:
        return raw.upper()
    name = _region_lookup().get(_fold(raw))
    if name is not None:
        return name
    raise VocabularyError(
        f"unknown region {token!r}: expected an ISO 3166-1 alpha-2 country code, a UN M49 "
        "region or sub-region name such as 'Eastern Africa' or 'Africa', or 'global'"
    )
