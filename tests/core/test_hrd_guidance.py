"""Guidance for HRDs (issue 15): when the first check-in is due and what a miss sets off, a word
to the HRD when they missed one, /status saying "overdue", "ok" and near-miss commands answered
with "Did you mean /checkin?", /start from someone registered, the "I'm safe" button with a PIN."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlmodel import Session, select

from c2p_bot.config import Config, parse_config
from c2p_bot.core.clock import FakeClock
from storage.engine import make_engine
from storage.models import Checkin
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import CHECKIN_PIN, DURESS_PIN, HRD, pins, trio
from tests.support.queries import alerts, clock_of
from tests.support.transcript import Chat, memory_chat

SAFE_WORDS = ("ok", "okay", "OK!", "safe", "I am safe", "I'm safe", "I’m safe 🙏", "fine", "all good",
              "ça va", "bien", "Estoy bien", "в порядке", "Всё в порядке", "أنا بخير", "انا بخير")
NEAR_CHECKIN = ("/check-in", "/chekin", "/checkn", "/check", "/Check-In", "/check in", "/checkin!")


def checkins(chat: Chat) -> int:
    with Session(chat.core.engine) as session:
        return len(session.exec(select(Checkin)).all())


async def _miss(chat: Chat) -> None:
    """Amina's first check-in (due a day after she joined) goes by: reminder, then the alarm."""
    chat.clock.advance(DAY - 29 * MINUTE)
    await chat.tick()
    chat.expect(HRD, r"^Reminder: your next check-in is due")
    chat.clock.advance(HOUR + 30 * MINUTE)
    await chat.tick()
    chat.expect("paul", r"ALERT #1: Amina missed a check-in")


# -- onboarding ---------------------------------------------------------------------------

async def test_hrd_onboarding_ends_with_the_first_due_time_and_what_a_miss_sets_off(chat: Chat) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "hrd")
    for text in (f"/start {code}", "Amina", "KE", "en, sw", "lawyer", "land-rights"):
        await chat.say(HRD, text)
    chat.skip(HRD)
    await chat.say(HRD, "Africa/Nairobi")
    chat.expect(HRD, r"all set, Amina")
    first = chat.expect(HRD, r"^Your first check-in is due 2026-03-02 12:00 EAT \(09:00 UTC\)\. "
                             r"Send /checkin by then; I will remind you 30 minutes before\.")
    assert "If you have not checked in 1 hour after that, your partners are alerted." in first.text
    assert "If nobody acknowledges within 15 minutes, the coordinators are alerted too." in first.text
    assert "Until you are matched with partners, the coordinators are alerted in their place." in first.text
    chat.expect_nothing(HRD)


async def test_the_first_checkin_text_follows_the_escalation_config(db_url: str, clock: FakeClock) -> None:
    engine = make_engine(db_url)
    chat = memory_chat(engine, parse_config({"escalation": {"steps": ["coordinators"]}}, env={}), clock)
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "hrd")
    for text in (f"/start {code}", "Amina", "KE", "en, sw", "lawyer", "land-rights"):
        await chat.say(HRD, text)
    chat.skip(HRD)
    await chat.say(HRD, "UTC")
    chat.expect(HRD, r"all set, Amina")
    first = chat.expect(HRD, r"^Your first check-in is due 2026-03-02 09:00 UTC\.")
    assert "If you have not checked in 1 hour after that, the coordinators are alerted." in first.text
    assert "partners" not in first.text
    engine.dispose()


# -- a missed check-in ----------------------------------------------------------------------

