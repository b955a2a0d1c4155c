"""Every user-facing string is in the translation template, and the catalogs load."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from c2p_bot.core.i18n import LOCALE_DIR, gettext_for

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
