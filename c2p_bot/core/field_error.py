"""The error a profile answer raises when it is not valid (shared by every field's parser)."""

from __future__ import annotations

from collections.abc import Sequence


class FieldError(ValueError):
    """An invalid value; ``message`` is already translated, names what was wrong and says what is
    accepted. ``choices`` are (label, value) pairs the person may pick from, shown as buttons."""

    def __init__(self, message: str, choices: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.choices: tuple[tuple[str, str], ...] = tuple(choices)