async def test_a_missed_checkin_tells_the_hrd_once_with_a_button(chat: Chat) -> None:
    await trio(chat)
    await _miss(chat)
    told = chat.expect(HRD, r"^You missed your check-in due 2026-03-02 12:00 EAT \(09:00 UTC\)\. "
                            r"Please check in now: press the button or send /checkin\.$")
    assert told.buttons == [[("I'm safe", "/checkin")]]
    chat.expect_nothing(HRD)
    chat.clock.advance(16 * MINUTE)  # the coordinators are alerted: nothing more for the HRD
    await chat.tick()
    chat.expect("cora", r"ALERT #1: Amina missed")
    chat.clock.advance(31 * MINUTE)  # repeats to everyone: still nothing more for the HRD
    await chat.tick()
    chat.expect("cora", r"Reminder 1: nobody has acknowledged")
    chat.expect_nothing(HRD)
    await chat.press(HRD, "I'm safe")
    chat.expect(HRD, r"^Checked in\. Thank you\.")
    assert alerts(chat)[0].status == "resolved"


async def test_no_checkin_now_message_while_paused(chat: Chat) -> None:
    await trio(chat)
    await chat.say(HRD, "/pause 3d")
    chat.expect(HRD, r"Check-ins are paused until")
    chat.clock.advance(DAY + 2 * HOUR)  # well past the check-in that would have been due
    await chat.tick()
    chat.expect_nothing(HRD)
    assert alerts(chat) == []


async def test_a_pin_holder_pressing_the_button_is_asked_for_the_pin(chat: Chat) -> None:
    await trio(chat)
    await pins(chat)
    await _miss(chat)
    chat.expect(HRD, r"^You missed your check-in")
    await chat.press(HRD, "I'm safe")
    chat.expect(HRD, r"^Your check-ins need your PIN: send it now")
    assert checkins(chat) == 0 and alerts(chat)[0].status == "open"
    await chat.say(HRD, f"{CHECKIN_PIN} at home")
    chat.expect(HRD, r"^Checked in\. Thank you\.")
    assert alerts(chat)[0].status == "resolved"


@pytest.fixture
async def second_chat(second_url: str, config: Config) -> AsyncIterator[Chat]:
    engine = make_engine(second_url)
    yield memory_chat(engine, config, FakeClock())
    engine.dispose()


async def _after_a_checkin_then_a_miss(chat: Chat, pin: str) -> list[tuple[str, object]]:
    await trio(chat)
    await pins(chat)
    chat.clock.advance(HOUR)
    await chat.say(HRD, f"/checkin {pin}")
    chat.skip(HRD)
    start = len(chat.transport.inbox[HRD])
    chat.clock.advance(DAY + HOUR + MINUTE)  # the next check-in goes by
    await chat.tick()
    await chat.say(HRD, "/start")
    return [(m.text, m.buttons) for m in chat.transport.inbox[HRD][start:]]


async def test_the_missed_message_is_the_same_after_a_duress_checkin(chat: Chat, second_chat: Chat) -> None:
    normal = await _after_a_checkin_then_a_miss(chat, CHECKIN_PIN)
    coerced = await _after_a_checkin_then_a_miss(second_chat, DURESS_PIN)
    assert coerced == normal
    (told,) = [str(text) for text, _buttons in normal if str(text).startswith("You missed your check-in")]
    assert "alert" not in told.lower()
    assert not [text for text, _buttons in normal if "duress" in str(text).lower()]
    assert "duress" in [a.kind for a in alerts(second_chat)]


# -- /status --------------------------------------------------------------------------------

async def test_status_says_overdue_and_since_when(chat: Chat) -> None:
    await trio(chat)
    await chat.say(HRD, "/status")
    chat.expect(HRD, r"^Next check-in due: 2026-03-02 12:00 EAT")
    chat.clock.advance(DAY + 10 * MINUTE)  # due, still within the grace period
    await chat.say(HRD, "/status")
    status = chat.expect(HRD, r"^Your check-in is overdue: it was due 2026-03-02 12:00 EAT \(09:00 UTC\), "
                              r"10 minutes ago\. Send /checkin now\.")
    assert "Next check-in due" not in status.text
    assert status.buttons == [[("I'm safe", "/checkin")]]
    chat.clock.advance(2 * HOUR)  # the alarm went off meanwhile
    await chat.tick()
    chat.skip(HRD)
    await chat.say(HRD, "/status")
    chat.expect(HRD, r"^Your check-in is overdue: it was due 2026-03-02 12:00 EAT \(09:00 UTC\), "
                     r"2 hours 10 minutes ago\.")


