"""Handing a partnership over to a successor (issue 16): the successor accepts like any offer; then
the old match ends and the new one begins; the case logbook is theirs only if the defender says yes.

Transcripts on SQLite and PostgreSQL, with a fake clock; check-ins are due every 1000 days here.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from c2p_bot.config import Config, parse_config
from storage.models import Match, Person
from tests.support import people
from tests.support.durations import DAY, MINUTE
from tests.support.transcript import Chat

SUCCESSOR = "Hon. Lena"  # an alias with a space and a dot


@pytest.fixture
def config() -> Config:
    return parse_config({"checkins": {"interval": "1000d"}}, env={})  # days pass without missed check-ins


def pairs(chat: Chat) -> list[tuple[str, str, str]]:
    with Session(chat.core.engine) as session:
        alias = {p.id: p.alias for p in session.exec(select(Person)).all()}
        return [(alias[m.hrd_id] or "", alias[m.partner_id] or "", m.status)
                for m in session.exec(select(Match).order_by(col(Match.id))).all()]


async def a_case(chat: Chat) -> None:
    """Cora, Amina matched with Paul, and Hon. Lena (a lawyer too). Amina raised the alarm once;
    Paul and Cora wrote in its logbook; later Paul recorded a letter in her case log."""
    await people.trio(chat)
    await people.partner(chat, "lena", alias=SUCCESSOR, regions="Eastern Africa")
    await chat.say("amina", "/panic")
    chat.expect("paul", r"PANIC ALERT #1")
    await chat.say("paul", "/log 1 called her brother: she is at home")
    chat.expect("paul", r"Added to the logbook of alert #1")
    await chat.say("cora", "/resolve 1 false alarm, phone in a pocket")
    await chat.say("paul", "/action Amina letter wrote to the minister")
    chat.expect("paul", r"Recorded for Amina: letter\.", skipping=True)
    for user in ("cora", "amina", "paul", "lena"):
        chat.skip(user)


async def handed_over(chat: Chat) -> None:
    """Cora hands Amina over from Paul to Hon. Lena, choosing the people with buttons; Lena accepts."""
    await chat.say("cora", "/handover")
    ask = chat.expect("cora", r"Whose partnership should be handed over\? Choose a defender:")
    assert [label for row in ask.buttons for label, _payload in row] == ["Amina (KE)"]
    await chat.press("cora", "Amina")
    chat.expect("cora", r"Which partner of Amina hands over\?")
    await chat.press("cora", "Paul")
    ask = chat.expect("cora", r"Who should take over Amina from Paul\?")
    assert [label for row in ask.buttons for label, _payload in row] == ["Hon. Lena (lawyer)"]
    await chat.press("cora", "Lena")
    chat.expect("cora", r"I asked Hon\. Lena whether they will take over Amina from Paul \(offer #2\)\. Until they "
                        r"accept, Paul stays matched with Amina\. The offer lapses on 2026-03-04 09:00")
    offer = chat.expect("lena", r"Offer #2: Paul is handing over their support of Amina, a human rights defender in "
                                r"(KE|Kenya)\. Would you take over as their lawyer\?\nThey need help with: land-rights")
    assert offer.buttons == [[("Accept", "/accept 2"), ("Decline", "/decline 2")]]
    chat.expect("paul", r"The coordinators asked Hon\. Lena to take over your support of Amina\. You stay matched with "
                        r"Amina until Hon\. Lena accepts\.")
    await chat.say("lena", "/log 1")  # not yet hers
    chat.expect("lena", r"There is no alert #1 that you can act on")
    assert pairs(chat) == [("Amina", "Paul", "active")]

    await chat.press("lena", "Accept")
    chat.expect("lena", r"Thank you for accepting offer #2")
    chat.expect("lena", r"You are now matched with Amina")
    chat.expect("amina", r"You are now (paired|matched) with Hon\. Lena, a lawyer")
    chat.expect("paul", r"Hon\. Lena has taken over your support of Amina; your match with Amina has ended\. "
                        r"Thank you\.")
    chat.expect("amina", r"Paul has handed over to Hon\. Lena: your alerts now reach Hon\. Lena instead of Paul\.")
    assert pairs(chat) == [("Amina", "Paul", "ended"), ("Amina", "Hon. Lena", "active")]


async def test_handover_with_the_defenders_consent_shares_the_case_logbook(chat: Chat) -> None:
    await a_case(chat)
    await handed_over(chat)
    consent = chat.expect("amina", r"May Hon\. Lena also read the logbook of your past alerts: what your partners and "
                                   r"coordinators wrote about them \(3 entries\)\? Only if you say yes\.")
    assert consent.buttons == [[("Yes, share it", "/share 2 yes"), ("No", "/share 2 no")]]
    chat.expect("cora", r"Handover done: Hon\. Lena took over Amina from Paul \(offer #2\)\.\nI asked Amina whether "
                        r"Hon\. Lena may read the logbook of their past alerts\.")
    await chat.say("lena", "/log 1")
    chat.expect("lena", r"Logbook of alert #1:\n.*Paul: \[written before you could read this case\]")

    await chat.press("amina", "Yes, share it")
    chat.expect("amina", r"Thank you: Hon\. Lena can now read the logbook of your past alerts\.")
    chat.expect("lena", r"Amina agreed that you may read the logbook of their past alerts: /log ID for an alert, "
                        r"/action Amina for what partners did\.")
    chat.expect("cora", r"Amina agreed to share the logbook of their past alerts with Hon\. Lena\.$")
    await chat.say("lena", "/log 1")
    log = chat.expect("lena", r"Logbook of alert #1:")
    assert "Paul: called her brother: she is at home" in log.text
    assert "Cora: phone in a pocket" in log.text and "Outcome: False alarm" in log.text
    await chat.say("lena", "/action Amina")
    chat.expect("lena", r"Case log of Amina:\n.*Paul: \[letter\] wrote to the minister")
    await chat.say("amina", "/share 2 yes")
    chat.expect("amina", r"You already let Hon\. Lena read the logbook of your past alerts\.")

    await chat.say("paul", "/log 1")  # the ex-partner has no access any more
    chat.expect("paul", r"There is no alert #1 that you can act on")
    await chat.say("amina", "/panic")
    chat.expect("lena", r"PANIC ALERT #2: Amina raised the alarm")
    chat.expect_nothing("paul")


async def test_handover_without_consent_keeps_the_past_logbook_from_the_successor(chat: Chat) -> None:
    await a_case(chat)
    await handed_over(chat)
    chat.expect("amina", r"May Hon\. Lena also read the logbook of your past alerts")
    await chat.press("amina", "^No$")
    chat.expect("amina", r"Understood: Hon\. Lena will not see the logbook of your past alerts, only what is written "
                         r"from now on\. If you change your mind: /share 2 yes")
    chat.expect("cora", r"Handover done")
    chat.expect("cora", r"Amina chose not to share the logbook of their past alerts with Hon\. Lena\.")
    chat.expect_nothing("lena")
    await chat.say("lena", "/log 1")
    log = chat.expect("lena", r"Logbook of alert #1:")
    assert "called her brother" not in log.text and "false alarm" not in log.text
    await chat.say("lena", "/action Amina")
    chat.expect("lena", r"Case log of Amina:\n.*Paul: \[letter\] \[written before you could read this case\]")
    for user, command in (("paul", "/share 2 yes"), ("amina", "/share 1 yes"), ("amina", "/share 2 perhaps")):
        await chat.say(user, command)
    chat.expect("paul", r"Sorry, I don't know that command")
    chat.expect("amina", r"There is no question about sharing your logbook \(#1\) waiting for your answer\.")
    chat.expect("amina", r"“perhaps” is not yes or no\. For example: /share 2 yes")


async def test_a_declined_or_lapsed_handover_changes_nothing(chat: Chat) -> None:
    await people.trio(chat)
    await people.partner(chat, "lena", alias=SUCCESSOR, regions="Eastern Africa")
    chat.skip("cora")
    await chat.say("cora", "/handover Amina Paul Hon. Lena")
    chat.expect("cora", r"I asked Hon\. Lena whether they will take over Amina from Paul \(offer #2\)")
    chat.expect("paul", r"The coordinators asked Hon\. Lena to take over")
    chat.expect("lena", r"Offer #2: Paul is handing over their support of Amina")
    await chat.say("lena", "/decline 2 moving abroad")
    chat.expect("lena", r"You declined offer #2")
    chat.expect("cora", r"Hon\. Lena declined to take over Amina from Paul \(offer #2\); Paul stays matched with "
                        r"Amina\.\nTheir reason: moving abroad")
    chat.expect("paul", r"Hon\. Lena will not take over your support of Amina: you stay matched with Amina\.")
    chat.expect_nothing("cora")  # nobody else is looked for

    await chat.say("cora", "/handover amina paul “hon lena”")  # any case, quotes, no dot
    chat.expect("cora", r"offer #3")
    chat.skip("paul")
    chat.skip("lena")
    chat.clock.advance(3 * DAY + MINUTE)
    await chat.tick()
    chat.expect("lena", r"Offer #3 to support Amina has lapsed")
    chat.expect("cora", r"Offer #3 to take over Amina from Paul lapsed without an answer; Paul stays matched with "
                        r"Amina\.")
    chat.expect("paul", r"Hon\. Lena will not take over your support of Amina: you stay matched with Amina\.")
    chat.expect_nothing("cora")
    assert pairs(chat) == [("Amina", "Paul", "active")]

    for command, answer in (
            ("/handover Amina Hon. Lena Paul", r"Amina and Hon\. Lena are not matched, so there is nothing to hand "
                                               r"over\. Nothing was changed\."),
            ("/handover Amina Paul Paul", r"Amina and Paul are already matched\."),
            ("/handover Amina Paul Zed", r"I don't know an active partner called “Zed”\.")):
        await chat.say("cora", command)
        chat.expect("cora", answer)
    await chat.say("paul", "/handover Amina Paul Hon. Lena")
    chat.expect("paul", r"Sorry, I don't know that command")
