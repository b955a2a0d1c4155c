"""Durations as people type them in chat: ``12h``, ``1h30m``, ``12 hours``, ``1 hour 30 minutes``,
``1.5 hours``, ``an hour``, ``three days``, and the unit words of the bot's languages (``2 jours``,
``12 horas``, ``2 дня``, ``يومين``).

Config files keep the strict grammar of :mod:`c2p_bot.durations`; this parser is for chat only.
A decimal count is accepted with any unit (``1.5h`` is 90 minutes). A unit given twice
(``1h1h``) is refused: it is a typo, not two hours.
"""

from __future__ import annotations

import re
from datetime import timedelta

from c2p_bot.core.number_words import LONGEST_NUMBER_WORDS, MAX_DIGITS, ascii_digits, fold, number_word

SECOND, MINUTE, HOUR, DAY, WEEK = 1, 60, 3600, 86400, 7 * 86400

# unit: (abbreviations and plurals — a number must come first, singular words — one by
# themselves, Arabic duals — two by themselves)
_UNIT_WORDS = {
    SECOND: ("s sec secs seconds secondes segundos с сек секунды секунд ثوان ثواني",
             "second seconde segundo секунда секунду ثانية", "ثانيتين ثانيتان"),
    MINUTE: ("m min mins mn minutes minutos мин м минуты минут دقائق",
             "minute minuto минута минуту دقيقة", "دقيقتين دقيقتان"),
    HOUR: ("h hr hrs hours heures horas ч часа часов ساعات", "hour heure hora час ساعة", "ساعتين ساعتان"),
    DAY: ("d j д дн days jours dias días дня дней суток أيام يومًا", "day jour dia día день сутки يوم",
          "يومين يومان"),
    WEEK: ("w wk wks sem нед weeks semaines semanas недели недель أسابيع أسبوعًا",
           "week semaine semana неделя неделю أسبوع", "أسبوعين أسبوعان"),
}
_UNITS: dict[str, tuple[int, float | None]] = {}
for _size, (_counted, _single, _dual) in _UNIT_WORDS.items():
    for _implied, _words in ((None, _counted), (1.0, _single), (2.0, _dual)):
        _UNITS.update({fold(word): (_size, _implied) for word in _words.split()})

_CONNECTORS = {"and", "et", "y", "и", "و", "plus", "+", "&", ",", ";", ".", "-"}
_ONE = {"a", "an"}
_HALF = {fold(word) for word in ["half", "demi", "media", "medio", "пол", "نصف"]}
_LETTERS = r"(?:[^\W\d_]|[\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670])+"
_TOKEN = re.compile(rf"(?P<number>\d+(?:[.,]\d+)?)|(?P<word>{_LETTERS}(?:-{_LETTERS})*)|(?P<other>\S)")


class SpokenDurationError(ValueError):
    """Text that is not a duration. ``code`` says why — ``empty``, ``unknown`` (a word that is
    no number or unit), ``no_unit`` (a number without a unit), ``no_number`` (a unit that needs a
    number), ``repeated`` (a unit given twice) or ``zero`` — and ``item`` is the part at fault,
    as typed (the whole text for ``zero``)."""

    def __init__(self, code: str, item: str) -> None:
        super().__init__(f"{code}: {item!r}")
        self.code = code
        self.item = item


def _unit(word: str) -> tuple[int, float | None] | None:
    """The unit a folded word names; an Arabic word may carry "و" (and) before it."""
    if word in _UNITS:
        return _UNITS[word]
    return _UNITS.get(word[1:]) if word.startswith("و") else None


def parse_spoken_duration(text: str) -> timedelta:
    """The duration ``text`` says; raises :class:`SpokenDurationError` naming the wrong part."""
    tokens = _tokens(text)
    if not tokens:
        raise SpokenDurationError("empty", "")
    total, used = 0.0, set()
    pending: tuple[float, str] | None = None  # a count waiting for its unit, and how it was typed
    index = 0
    while index < len(tokens):
        kind, raw = tokens[index]
        word = fold(raw)
        index += 1
        count: float | None = None
        if kind == "number":
            digits = ascii_digits(raw).replace(",", ".")
            if len(digits.split(".")[0]) > MAX_DIGITS:
                raise SpokenDurationError("unknown", raw)
            count = float(digits)
        elif (unit := _unit(word)) is not None:
            size, implied = unit
            if pending is None and implied is None:
                raise SpokenDurationError("no_number", raw)
            if size in used:
                raise SpokenDurationError("repeated", raw)
            used.add(size)
            total += (pending[0] if pending else implied or 0) * size
            pending = None
            continue
        elif word in _CONNECTORS or (word in _ONE and pending is not None):
            continue
        elif word in _ONE:
            count = 1.0
        elif word in _HALF:
            count = 0.5
        else:
            count, index, raw = _number_words(tokens, index - 1, raw)
        if pending is not None:
            raise SpokenDurationError("no_unit", pending[1])
        pending = (count, raw)
    if pending is not None:
        if used != {HOUR}:  # "2h30" is two and a half hours; any other bare number lacks its unit
            raise SpokenDurationError("no_unit", pending[1])
        total += pending[0] * MINUTE
    if round(total) <= 0:
        raise SpokenDurationError("zero", text.strip())
    return timedelta(seconds=round(total))


def _number_words(tokens: list[tuple[str, str]], start: int, raw: str) -> tuple[float, int, str]:
    """The number named by the words from ``start`` (longest first): (value, next index, as typed)."""
    for length in range(LONGEST_NUMBER_WORDS, 0, -1):
        words = tokens[start:start + length]
        if len(words) < length or any(kind != "word" for kind, _ in words):
            continue
        value = number_word(" ".join(fold(w) for _, w in words))
        if value is not None:
            return float(value), start + length, " ".join(w for _, w in words)
    raise SpokenDurationError("unknown", raw)


def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, as typed) pairs; a hyphenated word is one token only when it is a number (dix-sept)."""
    tokens = []
    for match in _TOKEN.finditer(text):
        kind, raw = match.lastgroup or "other", match.group()
        if kind == "word" and "-" in raw and number_word(fold(raw)) is None:
            tokens += [("word", part) for part in raw.split("-")]  # demi-heure
        else:
            tokens.append((kind, raw))
    return tokens
