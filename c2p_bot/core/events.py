"""Transport-neutral events: what a transport hands the core, and what the core asks it to send."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

# Outbox rows of this kind ask the transport to delete a message: ``text`` is its platform id.
DELETE_MESSAGE = "delete_message"


class Priority(IntEnum):
    """Outbox priorities: lower is sent first.

    A reply to someone who just wrote goes first: it is one message per human action (and
    senders are throttled), it is what a person under stress waits for, and a coerced HRD's
    reply must not wait behind the duress alert their check-in raised (that delay would show).
    """

    REPLY = 0
    DURESS = 1
    PANIC = 5
    ESCALATION = 10
    # Beside the alerts, about them (a possible connectivity shutdown): shown like an alert, sent
    # after every alert already queued, so a burst's first alerts never wait behind it.
    ALERT_NOTICE = 11
    NOTICE = 20  # told to others: acknowledgements, pairings, reports
    REMINDER = 30


@dataclass(frozen=True)
class Button:
    """A button whose payload is the command it stands for (checked like a typed command)."""

    label: str
    payload: str


@dataclass(frozen=True)
class Incoming:
    """One message (or button press) from a platform user."""

    platform: str
    sender_id: str
    chat_id: str
    text: str
    sent_at: datetime | None = None  # when the platform says it was sent
    event_id: str | None = None  # de-duplication key, unique per platform
    message_id: str | None = None  # to delete the message later (PINs)
    is_button: bool = False
    is_private: bool = True
    language_hint: str | None = None  # the client's language setting, e.g. Telegram's "fr-CA"


@dataclass(frozen=True)
class Outgoing:
    """One message for a transport to deliver, read from the outbox."""

    outbox_id: int
    platform: str
    chat_id: str
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    priority: int = Priority.REPLY
    idempotency_key: str = ""
    kind: str = "reply"
    sensitive: bool = False
    alert_id: int | None = None
    person_id: int | None = None
    extra: dict[str, str] = field(default_factory=dict)


class DeliveryError(Exception):
    """A send failed. ``permanent`` errors (blocked, chat gone) make the identity unreachable.

    ``retry_after`` (a rate limit) is not a failed attempt: the message waits that long. With
    ``scope="transport"`` the whole transport pauses (a bot-wide flood limit); with ``"chat"`` only
    that chat; ``None`` lets the dispatcher judge from its own pacing of the chat.
    """

    def __init__(
        self,
        reason: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        scope: str | None = None,
    ):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.scope = scope
