"""Check-ins, reminders, the escalation chain, pause and panic — through transcripts, fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, func, select

from storage.models import AuditEntry, Checkin
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import trio
from tests.support.queries import alerts, clock_of
from tests.support.transcript import Chat


async def test_on_time_checkin_moves_the_deadline(chat: Chat) -> None:
    await trio(chat)
    start = chat.clock.now()
    chat.clock.advance(20 * HOUR)
    await chat.say("amina", "/checkin all fine")
    chat.expect("amina", r"Checked in\. Thank you\. Your next check-in is due 2026-03-03 08:00 EAT")
    assert clock_of(chat).next_due == start + 20 * HOUR + DAY
    await chat.say("amina", "/ok")
    chat.expect("amina", r"Checked in")


async def test_reminder_before_due_and_checkin_by_button(chat: Chat) -> None:
    await trio(chat)
    chat.clock.advance(DAY - 31 * MINUTE)
    await chat.tick()
    chat.expect_nothing("amina")
    chat.clock.advance(2 * MINUTE)
    await chat.tick()
    reminder = chat.expect("amina", r"Reminder: your next check-in is due")
    assert reminder.buttons == [[("I'm safe", "/checkin")]]
    await chat.tick()
    chat.expect_nothing("amina")  # reminded once
    await chat.press("amina", "I'm safe")
    chat.expect("amina", r"Checked in")


async def test_missed_checkin_escalates_step_by_step_until_acknowledged(chat: Chat) -> None:
    await trio(chat)
    chat.clock.advance(DAY + HOUR - MINUTE)
    await chat.tick()
    assert alerts(chat) == []
    chat.clock.advance(2 * MINUTE)
    await chat.tick()
    alert = chat.expect("paul", r"ALERT #1: Amina missed a check-in due .*No check-in recorded yet.*"
                                r"Acknowledge with /ack 1")
    assert alert.buttons == [[("Acknowledge", "/ack 1")]]
    chat.expect_nothing("cora")
    chat.expect("amina", r"^Reminder: your next check-in")
    chat.expect("amina", r"^You missed your check-in due .*Please check in now")
    chat.expect_nothing("amina")  # the HRD's phone shows nothing about the alert
    chat.clock.advance(14 * MINUTE)
    await chat.tick()
    chat.expect_nothing("cora")
    chat.clock.advance(2 * MINUTE)  # ack_timeout (15m) passed: step 2, the coordinators
    await chat.tick()
    chat.expect("cora", r"ALERT #1: Amina missed a check-in")
    chat.expect_nothing("paul")
    chat.clock.advance(31 * MINUTE)  # after the last step: repeat to everyone
    await chat.tick()
    chat.expect("paul", r"Reminder 1: nobody has acknowledged")
    chat.expect("cora", r"Reminder 1: nobody has acknowledged")
    await chat.press("cora", "Acknowledge")
    chat.expect("cora", r"You acknowledged alert #1 about Amina")
    chat.expect("paul", r"Cora acknowledged alert #1 about Amina")
    await chat.say("paul", "/ack 1")
    chat.expect("paul", r"already acknowledged by Cora")
    chat.clock.advance(HOUR)
    await chat.tick()
    chat.expect_nothing("paul")
    chat.expect_nothing("cora")
    chat.clock.advance(HOUR + MINUTE)  # [escalation] ack_expiry (2h) without a resolution
    await chat.tick()
    chat.expect("paul", r"acknowledged by Cora .* but not resolved since: it is escalating again")
    chat.expect("cora", r"acknowledged by Cora .* but not resolved since")
    await chat.say("paul", "/ack 1")
    chat.expect("paul", r"You acknowledged alert #1")
    assert [(a.kind, a.status) for a in alerts(chat)] == [("missed", "acked")]
    with Session(chat.core.engine) as session:
        actions = set(session.exec(select(AuditEntry.action)).all())
    assert {"alert_raised", "alert_escalated", "alert_repeated", "alert_acknowledged"} <= actions


async def test_late_checkin_resolves_the_alert_and_tells_everyone_alerted(chat: Chat) -> None:
    await trio(chat)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.expect("paul", r"ALERT #1")
    chat.clock.advance(20 * MINUTE)
    await chat.tick()
    chat.expect("cora", r"ALERT #1")
    chat.expect("amina", r"^You missed your check-in")
    await chat.say("amina", "/checkin sorry, no signal")
    chat.expect("amina", r"Checked in")
    chat.expect("paul", r"Amina checked in at .*Alert #1 is resolved")
    chat.expect("cora", r"Amina checked in at .*Alert #1 is resolved")
    assert alerts(chat)[0].status == "resolved"
    assert clock_of(chat).state == "ok"


async def test_checkin_sent_before_the_deadline_but_read_after_is_on_time(chat: Chat) -> None:
    await trio(chat)
    sent = chat.clock.now() + DAY + HOUR - 5 * MINUTE
    chat.clock.advance(DAY + 3 * HOUR)  # the bot was down; the message waited on the platform
    await chat.say("amina", "/checkin", sent_at=sent)
    chat.expect("amina", r"Checked in")
    await chat.tick()
    assert alerts(chat) == []
    with Session(chat.core.engine) as session:
        assert session.exec(select(Checkin)).one().on_time


async def test_stale_checkin_does_not_reset_the_clock(chat: Chat) -> None:
    await trio(chat)
    chat.clock.advance(10 * HOUR)
    await chat.say("amina", "/checkin")
    due = clock_of(chat).next_due
    await chat.say("amina", "/checkin", sent_at=chat.clock.now() - 5 * HOUR)  # an old one, replayed
    assert clock_of(chat).next_due == due
    with Session(chat.core.engine) as session:
        assert session.exec(select(func.count()).select_from(Checkin)).one() == 1


async def test_no_partner_escalates_straight_to_coordinators(chat: Chat) -> None:
    await trio(chat, match=False)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.expect("cora", r"ALERT #1: Amina missed")
    chat.expect_nothing("paul")


async def test_panic_alerts_every_step_at_once(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/panic police at the door")
    chat.expect("amina", r"Alarm raised\.")
    chat.expect("paul", r"PANIC ALERT #1: Amina raised the alarm.*Latest note .*police at the door")
    chat.expect("cora", r"PANIC ALERT #1.*police at the door")
    await chat.say("paul", "/ack 1")
    chat.expect("cora", r"Paul acknowledged alert #1")


async def test_pause_reminds_before_it_ends_and_resumes_by_itself(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/pause 3d")
    chat.expect("amina", r"paused until 2026-03-04 12:00 EAT")
    chat.clock.advance(2 * DAY)
    await chat.tick()
    assert alerts(chat) == []
    chat.clock.advance(DAY - HOUR + MINUTE)
    await chat.tick()
    chat.expect("amina", r"Your pause ends")
    chat.clock.advance(HOUR)
    await chat.tick()
    chat.expect("amina", r"Your pause is over\. Your next check-in is due 2026-03-05")
    await chat.say("amina", "/status")
    chat.expect("amina", r"Next check-in due: 2026-03-05")


async def test_pause_limits_and_resume(chat: Chat) -> None:
    await trio(chat)
    for args, reply in (("", r"how long to pause.*longest pause is 14 days"),
                        ("forever", r"“forever” is not a length of time"),
                        ("15d", r"“15d” is too long: write at most 14 days"),
                        ("0s", r"“0s” is no time at all")):
        await chat.say("amina", f"/pause {args}")
        chat.expect("amina", reply)
    await chat.say("amina", "/resume")
    chat.expect("amina", r"not paused")
    await chat.say("amina", "/pause 2h")
    await chat.say("amina", "/status")
    chat.expect("amina", r"paused until")
    await chat.say("amina", "/resume")
    chat.expect("amina", r"Check-ins are paused until 2026-03-01 14:00")
    chat.expect("amina", r"back on")
    assert clock_of(chat).state == "ok"


async def test_schedule_every_and_daily_with_bad_input(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/schedule")
    chat.expect("amina", r"every 1d, grace 1h.*Next check-in due: .* — .* UTC")
    await chat.say("amina", "/schedule every 12h grace 30m")
    chat.expect("amina", r"Schedule saved: every 12h, grace 30m")
    assert clock_of(chat).next_due == chat.clock.now() + 12 * HOUR
    for args, reply in (("every soon", r"“soon” is not a length of time"), ("every 40d", r"“40d” is too long"),
                        ("daily 25:00", r"“25:00” is not a time of day"), ("daily 09:00 tz Mars/Base", r"“Mars/Base”"),
                        ("weekly 09:00", r"“weekly” is not a schedule"), ("every 1h grace", r"after “grace”"),
                        ("every 1h grace 0m", r"“0m” is no time at all")):
        await chat.say("amina", f"/schedule {args}")
        chat.expect("amina", reply)
    await chat.say("amina", "/schedule daily 21:00,09:00 tz Europe/Berlin grace 15m")
    chat.expect("amina", r"daily at 09:00,21:00 \(Europe/Berlin\), grace 15m")
    assert clock_of(chat).next_due == datetime(2026, 3, 1, 20, 0, tzinfo=UTC)


async def test_daily_schedule_across_daylight_saving_changes(chat: Chat) -> None:
    await trio(chat)
    chat.clock.set(datetime(2026, 3, 28, 9, 0, tzinfo=UTC))  # Saturday before EU spring-forward
    await chat.say("amina", "/schedule daily 09:00 tz Europe/Berlin")
    assert clock_of(chat).next_due == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST
    chat.clock.set(datetime(2026, 3, 29, 6, 50, tzinfo=UTC))
    await chat.say("amina", "/checkin")
    chat.expect("amina", r"Schedule saved: daily at 09:00")
    chat.expect("amina", r"due 2026-03-30 09:00 CEST")
    assert clock_of(chat).next_due == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    chat.clock.set(datetime(2026, 10, 24, 7, 30, tzinfo=UTC))  # the day before autumn fall-back
    await chat.say("amina", "/checkin")
    assert clock_of(chat).next_due == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)  # 09:00 CET
    chat.clock.set(datetime(2026, 10, 25, 9, 0 + 59, tzinfo=UTC))  # missed: due 08:00 + grace 1h
    await chat.tick()
    chat.expect("paul", r"Amina changed their check-in schedule: daily")
    chat.expect("paul", r"not been in touch through me for \d+ days")  # seven months on: a nudge first
    chat.expect("paul", r"missed a check-in due 2026-10-25 08:00 GMT")


async def test_nonexistent_local_time_moves_forward(chat: Chat) -> None:
    await trio(chat)
    chat.clock.set(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))
    await chat.say("amina", "/schedule daily 02:30 tz Europe/Berlin")
    # 02:30 does not exist on 29 March in Berlin: it is 03:30 CEST = 01:30 UTC.
    assert clock_of(chat).next_due == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


async def test_partners_and_coordinators_alert_commands(chat: Chat) -> None:
    await trio(chat)
    await people.partner(chat, "jo", kind="journalist", alias="Jo")
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    await chat.say("jo", "/ack 1")
    chat.expect("jo", r"no alert #1 that you can act on")  # Jo is not Amina's partner
    await chat.say("jo", "/alerts")
    chat.expect("jo", r"No open alerts")
    await chat.say("paul", "/alerts")
    chat.expect("paul", r"🚨 ALERT #1: Amina missed a check-in due")
    chat.expect("paul", r"#1 missed check-in — Amina — .* — OPEN")  # the kind in words
    for args in ("", "x", "99", "1" * 30):
        await chat.say("paul", f"/ack {args}")
        chat.expect("paul", r"Usage: /ack ID|no alert")
    await chat.say("paul", "/ack 1")
    await chat.say("paul", "/log 1 called her sister, no answer")
    chat.expect("paul", r"You acknowledged alert #1 about Amina\.")
    chat.expect("paul", r"Added to the logbook of alert #1")
    await chat.say("cora", "/log 1")
    chat.expect("cora", r"Paul acknowledged alert #1 about Amina\.")
    chat.expect("cora", r"Logbook of alert #1:.*Paul: called her sister, no answer")
    await chat.say("cora", "/resolve 1 safe, phone was broken")
    chat.expect("cora", r"Alert #1 about Amina is resolved")
    chat.expect("paul", r"Cora resolved alert #1")
    assert clock_of(chat).state == "ok"
    await chat.say("paul", "/resolve 1")
    chat.expect("paul", r"already resolved")


async def test_match_and_unmatch_by_alias(chat: Chat) -> None:
    await trio(chat, match=False)
    for args, answer in (("", r"^Who needs a partner\? Choose a defender:$"),
                         ("Amina", r"^Choose a partner for Amina:$"),
                         ("Paul Amina", r"^I couldn't find the people you named in “Paul Amina”"),
                         ("Amina Nobody", r"^I don't know an active partner called “Nobody”")):
        await chat.say("cora", f"/match {args}")
        chat.expect("cora", answer)
    await chat.say("cora", "/match amina PAUL")
    chat.expect("cora", r"I asked Paul whether they will support Amina")
    await chat.press("paul", "Accept")
    chat.expect("cora", r"Matched Amina with Paul")
    await chat.say("cora", "/match Amina Paul")
    chat.expect("cora", r"already matched")
    await chat.say("cora", "/unmatch Amina Paul")
    chat.expect("cora", r"Unmatched")
    chat.expect("paul", r"Offer #1: would you support Amina, a human")
    chat.expect("paul", r"Thank you for accepting offer #1\.")
    chat.expect("paul", r"You are now matched with Amina \(Kenya\)\. You")
    chat.expect("paul", r"match with Amina has ended")
    await chat.say("cora", "/unmatch Amina Paul")
    chat.expect("cora", r"are not matched")
