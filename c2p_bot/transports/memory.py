"""A transport that keeps messages in memory: used by transcript tests and benchmarks."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from c2p_bot.core.events import DELETE_MESSAGE, DeliveryError, Outgoing


@dataclass
class Delivered:
    chat_id: str
    text: str
    buttons: list[list[tuple[str, str]]]
    priority: int
    idempotency_key: str
    message_id: str


@dataclass
class MemoryTransport:
    """Delivers into per-chat lists; can be told to fail for a chat."""

    platform: str = "memory"
    inbox: dict[str, list[Delivered]] = field(default_factory=lambda: defaultdict(list))
    failures: dict[str, DeliveryError] = field(default_factory=dict)
    sent_keys: list[str] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    connected: bool = True  # what the health view and metrics report (tests set it)
    _counter: int = 0

    async def deliver(self, message: Outgoing) -> str | None:
        error = self.failures.get(message.chat_id)
        if error is not None:
            raise error
        if message.kind == DELETE_MESSAGE:
            self.deleted.append((message.chat_id, message.text))
            return None
        self._counter += 1
        self.sent_keys.append(message.idempotency_key)
        self.inbox[message.chat_id].append(
            Delivered(
                chat_id=message.chat_id,
                text=message.text,
                buttons=[[(b.label, b.payload) for b in row] for row in message.buttons],
                priority=message.priority,
                idempotency_key=message.idempotency_key,
                message_id=str(self._counter),
            )
        )
        return str(self._counter)
