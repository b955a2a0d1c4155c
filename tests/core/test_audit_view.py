"""/audit names people by alias (a forgotten person neutrally) and shows times in the reader's zone.

Transcripts on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re

from tests.support import people
from tests.support.transcript import Chat


async def test_audit_names_people_and_uses_the_readers_zone(chat: Chat) -> None:
    await people.trio(chat)
    await chat.say("cora", "/profile timezone=Africa/Nairobi")
    chat.skip("cora")
    await chat.say("cora", "/audit 50")
    text = chat.expect("cora", r"Latest \d+ audit entries").text
    assert not re.search(r"person:\d", text), text
    assert "Cora" in text and "Amina" in text and "Paul" in text
    # The fake clock starts at 09:00 UTC: Nairobi's wall clock (EAT) with UTC beside it.
    assert "2026-03-01 12:00 EAT (09:00 UTC)" in text, text
    assert "match created" in text and "hrd=Amina partner=Paul" in text, text


async def test_audit_shows_a_forgotten_person_neutrally(chat: Chat) -> None:
    await people.trio(chat)
    await chat.say("amina", "/forget confirm")
    chat.expect("amina", r"erased")
    chat.skip("cora")
    await chat.say("cora", "/audit 60")
    text = chat.expect("cora", r"Latest \d+ audit entries").text
    assert not re.search(r"anon:[0-9a-f]|person:\d", text), text
    assert "a forgotten person" in text, text
    assert "Amina" not in text, text
