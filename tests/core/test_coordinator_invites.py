"""A new coordinator reads every future note: minting one is never silent (issue 13 M).

Every coordinator invite made in chat is announced to every other coordinator; with
``[security] coordinator_invites = "two-person"`` it works only once a second coordinator
approved it, and the requester cannot approve their own.
"""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from c2p_bot.config import Config, parse_config
from c2p_bot.core.roles import Role
from storage.models import AuditEntry, Person
from tests.support import people
from tests.support.transcript import Chat

STRANGER = r"^This is a private service"


async def two_coordinators(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.coordinator(chat, "dan")
    await people.partner(chat)
    for user in ("cora", "dan", "paul"):
        chat.skip(user)


def invite_id(text: str) -> str:
    found = re.search(r"#(\d+)", text)
    assert found, text
    return found.group(1)


async def test_open_mode_announces_a_coordinator_invite_to_every_other_coordinator(chat: Chat) -> None:
    await two_coordinators(chat)
    code = await people.invite_via(chat, "cora", "coordinator")
    announced = chat.expect("dan", r"Cora created an invite for a new coordinator")
    assert code not in announced.text, "the code itself is never shown to anyone else"
    chat.expect_nothing("paul")
    await chat.say("eve", f"/start {code}")  # open mode: it works at once
    chat.expect("eve", r"(?i)welcome|alias|name")
    # Invites for other roles are not announced.
    await people.invite_via(chat, "cora", "hrd")
    chat.expect_nothing("dan")


class TestTwoPerson:
    @pytest.fixture
    def config(self) -> Config:
        return parse_config({"security": {"coordinator_invites": "two-person"}}, env={})

    async def test_a_second_coordinator_must_approve(self, chat: Chat) -> None:
        await two_coordinators(chat)
        await chat.say("cora", "/invite coordinator")
        reply = chat.expect("cora", r"another coordinator must approve it")
        code = re.search(r"/start (\S+)", reply.text)
        assert code
        number = invite_id(reply.text)
        announced = chat.expect("dan", r"Cora asks for an invite for a new coordinator")
        assert invite_id(announced.text) == number
        assert code.group(1) not in announced.text

        await chat.say("eve", f"/start {code.group(1)}")  # not approved yet: looks like a wrong code
        chat.expect("eve", STRANGER)
        await chat.say("cora", f"/approve_invite {number}")
        chat.expect("cora", r"cannot approve your own")
        await chat.say("paul", f"/approve_invite {number}")  # partners cannot approve
        chat.expect("paul", r"don't know that command")

        await chat.press("dan", "Approve")
        chat.expect("dan", rf"Approved invite #{number}")
        chat.expect("cora", rf"Dan approved invite #{number}")
        await chat.say("dan", f"/approve_invite {number}")
        chat.expect("dan", r"already approved")

        await chat.say("eve", f"/start {code.group(1)}")
        chat.expect("eve", r"(?i)welcome|alias|name")
        with Session(chat.core.engine) as session:
            assert session.exec(select(Person).where(Person.role == Role.COORDINATOR.value)).all()
            actions = [e.action for e in session.exec(select(AuditEntry)).all()]
        assert "invite_approved" in actions

    async def test_invites_for_other_roles_need_no_approval(self, chat: Chat) -> None:
        await two_coordinators(chat)
        code = await people.invite_via(chat, "cora", "hrd")
        await chat.say("eve", f"/start {code}")
        chat.expect("eve", r"(?i)welcome|alias|name")

    async def test_unknown_or_used_invite_numbers(self, chat: Chat) -> None:
        await two_coordinators(chat)
        await chat.say("dan", "/approve_invite 999")
        chat.expect("dan", r"No coordinator invite #999 is waiting for approval")
        await chat.say("dan", "/approve_invite")
        chat.expect("dan", r"Usage: /approve_invite")