# -- "ok" and near-miss commands ---------------------------------------------------------------

@pytest.mark.parametrize("text", SAFE_WORDS + NEAR_CHECKIN)
async def test_ok_or_a_near_miss_suggests_checkin_and_is_no_checkin(chat: Chat, text: str) -> None:
    await trio(chat)
    before = clock_of(chat).next_due
    await chat.say(HRD, text)
    suggestion = chat.expect(HRD, r"^Did you mean /checkin\?")
    assert suggestion.buttons == [[("/checkin", "/checkin")]]
    chat.expect_nothing(HRD)
    assert checkins(chat) == 0 and clock_of(chat).next_due == before
    await chat.press(HRD, "/checkin")
    chat.expect(HRD, r"^Checked in\. Thank you\.")


async def test_near_misses_of_other_commands_suggest_them(chat: Chat) -> None:
    await trio(chat)
    for user, typed, meant in ((HRD, "/stauts", "status"), (HRD, "/hlep", "help"), (HRD, "/pasue 2d", "pause"),
                               ("paul", "/alrets", "alerts"), ("cora", "/peple", "people")):
        await chat.say(user, typed)
        suggestion = chat.expect(user, rf"^Did you mean /{meant}\?")
        assert suggestion.buttons == [[(f"/{meant}", f"/{meant}")]]
    await chat.say(HRD, "/xyzzy")
    chat.expect(HRD, r"^Sorry, I don't know that command\.")
    await chat.say("paul", "ok")  # a partner cannot check in: nothing to suggest
    chat.expect("paul", r"^I didn't understand that\.")
    await chat.say(HRD, "what is the weather like")
    chat.expect(HRD, r"^I didn't understand that\.")


async def test_a_near_miss_with_a_pin_in_it_is_deleted_and_the_pin_not_repeated(chat: Chat) -> None:
    await trio(chat)
    await pins(chat)
    chat.transport.deleted.clear()
    await chat.say(HRD, f"/chekin {CHECKIN_PIN} all fine")
    suggestion = chat.expect(HRD, r"^Did you mean /checkin\?")
    assert CHECKIN_PIN not in suggestion.text and suggestion.buttons == [[("/checkin", "/checkin")]]
    assert len(chat.transport.deleted) == 1 and checkins(chat) == 0


# -- /start from someone registered ------------------------------------------------------------

async def test_start_from_a_registered_person_is_a_welcome_back(chat: Chat) -> None:
    await trio(chat)
    await chat.say(HRD, "/start")
    chat.expect(HRD, r"^Welcome back, Amina\. Your next check-in is due 2026-03-02 12:00 EAT \(09:00 UTC\): "
                     r"send /checkin by then\.")
    await chat.say("paul", "/start")
    chat.expect("paul", r"^Welcome back, Paul\. .*/alerts")
    await chat.say("cora", "/start SOME-OLD-CODE")
    chat.expect("cora", r"^Welcome back, Cora\. .*/alerts.*/invite")
    chat.clock.advance(DAY + 5 * MINUTE)
    await chat.say(HRD, "/start")
    late = chat.expect(HRD, r"^Welcome back, Amina\. Your check-in is overdue: it was due 2026-03-02 12:00 EAT")
    assert late.buttons == [[("I'm safe", "/checkin")]]
    await chat.say(HRD, "/pause 2d")
    chat.skip(HRD)
    await chat.say(HRD, "/start")
    chat.expect(HRD, r"^Welcome back, Amina\. Check-ins are paused until")
