"""Translation: every user-facing string goes through a gettext catalog (``c2p_bot/locale``).

Messages are marked with ``_()`` (translated now, for a reader's language),
``_.ngettext(singular, plural, n)`` (a count, with the language's plural forms) or
``N_()`` (marked for extraction, translated later). ``pybabel extract`` builds
``c2p_bot/locale/c2p_bot.pot``; ``.ci/i18n`` refreshes it and every catalog, and a
test fails when a catalog misses a message or breaks a placeholder.

A translator also writes numbers and moments the reader's way (Babel), and, for a
right-to-left language, isolates every value put into a message (an alias, an id, a
command) so that a Latin name inside Arabic text keeps its place (Unicode FSI … PDI).
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.numbers import format_decimal
from babel.units import format_unit

from c2p_bot.core.timefmt import both

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "c2p_bot"
SUPPORTED_LANGUAGES = ("en", "fr", "es", "ar", "ru")
DEFAULT_LANGUAGE = "en"

_DURATION_UNITS = (("week", 7 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
FSI, PDI = "\u2068", "\u2069"  # FIRST STRONG ISOLATE … POP DIRECTIONAL ISOLATE
_COMMAND_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_/:])(/[a-z][a-z_]*)")  # Arabic may join و to a command


def N_(message: str) -> str:
    """Mark a string for the catalog without translating it yet."""
    return message


def isolate(value: str) -> str:
    """``value`` as a bidi-isolated run (once), for text inside a right-to-left message."""
    if not value or (value.startswith(FSI) and value.endswith(PDI)):
        return value
    return f"{FSI}{value}{PDI}"


class IsolatingText(str):
    """A right-to-left message: what ``format`` puts into it is isolated."""

    __slots__ = ()

    def format(self, *args: Any, **kwargs: Any) -> str:  # noqa: A003 - str's own name
        return str.format(self, *(_isolated(a) for a in args), **{k: _isolated(v) for k, v in kwargs.items()})


def _isolated(value: Any) -> Any:
    return isolate(value) if isinstance(value, str) else value


class Translator:
    """The ``_`` of one reader's language: ``_("text")``, ``_.ngettext(...)``, ``_.number(n)``."""

    def __init__(self, language: str) -> None:
        self.language = language if language in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE
        self.locale = Locale.parse(self.language)
        self.rtl = self.locale.text_direction == "rtl"
        self._catalog = gettext.translation(DOMAIN, LOCALE_DIR, languages=[self.language], fallback=True)

    def __call__(self, message: str) -> str:
        return self._text(self._catalog.gettext(message))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of a counted message that ``n`` takes in this language."""
        return self._text(self._catalog.ngettext(singular, plural, n))

    def when(self, moment: datetime, zone: str) -> str:
        """The moment on ``zone``'s wall clock with UTC beside it, written this language's way."""
        return both(moment, zone, self.language)

    def duration(self, value: timedelta) -> str:
        """``1 hour 30 minutes``, ``2 jours``, ``3 дня``: whole units, largest first, in words."""
        seconds, parts = max(int(value.total_seconds()), 0), []
        for unit, size in _DURATION_UNITS:
            count, seconds = divmod(seconds, size)
            if count:
                parts.append(format_unit(count, f"duration-{unit}", length="long", locale=self.locale))
        if not parts:
            return format_unit(0, "duration-minute", length="long", locale=self.locale)
        return (" و" if self.language == "ar" else " ").join(parts)

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=self.locale)

    def _text(self, text: str) -> str:
        if not self.rtl:
            return text
        return IsolatingText(_COMMAND_IN_TEXT.sub(lambda m: isolate(m.group(1)), text))


Translate = Translator


@lru_cache(maxsize=32)
def gettext_for(language: str | None) -> Translator:
    """The ``_`` for a reader's language (English when unknown or unset)."""
    return Translator(language or DEFAULT_LANGUAGE)


def guess_language(code: str | None) -> str | None:
    """A supported language from a client's hint such as Telegram's ``language_code`` ``fr-CA``."""
    if not code:
        return None
    base = code.replace("_", "-").split("-")[0].lower()
    return base if base in SUPPORTED_LANGUAGES else None


@lru_cache(maxsize=1)
def _names_of_languages() -> dict[str, str]:
    """Every way of naming a bot language: its code, and its name in each bot language."""
    names: dict[str, str] = {}
    for language in SUPPORTED_LANGUAGES:
        names[language] = language
        for reader in SUPPORTED_LANGUAGES:
            name = Locale.parse(language).get_display_name(reader)
            if name:
                names[_folded(name)] = language
    return names


def _folded(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(ch))


def bot_language_named(text: str) -> str | None:
    """A bot language from its code or its name in any bot language: ``fr``, ``French``,
    ``français``, ``Francés``, ``французский``, ``الفرنسية``; ``None`` if none matches."""
    folded = _folded(text.strip().strip(".!"))
    return _names_of_languages().get(folded) or guess_language(folded)


def language_name(language: str) -> str:
    """The language's own name for itself: ``français``, ``العربية``."""
    name = Locale.parse(language).get_display_name(language) or language
    return name[:1].upper() + name[1:]
