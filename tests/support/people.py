"""Onboarding people through transcripts, for tests that need them registered."""

from __future__ import annotations

import re

from sqlmodel import Session

from c2p_bot.core.invites import create_invite
from c2p_bot.core.roles import Role
from tests.support.transcript import Chat


def cli_invite(chat: Chat, role: Role, kind: str | None = None) -> str:
    """An invite as `c2p-bot invite` makes it."""
    with Session(chat.core.engine) as session:
        code = create_invite(session, role=role, kind=kind, now=chat.clock.now(),
                             ttl=chat.core.config.invites.ttl, issued_by=None)
        session.commit()
    return code


async def invite_via(chat: Chat, coordinator: str, what: str) -> str:
    await chat.say(coordinator, f"/invite {what}")
    message = chat.expect(coordinator, r"/start ")
    match = re.search(r"/start (\S+)", message.text)
    assert match
    return match.group(1)


async def coordinator(chat: Chat, user: str = "cora", alias: str | None = None) -> None:
    code = cli_invite(chat, Role.COORDINATOR)
    await chat.say(user, f"/start {code}")
    await chat.say(user, alias or user.capitalize())
    await chat.say(user, "UTC")
    chat.expect(user, r"all set")


async def hrd(chat: Chat, user: str = "amina", *, by: str = "cora", alias: str | None = None,
              country: str = "KE", languages: str = "en, sw", wants: str = "lawyer",
              expertise: str = "land-rights", timezone: str = "Africa/Nairobi") -> None:
    code = await invite_via(chat, by, "hrd")
    for text in (f"/start {code}", alias or user.capitalize(), country, languages, wants,
                 expertise, timezone):
        await chat.say(user, text)
    chat.expect(user, r"all set")


async def partner(chat: Chat, user: str = "paul", *, by: str = "cora", kind: str = "lawyer",
                  alias: str | None = None, regions: str = "KE", languages: str = "en",
                  expertise: str = "land-rights", capacity: str = "3",
                  timezone: str = "Europe/London") -> None:
    code = await invite_via(chat, by, f"partner {kind}")
    for text in (f"/start {code}", alias or user.capitalize(), regions, languages, expertise,
                 capacity, timezone):
        await chat.say(user, text)
    chat.expect(user, r"all set")
