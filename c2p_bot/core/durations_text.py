"""Durations typed in chat commands, with bounds."""

from __future__ import annotations

from datetime import timedelta

from c2p_bot.durations import DurationError, parse_duration


def parse_duration_arg(text: str, shortest: timedelta, longest: timedelta) -> timedelta | None:
    """A duration like ``45m`` within [shortest, longest], or ``None``."""
    try:
        value = parse_duration(text)
    except DurationError:
        return None
    return value if shortest <= value <= longest else None
