"""C1 — a coerced HRD's chat looks exactly like a free one's, in every state (DESIGN invariant 4).

The same situation is played twice, on two fresh bots on the same database backend: once the
HRD checks in with their check-in PIN, once with their duress PIN. The whole HRD-side chat —
texts, buttons, priorities, order, which of their messages were deleted — must be identical,
including ``/status``, ``/alerts`` and what arrives afterwards (reminders, the next check-in),
fresh, after a missed check-in (escalated and acknowledged or not) and after a panic.

Before the fix, a duress check-in after a missed one left the missed alert open, and the
coerced HRD's ``/status`` read "Open alerts: #1 (missed)." where a free one read "No open alerts."
The missed alert is now folded into the duress alert: it is closed as a check-in would close it,
but its recipients are told it continues as the duress alert, which goes to every step at once
and keeps repeating until a coordinator resolves it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from c2p_bot.config import Config
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.events import DELETE_MESSAGE, Incoming, Outgoing
from storage.engine import make_engine
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import CHECKIN_PIN, DURESS_PIN, HRD, pins, trio
from tests.support.queries import alerts
from tests.support.transcript import Chat, memory_chat

SITUATIONS = ["fresh", "missed", "missed-escalated", "missed-acked", "panic", "late-no-alert"]


@pytest.fixture
async def second_chat(second_url: str, config: Config) -> AsyncIterator[Chat]:
    """A second bot, built like ``chat`` (same fake start time), on its own database."""
    engine = make_engine(second_url)
    yield memory_chat(engine, config, FakeClock())
    engine.dispose()


class Recorder:
    """Everything the HRD's chat shows, in order, and where each HRD reply stands among all sends."""

    def __init__(self, chat: Chat) -> None:
        self.hrd: list[tuple[Any, ...]] = []
        self.everyone: list[tuple[str, str]] = []  # (chat, first line) of every send, in order
        self.incoming: dict[str, int] = {}
        handle, deliver = chat.runtime.handle, chat.transport.deliver

        async def recording_handle(incoming: Incoming) -> None:
            if incoming.chat_id == HRD:
                self.incoming[incoming.message_id or ""] = len(self.incoming)
            await handle(incoming)

        async def recording_deliver(message: Outgoing) -> str | None:
            result = await deliver(message)
            if message.kind != DELETE_MESSAGE:
                self.everyone.append((message.chat_id, message.text.split("\n", 1)[0]))
            if message.chat_id == HRD:
                if message.kind == DELETE_MESSAGE:  # which of the HRD's own messages went
                    self.hrd.append(("deleted", self.incoming.get(message.text)))
                else:
                    self.hrd.append(("message", message.text,
                                     [[(b.label, b.payload) for b in row] for row in message.buttons],
                                     int(message.priority)))
            return result

        chat.runtime.handle = recording_handle  # type: ignore[method-assign]
        chat.transport.deliver = recording_deliver  # type: ignore[method-assign]


async def _play(chat: Chat, situation: str, pin: str) -> Recorder:
    await trio(chat)
    await pins(chat, HRD)
    for user in ("cora", "paul", HRD):
        chat.skip(user)
    recorder = Recorder(chat)
    if situation.startswith("missed"):
        chat.clock.advance(DAY + HOUR + MINUTE)
        await chat.tick()
        chat.expect("paul", r"ALERT #1: Amina missed a check-in")
        if situation == "missed-escalated":
            chat.clock.advance(16 * MINUTE)
            await chat.tick()
            chat.expect("cora", r"ALERT #1: Amina missed")
        if situation == "missed-acked":
            await chat.say("paul", "/ack 1")
    elif situation == "panic":
        await chat.say(HRD, "/panic they are outside")
        chat.clock.advance(5 * MINUTE)
    elif situation == "late-no-alert":
        chat.clock.advance(DAY + 30 * MINUTE)  # due, within the grace period: no alert yet
        await chat.tick()
    await chat.say(HRD, f"/checkin {pin} at the office")
    await chat.say(HRD, "/status")
    await chat.say(HRD, "/alerts")
    await chat.say(HRD, "/help")
    chat.clock.advance(DAY - 20 * MINUTE)  # the next reminder
    await chat.tick()
    await chat.say(HRD, "/status")
    await chat.say(HRD, f"/checkin {CHECKIN_PIN}")
    await chat.say(HRD, "/status")
    return recorder


@pytest.mark.parametrize("situation", SITUATIONS)
async def test_duress_and_normal_checkins_leave_identical_hrd_chats(
        chat: Chat, second_chat: Chat, situation: str) -> None:
    normal = await _play(chat, situation, CHECKIN_PIN)
    duress = await _play(second_chat, situation, DURESS_PIN)

    assert duress.hrd == normal.hrd
    assert any(entry[0] == "deleted" for entry in normal.hrd)
    statuses = [entry[1] for entry in normal.hrd if entry[0] == "message" and "Next check-in due" in entry[1]]
    assert len(statuses) == 3
    if situation == "panic":
        assert all("Open alerts: panic (raised " in status for status in statuses)
    else:
        assert all("No open alerts." in status for status in statuses)

    # Only the duress run raised a duress alert, and it reached the partner and the coordinator.
    assert not [a for a in alerts(chat) if a.kind == "duress"]
    (alarm,) = [a for a in alerts(second_chat) if a.kind == "duress"]
    assert alarm.status == "open"
    # Passing over what the situation told them before (a panic, an acknowledgement).
    second_chat.expect("paul", rf"DURESS ALERT #{alarm.id}: Amina checked in with their duress PIN",
                       skipping=True)
    second_chat.expect("cora", rf"DURESS ALERT #{alarm.id}", skipping=True)
    # The coerced HRD's reply went out before the alarm to anyone else, as fast as a free one's.
    sends = duress.everyone
    reply_at = next(i for i, (to, line) in enumerate(sends) if to == HRD and line.startswith("Checked in."))
    first_alarm = next(i for i, (_to, line) in enumerate(sends) if "DURESS ALERT" in line)
    assert reply_at < first_alarm


@pytest.mark.parametrize("situation", ["missed", "missed-acked"])
async def test_a_missed_alert_is_folded_into_the_duress_alert(chat: Chat, situation: str) -> None:
    await _play(chat, situation, DURESS_PIN)
    missed, alarm = alerts(chat)[:2]
    assert (missed.kind, alarm.kind) == ("missed", "duress")
    assert missed.status == "resolved" and alarm.status == "open"
    # Partners are not told the HRD is safe: they are told the alert continues as the duress alert.
    told = chat.transport.inbox["paul"]
    assert not [m for m in told if "Alert #1 is resolved" in m.text]
    assert [m for m in told if f"Alert #1 about Amina continues as duress alert #{alarm.id}" in m.text]
    # Nobody but a coordinator ends the escalation: the duress alert keeps repeating until resolved.
    chat.skip("cora")
    chat.clock.advance(31 * MINUTE)
    await chat.tick()
    chat.expect("cora", rf"DURESS ALERT #{alarm.id}.*Reminder \d+")
    await chat.say("cora", f"/resolve {alarm.id} safe spoke to the family")
    assert [a.status for a in alerts(chat)[:2]] == ["resolved", "resolved"]
