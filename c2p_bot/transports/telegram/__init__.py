"""Telegram transport (python-telegram-bot 22), wired in with :func:`attach_telegram`.

Flow (diagram: ``README.md`` in this folder):

1. **Receiving.** Long polling by default: ``getUpdates`` with ``offset``; each update is
   handled *before* the next ``getUpdates`` confirms it, so a crash re-delivers rather than
   loses (the core de-duplicates by event id; an in-memory LRU of update ids skips exact
   re-deliveries cheaply). With ``telegram.webhook_url`` set, PTB's webhook server receives
   them instead (checked with a ``secret_token``, generated when not configured).
2. **To the core.** A message becomes ``Incoming(event_id="m:CHAT:MESSAGE", sent_at=<send
   time>)``; a button press becomes ``Incoming(text=<callback data>, is_button=True,
   event_id="cb:QUERY")`` after ``answerCallbackQuery``. Button payloads are command texts that
   the core checks like typed ones, with the presser as sender (a press in someone else's
   private chat is answered in the presser's own chat). In groups only commands and replies
   to the bot are passed on, with ``is_private=False``: the core answers once, then stays
   silent. Joining a group sends nothing.
3. **Sending.** The core writes replies to the outbox; the dispatcher (paced 30/s overall,
   1/s per chat, most urgent first) calls :meth:`TelegramTransport.deliver`: ``sendMessage``
   as plain text (split at 4096 UTF-16 units; buttons on the last part; callback data over 64
   bytes dropped; parts one per-chat interval apart) or ``deleteMessage``. Errors become
   ``DeliveryError``: 429 carries ``retry_after`` (no scope: Telegram does not say whether the
   limit was the chat's or the bot's); 403 and "chat not found" are permanent (the identity is
   marked unreachable and the message fails over); timeouts and 5xx are retried. A deletion
   Telegram refuses (past 48 hours) is a permanent failure; ``delete_after`` is clamped to 47 h.
   While not connected, ``deliver`` fails within a second ("telegram: not connected").
0. **Connecting.** ``start()`` returns at once; getMe, the default menu and polling/webhook are
   set up in the background with backoff, each failure one log line. ``caught_up`` is set once
   the updates that waited while the bot was down were handled (webhook mode: getWebhookInfo
   reports none pending and those pushed were handled). Button presses are dated when they
   reached the bot. Library log records are redacted (``c2p_bot.transports.redaction``).
4. **Menus.** ``setMyCommands``: ``start`` and ``help`` by default, and per private chat the
   commands of the person's role, refreshed after onboarding or a role change.
5. **Warning.** An HRD who joins on Telegram is told once that Telegram is not end-to-end
   encrypted and that Matrix is safer for high-risk users.

Usage (the composition root)::

    transport = attach_telegram(runtime, config.telegram)
    await transport.start()
    await runtime.start()
    ...
    await transport.stop()
    await runtime.stop()
"""

from c2p_bot.transports.telegram.session import ALLOWED_UPDATES, PLATFORM
from c2p_bot.transports.telegram.transport import TELEGRAM_PACING, TelegramTransport, attach_telegram

__all__ = ["ALLOWED_UPDATES", "PLATFORM", "TELEGRAM_PACING", "TelegramTransport", "attach_telegram"]
