"""Durations and daily times typed the way people type them, in any of the bot's languages
(/pause, /schedule), and refusals that name what was wrong."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from c2p_bot.core.duration_words import SpokenDurationError, parse_spoken_duration
from c2p_bot.core.schedule import ScheduleError, parse_times
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import trio
from tests.support.queries import clock_of
from tests.support.transcript import Chat

# --- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("12h", 12 * HOUR), ("1h30m", 90 * MINUTE), ("1h 30m", 90 * MINUTE), ("12 hours", 12 * HOUR),
    ("2 days", 2 * DAY), ("90 minutes", 90 * MINUTE), ("1 hour 30 minutes", 90 * MINUTE),
    ("1 hour and 30 minutes", 90 * MINUTE), ("1.5 hours", 90 * MINUTE), ("1,5 h", 90 * MINUTE),
    ("an hour", HOUR), ("a day", DAY), ("three days", 3 * DAY), ("1 week", 7 * DAY), ("2 Days", 2 * DAY),
    ("2h30", 150 * MINUTE), ("45 secs", timedelta(seconds=45)),
    ("2 jours", 2 * DAY), ("12 heures", 12 * HOUR), ("une heure", HOUR), ("deux semaines", 14 * DAY),
    ("1 heure et 30 minutes", 90 * MINUTE),
    ("2 días", 2 * DAY), ("2 dias", 2 * DAY), ("12 horas", 12 * HOUR), ("una hora y 30 minutos", 90 * MINUTE),
    ("2 дня", 2 * DAY), ("12 часов", 12 * HOUR), ("5 дней", 5 * DAY), ("1 час 30 минут", 90 * MINUTE),
    ("час", HOUR), ("сутки", DAY),
    ("يومين", 2 * DAY), ("12 ساعة", 12 * HOUR), ("ساعتين", 2 * HOUR), ("٣ أيام", 3 * DAY),
    ("ساعة و30 دقيقة", 90 * MINUTE), ("أسبوع", 7 * DAY),
])
def test_durations_in_words(text: str, value: timedelta) -> None:
    assert parse_spoken_duration(text) == value


@pytest.mark.parametrize(("text", "code", "item"), [
    ("1h1h", "repeated", "h"), ("1 hour 2 hours", "repeated", "hours"), ("soon", "unknown", "soon"),
    ("2 months", "unknown", "months"), ("12", "no_unit", "12"), ("0m", "zero", "0m"), ("", "empty", ""),
    ("hours", "no_number", "hours"), ("12 30m", "no_unit", "12"),
])
def test_durations_refused_with_the_wrong_item(text: str, code: str, item: str) -> None:
    with pytest.raises(SpokenDurationError) as caught:
        parse_spoken_duration(text)
    assert (caught.value.code, caught.value.item) == (code, item)


# --- times of day ----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "times"), [
    ("09:00,21:00", ((9, 0), (21, 0))), ("21:00, 09:00", ((9, 0), (21, 0))), ("21:00 09:00", ((9, 0), (21, 0))),
    ("9am, 9pm", ((9, 0), (21, 0))), ("9:00 pm; 7:30 am", ((7, 30), (21, 0))), ("21h", ((21, 0),)),
    ("9h30 and 21h", ((9, 30), (21, 0))), ("12am / 12pm", ((0, 0), (12, 0))), ("9 p.m.", ((21, 0),)),
    ("٠٩:٠٠ و ٢١:٠٠", ((9, 0), (21, 0))), ("9", ((9, 0),)), ("21.30", ((21, 30),)),
])
def test_daily_times_any_way_they_are_written(text: str, times: tuple[tuple[int, int], ...]) -> None:
    assert parse_times(text) == tuple(time(h, m) for h, m in times)


@pytest.mark.parametrize(("text", "item"), [
    ("25:00", "25:00"), ("09:00, 9:75", "9:75"), ("13pm", "13pm"), ("09:00 noonish", "noonish"),
])
def test_a_wrong_time_is_named(text: str, item: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_times(text)
    assert caught.value.item == item



# --- through the chat ------------------------------------------------------------------------


async def test_pause_in_words(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/pause 2 days")
    chat.expect("amina", r"paused until 2026-03-03 12:00 EAT")
    await chat.say("amina", "/resume")
    chat.expect("amina", r"back on")
    await chat.say("amina", "/pause 12 heures")
    chat.expect("amina", r"paused until 2026-03-02 00:00 EAT")
    await chat.say("amina", "/resume")
    chat.expect("amina", r"back on")
    await chat.say("amina", "/pause يومين")
    chat.expect("amina", r"paused until 2026-03-03 12:00 EAT")
    assert clock_of(chat).paused_until == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


async def test_pause_refusals_name_the_wrong_item(chat: Chat) -> None:
    await trio(chat)
    for args, reply in (("1h1h", r"“1h1h”.*same unit twice.*1h30m"),
                        ("forever", r"“forever” is not a length of time.*like 2 days"),
                        ("3", r"“3” needs a unit.*3 hours or 3 days"),
                        ("15 days", r"“15 days” is too long.*at most 14 days"),
                        ("", r"how long.*/pause 2 days")):
        await chat.say("amina", f"/pause {args}")
        chat.expect("amina", reply)
    assert clock_of(chat).state == "ok"


async def test_schedule_several_daily_times_and_every_in_words(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/schedule daily 21:00, 09:00")
    chat.expect("amina", r"Schedule saved: daily at 09:00,21:00")
    await chat.say("amina", "/schedule daily 9am 9:30 pm grace 30 minutes")
    chat.expect("amina", r"Schedule saved: daily at 09:00,21:30 \(Africa/Nairobi\), grace 30m")
    await chat.say("amina", "/schedule every 12 hours")
    chat.expect("amina", r"Schedule saved: every 12h, grace 30m")
    assert clock_of(chat).next_due == chat.clock.now() + 12 * HOUR
    await chat.say("amina", "/schedule every 8h")
    chat.expect("amina", r"Schedule saved: every 8h")
    await chat.say("amina", "/schedule every 6 horas grace 1 hora")
    chat.expect("amina", r"Schedule saved: every 6h, grace 1h")


async def test_schedule_refusals_name_the_wrong_item(chat: Chat) -> None:
    await trio(chat)
    for args, reply in (("daily 25:00", r"“25:00” is not a time of day; write times like 09:00 or 21:30"),
                        ("daily 09:00, 9:75", r"“9:75” is not a time of day"),
                        ("every soon", r"“soon” is not a length of time"),
                        ("every 40 days", r"“40 days” is too long.*at most 30 days"),
                        ("every 1h1h", r"“1h1h”.*same unit twice"),
                        ("every 12h grace forever", r"“forever” is not a length of time"),
                        ("every 12h grace", r"after “grace”.*grace 30 minutes"),
                        ("weekly 09:00", r"“weekly”.*every or daily.*/schedule daily 09:00, 21:00"),
                        ("every 12h tz Europe/Berlin", r"tz.*daily")):
        await chat.say("amina", f"/schedule {args}")
        chat.expect("amina", reply)
    assert clock_of(chat).schedule_kind == "every" and clock_of(chat).interval_s == 86400


async def test_report_period_in_words(chat: Chat) -> None:
    await people.coordinator(chat)
    await chat.say("cora", "/report 2 weeks")
    chat.expect("cora", r"Report for the last 14 days")
    await chat.say("cora", "/report 30 días")
    chat.expect("cora", r"Report for the last 30 days")
