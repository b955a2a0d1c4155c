"""A little programme history for report and case-export tests, played through transcripts.

Cora (coordinator), Amina (HRD) and Paul (lawyer) are matched. Amina checks in on time (with a
note), then misses her next check-in: alert #1 (missed) reaches Paul, who acknowledges it ten
minutes later and writes in the logbook; Amina checks in late, which resolves it. Then she presses
panic: alert #2 reaches Paul and Cora at once; Cora acknowledges it five minutes later and resolves
it with a word for the logbook.
"""

from __future__ import annotations

from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.transcript import Chat

NOTE = "meeting the land commission at noon"
LOG = "called her sister, she is at the clinic"
RESOLVED = "she is safe at home"


async def history(chat: Chat) -> None:
    await people.trio(chat)
    await chat.say("amina", f"/checkin {NOTE}")
    chat.clock.advance(DAY + HOUR + MINUTE)  # past the next deadline and its grace
    await chat.tick()
    chat.expect("paul", r"ALERT #1", skipping=True)
    chat.clock.advance(10 * MINUTE)
    await chat.say("paul", "/ack 1")
    await chat.say("paul", f"/log 1 {LOG}")
    await chat.say("amina", "/checkin")  # late: resolves alert #1
    chat.clock.advance(HOUR)
    await chat.say("amina", "/panic")
    chat.expect("cora", r"PANIC ALERT #2", skipping=True)
    chat.clock.advance(5 * MINUTE)
    await chat.say("cora", "/ack 2")
    await chat.say("cora", f"/resolve 2 false-alarm {RESOLVED}")
    for user in ("cora", "amina", "paul"):
        chat.skip(user)
