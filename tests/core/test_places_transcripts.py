"""Countries, regions, languages and time zones typed the way people type them, in onboarding,
/profile and /schedule (issue 15)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from c2p_bot.core.roles import Role
from storage.models import CheckinClock, Person
from tests.support import people
from tests.support.transcript import Chat


def _person(chat: Chat, alias: str) -> Person:
    with Session(chat.core.engine) as session:
        return session.exec(select(Person).where(Person.alias == alias)).one()


async def test_hrd_onboarding_in_plain_words(chat: Chat) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "hrd")
    await chat.say("amina", f"/start {code}")
    chat.expect("amina", r"human rights defender")
    chat.expect("amina", r"What should we call you")
    await chat.say("amina", "Amina")
    chat.expect("amina", r"Which country.*for example Kenya")
    await chat.say("amina", "Kenyaa")
    chat.expect("amina", r"I don't know the country “Kenyaa”.*Kenya or KE")
    await chat.say("amina", "Kenya")
    chat.expect("amina", r"Which languages")
    await chat.say("amina", "English, Klingon")
    chat.expect("amina", r"I don't know the language “Klingon”")
    await chat.say("amina", "English, Swahili")
    chat.expect("amina", r"matched with")
    await chat.press("amina", "lawyer")
    chat.expect("amina", r"areas of work")
    await chat.say("amina", "land-rights")
    chat.expect("amina", r"time zone.*for example Nairobi")
    await chat.say("amina", "GMT+3")
    message = chat.expect("amina", r"“GMT\+3”.*Africa/Nairobi")
    labels = [label for row in message.buttons for label, _ in row]
    assert any("Africa/Nairobi" in label for label in labels) and len(labels) <= 8
    await chat.press("amina", "Nairobi")
    chat.expect("amina", r"all set, Amina")
    amina = _person(chat, "Amina")
    assert (amina.country, amina.languages, amina.timezone) == ("KE", "en,sw", "Africa/Nairobi")


async def test_coordinator_names_a_city(chat: Chat) -> None:
    await chat.say("cora", f"/start {people.cli_invite(chat, Role.COORDINATOR)}")
    chat.skip("cora")
    await chat.say("cora", "Cora")
    chat.expect("cora", r"time zone")
    await chat.say("cora", "nairobi")
    chat.expect("cora", r"all set, Cora")
    assert _person(chat, "Cora").timezone == "Africa/Nairobi"


async def test_partner_covers_a_region_and_picks_a_zone_of_a_big_country(chat: Chat) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "partner lawyer")
    await chat.say("paul", f"/start {code}")
    chat.skip("paul")
    for answer, reply in (("Paul", r"countries or regions"), ("East Africa and South Sudan", r"languages"),
                          ("anglais", r"areas of work"), ("detention", r"How many"), ("3", r"time zone")):
        await chat.say("paul", answer)
        chat.expect("paul", reply)
    await chat.say("paul", "USA")
    message = chat.expect("paul", r"“USA”.*America/New_York")
    assert len([b for row in message.buttons for b in row]) <= 12
    await chat.press("paul", "New_York")
    chat.expect("paul", r"all set, Paul")
    paul = _person(chat, "Paul")
    assert (paul.regions, paul.languages, paul.timezone) == ("Eastern Africa,SS", "en", "America/New_York")


async def test_profile_shows_names_and_offers_zones_for_est(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat)
    await chat.say("amina", "/profile")
    chat.expect("amina", r"country: Kenya\n.*languages: English, Swahili\n.*timezone: Africa/Nairobi")
    await chat.say("amina", "/profile timezone=EST")
    message = chat.expect("amina", r"Nothing was changed.*“EST”.*America/New_York")
    assert message.buttons
    await chat.press("amina", "New_York")
    chat.expect("amina", r"Saved: timezone")
    assert _person(chat, "Amina").timezone == "America/New_York"
    await chat.say("amina", '/profile country=Kenyaa')
    chat.expect("amina", r"Nothing was changed.*“Kenyaa”.*Kenya or KE")
    await chat.say("amina", '/profile country=Uganda languages="Kiswahili, French"')
    chat.expect("amina", r"Saved: country, languages")
    amina = _person(chat, "Amina")
    assert (amina.country, amina.languages) == ("UG", "sw,fr")


async def test_schedule_refuses_a_fixed_offset_zone_and_names_it(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat)
    await chat.say("amina", "/schedule daily 09:00 tz EST")
    chat.expect("amina", r"“EST”.*America/New_York")
    await chat.say("amina", "/schedule daily 09:00 tz bogota")
    chat.expect("amina", r"America/Bogota")
    with Session(chat.core.engine) as session:
        clock = session.exec(select(CheckinClock)).one()
        assert clock.timezone == "America/Bogota"



async def test_offers_matches_and_alerts_name_the_country_and_languages(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat, country="Kenya", languages="English, Swahili")
    await people.partner(chat)
    await chat.say("cora", "/match Amina Paul")
    chat.skip("cora")
    chat.expect("paul", r"^Offer #1: would you support Amina, a human rights defender in Kenya, as their lawyer\?"
                        r".*Languages: English, Swahili\.")
    await chat.press("paul", "Accept")
    chat.expect("paul", r"Thank you for accepting offer #1")
    chat.expect("paul", r"matched with Amina \(Kenya\)")
    chat.skip("amina")
    chat.clock.advance(timedelta(days=1, hours=1, minutes=1))
    await chat.tick()
    chat.expect("paul", r"ALERT #1: Amina missed a check-in.*Country: Kenya\.")


async def test_an_offer_in_french_names_them_in_french(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat, country="KE", languages="en sw")
    await people.partner(chat, language="fr")
    await chat.say("cora", "/match Amina Paul")
    offer = chat.expect("paul", r"Offre #1", skipping=True)
    assert "Kenya" in offer.text and "anglais, swahili" in offer.text and "KE" not in offer.text
