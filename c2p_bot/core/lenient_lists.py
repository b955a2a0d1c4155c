"""Lists and answers typed by people, matched against what the bot knows.

Items may be separated by commas, semicolons, slashes, new lines or "and" in the bot's languages
(and, et, y, и, و), and may themselves contain spaces: ``land rights environment`` is read
greedily, the longest known phrase first, so it gives ``land-rights`` and ``environment``. Case,
accents, hyphens and underscores do not matter. What is not known is named, as typed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from c2p_bot.core.number_words import fold

_SEPARATORS = re.compile(r"[,;/|\n&+،؛]+|\s+(?:and|et|y|и|و)\s+", re.I)
_WORD = re.compile(r"[^\s\-_.]+")
# Articles and "or" skipped between items ("a lawyer or an MP"); never the start of an unknown item.
FILLERS = frozenset(["a", "an", "the", "un", "une", "le", "la", "les", "l", "des", "el", "los", "las", "una",
                     "uno", "unos", "unas", "or", "ou", "o", "или", "او"])
_ARABIC_PREFIXES = ("وال", "ال", "و")

_YES = frozenset(fold(w) for w in ["yes", "y", "yeah", "yep", "ok", "okay", "true", "on", "1", "oui", "ouais",
                                   "si", "sí", "да", "д", "ага", "نعم", "اي", "أجل", "ايوه"])
_NO = frozenset(fold(w) for w in ["no", "n", "nope", "false", "off", "0", "non", "нет", "н", "не", "لا", "كلا"])


class UnknownItems(ValueError):
    """Items of a typed list that are not in the vocabulary, as typed."""

    def __init__(self, items: list[str]) -> None:
        super().__init__(", ".join(items))
        self.items = items


def _key(word: str) -> str:
    return fold(word).replace("'", "").replace("’", "")


def phrase_key(text: str) -> str:
    """The form a phrase is looked up in: ``Land-Rights`` and ``land_rights`` → ``land rights``."""
    return " ".join(key for key in (_key(w) for w in _WORD.findall(text)) if key)


def tag_vocabulary(tags: Iterable[str]) -> dict[str, str]:
    """Each tag, found by its words in any case or with any separator."""
    return {phrase_key(tag): tag for tag in tags}


def split_items(raw: str) -> list[str]:
    """The pieces of ``raw`` between separators (commas, semicolons, slashes, new lines, "and")."""
    return [part.strip() for part in _SEPARATORS.split(raw) if part and part.strip()]


def resolve(raw: str, vocabulary: Mapping[str, str], fillers: frozenset[str] = FILLERS) -> list[str]:
    """The vocabulary values ``raw`` names, in order, once each; raises :class:`UnknownItems`
    with every stretch of words that names nothing known."""
    found: list[str] = []
    unknown: list[str] = []
    for chunk in split_items(raw):
        words = [m for m in _WORD.finditer(chunk) if _key(m.group())]
        keys = [_key(m.group()) for m in words]
        index, run_start = 0, None
        while index < len(words):
            end, value = _longest(keys, index, vocabulary)
            if value is None:
                if run_start is None and keys[index] not in fillers:
                    run_start = index
                index += 1
                continue
            if run_start is not None:
                unknown.append(chunk[words[run_start].start():words[index - 1].end()])
                run_start = None
            found.append(value)
            index = end
        if run_start is not None:
            unknown.append(chunk[words[run_start].start():words[-1].end()])
    if unknown:
        raise UnknownItems(unknown)
    return list(dict.fromkeys(found))


def _longest(keys: list[str], start: int, vocabulary: Mapping[str, str]) -> tuple[int, str | None]:
    """The longest phrase of ``vocabulary`` starting at ``keys[start]``: (end, value)."""
    first = keys[start]
    variants = [first] + [first[len(p):] for p in _ARABIC_PREFIXES if first.startswith(p) and len(first) > len(p) + 1]
    for end in range(len(keys), start, -1):
        rest = keys[start + 1:end]
        for variant in variants:
            value = vocabulary.get(" ".join([variant, *rest]))
            if value is not None:
                return end, value
    return start, None


def yes_or_no(text: str) -> bool | None:
    """``True`` for yes, ``False`` for no in any of the bot's languages, ``None`` otherwise."""
    word = fold(text).strip(" .!")
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None
