"""Counts typed by people: digits of any script (3, ٣, ۳) or a word from zero to twenty in the
bot's languages (three, trois, tres, три, ثلاثة); and ``fold``, the comparison form of a typed word."""

from __future__ import annotations

import re
import unicodedata

MAX_DIGITS = 6
_WORD_HYPHEN = re.compile(r"(?<=[^\W\d_])-(?=[^\W\d_])")  # dix-sept, not -1
_ARABIC_LETTERS = str.maketrans({"ة": "ه", "ى": "ي", "ـ": None})

# One line per number; variants separated by "|" (a variant may have several words).
_NUMBER_WORDS = {
    0: "zero|nought|none|zéro|cero|ноль|нуль|صفر",
    1: "one|un|une|uno|una|один|одна|одно|одну|واحد|واحدة|أحد",
    2: "two|deux|dos|два|две|اثنان|اثنين|اثنتان|اثنتين",
    3: "three|trois|tres|три|ثلاثة|ثلاث",
    4: "four|quatre|cuatro|четыре|أربعة|أربع",
    5: "five|cinq|cinco|пять|خمسة|خمس",
    6: "six|seis|шесть|ستة|ست",
    7: "seven|sept|siete|семь|سبعة|سبع",
    8: "eight|huit|ocho|восемь|ثمانية|ثماني|ثمان",
    9: "nine|neuf|nueve|девять|تسعة|تسع",
    10: "ten|dix|diez|десять|عشرة|عشر",
    11: "eleven|onze|once|одиннадцать|أحد عشر|إحدى عشرة",
    12: "twelve|douze|doce|двенадцать|اثنا عشر|اثني عشر|اثنتا عشرة|اثنتي عشرة",
    13: "thirteen|treize|trece|тринадцать|ثلاثة عشر|ثلاث عشرة",
    14: "fourteen|quatorze|catorce|четырнадцать|أربعة عشر|أربع عشرة",
    15: "fifteen|quinze|quince|пятнадцать|خمسة عشر|خمس عشرة",
    16: "sixteen|seize|dieciséis|шестнадцать|ستة عشر|ست عشرة",
    17: "seventeen|dix-sept|diecisiete|семнадцать|سبعة عشر|سبع عشرة",
    18: "eighteen|dix-huit|dieciocho|восемнадцать|ثمانية عشر|ثماني عشرة",
    19: "nineteen|dix-neuf|diecinueve|девятнадцать|تسعة عشر|تسع عشرة",
    20: "twenty|vingt|veinte|двадцать|عشرون|عشرين",
}


def ascii_digits(text: str) -> str:
    """``text`` with every decimal digit of any script written as 0–9 (``٢١:٠٠`` → ``21:00``)."""
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def fold(text: str) -> str:
    """The form typed words are compared in: lower case, no accents or Arabic vowel marks, one
    spelling of letters with variants (أ/إ/آ → ا, ة → ه, ى → ي), digits 0–9, a hyphen between
    letters and runs of spaces as one space."""
    decomposed = unicodedata.normalize("NFKD", ascii_digits(text).casefold())
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_ARABIC_LETTERS)
    return " ".join(_WORD_HYPHEN.sub(" ", kept).split())


_BY_WORDS = {fold(variant): n for n, variants in _NUMBER_WORDS.items() for variant in variants.split("|")}
LONGEST_NUMBER_WORDS = max(len(words.split()) for words in _BY_WORDS)


def number_word(words: str) -> int | None:
    """The number 0–20 that ``words`` (already folded) name, or ``None``."""
    return _BY_WORDS.get(words)


def parse_count(text: str) -> int | None:
    """A whole number written in digits or as a word from zero to twenty; ``None`` otherwise."""
    folded = fold(text)
    if re.fullmatch(rf"\d{{1,{MAX_DIGITS}}}", folded):
        return int(folded)
    return number_word(folded)
