"""Every person reads the bot in their own language: onboarding, check-ins and alerts.

The expected words come from the catalogs themselves (a fragment of the translated message,
checked to differ from the English), so these tests fail when a language is missing or a
message is not rendered in its reader's language.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from c2p_bot.core.i18n import FSI, PDI, SUPPORTED_LANGUAGES, gettext_for
from c2p_bot.core.onboarding import WELCOME
from c2p_bot.core.roles import Role
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.queries import alerts, clock_of
from tests.support.transcript import Chat

ALERT = "🚨 ALERT #{id}: {alias} missed a check-in due {due}."
CHECKED_IN = "Checked in. Thank you. Your next check-in is due {due}."
OFFER = "Offer #{id}: would you support {hrd}, a human rights defender in {country}, as their {kind}?"


def fragment(language: str, msgid: str) -> str:
    """A regex for the longest literal stretch of ``msgid`` in ``language`` (translated, if not English)."""
    translated = gettext_for(language)(msgid)
    if language != "en":
        assert translated != msgid, f"{msgid!r} is not translated into {language}"
    longest = max(re.split(r"\{[^}]*\}", translated), key=len).strip()
    return re.escape(longest)


async def _matched(chat: Chat, language: str) -> None:
    await chat.say("cora", "/match Amina Paul")
    chat.expect("paul", fragment(language, OFFER), skipping=True)
    await chat.press("paul", re.escape(gettext_for(language)("Accept")))
    for user in ("cora", "amina", "paul"):
        chat.skip(user)


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
async def test_onboarding_a_checkin_and_an_escalation_in_each_language(chat: Chat, language: str) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "hrd")
    await chat.say("amina", f"/start {code}", language_hint=language)  # Telegram's language_code
    chat.expect("amina", fragment(language, WELCOME[Role.HRD]))
    for answer in ("Amina", "KE", "en, sw", "lawyer", "land-rights", "Africa/Nairobi"):
        await chat.say("amina", answer)
    chat.skip("amina")
    await people.partner(chat, language=language)
    await _matched(chat, language)

    await chat.say("amina", "/checkin")
    reply = chat.expect("amina", fragment(language, CHECKED_IN))
    assert gettext_for(language).when(clock_of(chat).next_due, "Africa/Nairobi") in reply.text

    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    alert = chat.expect("paul", fragment(language, ALERT), skipping=True)
    due = clock_of(chat).next_due
    assert gettext_for(language).when(due, "Europe/London") in alert.text  # the reader's zone and way


async def test_an_arabic_speaking_defender_alerts_a_french_speaking_partner_in_french(chat: Chat) -> None:
    await people.coordinator(chat, language="ar")
    await people.hrd(chat, language="ar")
    await people.partner(chat, language="fr")
    await _matched(chat, "fr")
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    alert = chat.expect("paul", fragment("fr", ALERT), skipping=True)
    assert FSI not in alert.text  # French reads left to right: nothing to isolate
    assert "Amina" in alert.text
    chat.clock.advance(16 * MINUTE)  # no acknowledgement: the coordinators, in Arabic
    await chat.tick()
    to_coordinator = chat.expect("cora", fragment("ar", ALERT), skipping=True)
    assert f"{FSI}Amina{PDI}" in to_coordinator.text  # the Latin alias keeps its place in Arabic
    assert len(alerts(chat)) == 1


async def test_a_person_changes_language_while_joining_and_later(chat: Chat) -> None:
    await people.coordinator(chat)
    code = await people.invite_via(chat, "cora", "hrd")
    await chat.say("amina", f"/start {code}")  # no hint (Matrix, console): English first
    welcome = chat.expect("amina", fragment("en", WELCOME[Role.HRD]))
    assert [label for row in welcome.buttons for label, _payload in row] == [
        "Français", "Español", "العربية", "Русский"]
    chat.expect("amina", r"What should we call you")
    await chat.press("amina", "^Español$")
    chat.expect("amina", fragment("es", "From now on I will write to you in {language}."))
    chat.expect("amina", fragment("es", "What should we call you? Choose an alias."))  # asked again
    await chat.say("amina", "Amina")
    chat.expect("amina", fragment("es", "Which country do you work in?"))
    await chat.say("amina", "/language russian")
    chat.expect("amina", fragment("ru", "From now on I will write to you in {language}."))
    chat.expect("amina", fragment("ru", "Which country do you work in?"))
    await chat.say("amina", "/language klingon")
    chat.expect("amina", fragment("ru", "I don't speak “{language}” yet. Choose one of these:"))


async def test_a_moment_is_written_the_readers_way() -> None:
    moment = datetime.fromisoformat("2026-03-01T09:00:00+00:00")
    assert gettext_for("en").when(moment, "Africa/Nairobi") == "2026-03-01 12:00 EAT (09:00 UTC)"
    assert gettext_for("fr").when(moment, "Africa/Nairobi").startswith("1 mars 2026 12:00")
    assert "мар" in gettext_for("ru").when(moment, "Europe/Moscow")
