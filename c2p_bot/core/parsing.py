"""Splitting chat text into a command and its arguments."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_TEXT = 4000
_COMMAND = re.compile(r"^/([A-Za-z][A-Za-z0-9_]{0,31})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+(.*))?$", re.S)
_INVISIBLE = {"Cf", "Cc", "Co", "Cs"}


@dataclass(frozen=True)
class ParsedCommand:
    name: str
    args: str
    addressed_to: str | None  # the @botname part, if any


def clean_text(text: str) -> str:
    """Drop NULs, control and format characters (zero-width, RTL overrides) except newlines."""
    kept = [
        ch
        for ch in text[: MAX_TEXT * 2]
        if ch in "\n\t" or unicodedata.category(ch) not in _INVISIBLE
    ]
    return unicodedata.normalize("NFC", "".join(kept)).strip()


def parse_command(text: str) -> ParsedCommand | None:
    """``/name@bot args`` → ParsedCommand; ``None`` if the text is not a command."""
    match = _COMMAND.match(text.strip())
    if not match:
        return None
    name, bot, args = match.groups()
    return ParsedCommand(name.lower(), (args or "").strip(), bot)


_KEY = re.compile(r"(?:^|(?<=\s))(\w+)\s*=")


def parse_assignments(args: str) -> tuple[dict[str, str], list[str]]:
    """Parse ``key=value key2=a, b key3="x y"`` pairs: a value runs to the next ``key=`` (so it may
    hold spaces, as in ``expertise=land rights, environment``); quotes around it are dropped.
    Returns (pairs, words before the first pair)."""
    keys = list(_KEY.finditer(args))
    leftovers = args[:keys[0].start()].split() if keys else args.split()
    pairs: dict[str, str] = {}
    for index, key in enumerate(keys):
        following = keys[index + 1] if index + 1 < len(keys) else None
        value = args[key.end():following.start() if following else len(args)].strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].strip()
        pairs[key.group(1).lower()] = value
    return pairs, leftovers
