"""A partnership's term (issue 16): both sides are asked a month before it ends whether to go on;
renewed, it goes on; not renewed, it ends, the coordinators are told and the defender gets new
proposals. Transcripts on SQLite and PostgreSQL, with a fake clock (from 2026-03-01 09:00 UTC).

Check-ins every 1000 days and no contact nudges here, so that a year passes quietly.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from c2p_bot.config import Config, parse_config
from storage.models import Match
from tests.support import people
from tests.support.durations import DAY, MINUTE
from tests.support.transcript import Chat


@pytest.fixture
def config() -> Config:
    return parse_config({"checkins": {"interval": "1000d"}, "matching": {"contact_nudge": "1000d"}}, env={})


def statuses(chat: Chat) -> list[str]:
    with Session(chat.core.engine) as session:
        return [m.status for m in session.exec(select(Match).order_by(Match.id)).all()]  # type: ignore[arg-type]


async def asked(chat: Chat) -> None:
    """A month before the end of the first year, both are asked (once)."""
    chat.clock.advance(335 * DAY - MINUTE)
    await chat.tick()
    for user in ("amina", "paul", "cora"):
        chat.expect_nothing(user)
    chat.clock.advance(2 * MINUTE)
    await chat.tick()
    question = chat.expect("amina", r"Your partnership with Paul, a lawyer, ends on 2027-03-01 12:00 .*\(09:00 UTC\)\. "
                                    r"Would you like to go on together for another 365 days\? Both of you are "
                                    r"asked; it continues if you both say yes\.")
    assert question.buttons == [[("Continue", "/renew 1 yes"), ("Let it end", "/renew 1 no")]]
    question = chat.expect("paul", r"Your support of Amina ends on 2027-03-01 09:00 .*Would you like to go on for "
                                   r"another 365 days\?")
    assert question.buttons == [[("Continue", "/renew 1 yes"), ("Let it end", "/renew 1 no")]]
    await chat.tick()
    chat.expect_nothing("amina")
    chat.expect_nothing("paul")


async def test_both_say_yes_and_the_partnership_goes_on_for_another_term(chat: Chat) -> None:
    await people.trio(chat)
    await asked(chat)
    await chat.press("amina", "Continue")
    chat.expect("amina", r"Noted: you would like to go on with Paul\. The partnership continues once Paul says "
                         r"yes too\.")
    chat.expect_nothing("paul")
    await chat.press("paul", "Continue")
    chat.expect("paul", r"Your partnership with Amina continues until 2028-02-29 09:00")
    chat.expect("amina", r"Your partnership with Paul continues until 2028-02-29 12:00")
    await chat.say("paul", "/renew 1 yes")  # the question was answered: nothing to renew twice
    chat.expect("paul", r"There is no question about partnership #1 waiting for your answer")

    chat.clock.advance(31 * DAY)  # past the first end
    await chat.tick()
    for user in ("amina", "paul", "cora"):
        chat.expect_nothing(user)
    assert statuses(chat) == ["active"]
    await chat.say("amina", "/panic")
    chat.expect("paul", r"PANIC ALERT #1: Amina raised the alarm")


async def test_a_partnership_not_renewed_ends_with_its_term_and_the_defender_gets_new_proposals(chat: Chat) -> None:
    await people.trio(chat)
    await people.partner(chat, "lena", regions="Eastern Africa")
    chat.skip("cora")
    await asked(chat)
    await chat.say("paul", "/renew 1 no")
    chat.expect("paul", r"Noted: your partnership with Amina ends on 2027-03-01 09:00 .*The coordinators have been "
                        r"told\. Thank you\.")
    chat.expect("cora", r"Paul does not wish to continue the partnership of Amina and Paul after 2027-03-01 09:00 "
                        r".*To arrange a successor: /handover Amina Paul NEW_PARTNER")
    await chat.press("amina", "Continue")
    chat.expect("amina", r"Noted\. Paul does not wish to go on, so the partnership ends on 2027-03-01 12:00 .*the "
                         r"coordinators know\.")
    for stranger, command in (("lena", "/renew 1 yes"), ("cora", "/renew 1 yes"), ("paul", "/renew 99 yes"),
                              ("paul", "/renew"), ("paul", "/renew 1 maybe")):
        await chat.say(stranger, command)
    chat.expect("lena", r"There is no question about partnership #1 waiting for your answer")
    chat.expect("cora", r"Sorry, I don't know that command")
    chat.expect("paul", r"There is no question about partnership #99 waiting for your answer")
    chat.expect("paul", r"Usage: /renew ID yes\|no\. Press a button on my question, or write for example "
                        r"/renew 12 yes\.")
    chat.expect("paul", r"“maybe” is not yes or no\. For example: /renew 1 yes")

    chat.clock.advance(30 * DAY - 2 * MINUTE)
    await chat.tick()
    for user in ("amina", "paul", "cora"):
        chat.expect_nothing(user)
    chat.clock.advance(2 * MINUTE)
    await chat.tick()
    chat.expect("amina", r"Your partnership with Paul has ended with its term\. Your alerts still reach the "
                         r"coordinators, who will look for a new partner for you\.")
    chat.expect("paul", r"Your partnership with Amina has ended with its term\. Thank you for your support\.")
    chat.expect("cora", r"The partnership of Amina and Paul ended with its term: it was not renewed\.")
    chat.expect("cora", r"New proposal #2: Amina ↔ Lena \(lawyer\)")  # Paul is not proposed again
    chat.expect_nothing("cora")
    await chat.tick()  # ended once
    for user in ("amina", "paul", "cora"):
        chat.expect_nothing(user)
    assert statuses(chat) == ["ended"]
    await chat.say("paul", "/renew 1 yes")
    chat.expect("paul", r"There is no question about partnership #1 waiting for your answer")

    await chat.say("amina", "/panic")  # her alerts no longer reach Paul
    chat.expect("cora", r"PANIC ALERT #1")
    chat.expect_nothing("paul")


async def test_matches_from_before_terms_get_one_that_leaves_time_to_ask(chat: Chat) -> None:
    """A match made before migration 0009 (no term) two years ago: it is not ended at once; both are
    asked, and it ends a month later unless renewed."""
    await people.trio(chat)
    with Session(chat.core.engine) as session:
        match = session.exec(select(Match)).one()
        match.ends_at = match.renew_ask_at = match.last_contact_at = match.nudge_at = None
        session.add(match)
        session.commit()
    chat.clock.advance(730 * DAY)
    await chat.tick()
    chat.expect("amina", r"Your partnership with Paul, a lawyer, ends on 2028-03-30 12:00")
    chat.expect("paul", r"Your support of Amina ends on 2028-03-30 10:00 BST \(09:00 UTC\)")
    assert statuses(chat) == ["active"]
