"""All-clear needs the PIN; the "I'm safe" button works for PIN holders; PIN verification is
limited per person, runs off the event loop, and both verifiers live in one sealed value."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session, select

from c2p_bot.core import pins_flow
from c2p_bot.core.crypto import INTERACTIVE_PIN_PARAMS, hash_pin, pins
from storage.models import Alert, Checkin, CheckinClock, Person
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import pins as set_pins
from tests.support.people import trio
from tests.support.transcript import Chat

CHECKIN_PIN, DURESS_PIN = "2468", "1357"


def alerts(chat: Chat) -> list[Alert]:
    with Session(chat.core.engine) as session:
        return list(session.exec(select(Alert).order_by(Alert.id)).all())


def checkins(chat: Chat) -> int:
    with Session(chat.core.engine) as session:
        return len(session.exec(select(Checkin)).all())


async def missed(chat: Chat) -> None:
    """Amina (with PINs) misses a check-in; Paul is alerted."""
    await trio(chat)
    await set_pins(chat)
    for user in ("cora", "paul", "amina"):
        chat.skip(user)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.expect("paul", r"ALERT #1: Amina missed a check-in")
    chat.skip("amina")
    chat.transport.deleted.clear()


async def test_late_checkin_with_the_pin_is_an_all_clear_with_the_note(chat: Chat) -> None:
    await missed(chat)
    chat.clock.advance(16 * MINUTE)
    await chat.tick()
    chat.expect("cora", r"ALERT #1: Amina missed")
    await chat.say("amina", f"/checkin {CHECKIN_PIN} phone was off, all fine")
    chat.expect("amina", r"Checked in")
    assert alerts(chat)[0].status == "resolved"
    chat.expect("paul", r"Amina checked in at .*Alert #1 is resolved.*Their note: phone was off, all fine")
    chat.expect("cora", r"Alert #1 is resolved.*phone was off, all fine")


async def test_checkin_without_the_pin_is_no_all_clear_and_shows_nothing_new(chat: Chat) -> None:
    """The phone without the PIN: the same prompt as in a quiet moment, and the alert escalates."""
    await missed(chat)
    await chat.say("amina", "/checkin")
    prompt = chat.expect("amina", r"need your PIN")
    await chat.say("amina", "/checkin all fine")
    refusal = chat.expect("amina", r"need your PIN")
    assert alerts(chat)[0].status == "open"
    chat.clock.advance(16 * MINUTE)
    await chat.tick()
    chat.expect("cora", r"ALERT #1: Amina missed")
    # In a quiet moment (no alert) the same messages read the same.
    await chat.say("cora", "/resolve 1 false-alarm test")
    chat.expect("amina", r"^An alert about you \(missed check-in, raised .+\) is closed by Cora\. "
                         r"Outcome: False alarm\.")  # how it ended
    await chat.say("amina", "/checkin")
    assert chat.expect("amina", r"need your PIN").text == prompt.text
    await chat.say("amina", "/checkin all fine")
    assert chat.expect("amina", r"need your PIN").text == refusal.text


async def test_im_safe_button_asks_for_the_pin_and_a_pin_alone_checks_in(chat: Chat) -> None:
    await trio(chat)
    await set_pins(chat)
    chat.clock.advance(DAY - 29 * MINUTE)
    await chat.tick()
    chat.expect("amina", r"Reminder: your next check-in is due")
    chat.transport.deleted.clear()
    await chat.press("amina", "I'm safe")
    chat.expect("amina", r"need your PIN.*send it now")
    assert checkins(chat) == 0
    await chat.say("amina", f"{CHECKIN_PIN} at home")
    chat.expect("amina", r"Checked in\. Thank you")
    assert checkins(chat) == 1
    assert len(chat.transport.deleted) == 1  # the PIN message
    assert alerts(chat) == []


async def test_button_then_pin_resolves_a_missed_alert_and_a_wrong_one_does_not(chat: Chat) -> None:
    await missed(chat)
    await chat.say("amina", "/checkin", button=True)  # the reminder's "I'm safe" button
    await chat.say("amina", "0000")
    chat.expect("amina", r"Your check-ins need your PIN: send it now,")
    chat.expect("amina", r"PIN is not right")
    assert alerts(chat)[0].status == "open" and checkins(chat) == 0
    await chat.say("amina", "/checkin", button=True)
    await chat.say("amina", DURESS_PIN)
    chat.expect("amina", r"Your check-ins need your PIN: send it now,")
    chat.expect("amina", r"Checked in\. Thank you")
    assert [a.kind for a in alerts(chat)] == ["missed", "duress"]
    assert alerts(chat)[1].status == "open"
    assert len(chat.transport.deleted) == 2


async def test_attempt_limit_refuses_without_hashing_and_alarms_once(
        chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    await trio(chat)
    await set_pins(chat)
    calls = {"n": 0}
    real = pins.verify_pin

    def counting(hashed: bytes, pin: str) -> bool:
        calls["n"] += 1
        return real(hashed, pin)

    monkeypatch.setattr(pins, "verify_pin", counting)
    for _ in range(pins_flow.LOCK_AFTER):
        await chat.say("amina", "/checkin 0000")
        chat.expect("amina", r"PIN is not right")
    assert calls["n"] > 0
    calls["n"] = 0
    await chat.say("amina", f"/checkin {CHECKIN_PIN}")
    chat.expect("amina", r"Too many wrong PINs")
    await chat.say("amina", "/pause 3d")
    chat.expect("amina", r"Send your check-in PIN to confirm\. Nothing")
    await chat.say("amina", CHECKIN_PIN)
    chat.expect("amina", r"Too many wrong PINs")
    assert calls["n"] == 0
    with Session(chat.core.engine) as session:
        assert session.exec(select(CheckinClock)).one().state == "ok"
    assert [a.kind for a in alerts(chat)] == ["wrong_pin"]
    chat.clock.advance(pins_flow.LOCK_FOR + MINUTE)
    await chat.say("amina", f"/checkin {CHECKIN_PIN}")
    chat.expect("amina", r"Checked in")


async def test_pins_are_verified_in_the_core_thread(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    await trio(chat)
    await set_pins(chat)
    threads: list[str] = []
    real = pins.verify_pin

    def recording(hashed: bytes, pin: str) -> bool:
        threads.append(threading.current_thread().name)
        return real(hashed, pin)

    monkeypatch.setattr(pins, "verify_pin", recording)
    await chat.say("amina", f"/checkin {CHECKIN_PIN}")
    assert threads and all(name.startswith("c2p-core") for name in threads)


async def test_both_verifiers_live_in_one_sealed_value(chat: Chat) -> None:
    await trio(chat)
    await set_pins(chat)
    with Session(chat.core.engine) as session:
        amina = session.exec(select(Person).where(Person.alias == "Amina")).one()
        assert amina.pin_hash is not None and amina.duress_hash is None
        assert b"argon2" not in amina.pin_hash


async def test_legacy_rows_with_two_labelled_hashes_are_sealed_together_on_use(chat: Chat) -> None:
    await trio(chat)
    kek = chat.core.keyring.kek
    with Session(chat.core.engine) as session:
        amina = session.exec(select(Person).where(Person.alias == "Amina")).one()
        amina.pin_hash = kek.wrap(hash_pin(CHECKIN_PIN, INTERACTIVE_PIN_PARAMS), f"pin:checkin:{amina.id}".encode())
        amina.duress_hash = kek.wrap(hash_pin(DURESS_PIN, INTERACTIVE_PIN_PARAMS), f"pin:duress:{amina.id}".encode())
        session.add(amina)
        session.commit()
    assert pins_flow.seal_legacy_pins(chat.core.engine, kek) == 1
    await chat.say("amina", f"/checkin {DURESS_PIN}")
    chat.expect("amina", r"Checked in")
    assert [a.kind for a in alerts(chat)] == ["duress"]
    await chat.say("amina", f"/checkin {CHECKIN_PIN}")
    assert len(alerts(chat)) == 1
    with Session(chat.core.engine) as session:
        amina = session.exec(select(Person).where(Person.alias == "Amina")).one()
        assert amina.duress_hash is None


async def test_a_legacy_row_is_also_sealed_together_when_first_used(chat: Chat) -> None:
    await trio(chat)
    kek = chat.core.keyring.kek
    with Session(chat.core.engine) as session:
        amina = session.exec(select(Person).where(Person.alias == "Amina")).one()
        amina.pin_hash = kek.wrap(hash_pin(CHECKIN_PIN, INTERACTIVE_PIN_PARAMS), f"pin:checkin:{amina.id}".encode())
        amina.duress_hash = kek.wrap(hash_pin(DURESS_PIN, INTERACTIVE_PIN_PARAMS), f"pin:duress:{amina.id}".encode())
        session.add(amina)
        session.commit()
    await chat.say("amina", f"/checkin {CHECKIN_PIN}")
    chat.expect("amina", r"Checked in")
    assert alerts(chat) == []
    with Session(chat.core.engine) as session:
        assert session.exec(select(Person).where(Person.alias == "Amina")).one().duress_hash is None
