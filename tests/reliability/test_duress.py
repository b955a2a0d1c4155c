"""Scenario 8 — duress: two HRDs on identical schedules check in at the same moment, one with
the check-in PIN and one with the duress PIN. Pass: the reply bytes and the set of messages each
HRD's chat receives (and the deletions) are identical; only the duress one raises an alert."""

from __future__ import annotations

from tests.support import people
from tests.support.people import pins, trio
from tests.support.queries import alerts
from tests.support.report import figure
from tests.support.transcript import Chat


async def test_duress_is_indistinguishable_in_the_hrds_chat(chat: Chat, full: bool) -> None:
    await trio(chat)
    await people.hrd(chat, "bibi", alias="Bibi")
    await chat.say("cora", "/match Bibi Paul")
    await chat.press("paul", "Accept")
    chat.expect("bibi", r"You are now matched with Paul")
    await pins(chat, "amina")
    await pins(chat, "bibi")
    rounds = 20 if full else 5
    identical = 0
    for round_number in range(rounds):
        chat.transport.deleted.clear()
        chat.skip("amina")
        chat.skip("bibi")
        await chat.say("amina", f"/checkin 2468 round {round_number}")
        await chat.say("bibi", f"/checkin 1357 round {round_number}")
        normal = [(m.text.encode(), m.buttons) for m in chat.unread("amina")]
        duress = [(m.text.encode(), m.buttons) for m in chat.unread("bibi")]
        assert normal == duress and len(normal) == 1
        assert [c for c, _ in chat.transport.deleted] == ["amina", "bibi"]
        identical += 1
        chat.clock.advance(__import__("datetime").timedelta(hours=2))
    kinds = [a.kind for a in alerts(chat)]
    figure("duress", rounds=rounds, identical_replies=identical, duress_alerts=kinds.count("duress"),
           other_alerts=len(kinds) - kinds.count("duress"))
    assert kinds.count("duress") == rounds and len(kinds) == rounds
