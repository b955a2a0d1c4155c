"""Acknowledging is not resolving (issue 14): /resolve ID OUTCOME [text] records how an alert ended, tells
everyone alerted and the defender — except about a duress alert — through transcripts."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from c2p_bot.core.outcomes import read_outcome
from storage.models import Note
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import DURESS_PIN, pins, trio
from tests.support.queries import alerts
from tests.support.transcript import Chat

OUTCOME_BUTTONS = [[("Safe", "/resolve 1 safe"), ("False alarm", "/resolve 1 false-alarm"),
                    ("Incident", "/resolve 1 incident")],
                   [("Detained", "/resolve 1 detained"), ("Drill", "/resolve 1 drill")]]


@pytest.mark.parametrize(("said", "outcome", "rest"), [
    ("safe", "safe", ""), ("Safe she called me", "safe", "she called me"),
    ("FALSE_ALARM phone in a pocket", "false-alarm", "phone in a pocket"),
    ("false alarm, phone in a pocket", "false-alarm", "phone in a pocket"), ("False-Alarm", "false-alarm", ""),
    ("incident", "incident", ""), ("Detained at the border", "detained", "at the border"), ("drill", "drill", ""),
    ("fausse alerte", "false-alarm", ""), ("en sécurité", "safe", ""), ("détenue", "detained", ""),
    ("falsa alarma", "false-alarm", ""), ("detenida", "detained", ""), ("simulacro", "drill", ""),
    ("ложная тревога", "false-alarm", ""), ("задержан", "detained", ""), ("в безопасности", "safe", ""),
    ("إنذار كاذب", "false-alarm", ""), ("محتجز", "detained", ""), ("بأمان", "safe", ""),
    ("she is fine", None, "she is fine"), ("", None, ""),
])
def test_outcomes_are_read_forgivingly_in_every_language(said: str, outcome: str | None, rest: str) -> None:
    assert read_outcome(said) == (outcome, rest)


async def _missed_to_both(chat: Chat) -> None:
    """Alert #1 (a missed check-in) has reached Paul, then Cora."""
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.expect("paul", r"ALERT #1: Amina missed")
    chat.clock.advance(16 * MINUTE)
    await chat.tick()
    chat.expect("cora", r"ALERT #1: Amina missed")
    chat.skip("amina")


async def test_a_missing_outcome_gets_buttons_and_the_outcome_goes_to_everyone_alerted_and_the_hrd(
        chat: Chat) -> None:
    await trio(chat)
    await _missed_to_both(chat)
    await chat.say("cora", "/resolve 1")
    asked = chat.expect("cora", r"^How did alert #1 about Amina end\? Press one, or send /resolve 1 OUTCOME \[what "
                                r"happened\], with OUTCOME one of: safe, false-alarm, incident, detained, drill\.")
    assert asked.buttons == OUTCOME_BUTTONS
    await chat.say("cora", "/resolve 1 she called, all fine")
    chat.expect("cora", r"^“she” is not an outcome\.\nHow did alert #1 about Amina end\?.*\nWhat you wrote is in the "
                        r"logbook\.$")
    assert alerts(chat)[0].status == "acked" or alerts(chat)[0].status == "open"  # nothing closed
    chat.expect_nothing("paul")
    await chat.say("cora", "/resolve 1 FALSE_ALARM phone in a pocket")
    chat.expect("cora", r"^Alert #1 about Amina is resolved\. Outcome: False alarm\. Thank you\.$")
    chat.expect("paul", r"^Cora resolved alert #1 about Amina\. Outcome: False alarm\.\nphone in a pocket$")
    chat.expect("amina", r"^An alert about you \(missed check-in, raised .+\) is closed by Cora\. "
                         r"Outcome: False alarm\.\nphone in a pocket$")
    (alert,) = alerts(chat)
    assert (alert.status, alert.outcome) == ("resolved", "false-alarm")
    with Session(chat.core.engine) as session:
        assert [n.kind for n in session.exec(select(Note).where(Note.alert_id == 1))] == ["log", "resolve"]
    await chat.say("cora", "/log 1")
    log = chat.expect("cora", r"^Logbook of alert #1:\nResolved .*\. Outcome: False alarm\.").text
    assert "Cora: she called, all fine" in log and "Cora: phone in a pocket" in log
    await chat.say("cora", "/resolve 1 safe")
    chat.expect("cora", r"Alert #1 is already resolved\.")


async def test_a_partner_asks_with_an_outcome_and_a_coordinator_closes_with_its_button(chat: Chat) -> None:
    await trio(chat)
    await _missed_to_both(chat)
    await chat.say("paul", "/resolve 1")
    assert chat.expect("paul", r"^How did alert #1 about Amina end\?").buttons == OUTCOME_BUTTONS
    await chat.say("paul", "/resolve 1 safe she called me")
    chat.expect("paul", r"Only a coordinator can close alert #1")
    asked = chat.expect("cora", r"^Paul asks to close alert #1 about Amina\. Outcome: Safe\.\nshe called me\n"
                                r"Close it with /resolve 1 safe \[what happened\], or press the button\.$")
    assert asked.buttons == [[("Close: Safe", "/resolve 1 safe")]]
    assert alerts(chat)[0].status == "acked"
    await chat.press("cora", "Close: Safe")
    chat.expect("cora", r"Alert #1 about Amina is resolved\. Outcome: Safe\.")
    chat.expect("paul", r"^Cora resolved alert #1 about Amina\. Outcome: Safe\.$")
    chat.expect("amina", r"^An alert about you \(missed check-in, raised .+\) is closed by Cora\. Outcome: Safe\.$")
    assert alerts(chat)[0].outcome == "safe"


async def test_the_outcome_of_a_duress_alert_is_never_told_to_the_hrd_and_a_panics_is(chat: Chat) -> None:
    await trio(chat)
    await pins(chat)
    await chat.say("amina", f"/checkin {DURESS_PIN} at the office")
    chat.expect("cora", r"DURESS ALERT #1", skipping=True)
    chat.skip("paul")
    chat.skip("amina")
    await chat.say("cora", "/resolve 1 safe spoke to the family, she is free")
    chat.expect("cora", r"Alert #1 about Amina is resolved\. Outcome: Safe\.")
    chat.expect("paul", r"Cora resolved alert #1 about Amina\. Outcome: Safe\.\nspoke to the family")
    chat.expect_nothing("amina")  # the silent alarm stays silent, even once resolved
    await chat.say("amina", "/panic they are outside")
    chat.skip("amina")
    chat.skip("paul")
    chat.skip("cora")
    await chat.say("cora", "/resolve 2 incident")
    chat.expect("amina", r"^An alert about you \(panic, raised .+\) is closed by Cora\. Outcome: Incident\.$")


async def test_a_french_speaking_defender_and_coordinator_read_the_outcome_in_french(chat: Chat) -> None:
    await people.coordinator(chat, language="fr")
    await people.hrd(chat, language="fr")
    chat.skip("cora")
    await chat.say("amina", "/panic")
    chat.skip("amina")
    chat.skip("cora")
    await chat.say("cora", "/resolve 1 fausse alerte téléphone dans la poche")
    chat.expect("cora", r"Résultat : Fausse alerte")
    chat.expect("amina", r"^Une alerte vous concernant \(alarme, déclenchée le .+\) a été clôturée par Cora\. "
                         r"Résultat : Fausse alerte\.\n"
                         r"téléphone dans la poche$")
    assert alerts(chat)[0].outcome == "false-alarm"
