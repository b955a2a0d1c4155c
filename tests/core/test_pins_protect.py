"""H1 — with a PIN set, nothing that weakens protection happens without it (DESIGN invariant 5).

``/pause``, a ``/schedule`` with a longer interval or grace, ``/forget`` and changing PINs ask
for the PIN ("Send your check-in PIN to confirm"), delete the message that carried it, and tell
the partners and coordinators. The duress PIN carries the command out exactly as the check-in
PIN would (the phone sees the same chat) and silently raises the duress alarm. A wrong PIN
refuses and counts towards the wrong-PIN alarm. The last coordinator cannot /forget without a
warning and a second confirmation.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from storage.models import Alert, CheckinClock, Person
from tests.support import people
from tests.support.durations import DAY, HOUR
from tests.support.people import pins, trio
from tests.support.transcript import Chat

CHECKIN_PIN, DURESS_PIN = "2468", "1357"


def alerts(chat: Chat) -> list[Alert]:
    with Session(chat.core.engine) as session:
        return list(session.exec(select(Alert).order_by(Alert.id)).all())


def clock_of(chat: Chat) -> CheckinClock:
    with Session(chat.core.engine) as session:
        return session.exec(select(CheckinClock)).one()


def person(chat: Chat, alias: str) -> Person | None:
    with Session(chat.core.engine) as session:
        return session.exec(select(Person).where(Person.alias == alias)).first()


async def setup(chat: Chat) -> None:
    await trio(chat)
    await pins(chat)
    for user in ("cora", "paul", "amina"):
        chat.skip(user)
    chat.transport.deleted.clear()


async def test_pause_needs_the_pin_and_is_told_to_partners_and_coordinators(chat: Chat) -> None:
    await setup(chat)
    await chat.say("amina", "/pause 14d")
    chat.expect("amina", r"Send your check-in PIN to confirm")
    assert clock_of(chat).state == "ok"
    await chat.say("amina", "0000")
    chat.expect("amina", r"PIN is not right\. Nothing was changed")
    assert clock_of(chat).state == "ok" and clock_of(chat).wrong_pins == 1
    chat.expect_nothing("paul")
    await chat.say("amina", "/pause 14d")
    await chat.say("amina", CHECKIN_PIN)
    chat.expect("amina", r"Send your check-in PIN to confirm\. Nothing")
    chat.expect("amina", r"Check-ins are paused until")
    assert clock_of(chat).state == "paused"
    assert len(chat.transport.deleted) == 2  # both PIN messages
    chat.expect("paul", r"Amina paused their check-ins until")
    chat.expect("cora", r"Amina paused their check-ins until")
    assert alerts(chat) == []
    await chat.say("amina", "/resume")  # strengthening: no PIN
    chat.expect("amina", r"Check-ins are back on")
    chat.expect("paul", r"Amina resumed their check-ins")


async def test_pause_with_the_duress_pin_pauses_like_the_real_one_and_raises_the_alarm(chat: Chat) -> None:
    await setup(chat)
    await chat.say("amina", "/pause 3d")
    await chat.say("amina", CHECKIN_PIN)
    normal = [(m.text, m.buttons, m.priority) for m in chat.unread("amina")]
    await chat.say("amina", "/resume")
    chat.skip("amina")
    chat.skip("paul")
    chat.expect("cora", r"Amina paused their check-ins until")
    chat.expect("cora", r"Amina resumed their check-ins\. Next check-in")
    await chat.say("amina", "/pause 3d")
    await chat.say("amina", DURESS_PIN)
    duress = [(m.text, m.buttons, m.priority) for m in chat.unread("amina")]
    assert duress == normal
    assert clock_of(chat).state == "paused"
    (alarm,) = alerts(chat)
    assert alarm.kind == "duress" and alarm.status == "open"
    chat.expect("paul", rf"DURESS ALERT #{alarm.id}: Amina.*duress PIN confirmed: /pause 3d")
    chat.expect("cora", rf"DURESS ALERT #{alarm.id}")


async def test_three_wrong_pins_at_a_prompt_raise_the_wrong_pin_alarm(chat: Chat) -> None:
    await setup(chat)
    for _ in range(3):
        await chat.say("amina", "/forget confirm")
        await chat.say("amina", "5555")
        chat.expect("amina", r"Send your check-in PIN to confirm\. Nothing")
        chat.expect("amina", r"PIN is not right\. Nothing was changed")
    assert [a.kind for a in alerts(chat)] == ["wrong_pin"]
    assert person(chat, "Amina") is not None


async def test_longer_schedule_needs_the_pin_and_tighter_one_never_postpones(chat: Chat) -> None:
    await setup(chat)
    before = clock_of(chat)
    await chat.say("amina", "/schedule every 30d grace 7d")
    chat.expect("amina", r"Send your check-in PIN to confirm")
    after = clock_of(chat)
    assert (after.interval_s, after.grace_s, after.alert_at) == (before.interval_s, before.grace_s, before.alert_at)
    await chat.say("amina", "/schedule every 1d grace 2h")  # same interval, longer grace
    chat.expect("amina", r"Send your check-in PIN to confirm")
    await chat.say("amina", "/schedule daily 09:00")  # a day between check-ins, as now
    chat.expect("amina", r"Schedule saved")
    assert clock_of(chat).alert_at is not None and clock_of(chat).alert_at <= before.alert_at  # type: ignore[operator]
    # 20 hours on, "every 1d" again would push the deadline a day away: it keeps the old one.
    chat.clock.advance(20 * HOUR)
    due = clock_of(chat).next_due
    await chat.say("amina", "/schedule every 12h")
    chat.expect("amina", r"Schedule saved")
    assert clock_of(chat).next_due <= due
    chat.expect("paul", r"Amina changed their check-in schedule: daily")
    chat.expect("paul", r"Amina changed their check-in schedule: every 12h")
    await chat.say("amina", "/schedule every 30d grace 7d")
    await chat.say("amina", CHECKIN_PIN)
    chat.expect("amina", r"Send your check-in PIN to confirm\. Nothing")
    chat.expect("amina", r"Schedule saved: every 30d, grace 7d")
    clock = clock_of(chat)
    assert (clock.interval_s, clock.grace_s) == (30 * 86400, 7 * 86400)
    chat.expect("paul", r"Amina changed their check-in schedule: every 30d, grace 7d")
    chat.expect("cora", r"Amina changed their check-in schedule")


async def test_forget_needs_the_pin_and_partners_and_coordinators_are_told(chat: Chat) -> None:
    await setup(chat)
    await chat.say("amina", "/forget confirm")
    chat.expect("amina", r"Send your check-in PIN to confirm")
    assert person(chat, "Amina") is not None
    await chat.say("amina", CHECKIN_PIN)
    chat.expect("amina", r"Your data has been erased")
    assert person(chat, "Amina") is None
    chat.expect("paul", r"Amina left the programme and erased their data")
    chat.expect("cora", r"Amina left the programme and erased their data")


async def test_forget_with_the_duress_pin_looks_done_but_keeps_the_protection(chat: Chat) -> None:
    await setup(chat)
    await chat.say("amina", "/forget confirm")
    await chat.say("amina", DURESS_PIN)
    chat.expect("amina", r"Send your check-in PIN to confirm\. Nothing")
    chat.expect("amina", r"Your data has been erased")
    await chat.say("amina", "/status")
    chat.expect("amina", r"This is a private service")  # the phone is a stranger now, as if erased
    assert person(chat, "Amina") is not None and clock_of(chat).state == "ok"
    (alarm,) = alerts(chat)
    assert alarm.kind == "duress"
    chat.expect("paul", rf"DURESS ALERT #{alarm.id}: Amina.*duress PIN confirmed: /forget")
    # The clock keeps running: a missed check-in still escalates.
    chat.clock.advance(DAY + HOUR + timedelta(minutes=1))
    await chat.tick()
    chat.expect("paul", r"Amina sent /forget with the duress PIN:")
    chat.expect("paul", r"ALERT #\d+: Amina missed a check-in")


async def test_pin_change_with_the_duress_pin_keeps_the_real_pins(chat: Chat) -> None:
    await setup(chat)
    await chat.say("amina", "/pin")
    await chat.say("amina", DURESS_PIN)  # coerced at "current PIN"
    chat.expect("amina", r"To change your PINs, first send your current")
    chat.expect("amina", r"Choose a new check-in PIN")
    await chat.say("amina", "1111")
    await chat.say("amina", "2222")
    chat.expect("amina", r"Now choose a duress PIN, different from the")
    chat.expect("amina", r"Your PINs are set")
    assert [a.kind for a in alerts(chat)] == ["duress"]
    chat.skip("paul")
    # The real check-in PIN still checks in, with no alarm.
    await chat.say("amina", f"/checkin {CHECKIN_PIN}")
    chat.expect("amina", r"Checked in")
    assert len(alerts(chat)) == 1
    # The coercer's new "check-in PIN" looks like it works and raises the alarm again.
    await chat.say("amina", "/checkin 1111")
    chat.expect("amina", r"Checked in")
    assert [a.kind for a in alerts(chat)] == ["duress", "duress"]
    # The HRD's own duress PIN still works too.
    await chat.say("amina", f"/checkin {DURESS_PIN}")
    chat.expect("amina", r"Checked in")
    assert len(alerts(chat)) == 3


async def test_pin_change_with_the_real_pin_replaces_both(chat: Chat) -> None:
    await setup(chat)
    await chat.say("amina", "/pin")
    await chat.say("amina", CHECKIN_PIN)
    await chat.say("amina", "1111")
    await chat.say("amina", "2222")
    chat.expect("amina", r"To change your PINs, first send your current")
    chat.expect("amina", r"Choose a new check-in PIN: 4 to 12 digits\.")
    chat.expect("amina", r"Now choose a duress PIN, different from the")
    chat.expect("amina", r"Your PINs are set")
    chat.expect("paul", r"Amina changed their PINs")
    await chat.say("amina", f"/checkin {CHECKIN_PIN}")
    chat.expect("amina", r"PIN is not right")
    await chat.say("amina", "/checkin 1111")
    chat.expect("amina", r"Checked in")
    assert alerts(chat) == []


async def test_the_last_coordinator_is_warned_and_must_confirm_twice(chat: Chat) -> None:
    await people.coordinator(chat)
    chat.skip("cora")
    await chat.say("cora", "/forget confirm")
    chat.expect("cora", r"last active coordinator.*/forget confirm last")
    assert person(chat, "Cora") is not None
    await chat.say("cora", "/forget confirm last")
    chat.expect("cora", r"Your data has been erased")
    assert person(chat, "Cora") is None


async def test_a_coordinator_who_is_not_the_last_one_forgets_at_once(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.coordinator(chat, "cleo")
    await chat.say("cleo", "/forget confirm")
    chat.expect("cleo", r"Your data has been erased")
