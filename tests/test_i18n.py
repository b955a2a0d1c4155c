"""Every user-facing string is in the translation template, and the catalogs load."""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from c2p_bot.core.i18n import FSI, LOCALE_DIR, PDI, SUPPORTED_LANGUAGES, gettext_for

ROOT = Path(__file__).resolve().parent.parent


def test_template_matches_the_code() -> None:
    in_code = {
        message[2] if isinstance(message[2], str) else message[2][0]
        for message in extract_from_dir(ROOT / "c2p_bot", keywords={"_": None, "N_": None, "ngettext": (1, 2)})
    }
    template = read_po(io.BytesIO((LOCALE_DIR / "c2p_bot.pot").read_bytes()))
    in_template = {m.id if isinstance(m.id, str) else m.id[0] for m in template if m.id}
    missing = in_code - in_template
    assert not missing, f"run .ci/i18n: strings missing from the catalog: {sorted(missing)[:5]}"
    assert not in_template - in_code, "run .ci/i18n: the catalog has strings the code no longer uses"


def test_english_catalog_is_compiled_and_used() -> None:
    assert (LOCALE_DIR / "en" / "LC_MESSAGES" / "c2p_bot.mo").exists()
    _ = gettext_for("en")
    assert _("Show what you can do.") == "Show what you can do."
    assert gettext_for("xx")("Show what you can do.") == "Show what you can do."


# --- every language is complete ---------------------------------------------------------------

_PLACEHOLDER = re.compile(r"(?<!\{)\{([a-z_]*)(?:[:!][^}]*)?\}(?!\})")
_COMMAND = re.compile(r"(?<![A-Za-z0-9_/:])/[a-z][a-z_]*")
TRANSLATED = [language for language in SUPPORTED_LANGUAGES if language != "en"]


def _catalog(language: str) -> Catalog:
    return read_po((LOCALE_DIR / language / "LC_MESSAGES" / "c2p_bot.po").open("rb"), locale=language)


def _shape(text: str) -> tuple[list[str], list[str]]:
    return sorted(_PLACEHOLDER.findall(text)), sorted(_COMMAND.findall(text))


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders_and_commands(language: str) -> None:
    template = read_po(io.BytesIO((LOCALE_DIR / "c2p_bot.pot").read_bytes()))
    catalog = _catalog(language)
    problems: list[str] = []
    for wanted in template:
        if not wanted.id:
            continue
        message = catalog.get(wanted.id)
        key = wanted.id[0] if isinstance(wanted.id, tuple) else wanted.id
        if message is None or message.fuzzy:
            problems.append(f"missing or fuzzy: {key!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if isinstance(wanted.id, tuple) and len(strings) != catalog.num_plurals:
            problems.append(f"{len(strings)} plural forms, {language} has {catalog.num_plurals}: {key!r}")
        for string in strings:
            if not string:
                problems.append(f"untranslated: {key!r}")
            elif _shape(string) != _shape(wanted.id[-1] if isinstance(wanted.id, tuple) else wanted.id):
                problems.append(f"placeholders or commands differ: {key!r} → {string!r}")
    assert not problems, (f"{len(problems)} problems in the {language} catalog (see docs/translating.md):\n"
                          + "\n".join(problems[:20]))


@pytest.mark.parametrize("language", TRANSLATED)
def test_compiled_catalog_matches_its_source(language: str) -> None:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "c2p_bot.mo").open("rb") as compiled:
        mo = gettext.GNUTranslations(compiled)
    stale = [m.id for m in _catalog(language) if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
             and mo.gettext(m.id) != m.string]
    assert not stale, f"run .ci/i18n to compile the {language} catalog: {stale[:3]}"


def test_plural_forms_follow_the_language() -> None:
    text = "{n} day", "{n} days"
    english = gettext_for("en")
    assert english.ngettext(*text, 1) == "{n} day" and english.ngettext(*text, 5) == "{n} days"
    with (LOCALE_DIR / "ru" / "LC_MESSAGES" / "c2p_bot.mo").open("rb") as compiled:
        mo = gettext.GNUTranslations(compiled)
    assert mo.plural(1) == 0 and mo.plural(3) == 1 and mo.plural(5) == 2 and mo.plural(21) == 0


def test_values_inside_arabic_text_are_isolated() -> None:
    arabic = gettext_for("ar")
    shown = arabic("They send this to the bot: /start {code}").format(code="Bea-7Q")
    assert f"{FSI}/start{PDI}" in shown and f"{FSI}Bea-7Q{PDI}" in shown
    joined = arabic("Send /plan to write your emergency plan or go on with it, /plan show to see it, /plan edit "
                    "PART to change a part, or /plan ok to confirm it is still right.")
    assert f"و{FSI}/plan{PDI}" in joined  # "and" joined to a command in Arabic: still isolated
    french = gettext_for("fr")("They send this to the bot: /start {code}")
    assert FSI not in french.format(code="Bea-7Q")
