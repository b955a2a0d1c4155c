"""Sending and deleting: what the dispatcher's ``deliver`` does on Telegram.

``sendMessage`` as plain text, split at 4096 UTF-16 units, buttons on the last part, parts one
per-chat interval apart; a retry after a failure in the middle sends only the missing parts.
``deleteMessage`` for every part; already gone counts as done, a refusal (past Telegram's 48
hours) is a permanent failure. Every Bot API error becomes a ``DeliveryError`` (see ``errors``).
"""

from __future__ import annotations

from telegram import LinkPreviewOptions
from telegram.error import BadRequest, TelegramError

from c2p_bot.core.dispatcher import Pacing
from c2p_bot.core.events import DELETE_MESSAGE, DeliveryError, Outgoing
from c2p_bot.transports.telegram.errors import is_gone_on_delete, is_refused_delete, to_delivery_error
from c2p_bot.transports.telegram.formatting import build_keyboard, split_text
from c2p_bot.transports.telegram.session import Session

NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class Sender:
    """Delivers outbox messages through the session's bot."""

    def __init__(self, session: Session, pacing: Pacing) -> None:
        self.session = session
        self.pacing = pacing
        self._partial: dict[str, list[int]] = {}  # message ids already sent of a split message

    async def deliver(self, message: Outgoing) -> str | None:
        """Send (or delete) one message; returns the Telegram message id(s), comma-separated
        when a long text went out in several parts."""
        await self.session.wait_ready()
        try:
            chat_id = int(message.chat_id)
        except ValueError:
            raise DeliveryError("telegram: not a Telegram chat id", permanent=True) from None
        if message.kind == DELETE_MESSAGE:
            await self._delete(chat_id, message.text)
            return None
        return await self._send(chat_id, message)

    async def _send(self, chat_id: int, message: Outgoing) -> str | None:
        """Send the parts of a message. Parts after the first wait the per-chat interval, and
        so does the return after the last, so that the chat's next message (which the
        dispatcher paces from the start of this send) keeps Telegram's one a second."""
        chunks = split_text(message.text)
        markup = build_keyboard(message.buttons)
        if not chunks:
            if markup is None:
                return None
            chunks = ["…"]
        key = message.idempotency_key or f"outbox:{message.outbox_id}"
        sent = self._partial.pop(key, [])
        for index in range(len(sent), len(chunks)):
            last = index == len(chunks) - 1
            if index > 0 and await self.session.sleep(self.pacing.per_chat_interval):
                self._partial[key] = sent
                raise DeliveryError("telegram: stopping in the middle of a long message")
            try:
                result = await self.session.app.bot.send_message(
                    chat_id,
                    chunks[index],
                    reply_markup=markup if last else None,
                    link_preview_options=NO_PREVIEW,
                    protect_content=message.sensitive,
                )
            except TelegramError as error:
                failure = to_delivery_error(error)
                if sent and not failure.permanent:
                    self._partial[key] = sent  # a retry sends only the missing parts
                raise failure from None
            sent.append(result.message_id)
        if len(chunks) > 1:
            await self.session.sleep(self.pacing.per_chat_interval)
        return ",".join(str(message_id) for message_id in sent)

    async def _delete(self, chat_id: int, ids: str) -> None:
        """Delete every part. Already gone counts as done; a refusal (past Telegram's 48 hours)
        is a permanent failure, raised once every part has been tried."""
        refused: DeliveryError | None = None
        for raw in ids.split(","):
            if not raw.strip().isdigit():
                continue
            try:
                await self.session.app.bot.delete_message(chat_id, int(raw))
            except BadRequest as error:
                if is_refused_delete(error):
                    refused = DeliveryError("telegram 400: message can no longer be deleted",
                                            permanent=True)
                elif not is_gone_on_delete(error):
                    raise to_delivery_error(error) from None
            except TelegramError as error:
                raise to_delivery_error(error) from None
        if refused is not None:
            raise refused
