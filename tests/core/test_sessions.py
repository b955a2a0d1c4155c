"""Risky-event sessions (issue 14): ``/session DURATION [note]`` sets a one-off deadline on top of
the schedule; missed, it raises a ``session`` alert carrying the sealed note through the usual
chain; ``/session end`` closes it (with the PIN when one is set; the duress PIN looks the same and
raises the duress alarm). A check-in does not end a session."""

from __future__ import annotations

import logging

import pytest
from sqlmodel import Session, select

from storage.models import Note, RiskSession
from tests.core.test_sealing import _database_bytes
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import CHECKIN_PIN, DURESS_PIN, pins, trio
from tests.support.queries import alerts, clock_of
from tests.support.transcript import Chat

CANARY_SESSION = "CANARY-session-3c9d1"


def sessions(chat: Chat) -> list[RiskSession]:
    with Session(chat.core.engine) as session:
        return list(session.exec(select(RiskSession).order_by(RiskSession.id)).all())


async def test_a_missed_session_alerts_the_chain_with_its_note(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/session")
    chat.expect("amina", r"You have no session open\. Before a risky event, start one like /session 3h court "
                         r"hearing")
    await chat.say("amina", "/session 3h court hearing, district court")
    chat.expect("amina", r"^Session started for 3 hours\. If you have not sent /session end by 2026-03-01 15:00 "
                         r"EAT \(12:00 UTC\), your partners will be alerted, with your note\. Your regular "
                         r"check-ins go on as usual\.$")
    await chat.say("amina", "/session")
    chat.expect("amina", r"^Your session runs until 2026-03-01 15:00 EAT \(12:00 UTC\); 3 hours left\. It has "
                         r"a sealed note\. Send /session end when you are safe\.$")
    chat.clock.advance(2 * HOUR)
    await chat.say("amina", "/checkin all calm")  # does not end the session, and says so
    chat.expect("amina", r"^Checked in\. Thank you\. Your next check-in is due .*\nYour session is still open "
                         r"until 2026-03-01 15:00 EAT \(12:00 UTC\): a check-in does not end it\. Send /session "
                         r"end when you are safe\.$")
    await chat.tick()
    chat.expect_nothing("paul")
    chat.clock.advance(HOUR + MINUTE)
    await chat.tick()
    alert = chat.expect("paul", r"^🚨 SESSION ALERT #1: Amina did not end their risky-event session due "
                                r"2026-03-01 12:00 GMT \(12:00 UTC\)\.\n.*\nTheir session note, written 2026-03-01 "
                                r"09:00 GMT \(09:00 UTC\): court hearing, district court\n.*Acknowledge with /ack 1")
    assert alert.buttons == [[("Acknowledge", "/ack 1")]]
    chat.expect_nothing("cora")
    reminder = chat.expect("amina", r"^Your session was due to end 2026-03-01 15:00 EAT \(12:00 UTC\)\. If you "
                                    r"are safe, send /session end now\.$")
    assert reminder.buttons == [[("I'm safe", "/session end")]]
    assert [(a.kind, a.status) for a in alerts(chat)] == [("session", "open")]
    assert clock_of(chat).state == "ok"  # the schedule's own clock is untouched
    chat.clock.advance(16 * MINUTE)  # ack_timeout: the next step, as for any alert
    await chat.tick()
    chat.expect("cora", r"SESSION ALERT #1: Amina .*session note, written .*court hearing")
    await chat.press("amina", "I'm safe")
    chat.expect("amina", r"^Session ended\. Glad you are safe\.$")
    chat.expect("paul", r"^Amina ended their session at 2026-03-01 12:17 GMT \(12:17 UTC\)\. Alert #1 is resolved\.$")
    chat.expect("cora", r"^Amina ended their session at .*Alert #1 is resolved\.$")
    assert [(a.kind, a.status) for a in alerts(chat)] == [("session", "resolved")]
    await chat.say("amina", "/session end")
    chat.expect("amina", r"^You have no session open\.")


async def test_a_session_ended_in_time_alerts_nobody(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/session 90 minutes")
    chat.expect("amina", r"^Session started for 1 hour 30 minutes\. If you have not sent /session end by "
                         r"2026-03-01 13:30 EAT \(10:30 UTC\), your partners will be alerted\. Your regular")
    await chat.say("amina", "/session two hours")
    chat.expect("amina", r"^You already have a session open until 2026-03-01 13:30 EAT \(10:30 UTC\)\. Send "
                         r"/session end first, then start the new one\.$")
    chat.clock.advance(HOUR)
    await chat.say("amina", "/session end")
    chat.expect("amina", r"^Session ended\. Glad you are safe\.$")
    chat.clock.advance(DAY)
    await chat.tick()
    chat.expect("paul", r"^🚨 ALERT #1: Amina missed a check-in")  # the schedule still runs
    assert [a.kind for a in alerts(chat)] == ["missed"]
    assert [s.state for s in sessions(chat)] == ["ended"]


async def test_a_session_needs_a_duration_it_can_read(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/session court hearing")
    chat.expect("amina", r"^“court” is not a length of time I understand\. Write a number and minutes, hours, "
                         r"days or weeks, like 3 hours\.\nFor example: /session 3h court hearing$")
    await chat.say("amina", "/session 3 court")
    chat.expect("amina", r"^“3” needs a unit of time, like 3 hours or 3 days\.\nFor example: /session 3h")
    await chat.say("amina", "/session 9 days")
    chat.expect("amina", r"^“9 days” is too long: write at most 7 days\.")
    await chat.say("amina", "/session 2 minutes")
    chat.expect("amina", r"^“2 minutes” is too short: write at least 5 minutes\.")
    await chat.say("amina", "/session 2h30 meeting")
    chat.expect("amina", r"^Session started for 2 hours 30 minutes\. ")
    assert len(sessions(chat)) == 1


async def test_ending_a_session_needs_the_pin_and_the_duress_pin_looks_the_same(chat: Chat) -> None:
    await trio(chat)
    await pins(chat)
    await chat.say("amina", "/session 1h meeting the police")
    chat.expect("amina", r"Session started")
    await chat.say("amina", "/session end")
    chat.expect("amina", r"^Send your check-in PIN to confirm\. Nothing changes until then\.$")
    await chat.say("amina", "0000")
    chat.expect("amina", r"PIN is not right\. Nothing was changed")
    assert [s.state for s in sessions(chat)] == ["open"]
    await chat.say("amina", "/session end")
    chat.skip("amina")
    await chat.say("amina", CHECKIN_PIN)
    normal = [(m.text, m.buttons) for m in chat.unread("amina")]
    assert normal == [("Session ended. Glad you are safe.", [])]
    assert alerts(chat) == []
    chat.skip("amina")

    await chat.say("amina", "/session 1h second meeting")
    chat.expect("amina", r"Session started")
    await chat.say("amina", "/session end")
    chat.skip("amina")
    await chat.say("amina", DURESS_PIN)
    assert [(m.text, m.buttons) for m in chat.unread("amina")] == normal  # the phone shows the same
    chat.skip("amina")
    assert [s.state for s in sessions(chat)] == ["ended", "ended"]
    assert [(a.kind, a.status) for a in alerts(chat)] == [("duress", "open")]
    chat.expect("paul", r"DURESS ALERT #1: Amina", skipping=True)
    chat.expect("cora", r"DURESS ALERT #1: Amina", skipping=True)
    await chat.say("cora", "/log 1")  # the session's note went with the duress alert
    chat.expect("cora", r"Logbook of alert #1:.*second meeting")
    await chat.say("amina", "/status")
    chat.expect("amina", r"No open alerts")


async def test_a_session_missed_then_ended_with_the_duress_pin_is_no_all_clear(chat: Chat) -> None:
    await trio(chat)
    await pins(chat)
    await chat.say("amina", "/session 30m at the checkpoint")
    chat.skip("amina")
    chat.clock.advance(31 * MINUTE)
    await chat.tick()
    chat.expect("paul", r"SESSION ALERT #1: Amina .*at the checkpoint")
    chat.expect("amina", r"Your session was due to end")
    await chat.press("amina", "I'm safe")
    chat.expect("amina", r"Send your check-in PIN to confirm")
    await chat.say("amina", DURESS_PIN)
    chat.expect("amina", r"^Session ended\. Glad you are safe\.$")
    chat.expect("paul", r"^🚨 DURESS ALERT #2: Amina.*\n———\n\nSession alert #1 about Amina continues as duress "
                        r"alert #2: they ended their session with their duress PIN, so it is not an all-clear\. "
                        r"Acknowledge with /ack 2\.$")  # one digest
    assert [(a.kind, a.status) for a in alerts(chat)] == [("session", "resolved"), ("duress", "open")]
    chat.expect_nothing("amina")


async def test_the_session_note_is_sealed_never_in_the_database_or_logs(
        chat: Chat, db_url: str, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> None:
    caplog.set_level(logging.DEBUG)
    await trio(chat)
    await chat.say("amina", f"/session 2h {CANARY_SESSION} at the ministry")
    chat.clock.advance(2 * HOUR + MINUTE)
    await chat.tick()
    chat.expect("paul", rf"SESSION ALERT #1: Amina .*session note, written .*{CANARY_SESSION} at the ministry")
    with Session(chat.core.engine) as session:
        assert session.exec(select(Note.kind)).all() == ["session"]
    postgres = request.getfixturevalue("postgres") if "postgres" in db_url else None
    chat.core.engine.dispose()
    data = _database_bytes(db_url, postgres)
    assert len(data) > 10_000
    assert CANARY_SESSION.encode() not in data
    assert CANARY_SESSION not in caplog.text
