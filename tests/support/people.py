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
    # Passes over what the coordinator was told before (a new HRD no partner fits yet, a new
    # coordinator): the tests that care about those expect them themselves.
    message = chat.expect(coordinator, r"/start ", skipping=True)
    match = re.search(r"/start (\S+)", message.text)
    assert match
    return match.group(1)


async def coordinator(chat: Chat, user: str = "cora", alias: str | None = None) -> None:
    code = cli_invite(chat, Role.COORDINATOR)
    await chat.say(user, f"/start {code}")
    await chat.say(user, alias or user.capitalize())
    await chat.say(user, "UTC")
    chat.expect(user, r"all set", skipping=True)  # past the onboarding questions


async def hrd(chat: Chat, user: str = "amina", *, by: str = "cora", alias: str | None = None,
              country: str = "KE", languages: str = "en, sw", wants: str = "lawyer",
              expertise: str = "land-rights", timezone: str = "Africa/Nairobi") -> None:
    code = await invite_via(chat, by, "hrd")
    for text in (f"/start {code}", alias or user.capitalize(), country, languages, wants,
                 expertise, timezone):
        await chat.say(user, text)
    chat.expect(user, r"all set", skipping=True)  # past the onboarding questions


async def partner(chat: Chat, user: str = "paul", *, by: str = "cora", kind: str = "lawyer",
                  alias: str | None = None, regions: str = "KE", languages: str = "en",
                  expertise: str = "land-rights", capacity: str = "3",
                  timezone: str = "Europe/London") -> None:
    code = await invite_via(chat, by, f"partner {kind}")
    for text in (f"/start {code}", alias or user.capitalize(), regions, languages, expertise,
                 capacity, timezone):
        await chat.say(user, text)
    chat.expect(user, r"all set", skipping=True)  # past the onboarding questions


HRD = "amina"
CHECKIN_PIN, DURESS_PIN = "2468", "1357"


async def trio(chat: Chat, *, match: bool = True) -> None:
    """Cora (coordinator), Amina (HRD), Paul (partner, lawyer); matched unless told not to.

    Everything the three were told while joining is marked read.
    """
    await coordinator(chat)
    await hrd(chat)
    await partner(chat)
    if match:
        await chat.say("cora", "/match Amina Paul")
        chat.expect("cora", r"I asked Paul whether they will support Amina \(offer #1\)")
        chat.expect("paul", r"Offer #1: would you support Amina")
        await chat.press("paul", "Accept")  # a match needs the partner's consent
        chat.expect("cora", r"Matched Amina with Paul")
        chat.expect("paul", r"Thank you for accepting offer #1")
        chat.expect("paul", r"matched with Amina")
        chat.expect("amina", r"paired with Paul")
    for user in ("cora", "amina", "paul"):
        chat.skip(user)


async def pins(chat: Chat, user: str = HRD) -> None:
    """``user`` sets check-in PIN ``CHECKIN_PIN`` and duress PIN ``DURESS_PIN`` (past the checks)."""
    await chat.say(user, "/pin")
    chat.expect(user, r"Choose a check-in PIN")
    await chat.say(user, "12")
    chat.expect(user, r"at least 4 digits")
    await chat.say(user, "12ab")
    chat.expect(user, r"digits only")
    await chat.say(user, CHECKIN_PIN)
    chat.expect(user, r"duress PIN")
    await chat.say(user, CHECKIN_PIN)
    chat.expect(user, r"must be different")
    await chat.say(user, DURESS_PIN)
    chat.expect(user, r"Your PINs are set")
    chat.skip(user)
