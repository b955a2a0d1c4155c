"""Incoming updates turned into core events, however they arrived (long polling or webhook).

- A message becomes ``Incoming(event_id="m:CHAT:MESSAGE", sent_at=<when it was sent>)``.
- A button press is answered (the spinner stops), then becomes ``Incoming(text=<callback data>,
  is_button=True, event_id="cb:QUERY", sent_at=<when it reached the bot>)``, with the presser
  as sender; a press in someone else's private chat is answered in the presser's own chat.
- In groups only commands for this bot and replies to it are passed on (``is_private=False``).
- An in-memory LRU of update ids skips exact re-deliveries cheaply (the core de-duplicates
  by event id in any case).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime

from telegram import CallbackQuery, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from c2p_bot.core.events import Incoming
from c2p_bot.core.runtime import Runtime
from c2p_bot.transports.telegram.session import PLATFORM, Session

log = logging.getLogger(__name__)

SEEN_UPDATES = 4096  # update ids remembered to skip exact re-deliveries cheaply


class UpdateHandler:
    """Hands each update to the core once."""

    def __init__(self, session: Session, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self._seen: OrderedDict[int, None] = OrderedDict()

    async def handle(self, update: Update, received: datetime | None) -> None:
        """Handle one update; ``received`` is when it reached the bot (None: now)."""
        if not self._first_time(update.update_id):
            return
        try:
            if update.callback_query is not None:
                await self._on_callback(update.callback_query, received or self.session.core.clock.now())
            elif update.message is not None:
                await self._on_message(update.message)
        except Exception:  # every receiving loop calls this: one update that fails (a bug, the
            # database gone for a moment) must not stop the loop or the updates after it
            log.exception("telegram: could not handle update %s", update.update_id)

    async def handle_together(self, updates: Sequence[Update], received: datetime | None) -> None:
        """Handle updates handed over at once, in order (each reaches the runtime's queue before the
        next): the core takes a run of check-ins in one transaction. Returns when all are handled."""
        if len(updates) == 1:
            await self.handle(updates[0], received)
            return
        await asyncio.gather(*(self.handle(update, received) for update in updates))

    def _first_time(self, update_id: int) -> bool:
        if update_id in self._seen:
            return False
        self._seen[update_id] = None
        while len(self._seen) > SEEN_UPDATES:
            self._seen.popitem(last=False)
        return True

    async def _on_message(self, message: Message) -> None:
        chat, user = message.chat, message.from_user
        if user is not None and user.is_bot:
            return
        private = chat.type == ChatType.PRIVATE
        if not private and not self._addressed_in_group(message):
            return  # group chatter and service messages (members joining, ...) are not for us
        await self.runtime.handle(Incoming(
            platform=PLATFORM,
            sender_id=str(user.id if user is not None else chat.id),
            chat_id=str(chat.id),
            text=message.text or "",
            sent_at=message.date,  # when it was sent: a check-in counts then, not when read
            event_id=f"m:{chat.id}:{message.message_id}",
            message_id=str(message.message_id),
            is_private=private,
            language_hint=user.language_code if user is not None else None,
        ))

    def _addressed_in_group(self, message: Message) -> bool:
        """In groups only commands for this bot and replies to it count (what privacy mode lets
        through even when the bot is an admin and sees everything)."""
        if message.text and message.text.startswith("/"):
            _command, _at, name = message.text.split(maxsplit=1)[0].partition("@")
            return not name or name.lower() == (self.session.username or "").lower()
        replied = message.reply_to_message
        return bool(replied and replied.from_user and replied.from_user.id == self.session.app.bot.id)

    async def _on_callback(self, query: CallbackQuery, received: datetime) -> None:
        try:
            await query.answer()  # stop the spinner, whatever happens next
        except TelegramError as error:
            log.info("telegram: could not answer a button press (%s)", type(error).__name__)
        if not query.data:
            return
        presser = query.from_user
        chat = query.message.chat if query.message is not None else None
        if chat is None or (chat.type == ChatType.PRIVATE and chat.id != presser.id):
            # A private chat belongs to its user: anyone else is answered in their own chat.
            chat_id, private = presser.id, True
        else:
            chat_id, private = chat.id, chat.type == ChatType.PRIVATE
        await self.runtime.handle(Incoming(
            platform=PLATFORM,
            sender_id=str(presser.id),
            chat_id=str(chat_id),
            text=query.data,
            sent_at=received,  # a press has no date of its own: when it reached the bot
            event_id=f"cb:{query.id}",
            is_button=True,
            is_private=private,
        ))
