"""Onboarding people through transcripts, for tests that need them registered."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from c2p_bot.core.i18n import FSI, PDI
from c2p_bot.core.invites import create_invite
from c2p_bot.core.roles import Role
from storage.models import Identity, Person
from tests.support.transcript import Chat


def cli_invite(chat: Chat, role: Role, kind: str | None = None) -> str:
    """An invite as `c2p-bot invite` makes it."""
    with Session(chat.core.engine) as session:
        code = create_invite(session, role=role, kind=kind, now=chat.clock.now(),
                             ttl=chat.core.config.invites.ttl, issued_by=None)
        session.commit()
    return code


def _joined(chat: Chat, user: str) -> None:
    """``user`` answered every onboarding question (in whatever language they were asked)."""
    with Session(chat.core.engine) as session:
        person = session.exec(select(Person).join(Identity).where(Identity.platform_user_id == user)).one()
        assert person.status == "active", f"{user} is still onboarding:\n{chat.dump(user)}"
    chat.skip(user)  # past the onboarding questions


async def invite_via(chat: Chat, coordinator: str, what: str) -> str:
    await chat.say(coordinator, f"/invite {what}")
    # Passes over what the coordinator was told before (a new HRD no partner fits yet, a new
    # coordinator): the tests that care about those expect them themselves.
    message = chat.expect(coordinator, r"/start\b", skipping=True)
    match = re.search(r"/start (\S+)", message.text.replace(FSI, "").replace(PDI, ""))
    assert match
    return match.group(1)


async def coordinator(chat: Chat, user: str = "cora", alias: str | None = None,
                      language: str | None = None) -> None:
    """``language``: the client's language setting the bot sees when they join (Telegram's hint)."""
    code = cli_invite(chat, Role.COORDINATOR)
    await chat.say(user, f"/start {code}", language_hint=language)
    await chat.say(user, alias or user.capitalize())
    await chat.say(user, "UTC")
    _joined(chat, user)


async def hrd(chat: Chat, user: str = "amina", *, by: str = "cora", alias: str | None = None,
              country: str = "KE", languages: str = "en, sw", wants: str = "lawyer",
              expertise: str = "land-rights", timezone: str = "Africa/Nairobi",
              language: str | None = None) -> None:
    code = await invite_via(chat, by, "hrd")
    await chat.say(user, f"/start {code}", language_hint=language)
    for text in (alias or user.capitalize(), country, languages, wants, expertise, timezone):
        await chat.say(user, text)
    _joined(chat, user)


async def partner(chat: Chat, user: str = "paul", *, by: str = "cora", kind: str = "lawyer",
                  alias: str | None = None, regions: str = "KE", languages: str = "en",
                  expertise: str = "land-rights", capacity: str = "3",
                  timezone: str = "Europe/London", language: str | None = None) -> None:
    code = await invite_via(chat, by, f"partner {kind}")
    await chat.say(user, f"/start {code}", language_hint=language)
    for text in (alias or user.capitalize(), regions, languages, expertise, capacity, timezone):
        await chat.say(user, text)
    _joined(chat, user)


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
        chat.expect("amina", r"matched with Paul")
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
