"""Map python-telegram-bot errors to the core's :class:`DeliveryError`.

- ``RetryAfter`` (429): retry after the given seconds, with no scope: Telegram does not say
  whether the limit was the chat's or the bot's, so the dispatcher judges from its own pacing.
- ``Forbidden`` (blocked, deactivated, never started, kicked) and ``BadRequest`` saying the chat
  or user does not exist: permanent, so the core marks the identity unreachable and fails over.
- ``TimedOut``, ``NetworkError``, 5xx and anything else: transient, retried with backoff.
- ``deleteMessage``: "message to delete not found" means already gone (done); "message can't
  be deleted" (past 48 hours) is a permanent failure of that deletion (see ``sending``).
- An update python-telegram-bot cannot read raises one of :data:`UNREADABLE_UPDATE` (see
  ``polling``).
"""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from c2p_bot.core.events import DeliveryError

# BadRequest descriptions that mean the chat (or user) is gone for good.
PERMANENT_BAD_REQUESTS = (
    "chat not found",
    "user not found",
    "peer_id_invalid",
    "chat_write_forbidden",
    "have no rights to send",
    "not enough rights to send",
    "user is deactivated",
    "bot was blocked",
    "group chat was deactivated",
)

# deleteMessage answers that mean "nothing left to delete": treat as done, never retry.
GONE_ON_DELETE = (
    "message to delete not found",
    "message identifier is not specified",
    "message_id_invalid",
)
# deleteMessage answers that mean "it is still there and will stay": past the 48 hours in which
# a bot may delete a message ("...for everyone"), or no right to delete it. A failure, not done.
REFUSED_DELETE = ("message can't be deleted",)

# What python-telegram-bot's ``de_json`` raises on an update of a shape it does not expect (a
# field missing, of the wrong type or out of range); ``get_updates`` re-raises it as it is.
UNREADABLE_UPDATE: tuple[type[Exception], ...] = (
    KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError,
)


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds to wait, whether PTB gives an int or a timedelta (it is changing over)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def is_gone_on_delete(error: BadRequest) -> bool:
    """The message to delete is not there (any more): the deletion has nothing left to do."""
    text = error.message.lower()
    return any(marker in text for marker in GONE_ON_DELETE)


def is_refused_delete(error: BadRequest) -> bool:
    """Telegram will not delete the message (too old, or no right to): it stays in the chat."""
    text = error.message.lower()
    return any(marker in text for marker in REFUSED_DELETE)


def to_delivery_error(error: TelegramError) -> DeliveryError:
    """The core's view of a failed Bot API call. Reasons carry Telegram's description only
    (never message text)."""
    description = error.message[:200]
    if isinstance(error, RetryAfter):
        return DeliveryError(f"telegram 429: {description}", retry_after=retry_after_seconds(error))
    if isinstance(error, Forbidden):
        return DeliveryError(f"telegram 403: {description}", permanent=True)
    if isinstance(error, ChatMigrated):
        return DeliveryError("telegram: group moved to a supergroup", permanent=True)
    if isinstance(error, BadRequest):  # (a subclass of NetworkError: test it first)
        lowered = description.lower()
        permanent = any(marker in lowered for marker in PERMANENT_BAD_REQUESTS)
        return DeliveryError(f"telegram 400: {description}", permanent=permanent)
    if isinstance(error, TimedOut):
        return DeliveryError("telegram: timed out")
    if isinstance(error, InvalidToken):
        return DeliveryError("telegram: the bot token was refused")
    return DeliveryError(f"telegram: {type(error).__name__}: {description}")
