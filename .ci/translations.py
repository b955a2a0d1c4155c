"""Fill translation catalogs from JSON, and list what a catalog still misses.

    .venv/bin/python .ci/translations.py missing fr            # JSON of untranslated or fuzzy messages
    .venv/bin/python .ci/translations.py apply fr fr.json      # write them into the catalog, compile

The JSON maps each msgid to its translation; a counted message (``_.ngettext``) is keyed by
its singular msgid and maps to a list with one string per plural form of the language
(``missing`` prints how many forms and, for each, a number that takes it). Every change
holds ``c2p_bot/locale/.lock`` so that helpers filling different catalogs, and ``.ci/i18n``,
never overwrite each other.
"""

from __future__ import annotations

import fcntl
import gettext
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

LOCALE = Path(__file__).resolve().parent.parent / "c2p_bot" / "locale"


@contextmanager
def locked() -> Iterator[None]:
    with open(LOCALE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _po(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "c2p_bot.po"


def _examples(plural_expr: str, forms: int) -> list[int]:
    """For each plural form, in the catalog's order, the smallest number that takes it."""
    form_of = gettext.c2py(plural_expr)
    first: dict[int, int] = {}
    for n in range(0, 1000):
        first.setdefault(form_of(n), n)
    return [first.get(index, -1) for index in range(forms)]


def missing(language: str) -> None:
    catalog = read_po(_po(language).open("rb"), locale=language)
    out: dict[str, object] = {}
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = set(re.findall(r"\{[^}]*\}", message.id[1]))
            if (message.fuzzy or not all(strings) or len(strings) != catalog.num_plurals
                    or any(set(re.findall(r"\{[^}]*\}", s)) != wanted for s in strings)):
                out[message.id[0]] = {"plural": message.id[1], "forms": catalog.num_plurals,
                                      "examples": _examples(catalog.plural_expr, catalog.num_plurals)}
        elif message.fuzzy or not message.string:
            out[message.id] = ""
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1)
    print()


def apply(language: str, source: Path) -> None:
    wanted: dict[str, object] = json.loads(source.read_text(encoding="utf-8"))
    with locked():
        catalog = read_po(_po(language).open("rb"), locale=language)
        unknown = []
        for key, value in wanted.items():
            message = next((m for m in catalog if m.id and (m.id[0] if isinstance(m.id, tuple) else m.id) == key),
                           None)
            if message is None:
                unknown.append(key)
                continue
            if isinstance(message.id, tuple) != isinstance(value, list):
                raise SystemExit(f"{key!r}: a counted message needs a list of forms, any other a string")
            message.string = tuple(value) if isinstance(value, list) else str(value)
            message.flags.discard("fuzzy")
            message.previous_id = []
        with _po(language).open("wb") as out:
            write_po(out, catalog, width=100, ignore_obsolete=True)
        with (_po(language).with_suffix(".mo")).open("wb") as out:
            write_mo(out, catalog)
    if unknown:
        print(f"not in the catalog (skipped): {unknown[:5]}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "missing":
        missing(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "apply":
        apply(sys.argv[2], Path(sys.argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
