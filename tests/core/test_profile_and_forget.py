"""/profile, /people, /audit and /forget."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import AuditEntry, Identity, Person
from tests.support import people
from tests.support.transcript import Chat


async def test_profile_shows_and_sets_fields_in_one_line(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat)
    await chat.say("amina", "/profile")
    chat.expect("amina", r"alias: Amina.*country: Kenya.*languages: English, Swahili")
    await chat.say("amina", '/profile languages=fr,en expertise="detention, environment" country=ug')
    chat.expect("amina", r"Saved: country, expertise, languages")
    with Session(chat.core.engine) as session:
        amina = session.exec(select(Person).where(Person.alias == "Amina")).one()
        assert (amina.languages, amina.expertise, amina.country) == ("fr,en", "detention,environment", "UG")


async def test_profile_rejects_bad_values_and_changes_nothing(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat)
    for args, answer in (("country=XX languages=en", r"country is not valid.*“XX”.*two-letter"),
                         ("wants=priest", r"wants is not valid.*“priest”.*an MP, a lawyer, a journalist"),
                         ("capacity=3", r"can't change capacity.*Fields you can set"),
                         ("nonsense", r"can't change nonsense"),
                         ("timezone=Mars/Base", r"“Mars/Base”.*Nairobi"),
                         ("language=xx", r"The bot speaks: en"),
                         ("alias=Cora", r"already taken")):
        await chat.say("amina", f"/profile {args}")
        chat.expect("amina", answer)
    with Session(chat.core.engine) as session:
        amina = session.exec(select(Person).where(Person.alias == "Amina")).one()
        assert (amina.country, amina.languages, amina.wants) == ("KE", "en,sw", "lawyer")


async def test_people_and_audit_for_coordinators(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat)
    await people.partner(chat)
    await chat.say("cora", "/people")
    chat.expect("cora", r"Coordinator \(1\).*Cora.*Human rights defender \(1\).*Amina.*Partner \(1\)"
                        r".*Paul \[lawyer\]")
    await chat.say("cora", "/audit 3")
    chat.expect("cora", r"Latest 3 audit entries")
    await chat.say("cora", "/audit lots")
    chat.expect("cora", r"Usage: /audit \[N\]")


async def test_forget_needs_confirmation_then_erases_everything(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat)
    await chat.say("amina", "/forget")
    chat.expect("amina", r"/forget confirm")
    with Session(chat.core.engine) as session:
        assert session.exec(select(Person).where(Person.alias == "Amina")).first() is not None
    await chat.say("amina", "/forget confirm")
    chat.expect("amina", r"erased")
    with Session(chat.core.engine) as session:
        assert session.exec(select(Person).where(Person.alias == "Amina")).first() is None
        assert session.exec(select(Identity).where(Identity.platform_user_id == "amina")).first() is None
        entry = session.exec(select(AuditEntry).where(AuditEntry.action == "person_forgotten")).one()
        assert "Amina" not in (entry.detail or "") + (entry.subject or "")
    await chat.say("amina", "/help")
    chat.expect("amina", r"private service")


async def test_forget_during_onboarding(chat: Chat) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "hrd")
    await chat.say("amina", f"/start {code}")
    await chat.say("amina", "/forget confirm")
    chat.expect("amina", r"Welcome to Connect2Protect\. You are joining")
    chat.expect("amina", r"What should we call you\? Choose an alias\.")
    chat.expect("amina", r"erased")
    await chat.say("amina", "Amina")
    chat.expect("amina", r"private service")
