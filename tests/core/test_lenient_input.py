"""Forgiving input: numbers, areas of work, partner kinds and yes/no typed the way people type them,
in any of the bot's languages — and refusals that name what was wrong (durations and daily times:
test_lenient_durations.py)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from c2p_bot.core.answer_words import parse_kinds
from c2p_bot.core.lenient_lists import UnknownItems, resolve, tag_vocabulary, yes_or_no
from c2p_bot.core.number_words import parse_count
from storage.models import Person
from tests.support import people
from tests.support.transcript import Chat

# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    ("3", 3), (" 12 ", 12), ("three", 3), ("Three", 3), ("trois", 3), ("tres", 3), ("три", 3),
    ("ثلاثة", 3), ("ثلاث", 3), ("٣", 3), ("۳", 3), ("١٢", 12), ("zero", 0), ("zéro", 0), ("cero", 0),
    ("ноль", 0), ("صفر", 0), ("dix-sept", 17), ("dix sept", 17), ("dieciséis", 16), ("dieciseis", 16),
    ("семнадцать", 17), ("twenty", 20), ("vingt", 20), ("veinte", 20), ("двадцать", 20), ("عشرون", 20),
    ("eleven", 11), ("onze", 11), ("once", 11), ("одиннадцать", 11), ("أحد عشر", 11), ("اثنا عشر", 12),
])
def test_counts_in_digits_of_any_script_or_in_words(text: str, value: int) -> None:
    assert parse_count(text) == value


@pytest.mark.parametrize("text", ["many", "", "3.5", "-1", "twenty one", "3 4", "1" * 12])
def test_what_is_not_a_count(text: str) -> None:
    assert parse_count(text) is None


# --- lists, kinds, yes/no --------------------------------------------------------------------

TAGS = tag_vocabulary(["land-rights", "environment", "indigenous-rights", "womens-rights", "detention"])


@pytest.mark.parametrize(("text", "tags"), [
    ("land rights", ["land-rights"]), ("Land-Rights", ["land-rights"]), ("land_rights", ["land-rights"]),
    ("LAND RIGHTS, environment", ["land-rights", "environment"]),
    ("land rights environment", ["land-rights", "environment"]),
    ("land rights; indigenous rights / detention", ["land-rights", "indigenous-rights", "detention"]),
    ("land rights and environment", ["land-rights", "environment"]),
    ("environment et detention", ["environment", "detention"]),
    ("land rights\nwomen's rights", ["land-rights", "womens-rights"]),
    ("environment, environment", ["environment"]),
])
def test_areas_of_work_with_spaces_and_any_separator(text: str, tags: list[str]) -> None:
    assert resolve(text, TAGS) == tags


def test_an_unknown_area_of_work_is_named() -> None:
    with pytest.raises(UnknownItems) as caught:
        resolve("land rights, cooking and sea fishing", TAGS)
    assert caught.value.items == ["cooking", "sea fishing"]


@pytest.mark.parametrize(("text", "kinds"), [
    ("MP", ["mp"]), ("mp", ["mp"]), ("M.P.", ["mp"]), ("member of parliament", ["mp"]), ("an MP", ["mp"]),
    ("lawyer", ["lawyer"]), ("a lawyer and a journalist", ["lawyer", "journalist"]),
    ("Lawyers, journalists", ["lawyer", "journalist"]), ("député", ["mp"]), ("avocat", ["lawyer"]),
    ("une journaliste", ["journalist"]), ("periodista", ["journalist"]), ("abogada", ["lawyer"]),
    ("diputado y periodista", ["mp", "journalist"]), ("журналист", ["journalist"]), ("адвокат", ["lawyer"]),
    ("депутат и юрист", ["mp", "lawyer"]), ("محامي", ["lawyer"]), ("صحفي", ["journalist"]),
    ("محامي وصحفي", ["lawyer", "journalist"]), ("نائب", ["mp"]), ("المحامي", ["lawyer"]),
])
def test_partner_kinds_in_every_language(text: str, kinds: list[str]) -> None:
    assert parse_kinds(text) == kinds


def test_an_unknown_kind_is_named() -> None:
    with pytest.raises(UnknownItems) as caught:
        parse_kinds("lawyer, priest")
    assert caught.value.items == ["priest"]


@pytest.mark.parametrize(("text", "value"), [
    ("yes", True), ("Yes", True), ("y", True), ("oui", True), ("sí", True), ("si", True), ("да", True),
    ("نعم", True), ("no", False), ("non", False), ("нет", False), ("لا", False), ("No.", False),
    ("maybe", None), ("", None),
])
def test_yes_or_no_in_every_language(text: str, value: bool | None) -> None:
    assert yes_or_no(text) is value


# --- through the chat ------------------------------------------------------------------------


async def test_onboarding_forgives_kind_areas_of_work_and_capacity(chat: Chat) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "partner")
    await chat.say("mo", f"/start {code}")
    chat.expect("mo", r"joining as a partner")
    chat.expect("mo", r"alias")
    await chat.say("mo", "Mo")
    question = chat.expect("mo", r"Are you an MP, a lawyer or a journalist\?")
    assert [label for label, _ in question.buttons[0]] == ["MP", "lawyer", "journalist"]
    assert "mp," not in question.text
    await chat.say("mo", "priest")
    chat.expect("mo", r"doesn't look right.*“priest”.*an MP, a lawyer, a journalist")
    await chat.say("mo", "Member of Parliament")
    chat.expect("mo", r"countries or regions")
    await chat.say("mo", "KE")
    chat.expect("mo", r"languages")
    await chat.say("mo", "en")
    chat.expect("mo", r"areas of work")
    await chat.say("mo", "land rights, cooking")
    problem = chat.expect("mo", r"doesn't look right.*“cooking”.*land-rights, environment")
    assert "land rights" not in problem.text  # the known item is not blamed
    await chat.say("mo", "Land Rights; environment")
    chat.expect("mo", r"How many")
    await chat.say("mo", "many")
    chat.expect("mo", r"doesn't look right.*“many”.*from 0 to 50")
    await chat.say("mo", "three")
    chat.expect("mo", r"time zone")
    await chat.say("mo", "UTC")
    chat.expect("mo", r"all set")
    with Session(chat.core.engine) as session:
        mo = session.exec(select(Person).where(Person.alias == "Mo")).one()
        assert (mo.kind, mo.expertise, mo.capacity) == ("mp", "land-rights,environment", 3)


async def test_hrd_wants_in_words_and_profile_shows_kinds_in_words(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat, wants="a lawyer and an MP", expertise="Land-Rights")
    await chat.say("amina", "/profile")
    profile = chat.expect("amina", r"wants: lawyer, MP")
    assert "expertise: land-rights" in profile.text
    await chat.say("amina", "/profile wants=journaliste expertise=land rights, womens rights")
    chat.expect("amina", r"Saved: expertise, wants")
    await chat.say("amina", "/profile wants=priest")
    chat.expect("amina", r"Nothing was changed: wants.*“priest”.*an MP, a lawyer, a journalist")
    await chat.say("amina", "/profile notes_over_telegram=oui")
    chat.expect("amina", r"Saved: notes_over_telegram")
    await chat.say("amina", "/profile notes_over_telegram=peut-être")
    chat.expect("amina", r"Nothing was changed: notes_over_telegram.*“peut-être”.*yes or no")
    with Session(chat.core.engine) as session:
        amina = session.exec(select(Person).where(Person.alias == "Amina")).one()
        assert (amina.wants, amina.expertise, amina.notes_over_telegram) == (
            "journalist", "land-rights,womens-rights", True)


async def test_audit_count_in_words(chat: Chat) -> None:
    await people.coordinator(chat)
    await chat.say("cora", "/audit two")
    chat.expect("cora", r"Latest 2 audit entries")
    await chat.say("cora", "/audit lots")
    chat.expect("cora", r"“lots”.*number from 1 to 200, like /audit 50")


async def test_invite_names_the_partner_kind_in_words(chat: Chat) -> None:
    await people.coordinator(chat)
    await chat.say("cora", "/invite partner Member of Parliament")
    chat.expect("cora", r"Invite for a new partner \(MP\)")
    await chat.say("cora", "/invite partner avocate")
    chat.expect("cora", r"Invite for a new partner \(lawyer\)")
    await chat.say("cora", "/invite partner priest")
    chat.expect("cora", r"“priest” is not a kind of partner.*/invite partner lawyer")
    await chat.say("cora", "/people")
    chat.expect("cora", r"People registered")
