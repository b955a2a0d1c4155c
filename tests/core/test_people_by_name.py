"""People by name: aliases with spaces, dots and accents work in every command that takes a person
(/match and /unmatch), typed bare, quoted in any quotes, in any case; unknown names are named; an
ambiguous name or a missing one is answered with buttons, and pressing them completes the command.
Only people allowed to use the command ever see a name."""

from __future__ import annotations

import re

from c2p_bot.core.person_args import key, tokens
from c2p_bot.transports.memory import Delivered
from tests.support import people
from tests.support.transcript import Chat

UNKNOWN = r"^Sorry, I don't know that command\. Send /help to see what you can do\.$"


def labels(message: Delivered) -> list[str]:
    return [label for row in message.buttons for label, _payload in row]


def payloads(message: Delivered) -> list[str]:
    """What the buttons send: people by number, so a payload fits Telegram's 64 bytes."""
    return [payload for row in message.buttons for _label, payload in row]


async def cast(chat: Chat) -> None:
    """Cora (coordinator); HRDs Bea and María José; partners Hon. Otieno and Paul (lawyers)."""
    await people.coordinator(chat)
    await people.hrd(chat, "bea", alias="Bea")
    await people.hrd(chat, "maria", alias="María José")
    await people.partner(chat, "otieno", alias="Hon. Otieno")
    await people.partner(chat, "paul", alias="Paul")
    for user in ("cora", "bea", "maria", "otieno", "paul"):
        chat.skip(user)


async def test_match_and_unmatch_with_spaced_aliases_bare_or_quoted(chat: Chat) -> None:
    await cast(chat)
    await chat.say("cora", "/match Bea Hon. Otieno")
    chat.expect("cora", r"^I asked Hon\. Otieno whether they will support Bea \(offer #\d+\)")
    chat.expect("otieno", r"would you support Bea")
    await chat.press("otieno", "Accept")
    chat.expect("cora", r"Matched Bea with Hon\. Otieno")
    chat.skip("otieno")
    chat.skip("bea")
    for typed in ('"Bea" "Hon. Otieno"', "'bea' “hon otieno”", "«BEA» 'Hon. Otieno'", "bea HON OTIENO",
                  "‘Bea’ ‘Hon. Otieno’"):
        await chat.say("cora", f"/match {typed}")
        chat.expect("cora", r"^Bea and Hon\. Otieno are already matched\.$")
    await chat.say("cora", "/unmatch Bea Hon. Otieno")
    chat.expect("cora", r"^Unmatched Bea and Hon\. Otieno\.$")
    chat.expect("otieno", r"match with Bea has ended")
    chat.expect("bea", r"match with Hon\. Otieno has ended")
    chat.expect("cora", r"^New proposal #\d+: Bea ↔ Paul")  # the places freed are proposed again
    chat.expect("cora", r"^New proposal #\d+: María José ↔ Hon\. Otieno")

    await chat.say("cora", "/match maria jose hon. otieno")  # accents and case do not matter
    chat.expect("cora", r"^I asked Hon\. Otieno whether they will support María José")
    await chat.say("cora", '/unmatch "María José" Hon Otieno')
    chat.expect("cora", r"^María José and Hon\. Otieno are not matched\.$")
    await chat.say("cora", "/unmatch “MARIA JOSÉ” “Paul”")
    chat.expect("cora", r"^María José and Paul are not matched\.$")


async def test_an_unknown_name_is_named_with_an_example(chat: Chat) -> None:
    await cast(chat)
    await chat.say("cora", "/match Bea Nobody Here")
    reply = chat.expect("cora", r"^I don't know an active partner called “Nobody Here”\.\n"
                                r"For example: /match Bea (Hon\. Otieno|Paul)")
    assert labels(reply) == ["Hon. Otieno (lawyer)", "Paul (lawyer)"]  # a partner for Bea, to choose
    assert payloads(reply) and all(re.fullmatch(r"/match #\d+ #\d+", p) for p in payloads(reply))
    await chat.press("cora", "Paul")
    chat.expect("cora", r"^I asked Paul whether they will support Bea")
    chat.expect("paul", r"would you support Bea")
    await chat.say("cora", "/match Zed Paul")
    reply = chat.expect("cora", r"^I don't know an active defender called “Zed”\.\nFor example: /match ")
    assert "María José (KE)" in labels(reply)
    await chat.say("cora", "/match Paul Bea")  # the wrong way round: neither part is known
    chat.expect("cora", r"^I couldn't find the people you named in “Paul Bea”\.\n"
                        r"For example: /match (Bea|María José) ")
    await chat.say("cora", "/unmatch Zed")
    chat.expect("cora", r"^I don't know an active defender called “Zed”\.")
    chat.expect_nothing("paul")


