"""Translation: every user-facing string goes through a gettext catalog (``c2p_bot/locale``).

Messages are marked with ``_()`` (translated now, for a reader's language) or
``N_()`` (marked for extraction, translated later). ``pybabel extract`` builds
``c2p_bot/locale/c2p_bot.pot``; a test keeps the template in step with the code.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "c2p_bot"
SUPPORTED_LANGUAGES = ("en",)

Translate = Callable[[str], str]


def N_(message: str) -> str:
    """Mark a string for the catalog without translating it yet."""
    return message


@lru_cache(maxsize=32)
def translator(language: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language, "en"], fallback=True)


def gettext_for(language: str | None) -> Translate:
    """The ``_`` function for a reader's UI language."""
    return translator(language or "en").gettext
