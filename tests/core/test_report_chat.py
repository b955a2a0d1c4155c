"""/report [PERIOD]: a short summary of the programme for coordinators, in their language.

Transcripts on SQLite and PostgreSQL.
"""

from __future__ import annotations

from tests.support import activity
from tests.support.durations import DAY
from tests.support.transcript import Chat


async def test_report_summarises_the_period(chat: Chat) -> None:
    await activity.history(chat)
    await chat.say("cora", "/report 30d")
    text = chat.expect("cora", r"Report for the last 30 days").text
    assert "Defenders protected (with a partner): 1 of 1." in text, text
    assert "Check-ins: 2, 50% on time." in text, text
    assert "Alerts: 2 (missed check-in: 1, panic: 1); still open: 0." in text, text
    assert "Outcomes: false alarm: 1; false alarms: 100%." in text, text  # /resolve 2 false-alarm
    assert "Time to acknowledge: median 7 minutes 30 seconds; 90% within 10 minutes." in text, text
    assert "Drills: none recorded." in text and "Partner actions: none recorded." in text, text
    assert "c2p-bot report --since 30d --format html" in text, text
    assert "Amina" not in text and "Paul" not in text  # aggregates only


async def test_report_defaults_to_90_days_and_a_short_period_can_be_empty(chat: Chat) -> None:
    await activity.history(chat)
    await chat.say("cora", "/report")
    chat.expect("cora", r"Report for the last 90 days")
    await chat.say("cora", "/report 4 weeks")
    chat.expect("cora", r"Report for the last 28 days.*--since 28d")
    chat.clock.advance(3 * DAY)
    await chat.say("cora", "/report 1d")
    text = chat.expect("cora", r"Report for the last 1 day").text
    assert "Check-ins: 0." in text and "Alerts: 0." in text and "Time to acknowledge: no acknowledgement" in text


async def test_report_names_a_bad_period_and_gives_an_example(chat: Chat) -> None:
    await activity.history(chat)
    await chat.say("cora", "/report lots")
    chat.expect("cora", r"“lots” is not a period I understand\. Write a number of days or weeks, for example "
                        r"/report 30d or /report 12w\.")
    await chat.say("cora", "/report 20y")
    chat.expect("cora", r"“20y” is not a period I understand")
    await chat.say("cora", "/report 600w")
    chat.expect("cora", r"“600w” is too long: a report covers at most 10 years")
    await chat.say("paul", "/report")
    assert "Report for" not in chat.expect("paul", r".").text
