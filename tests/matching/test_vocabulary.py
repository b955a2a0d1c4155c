"""Vocabulary: ISO codes, names, UN M49 groupings and region tokens."""

from __future__ import annotations

import pycountry
import pytest

from matching.m49 import m49_table
from matching.vocabulary import (
    DEFAULT_EXPERTISE,
    GLOBAL,
    PARTNER_KINDS,
    VocabularyError,
    country_groupings,
    country_intermediate_region,
    country_name,
    country_region,
    country_subregion,
    language_name,
    normalise_country,
    normalise_expertise,
    normalise_kind,
    normalise_language,
    normalise_region,
    region_names,
)

REGIONS = {"Africa", "Americas", "Asia", "Europe", "Oceania"}


@pytest.mark.parametrize(("raw", "code"), [("ke", "KE"), (" KE ", "KE"), ("Br", "BR")])
def test_normalise_country(raw: str, code: str) -> None:
    assert normalise_country(raw) == code


@pytest.mark.parametrize("raw", ["", "K", "KEN", "XX", "ZZ", "12", "Kenya"])
def test_bad_country_says_what_is_accepted(raw: str) -> None:
    with pytest.raises(VocabularyError, match="ISO 3166-1 alpha-2") as info:
        normalise_country(raw)
    assert isinstance(info.value, ValueError)
    assert repr(raw) in str(info.value)


@pytest.mark.parametrize(("raw", "code"), [("sw", "sw"), ("EN", "en"), (" Fr", "fr")])
def test_normalise_language(raw: str, code: str) -> None:
    assert normalise_language(raw) == code


@pytest.mark.parametrize("raw", ["", "e", "eng", "xx", "English"])
def test_bad_language_says_what_is_accepted(raw: str) -> None:
    with pytest.raises(VocabularyError, match="ISO 639-1"):
        normalise_language(raw)


def test_names() -> None:
    assert language_name("sw") == "Swahili"
    assert language_name("EN") == "English"
    assert language_name("el") == "Greek"
    assert language_name("ne") == "Nepali"
    assert country_name("ke") == "Kenya"
    assert country_name("TZ") == "Tanzania"
    with pytest.raises(VocabularyError):
        language_name("zz")


def test_every_iso_language_has_a_plain_name() -> None:
    for language in pycountry.languages:
        code = getattr(language, "alpha_2", None)
        if code:
            name = language_name(code)
            assert name and "macrolanguage" not in name


def test_kenya_groupings() -> None:
    assert country_subregion("KE") == "Eastern Africa"
    assert country_region("ke") == "Africa"
    assert country_intermediate_region("KE") == "Eastern Africa"
    assert country_groupings("KE") == ("Eastern Africa", "Sub-Saharan Africa")


@pytest.mark.parametrize(
    ("code", "subregion", "region"),
    [
        ("BR", "South America", "Americas"),
        ("HT", "Caribbean", "Americas"),
        ("US", "Northern America", "Americas"),
        ("EG", "Northern Africa", "Africa"),
        ("GG", "Northern Europe", "Europe"),
        ("RU", "Eastern Europe", "Europe"),
        ("TR", "Western Asia", "Asia"),
        ("PH", "South-eastern Asia", "Asia"),
        ("FJ", "Melanesia", "Oceania"),
    ],
)
def test_groupings(code: str, subregion: str, region: str) -> None:
    assert country_subregion(code) == subregion
    assert country_region(code) == region


def test_every_m49_country_pycountry_knows_has_a_region() -> None:
    table = m49_table()
    iso = {c.alpha_2 for c in pycountry.countries}
    assert set(table) <= iso
    # M49 lists every ISO country but Taiwan; it gives Antarctica no region.
    assert iso - set(table) == {"TW"}
    for code in table.keys() - {"AQ"}:
        assert country_region(code) in REGIONS, code
        assert country_subregion(code) in region_names(), code
    assert country_region("AQ") is None and country_subregion("AQ") is None
    assert country_region("TW") is None and country_groupings("TW") == ()


def test_m49_data_is_consistent() -> None:
    region_of: dict[str, str] = {}
    for code, entry in m49_table().items():
        country = pycountry.countries.get(alpha_2=code)
        assert country is not None and country.numeric == entry.m49
        for grouping in entry.groupings:
            assert region_of.setdefault(grouping, entry.region) == entry.region
    assert len({country_subregion(c) for c in m49_table()} - {None}) == 22  # UN geoscheme


def test_region_names() -> None:
    names = region_names()
    assert list(names) == sorted(names)
    assert set(names) >= REGIONS
    assert {"Eastern Africa", "Sub-Saharan Africa", "Channel Islands"} <= set(names)


@pytest.mark.parametrize(
    ("raw", "token"),
    [
        ("ke", "KE"),
        ("eastern africa", "Eastern Africa"),
        ("EASTERN  AFRICA", "Eastern Africa"),
        ("Africa", "Africa"),
        ("south eastern asia", "South-eastern Asia"),
        ("latin america and the caribbean", "Latin America and the Caribbean"),
        ("global", GLOBAL),
        ("World", GLOBAL),
    ],
)
def test_normalise_region(raw: str, token: str) -> None:
    assert normalise_region(raw) == token


def test_every_region_name_round_trips() -> None:
    for name in region_names():
        assert normalise_region(name.upper()) == name


@pytest.mark.parametrize("raw", ["", "Narnia", "XX", "Eastern"])
def test_bad_region_says_what_is_accepted(raw: str) -> None:
    with pytest.raises(VocabularyError, match="M49 region or sub-region name"):
        normalise_region(raw)


def test_tags_and_kinds() -> None:
    assert DEFAULT_EXPERTISE == (
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
    assert PARTNER_KINDS == ("mp", "lawyer", "journalist")
    assert normalise_expertise("Land Rights") == "land-rights"
    assert normalise_expertise("press_freedom") == "press-freedom"
    assert normalise_kind(" MP ") == "mp"
    with pytest.raises(VocabularyError, match="land-rights"):
        normalise_expertise("gardening")
    with pytest.raises(VocabularyError, match="mp, lawyer, journalist"):
        normalise_kind("doctor")
