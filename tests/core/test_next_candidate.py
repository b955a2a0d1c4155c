"""After a declined or lapsed offer, the need really goes to the next candidate, whatever made the
offer; when nobody is left, the coordinators are told whose need it is (issue 16).

Transcripts on SQLite and PostgreSQL, with a fake clock.
"""

from __future__ import annotations

from tests.support import people
from tests.support.durations import DAY, MINUTE
from tests.support.transcript import Chat


async def test_a_declined_manual_offer_of_another_kind_goes_to_the_next_partner_of_that_kind(chat: Chat) -> None:
    """Amina asked for a lawyer; a coordinator offered her an MP by hand. When that MP declines,
    the next MP is proposed; when the last one declines too, the coordinators are told by name."""
    await people.coordinator(chat)
    await people.hrd(chat)  # wants a lawyer; none has joined yet
    chat.expect("cora", r"No partner fits Amina's need for a lawyer right now")
    await people.partner(chat, "mo", kind="mp")
    await people.partner(chat, "nia", kind="mp", regions="Eastern Africa")
    await chat.say("cora", "/match Amina Mo")
    chat.expect("cora", r"I asked Mo whether they will support Amina \(offer #1\)")
    await chat.say("mo", "/decline 1 no time")
    chat.expect("cora", r"Mo declined offer #1 \(Amina, MP\); looking for the next candidate\.\nTheir reason: no time")
    chat.expect("cora", r"New proposal #2: Amina ↔ Nia \(MP\): covers Eastern Africa.*/approve 2 or /reject 2")
    chat.expect_nothing("cora")

    await chat.press("cora", "Approve")
    chat.expect("cora", r"Approved proposal #2: I asked Nia")
    await chat.say("nia", "/decline 2")
    chat.expect("cora", r"Nia declined offer #2 \(Amina, MP\); looking for the next candidate\.")
    chat.expect("cora", r"No partner fits Amina's need for an MP right now\. Send /propose when new partners "
                        r"have joined, or (pair|match) them by hand with /match\.")
    chat.expect_nothing("cora")


async def test_a_lapsed_offer_for_a_need_already_met_still_goes_to_the_next_candidate(chat: Chat) -> None:
    """Amina has a lawyer (Paul); a coordinator offered her a second one (Lena), who let the offer
    lapse: the next lawyer (Ravi) is proposed, not silence."""
    await people.trio(chat)
    await people.partner(chat, "lena", regions="Eastern Africa")
    await people.partner(chat, "ravi", regions="Africa")
    await chat.say("cora", "/match Amina Lena")
    chat.expect("cora", r"I asked Lena whether they will support Amina \(offer #2\)")
    chat.skip("lena")
    chat.clock.advance(3 * DAY + MINUTE)  # [matching] offer_timeout
    await chat.tick()
    chat.expect("lena", r"Offer #2 to support Amina has lapsed")
    chat.expect("cora", r"Offer #2 \(Amina ↔ Lena, lawyer\) lapsed without an answer; looking for the next "
                        r"candidate\.")
    chat.expect("cora", r"New proposal #3: Amina ↔ Ravi \(lawyer\)")
    chat.expect_nothing("cora")
