"""Onboarding of each role, invites, restarts mid-conversation, strangers."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from c2p_bot.app import build_runtime
from c2p_bot.core.roles import Role
from c2p_bot.transports.memory import MemoryTransport
from storage.engine import make_engine
from storage.models import Identity, Person
from tests.support import people
from tests.support.transcript import Chat

STRANGER = r"^This is a private service\. If you were given an invite code, send /start CODE\.$"


async def test_stranger_learns_nothing_whatever_they_send(chat: Chat) -> None:
    await people.coordinator(chat)
    for text in ("hello", "/help", "/start", "/start WRONG-CODE", "/people", "/checkin",
                 "/start " + "A" * 500, "/invite hrd", "\u202e/help", "cora"):
        await chat.say("eve", text)
        chat.expect("eve", STRANGER)
    assert len(chat.transport.inbox["eve"]) == 10
    assert {m.text for m in chat.transport.inbox["eve"]} == {
        "This is a private service. If you were given an invite code, send /start CODE."}


async def test_coordinator_onboarding_from_cli_invite(chat: Chat) -> None:
    code = people.cli_invite(chat, Role.COORDINATOR)
    await chat.say("cora", f"/start {code}")
    chat.expect("cora", r"joining as a coordinator")
    chat.expect("cora", r"alias")
    await chat.say("cora", "x")  # too short
    chat.expect("cora", r"doesn't look right.*2 to 32")
    await chat.say("cora", "Cora")
    chat.expect("cora", r"time zone")
    await chat.say("cora", "Nowhere/Atlantis")
    chat.expect("cora", r"I don't know the time zone “Nowhere/Atlantis”.*Nairobi or Kenya")
    await chat.say("cora", "europe/berlin")
    chat.expect("cora", r"all set, Cora")
    with Session(chat.core.engine) as session:
        person = session.exec(select(Person)).one()
        assert (person.role, person.status, person.timezone) == ("coordinator", "active", "Europe/Berlin")


async def test_hrd_onboarding_validates_every_answer(chat: Chat) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "hrd")
    await chat.say("amina", f"/start {code}")
    chat.expect("amina", r"human rights defender")
    await chat.say("amina", "Amina")
    chat.expect("amina", r"What should we call you\? Choose an alias\.")
    chat.expect("amina", r"Which country.*name or its two-letter code")
    await chat.say("amina", "Kenyaa")
    chat.expect("amina", r"doesn't look right.*“Kenyaa”.*two-letter")
    await chat.say("amina", "ke")
    chat.expect("amina", r"languages")
    await chat.say("amina", "english, klingon")
    chat.expect("amina", r"doesn't look right.*“klingon”")
    await chat.say("amina", "en, SW")
    message = chat.expect("amina", r"matched with.*an MP, a lawyer, a journalist")
    assert [label for label, _ in message.buttons[0]] == ["MP", "lawyer", "journalist"]
    await chat.say("amina", "priest")
    chat.expect("amina", r"doesn't look right")
    await chat.press("amina", "lawyer")
    chat.expect("amina", r"areas of work.*land-rights")
    await chat.say("amina", "land-rights, cooking")
    chat.expect("amina", r"doesn't look right")
    await chat.say("amina", "land-rights, environment")
    chat.expect("amina", r"time zone")
    await chat.say("amina", "Africa/Nairobi")
    chat.expect("amina", r"all set, Amina")
    with Session(chat.core.engine) as session:
        amina = session.exec(select(Person).where(Person.role == "hrd")).one()
        assert (amina.country, amina.languages, amina.wants, amina.expertise) == (
            "KE", "en,sw", "lawyer", "land-rights,environment")


async def test_partner_onboarding_with_kind_from_invite(chat: Chat) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "partner journalist")
    await chat.say("jo", f"/start {code}")
    chat.expect("jo", r"joining as a partner")
    chat.expect("jo", r"What should we call you\? Choose an alias\.")
    for answer, next_question in (("Jo", r"countries or regions"), ("KE, Eastern Africa", r"languages"),
                                  ("en", r"areas of work"), ("press-freedom", r"How many"),
                                  ("many", r"number from 0 to 50"), ("4", r"time zone"),
                                  ("UTC", r"all set")):
        await chat.say("jo", answer)
        chat.expect("jo", next_question)
    with Session(chat.core.engine) as session:
        jo = session.exec(select(Person).where(Person.role == "partner")).one()
        assert (jo.kind, jo.capacity, jo.status) == ("journalist", 4, "active")


async def test_alias_must_be_unique(chat: Chat) -> None:
    await people.coordinator(chat, alias="Cora")
    code = await people.invite_via(chat, "cora", "hrd")
    await chat.say("amina", f"/start {code}")
    await chat.say("amina", "cora")
    chat.expect("amina", r"Welcome to Connect2Protect\. You are joining")
    chat.expect("amina", r"What should we call you\? Choose an alias\.")
    chat.expect("amina", r"already taken")


async def test_commands_during_onboarding_repeat_the_question(chat: Chat) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "hrd")
    await chat.say("amina", f"/start {code}")
    await chat.say("amina", "/people")
    chat.expect("amina", r"Welcome to Connect2Protect\. You are joining")
    chat.expect("amina", r"What should we call you\? Choose an alias\.")
    chat.expect("amina", r"finish setting you up.*alias")
    await chat.say("amina", "/help")
    chat.expect("amina", r"being set up")


async def test_used_wrong_and_expired_invites_get_the_stranger_reply(chat: Chat) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "hrd")
    await chat.say("amina", f"/start {code}")
    chat.expect("amina", r"Welcome")
    await chat.say("eve", f"/start {code}")  # already used
    chat.expect("eve", STRANGER)
    await chat.say("eve", "/start " + code.replace("-", "")[:-1] + "Z")
    chat.expect("eve", STRANGER)
    late = await people.invite_via(chat, "cora", "hrd")
    chat.clock.advance(chat.core.config.invites.ttl + timedelta(seconds=1))
    await chat.say("eve", f"/start {late}")
    chat.expect("eve", STRANGER)
    with Session(chat.core.engine) as session:
        assert session.exec(select(Identity).where(Identity.platform_user_id == "eve")).first() is None


async def test_invite_codes_are_forgiving_about_case_and_dashes(chat: Chat) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "hrd")
    await chat.say("amina", f"/start {code.replace('-', '').lower()}")
    chat.expect("amina", r"Welcome")


async def test_restart_in_the_middle_of_onboarding_resumes(chat: Chat, db_url: str) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "hrd")
    await chat.say("amina", f"/start {code}")
    await chat.say("amina", "Amina")
    await chat.say("amina", "KE")
    chat.expect("amina", r"Welcome to Connect2Protect\. You are joining")
    chat.expect("amina", r"What should we call you\? Choose an alias\.")
    chat.expect("amina", r"Which country do you work in\?")
    chat.expect("amina", r"languages")
    # A brand-new process on the same database.
    engine = make_engine(db_url)
    runtime = build_runtime(chat.core.config, engine, chat.clock, chat.core.keyring)
    transport = MemoryTransport()
    runtime.add_transport(transport)
    again = Chat(runtime, transport)
    await again.say("amina", "en")
    again.expect("amina", r"matched with")
    for text in ("lawyer", "detention", "UTC"):
        await again.say("amina", text)
    again.expect("amina", r"Which areas of work fit you\?")
    again.expect("amina", r"Which time zone are you in\?")
    again.expect("amina", r"all set, Amina")
    engine.dispose()


async def test_group_chats_get_one_notice_and_nothing_else(chat: Chat) -> None:
    await people.coordinator(chat)
    for text in ("/help", "/people", "hi"):
        await chat.say("cora", text, private=False, chat_id="group-1")
    messages = chat.transport.inbox["group-1"]
    assert [m.text for m in messages] == ["I only work in private chats. Please write to me directly."]


async def test_duplicate_events_are_handled_once(chat: Chat) -> None:
    await people.coordinator(chat)
    await chat.say("cora", "/invite hrd", event_id="dup-1")
    await chat.say("cora", "/invite hrd", event_id="dup-1")
    invites = [m for m in chat.transport.inbox["cora"] if "/start" in m.text]
    assert len(invites) == 1


async def _partner_picks_kind(chat: Chat, code: str) -> None:
    """A partner whose invite names no kind: the bot asks for it, with buttons, and insists."""
    await chat.say("pia", f"/start {code}")
    chat.expect("pia", r"joining as a partner")
    chat.expect("pia", r"What should we call you\? Choose an alias\.")
    await chat.say("pia", "Pia")
    message = chat.expect("pia", r"MP, a lawyer or a journalist.*Choose one: an MP, a lawyer, a journalist")
    assert [label for label, _ in message.buttons[0]] == ["MP", "lawyer", "journalist"]
    await chat.say("pia", "priest")
    chat.expect("pia", r"doesn't look right.*“priest”.*MP, a lawyer or a journalist")
    await chat.press("pia", "lawyer")
    chat.expect("pia", r"countries or regions")
    for answer, next_question in (("KE", r"languages"), ("en", r"areas of work"),
                                  ("land-rights", r"How many"), ("2", r"time zone"),
                                  ("UTC", r"all set, Pia")):
        await chat.say("pia", answer)
        chat.expect("pia", next_question)
    with Session(chat.core.engine) as session:
        pia = session.exec(select(Person).where(Person.role == "partner")).one()
        assert (pia.alias, pia.kind, pia.capacity, pia.status) == ("Pia", "lawyer", 2, "active")


async def test_partner_invited_from_the_command_line_without_kind_picks_it(chat: Chat) -> None:
    await people.coordinator(chat)
    await _partner_picks_kind(chat, people.cli_invite(chat, Role.PARTNER))


async def test_partner_invited_in_chat_without_kind_picks_it(chat: Chat) -> None:
    await people.coordinator(chat)
    await chat.say("cora", "/invite partner")
    message = chat.expect("cora", r"Invite for a new partner.*/start ")
    code = message.text.split("/start ")[1].split()[0]
    await _partner_picks_kind(chat, code)


async def test_invite_partner_with_an_unknown_kind_is_refused(chat: Chat) -> None:
    await people.coordinator(chat)
    for args, reply in (("partner priest", r"“priest” is not a kind of partner.*/invite partner lawyer"),
                        ("hrd lawyer", r"Usage: /invite hrd, /invite partner \[mp\|lawyer\|journalist\]"),
                        ("partner lawyer extra", r"“extra” is not a kind of partner"),
                        ("partner lawyer journalist", r"“lawyer journalist” is not a kind of partner"),
                        ("nobody", r"Usage: /invite hrd")):
        await chat.say("cora", f"/invite {args}")
        chat.expect("cora", reply)
    assert not [m for m in chat.transport.inbox["cora"] if "/start " in m.text]