async def test_an_ambiguous_name_offers_buttons(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat, "bea", alias="Bea")
    await people.hrd(chat, "beahon", alias="Bea Hon")
    await people.partner(chat, "hon", alias="Hon. Otieno")
    await people.partner(chat, "otieno", alias="Otieno")
    for user in ("cora", "bea", "beahon", "hon", "otieno"):
        chat.skip(user)
    # Two ways to split it: Bea + Hon. Otieno, or Bea Hon + Otieno.
    await chat.say("cora", "/match Bea Hon. Otieno")
    reply = chat.expect("cora", r"^“Bea Hon\. Otieno” could mean more than one person\. Which did you mean\?$")
    assert sorted(labels(reply)) == ["Bea Hon ↔ Otieno", "Bea ↔ Hon. Otieno"]
    chat.expect_nothing("hon")
    chat.expect_nothing("otieno")
    await chat.press("cora", "Bea Hon ↔ Otieno")
    chat.expect("cora", r"^I asked Otieno whether they will support Bea Hon")
    chat.expect("otieno", r"would you support Bea Hon")
    await chat.say("cora", '/match "Bea" "Hon. Otieno"')  # quotes settle it
    chat.expect("cora", r"^I asked Hon\. Otieno whether they will support Bea \(")
    chat.skip("hon")

    await chat.say("cora", "/unmatch Be Otie")  # only the start of names
    reply = chat.expect("cora", r"^Nobody is called exactly “Be”\. Which did you mean\?$")
    assert sorted(labels(reply)) == ["Bea Hon ↔ Otieno", "Bea ↔ Otieno"]
    await chat.press("cora", "Bea Hon ↔ Otieno")
    chat.expect("cora", r"^Bea Hon and Otieno are not matched\.$")  # the offer is not accepted yet


async def test_a_bare_match_offers_buttons_that_complete_it(chat: Chat) -> None:
    await cast(chat)
    await chat.say("cora", "/match")
    reply = chat.expect("cora", r"^Who needs a partner\? Choose a defender:$")
    assert labels(reply) == ["Bea (KE)", "María José (KE)"]
    assert all(re.fullmatch(r"/match #\d+", p) for p in payloads(reply))
    await chat.press("cora", "María José")
    reply = chat.expect("cora", r"^Choose a partner for María José:$")
    assert labels(reply) == ["Hon. Otieno (lawyer)", "Paul (lawyer)"]
    await chat.press("cora", r"Hon\. Otieno")
    chat.expect("cora", r"^I asked Hon\. Otieno whether they will support María José")
    await chat.press("otieno", "Accept")
    chat.expect("cora", r"Matched María José with Hon\. Otieno")
    await chat.say("cora", "/match")  # María José is matched: Bea, who still waits, comes first
    reply = chat.expect("cora", r"^Who needs a partner\? Choose a defender:$")
    assert labels(reply) == ["Bea (KE)", "María José (KE)"]
    await chat.say("cora", "/match María José")
    reply = chat.expect("cora", r"^Choose a partner for María José:$")
    assert labels(reply) == ["Paul (lawyer)"]  # not the partner she already has

    await chat.say("cora", "/unmatch")
    reply = chat.expect("cora", r"^Whose match should end\? Choose a defender:$")
    assert labels(reply) == ["María José (KE)"]
    await chat.press("cora", "María José")
    reply = chat.expect("cora", r"^Which partner should no longer be matched with María José\?$")
    assert labels(reply) == ["Hon. Otieno (lawyer)"]
    await chat.press("cora", "Hon")
    chat.expect("cora", r"^Unmatched María José and Hon\. Otieno\.$")
    chat.skip("cora")  # new proposals for the places freed
    await chat.say("cora", "/unmatch")
    reply = chat.expect("cora", r"^Nobody is matched right now\.$")
    assert labels(reply) == []


async def test_only_coordinators_see_names(chat: Chat) -> None:
    await cast(chat)
    for user in ("bea", "otieno"):
        for text in ("/match", "/match Bea Hon. Otieno", "/unmatch", "/unmatch Bea Hon. Otieno", "/match #2 #4"):
            await chat.say(user, text)
            reply = chat.expect(user, UNKNOWN)
            assert labels(reply) == []
    await chat.say("stranger", "/match")
    reply = chat.expect("stranger", r"^This is a private service")
    assert labels(reply) == []
    for user in ("cora", "maria", "paul"):
        chat.expect_nothing(user)



def test_names_compare_without_case_accents_or_punctuation() -> None:
    """What a phone keyboard changes (curly apostrophes, capitals, accents) does not change the name."""
    assert key("Hon. Otieno") == key("hon otieno") == key("HON.OTIENO") == "hon otieno"
    assert key("O’Neil") == key("o'neil") == key("ONeil")
    assert key("Jean-Paul  Ndiaye") == key("jean paul ndiaye")
    assert key("María José") == key("MARIA JOSE")
    assert [(t.text, t.quoted) for t in tokens('"Bea" ‘Hon. Otieno’ O\'Neil «Ana María» "stray')] == [
        ("Bea", True), ("Hon. Otieno", True), ("O'Neil", False), ("Ana María", True), ("stray", False)]
