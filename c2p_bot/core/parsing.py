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


def parse_assignments(args: str) -> tuple[dict[str, str], list[str]]:
    """Parse ``key=value key2="a, b"`` pairs; returns (pairs, tokens that were not pairs)."""
    pairs: dict[str, str] = {}
    leftovers: list[str] = []
    for match in re.finditer(r'(\w+)\s*=\s*("([^"]*)"|\S+(?:\s*,\s*[^\s=,]+)*)|(\S+)', args):
        if match.group(4) is not None:
            leftovers.append(match.group(4))
            continue
        value = match.group(3) if match.group(3) is not None else match.group(2)
        pairs[match.group(1).lower()] = value.strip()
    return pairs, leftovers
