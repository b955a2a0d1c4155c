"""Countries, regions, languages and time zones as people type them (issue 15).

By name in any bot language, by code, any case, with or without accents, in lists with any
separator; every refusal names the item that was wrong, gives an example and no jargon.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from c2p_bot.config import Config
from c2p_bot.core import language_names, places, zones
from c2p_bot.core.i18n import gettext_for
from c2p_bot.core.profile_fields import FIELDS, FieldError
from storage.models import Person

JARGON = re.compile(r"\bISO\b|IANA|M49|639|3166")


def parse(config: Config, field: str, raw: str, language: str = "en") -> object:
    return FIELDS[field].parse(raw, config, gettext_for(language))


def refusal(config: Config, field: str, raw: str, language: str = "en") -> FieldError:
    with pytest.raises(FieldError) as caught:
        parse(config, field, raw, language)
    message = caught.value.message
    assert not JARGON.search(message), message
    return caught.value


@pytest.mark.parametrize("raw", ["Kenya", "kenya", "KENYA", "Kenia", "KE", "ke", " Kenya. ", "KEN",
                                 "Кения", "كينيا"])
def test_a_country_by_name_in_any_bot_language_or_by_code(config: Config, raw: str) -> None:
    assert parse(config, "country", raw) == "KE"


@pytest.mark.parametrize(("raw", "code"), [
    ("Côte d'Ivoire", "CI"), ("Cote d'Ivoire", "CI"), ("cote d’ivoire", "CI"), ("COTE-D'IVOIRE", "CI"),
    ("Costa Rica", "CR"), ("costa rica", "CR"), ("South Sudan", "SS"), ("Soudan du Sud", "SS"),
    ("USA", "US"), ("United States", "US"), ("Estados Unidos", "US"), ("DRC", "CD"),
    ("Colombia", "CO"), ("Colombie", "CO"), ("Philippines", "PH"), ("Filipinas", "PH"),
    ("Trinidad and Tobago", "TT"), ("Trinité-et-Tobago", "TT"), ("México", "MX"), ("Mexico", "MX"),
    ("the Philippines", "PH"), ("The Gambia", "GM"), ("Kenya!", "KE"),
])
def test_countries_with_spaces_accents_and_other_languages(config: Config, raw: str, code: str) -> None:
    assert parse(config, "country", raw) == code


def test_an_unknown_country_is_named_with_an_example(config: Config) -> None:
    error = refusal(config, "country", "Kenyaa")
    assert "“Kenyaa”" in error.message and "Kenya" in error.message and "KE" in error.message
    assert "« Narnie »" in refusal(config, "country", "Narnie", "fr").message


def test_a_region_or_two_countries_where_one_country_is_asked(config: Config) -> None:
    assert "“East Africa”" in refusal(config, "country", "East Africa").message
    assert "one" in refusal(config, "country", "Kenya, Uganda").message


def test_congo_alone_asks_which_one(config: Config) -> None:
    error = refusal(config, "country", "Congo")
    assert "“Congo”" in error.message
    assert {value for _, value in error.choices} == {"CD", "CG"}


@pytest.mark.parametrize(("raw", "stored"), [
    ("East Africa", ["Eastern Africa"]), ("Eastern Africa", ["Eastern Africa"]),
    ("eastern africa", ["Eastern Africa"]), ("Afrique de l'Est", ["Eastern Africa"]),
    ("Afrique orientale", ["Eastern Africa"]), ("África oriental", ["Eastern Africa"]),
    ("Восточная Африка", ["Eastern Africa"]), ("شرق أفريقيا", ["Eastern Africa"]),
    ("West Africa", ["Western Africa"]), ("Latin America", ["Latin America and the Caribbean"]),
    ("Southeast Asia", ["South-eastern Asia"]),
    ("Kenya, Uganda", ["KE", "UG"]), ("KE UG", ["KE", "UG"]), ("Kenya and Uganda; Tanzania", ["KE", "UG", "TZ"]),
    ("Kenya/Uganda\nTanzania", ["KE", "UG", "TZ"]), ("Kenia y Uganda", ["KE", "UG"]),
    ("Kenya et Ouganda", ["KE", "UG"]), ("Кения и Уганда", ["KE", "UG"]),
    ("Costa Rica y Panamá", ["CR", "PA"]), ("South Sudan East Africa", ["SS", "Eastern Africa"]),
    ("Trinidad and Tobago, Jamaica", ["TT", "JM"]), ("Bosnia and Herzegovina Serbia", ["BA", "RS"]),
    ("KE, Eastern Africa", ["KE", "Eastern Africa"]), ("Kenya, KE, kenya", ["KE"]),
    ("global", ["global"]), ("World", ["global"]), ("Monde", ["global"]),
])
def test_regions_by_name_or_code_in_any_list(config: Config, raw: str, stored: list[str]) -> None:
    assert parse(config, "regions", raw) == stored


def test_one_bad_region_in_a_list_is_named(config: Config) -> None:
    error = refusal(config, "regions", "Kenya, Narnia, Uganda")
    assert "“Narnia”" in error.message and "East Africa" in error.message
    assert "“New Zeland”" in refusal(config, "regions", "Kenya New Zeland").message


@pytest.mark.parametrize(("raw", "stored"), [
    ("English, Swahili", ["en", "sw"]), ("english swahili", ["en", "sw"]), ("en sw", ["en", "sw"]),
    ("en, SW", ["en", "sw"]), ("anglais", ["en"]), ("Kiswahili", ["sw"]), ("Español", ["es"]),
    ("English and Swahili", ["en", "sw"]), ("anglais et swahili", ["en", "sw"]),
    ("inglés y francés", ["en", "fr"]), ("английский и суахили", ["en", "sw"]),
    ("الإنجليزية والسواحلية", ["en", "sw"]), ("eng", ["en"]), ("Deutsch; Français", ["de", "fr"]),
    ("Português", ["pt"]), ("Persian", ["fa"]),
])
def test_languages_by_name_own_name_or_code(config: Config, raw: str, stored: list[str]) -> None:
    assert parse(config, "languages", raw) == stored


def test_one_bad_language_in_a_list_is_named(config: Config) -> None:
    error = refusal(config, "languages", "English, Klingon")
    assert "“Klingon”" in error.message and "Swahili" in error.message


@pytest.mark.parametrize(("raw", "zone"), [
    ("Nairobi", "Africa/Nairobi"), ("nairobi", "Africa/Nairobi"), ("Africa/Nairobi", "Africa/Nairobi"),
    ("africa/nairobi", "Africa/Nairobi"), ("Kenya", "Africa/Nairobi"), ("KE", "Africa/Nairobi"),
    ("Найроби", "Africa/Nairobi"), ("Bogotá", "America/Bogota"), ("bogota", "America/Bogota"),
    ("Colombia", "America/Bogota"), ("New York", "America/New_York"), ("UTC", "UTC"), ("utc", "UTC"),
    ("europe/berlin", "Europe/Berlin"), ("Kolkata", "Asia/Kolkata"), ("Nairobi, Kenya", "Africa/Nairobi"),
    ("New York, USA", "America/New_York"), ("Asia/Calcutta", "Asia/Kolkata"), ("Egypt", "Africa/Cairo"),
])
def test_a_time_zone_by_city_zone_or_country(config: Config, raw: str, zone: str) -> None:
    assert parse(config, "timezone", raw) == zone


@pytest.mark.parametrize(("raw", "expected"), [
    ("USA", {"America/New_York", "America/Chicago", "America/Los_Angeles"}),
    ("Russia", {"Europe/Moscow"}), ("Brazil", {"America/Sao_Paulo"}),
])
def test_a_country_with_several_zones_offers_a_short_choice(config: Config, raw: str, expected: set[str]) -> None:
    error = refusal(config, "timezone", raw)
    values = [value for _, value in error.choices]
    assert f"“{raw}”" in error.message
    assert expected <= set(values) and 1 < len(values) <= 12 and len(set(values)) == len(values)


@pytest.mark.parametrize("raw", ["GMT+3", "UTC+3", "+3", "utc +03:00", "GMT+03"])
def test_an_offset_offers_real_zones_at_that_offset_now(config: Config, raw: str) -> None:
    error = refusal(config, "timezone", raw)
    values = [value for _, value in error.choices]
    assert f"“{raw}”" in error.message and "Africa/Nairobi" in error.message
    assert "Africa/Nairobi" in values and 1 < len(values) <= 8
    now = datetime.now(UTC)
    assert all(ZoneInfo(v).utcoffset(now).total_seconds() == 3 * 3600 for v in values)


@pytest.mark.parametrize(("raw", "expected"), [
    ("EST", "America/New_York"), ("MST", "America/Denver"), ("HST", "Pacific/Honolulu"),
    ("EST5EDT", "America/New_York"), ("Etc/GMT+3", "America/Sao_Paulo"), ("EAT", "Africa/Nairobi"),
])
def test_fixed_offset_zones_are_refused_with_suggestions(config: Config, raw: str, expected: str) -> None:
    error = refusal(config, "timezone", raw)
    values = [value for _, value in error.choices]
    assert f"“{raw}”" in error.message and expected in error.message and expected in values
    assert all("/" in value and not value.startswith("Etc/") for value in values)


def test_an_unknown_zone_is_named_with_an_example(config: Config) -> None:
    error = refusal(config, "timezone", "Nowhere/Atlantis")
    assert "“Nowhere/Atlantis”" in error.message and "Nairobi" in error.message
    assert not error.choices


def test_a_profile_shows_names_in_the_readers_language() -> None:
    person = Person(role="partner", country="KE", regions="KE,Eastern Africa,global", languages="en,sw",
                    timezone="Africa/Nairobi")
    en, fr = gettext_for("en"), gettext_for("fr")
    assert FIELDS["country"].show(person, en) == "Kenya"
    assert FIELDS["regions"].show(person, en) == "Kenya, Eastern Africa, World"
    assert FIELDS["languages"].show(person, en) == "English, Swahili"
    assert FIELDS["timezone"].show(person, en) == "Africa/Nairobi"
    assert FIELDS["regions"].show(person, fr) == "Kenya, Afrique orientale, Monde"
    assert FIELDS["languages"].show(person, fr) == "anglais, swahili"


def test_the_lookups_are_built_quickly(config: Config) -> None:
    for index in (places.country_index, places.region_index, language_names.language_index,
                  zones.city_index):
        index.cache_clear()
    started = time.perf_counter()
    assert parse(config, "country", "Kenya") == "KE"
    assert parse(config, "regions", "East Africa") == ["Eastern Africa"]
    assert parse(config, "languages", "English") == ["en"]
    assert parse(config, "timezone", "Nairobi") == "Africa/Nairobi"
    assert time.perf_counter() - started < 0.5
