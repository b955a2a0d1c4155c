"""Languages as people type them ("English, Swahili", "anglais", "Kiswahili", "en sw") and as
the reader reads them. Stored values stay two-letter codes ("en", "sw")."""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry
from babel import Locale, UnknownLocaleError
from babel.localedata import locale_identifiers

from c2p_bot.core.field_error import FieldError
from c2p_bot.core.i18n import SUPPORTED_LANGUAGES, Translate
from c2p_bot.core.name_lists import AmbiguousName, TooMany, UnknownName, name_key, read_list
from c2p_bot.core.settings import CoreSettings
from storage.models import Person

MAX_LANGUAGES = 20
_QUALIFIER = re.compile(r"\s*\(.*\)$")
_ALIASES = {
    "Farsi": "fa", "Filipino": "tl", "Mandarin": "zh", "Cantonese": "zh", "Castellano": "es",
    "Kiswahili": "sw", "Bahasa Indonesia": "id", "Bahasa Melayu": "ms", "Bahasa": "id",
}


def _add(index: dict[str, tuple[str, ...]], name: str, code: str) -> None:
    key = name_key(name)
    if key and key not in index:
        index[key] = (code,)


@lru_cache(maxsize=1)
def _two_letter() -> tuple[tuple[str, tuple[str, ...], str], ...]:
    """Every language with a two-letter code: (that code, its other codes, its English name)."""
    found = []
    for language in pycountry.languages:  # one pass: about 8,000 languages, 184 with two letters
        two = getattr(language, "alpha_2", None)
        if two:
            others = tuple(str(c) for c in (language.alpha_3, getattr(language, "bibliographic", None)) if c)
            found.append((str(two), others, _QUALIFIER.sub("", str(language.name))))
    return tuple(found)


@lru_cache(maxsize=1)
def _codes() -> dict[str, str]:
    """Two- and three-letter codes → two-letter code."""
    return {code: two for two, others, _ in _two_letter() for code in (two, *others)}


@lru_cache(maxsize=1)
def language_index() -> dict[str, tuple[str, ...]]:
    """Folded code or name (in every bot language) of every language → its two-letter code."""
    index: dict[str, tuple[str, ...]] = {}
    for code, alpha_2 in _codes().items():
        _add(index, code, alpha_2)
    for reader in SUPPORTED_LANGUAGES:
        for code, name in Locale.parse(reader).languages.items():
            if len(code) == 2 and code in _codes():
                _add(index, name, code)
    for two, _others, name in _two_letter():
        _add(index, name, two)
    for name, code in _ALIASES.items():
        _add(index, name, code)
    return index


@lru_cache(maxsize=1)
def _with_own_names() -> dict[str, tuple[str, ...]]:
    """:func:`language_index` plus each language's name for itself ("Deutsch", "Português").

    Loading every locale takes about half a second, so this is built only when a name is not
    found in the bot languages.
    """
    index = dict(language_index())
    for code in sorted(set(locale_identifiers()) & set(_codes().values())):
        try:
            own = Locale.parse(code).languages.get(code)
        except (UnknownLocaleError, ValueError):
            continue
        if own:
            _add(index, own, code)
    return index


@lru_cache(maxsize=4096)
def language_label(code: str, language: str) -> str:
    """A language's name in ``language``: ``("sw", "fr") → "swahili"``."""
    return str(Locale.parse(language).languages.get(code, code))


def accepted_languages(_: Translate, config: CoreSettings) -> str:
    return _("Write the languages you speak, for example English, Swahili.")


def parse_languages(raw: str, config: CoreSettings, _: Translate) -> list[str]:
    try:
        try:
            values = read_list(raw, language_index(), MAX_LANGUAGES)
        except UnknownName:
            values = read_list(raw, _with_own_names(), MAX_LANGUAGES)
    except (UnknownName, AmbiguousName) as unknown:
        raise FieldError(_("I don't know the language “{item}”. Write its name or its two-letter code, "
                           "for example Swahili or sw.").format(item=unknown.item)) from None
    except TooMany:
        raise FieldError(_.ngettext("That is more than {n} language. Keep the ones you speak best.",
                                    "That is more than {n} languages. Keep the ones you speak best.",
                                    MAX_LANGUAGES).format(n=_.number(MAX_LANGUAGES))) from None
    if not values:
        raise FieldError(accepted_languages(_, config))
    return values


def show_languages(person: Person, _: Translate) -> str:
    return ", ".join(language_label(code, _.language) for code in person.languages.split(",") if code)
