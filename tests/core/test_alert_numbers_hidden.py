"""A defender's chat never shows an alert number (SECURITY.md, section 4: a coerced HRD).

Alert numbers are shared by the whole programme, and duress, wrong-PIN and failed proof-of-life
alerts are never shown to the defender. A coercer who read "alert #2" after a panic and
"alert #4" later could tell that a hidden alert (#3) went out in between — in a small programme,
that it was theirs. So the defender's messages name their alerts by kind and time, never by
number; partners and coordinators, who act on alerts by number, still see them."""

from __future__ import annotations

import re

from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import DURESS_PIN, pins, trio
from tests.support.transcript import Chat

ANY_NUMBER = re.compile(r"#\s*\u2068?\d")  # "#3", also when isolated for right-to-left text


async def test_the_defenders_chat_never_shows_an_alert_number(chat: Chat) -> None:
    await trio(chat)
    await pins(chat)
    await chat.say("amina", "/panic")  # alert #1
    chat.expect("paul", r"PANIC ALERT #1", skipping=True)
    await chat.say("amina", "/status")
    status = chat.expect("amina", r"Open alerts: panic \(raised ", skipping=True)
    await chat.say("cora", "/resolve 1 safe")
    chat.expect("amina", r"^An alert about you \(panic, raised .+\) is closed by Cora\. Outcome: Safe\.$")
    await chat.say("amina", f"/checkin {DURESS_PIN}")  # alert #2: hidden from the defender
    chat.expect("paul", r"DURESS ALERT #2", skipping=True)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()  # a missed check-in: alert #3
    chat.expect("paul", r"ALERT #3: Amina missed", skipping=True)
    await chat.say("amina", "/status")
    chat.expect("amina", r"Open alerts: missed check-in \(raised ", skipping=True)
    await chat.say("amina", "/panic")  # alert #4
    chat.expect("amina", r"^Alarm raised\. Your partners and the coordinators are being alerted now\.", skipping=True)
    seen = [message.text for message in chat.transport.inbox["amina"]]
    assert status.text in seen
    shown = [text for text in seen if ANY_NUMBER.search(text)]
    assert not shown, "alert numbers in the defender's chat:\n" + "\n---\n".join(shown)
