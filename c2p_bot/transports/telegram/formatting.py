"""Pure helpers: split long texts to Telegram's limit, build inline keyboards from core buttons."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from c2p_bot.core.events import Button

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # UTF-16 code units, as Telegram counts them
MAX_CALLBACK_DATA = 64  # bytes


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _hard_split(line: str, limit: int) -> list[str]:
    """Cut one over-long line at code point boundaries (never inside a surrogate pair)."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = 2 if ord(char) > 0xFFFF else 1
        if size + width > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        pieces.append("".join(current))
    return pieces


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` UTF-16 units, preferring paragraph and line
    breaks, then spaces; never returns an empty chunk (an empty text gives ``[]``)."""
    if not text.strip():
        return []
    if utf16_len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""

    def flush() -> None:
        nonlocal current
        if current.strip():
            chunks.append(current.rstrip("\n"))
        current = ""

    for line in text.split("\n"):
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        flush()
        if utf16_len(line) <= limit:
            current = line
            continue
        *head, current = list(_split_words(line, limit)) or [""]
        chunks.extend(piece for piece in head if piece.strip())
    flush()
    return chunks


def _split_words(line: str, limit: int) -> Iterable[str]:
    """An over-long line: break at spaces where possible, else inside words."""
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if utf16_len(candidate) <= limit:
            current = candidate
            continue
        if current:
            yield current
        if utf16_len(word) <= limit:
            current = word
        else:
            *head, current = _hard_split(word, limit)
            yield from head
    if current:
        yield current


def build_keyboard(rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup | None:
    """An inline keyboard whose callback data are the buttons' payloads (command texts).

    A button whose payload does not fit Telegram's 64-byte limit, or that has no label, is
    dropped (logged without its content) rather than failing the whole message.
    """
    keyboard: list[list[InlineKeyboardButton]] = []
    dropped = 0
    for row in rows:
        out: list[InlineKeyboardButton] = []
        for button in row:
            size = len(button.payload.encode("utf-8"))
            if not button.label.strip() or not 1 <= size <= MAX_CALLBACK_DATA:
                dropped += 1
                continue
            out.append(InlineKeyboardButton(button.label, callback_data=button.payload))
        if out:
            keyboard.append(out)
    if dropped:
        log.warning("dropped %d button(s) whose payload does not fit Telegram's limits", dropped)
    return InlineKeyboardMarkup(keyboard) if keyboard else None
