"""An acknowledgement is not a kill switch (issue 13, H2): coordinators hear of every ack, an
acknowledged alert nobody resolves escalates again, and an ex-partner loses access at once."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import Alert
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import trio
from tests.support.transcript import Chat


async def missed(chat: Chat) -> None:
    await trio(chat)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.expect("paul", r"ALERT #1: Amina missed a check-in")


async def test_coordinators_are_told_of_every_acknowledgement(chat: Chat) -> None:
    await missed(chat)
    await chat.say("paul", "/ack 1")
    chat.expect("paul", r"You acknowledged alert #1")
    chat.expect("cora", r"Paul acknowledged alert #1 about Amina")  # before cora was ever alerted


async def test_an_acknowledged_alert_nobody_resolves_escalates_again(chat: Chat) -> None:
    await missed(chat)
    await chat.say("paul", "/ack 1")
    chat.skip("cora")
    chat.skip("paul")
    chat.clock.advance(HOUR)
    await chat.tick()
    chat.expect_nothing("cora")  # within [escalation] ack_expiry (2h) nothing more
    chat.clock.advance(HOUR + MINUTE)
    await chat.tick()
    chat.expect("cora", r"ALERT #1: Amina missed.*acknowledged by Paul .* not resolved")
    with Session(chat.core.engine) as session:
        assert session.exec(select(Alert)).one().status == "open"
    await chat.say("cora", "/ack 1")
    chat.expect("cora", r"You acknowledged alert #1")


async def test_unmatching_removes_an_ex_partners_access_at_once(chat: Chat) -> None:
    await missed(chat)
    await chat.say("cora", "/unmatch Amina Paul")
    chat.skip("paul")
    for command in ("/ack 1", "/log 1", "/log 1 noted", "/resolve 1"):
        await chat.say("paul", command)
        chat.expect("paul", r"There is no alert #1 that you can act on")
    await chat.say("paul", "/alerts")
    chat.expect("paul", r"No open alerts")
    chat.clock.advance(DAY)  # steps and repeats go on, without the ex-partner
    await chat.tick()
    chat.expect("cora", r"Unmatched Amina and Paul\.")
    chat.expect("cora", r"ALERT #1: Amina missed")
    chat.expect_nothing("paul")
