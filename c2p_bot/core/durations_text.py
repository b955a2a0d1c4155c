"""Durations in chat: read forgivingly within bounds (:mod:`c2p_bot.core.duration_words`), and
written out for people (``2 days``, ``1 hour 30 minutes``) in their language."""

from __future__ import annotations

from datetime import timedelta

from c2p_bot.core.duration_words import SpokenDurationError, parse_spoken_duration
from c2p_bot.core.i18n import Translate

_SIZES = ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))


def say_duration(_: Translate, value: timedelta) -> str:
    """``2 days``, ``1 hour 30 minutes``: a duration in the reader's words."""
    seconds = max(0, int(value.total_seconds()))
    parts: list[str] = []
    for size, unit in _SIZES:
        if seconds >= size or (unit == "second" and not parts):
            count, seconds = divmod(seconds, size)
            parts.append(_counted(_, unit, count))
    return " ".join(parts)


def _counted(_: Translate, unit: str, n: int) -> str:
    if unit == "day":
        text = _.ngettext("{n} day", "{n} days", n)
    elif unit == "hour":
        text = _.ngettext("{n} hour", "{n} hours", n)
    elif unit == "minute":
        text = _.ngettext("{n} minute", "{n} minutes", n)
    else:
        text = _.ngettext("{n} second", "{n} seconds", n)
    return text.format(n=_.number(n))


def read_duration(_: Translate, text: str, shortest: timedelta, longest: timedelta,
                  example: timedelta) -> timedelta | str:
    """The duration ``text`` says, within [shortest, longest]; otherwise what to tell the person,
    naming the part that was wrong and giving ``example``."""
    try:
        value = parse_spoken_duration(text)
    except SpokenDurationError as error:
        return _problem(_, error, text.strip(), example)
    if value > longest:
        return _("“{item}” is too long: write at most {longest}.").format(
            item=text.strip(), longest=say_duration(_, longest))
    if value < shortest:
        return _("“{item}” is too short: write at least {shortest}.").format(
            item=text.strip(), shortest=say_duration(_, shortest))
    return value


def _problem(_: Translate, error: SpokenDurationError, text: str, example: timedelta) -> str:
    item, like = error.item, say_duration(_, example)
    if error.code == "repeated":
        return _("“{text}” gives the same unit twice ({unit}); write each unit once, like 1h30m or "
                 "1 hour 30 minutes.").format(text=text, unit=item)
    if error.code == "no_unit":
        number = item if item.isdecimal() and len(item) < 4 else "2"
        return _("“{item}” needs a unit of time, like {hours} or {days}.").format(
            item=item, hours=say_duration(_, timedelta(hours=int(number))),
            days=say_duration(_, timedelta(days=int(number))))
    if error.code == "no_number":
        return _("“{item}” needs a number before it, like {example}.").format(item=item, example=like)
    if error.code == "zero":
        return _("“{item}” is no time at all; write a length of time like {example}.").format(
            item=text, example=like)
    if error.code == "empty":
        return _("Write a length of time, like {example}.").format(example=like)
    return _("“{item}” is not a length of time I understand. Write a number and minutes, hours, days "
             "or weeks, like {example}.").format(item=item, example=like)

