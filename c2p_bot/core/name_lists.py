"""Reading names the way people type them: any case, with or without accents or punctuation, and
lists with any separator (commas, slashes, new lines, "and" in the bot's languages, or spaces).

Names with spaces ("Costa Rica", "East Africa") still work: a list is read greedily, longest
name first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

Index = Mapping[str, tuple[str, ...]]
"""Folded name (see :func:`name_key`) → the value(s) it names (more than one: ambiguous)."""

MAX_WORDS = 8
_SEPARATORS = re.compile(r"[,;/|+\n\r\t،؛、]+")
_CONJUNCTIONS = frozenset({"and", "&", "et", "y", "e", "и", "و", "or", "ou", "o", "или", "أو"})
_ARTICLES = frozenset({"the", "la", "le", "les", "el", "los", "las"})
_ARABIC = str.maketrans({"ة": "ه", "ى": "ي"})
_NOT_LETTERS = re.compile(r"[\W_]+")


class UnknownName(ValueError):
    """``item`` (as typed) names nothing in the index."""

    def __init__(self, item: str) -> None:
        super().__init__(item)
        self.item = item


class AmbiguousName(ValueError):
    """``item`` (as typed) names several values: ``options``."""

    def __init__(self, item: str, options: tuple[str, ...]) -> None:
        super().__init__(item)
        self.item, self.options = item, options


class TooMany(ValueError):
    """The list names more values than allowed."""


def fold(text: str) -> str:
    """Case-, accent- and spelling-insensitive form: ``"Côte d’Ivoire"`` → ``"cote d’ivoire"``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_ARABIC)


def name_key(name: str) -> str:
    """The index key of a name: folded, letters and digits only, Arabic articles dropped."""
    words = _NOT_LETTERS.split(fold(name))
    return "".join(w[2:] if w.startswith("ال") and len(w) > 3 else w for w in words)


def shown(item: str) -> str:
    """An item as typed, trimmed for quoting back in a reply."""
    item = " ".join(item.split()).strip(".!?:'\"“”«»")
    return item if len(item) <= 40 else item[:39] + "…"


def read_list(raw: str, index: Index, limit: int) -> list[str]:
    """The values ``raw`` names, in order, without repeats.

    Raises :class:`UnknownName` for the first item that names nothing, :class:`AmbiguousName`
    for one that names several values, :class:`TooMany` beyond ``limit`` values.
    """
    values: list[str] = []
    for chunk in _SEPARATORS.split(raw):
        for value in _read_chunk(chunk.split(), index):
            if value not in values:
                values.append(value)
            if len(values) > limit:
                raise TooMany(raw)
    return values


def _read_chunk(words: list[str], index: Index) -> list[str]:
    found: list[str] = []
    i, n = 0, len(words)
    while i < n:
        if not name_key(words[i]) or (0 < i < n - 1 and _joins(words[i])):
            i += 1
            continue
        match = _longest(words, i, index)
        if match is None and words[i].startswith("و") and len(words[i]) > 1:  # Arabic "and" prefix
            words = [*words[:i], words[i][1:], *words[i + 1:]]
            match = _longest(words, i, index)
        if match is None and words[i].lower() in _ARTICLES and _longest(words, i + 1, index):
            i += 1
            continue
        if match is None:
            end = i + 1
            while end < n and not _joins(words[end]) and _longest(words, end, index) is None:
                end += 1
            raise UnknownName(shown(" ".join(words[i:end])))
        end, options = match
        if len(options) > 1:
            raise AmbiguousName(shown(" ".join(words[i:end])), options)
        found.append(options[0])
        i = end
    return found


def _joins(word: str) -> bool:
    """A conjunction between two items ("and", "et", "y", "и"), unless written in capitals: "ET"
    is Ethiopia's code."""
    return word.lower() in _CONJUNCTIONS and not word.isupper()


def _longest(words: list[str], start: int, index: Index) -> tuple[int, tuple[str, ...]] | None:
    """The longest run of words from ``start`` that names something: (end, values)."""
    n = len(words)
    if start >= n:
        return None
    for end in range(min(n, start + MAX_WORDS), start, -1):
        run = words[start:end]
        # Short words ("KE UG", "en sw") are codes, never pieces of one name (unless whole).
        if end - start > 1 and (start, end) != (0, n) and all(len(w) <= 3 for w in run):
            continue
        options = index.get("".join(name_key(w) for w in run))
        if options:
            return end, options
    return None


def lookup(raw: str, index: Index) -> tuple[str, ...]:
    """The values the whole of ``raw`` names (empty when none)."""
    return tuple(index.get(name_key(raw), ()))
