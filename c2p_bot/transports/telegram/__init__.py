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
   bytes dropped) or ``deleteMessage``. Errors become ``DeliveryError``: 429 pauses only that
   chat; 403 and "chat not found" are permanent (the identity is marked unreachable and the
   message fails over to the person's other identities); timeouts and 5xx are retried.
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

from c2p_bot.transports.telegram.transport import (
    ALLOWED_UPDATES,
    PLATFORM,
    TELEGRAM_PACING,
    TelegramTransport,
    attach_telegram,
)

__all__ = ["ALLOWED_UPDATES", "PLATFORM", "TELEGRAM_PACING", "TelegramTransport", "attach_telegram"]
