"""A getUpdates batch is handed to the core at once (issue 12, check-ins per second): its messages
are all in the runtime's queue, in order, before any is answered, so the core takes a run of
check-ins in one transaction; a button press goes alone, in its place (it is answered first)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from telegram import Update

from c2p_bot.core.events import Incoming
from c2p_bot.transports.telegram.polling import handed_together
from c2p_bot.transports.telegram.updates import UpdateHandler
from tests.telegram.support import eventually


def _message(update_id: int, user: int, text: str) -> Update:
    update = Update.de_json({"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_700_000_000, "text": text, "chat": {"id": user, "type": "private"},
        "from": {"id": user, "is_bot": False, "first_name": "U"}}}, None)
    assert update is not None
    return update


async def test_the_messages_of_a_batch_are_handed_over_at_once_in_order() -> None:
    handed: list[str] = []
    answered = asyncio.Event()

    class Runtime:  # the core thread stands still until told
        async def handle(self, incoming: Incoming) -> None:
            handed.append(f"{incoming.sender_id}:{incoming.text}")
            await answered.wait()

    handler = UpdateHandler(SimpleNamespace(), Runtime())  # type: ignore[arg-type]
    batch = [_message(10 + n, 100 + n % 3, f"/checkin {n}") for n in range(6)]
    together = asyncio.create_task(handler.handle_together(batch, None))
    await eventually(lambda: len(handed) == 6, timeout=2, what="all six handed over")
    assert handed == [f"{100 + n % 3}:/checkin {n}" for n in range(6)]
    assert not together.done()  # the batch is confirmed only once every message is handled
    answered.set()
    await asyncio.wait_for(together, 2)


def test_messages_go_together_and_a_button_press_alone() -> None:
    def update(update_id: int, button: bool = False) -> Any:
        return SimpleNamespace(update_id=update_id, callback_query=object() if button else None)

    batch = [update(1), update(2), update(3, True), update(4), update(5, True), update(6, True), update(7)]
    assert [[u.update_id for u in run] for run in handed_together(batch)] == [[1, 2], [3], [4], [5], [6], [7]]
    assert handed_together([]) == []
