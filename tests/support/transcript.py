"""Transcript helpers: ``await chat.say("amina", "/checkin")``, ``chat.expect("amina", r"next")``.

Transcripts are strict: ``expect`` takes the *next* unread message, so an unexpected one (a
duplicated alert, a stray reply) fails the test. Passing over messages is always explicit:
``expect(user, pattern, skipping=True)`` or ``skip(user)``.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime

from sqlalchemy.engine import Engine

from c2p_bot.app import build_runtime
from c2p_bot.config import Config
from c2p_bot.core.clock import Clock
from c2p_bot.core.crypto import INTERACTIVE_PIN_PARAMS, Kek
from c2p_bot.core.events import Incoming
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.runtime import Runtime
from c2p_bot.core.throttle import Throttle
from c2p_bot.transports.email import attach_email
from c2p_bot.transports.memory import Delivered, MemoryTransport

_ids = itertools.count(1)


class Chat:
    """Plays people talking to the bot through the memory transport."""

    def __init__(self, runtime: Runtime, transport: MemoryTransport) -> None:
        self.runtime = runtime
        self.transport = transport
        self.read: dict[str, int] = {}

    @property
    def core(self):  # type: ignore[no-untyped-def]
        return self.runtime.core

    @property
    def clock(self):  # type: ignore[no-untyped-def]
        return self.runtime.core.clock

    async def say(self, user: str, text: str, *, sent_at: datetime | None = None,
                  event_id: str | None = None, button: bool = False, private: bool = True,
                  chat_id: str | None = None, language_hint: str | None = None) -> None:
        """``user`` sends ``text``; then every due message is delivered."""
        incoming = Incoming(
            platform=self.transport.platform,
            sender_id=user,
            chat_id=chat_id or user,
            text=text,
            sent_at=sent_at or self.clock.now(),
            event_id=event_id or f"ev{next(_ids)}",
            message_id=str(next(_ids)),
            is_button=button,
            is_private=private,
            language_hint=language_hint,
        )
        await self.runtime.handle(incoming)
        await self.runtime.drain()

    async def press(self, user: str, label: str) -> None:
        """Press the button labelled ``label`` (regex) on the latest message that has one."""
        for message in reversed(self.transport.inbox[user]):
            for row in message.buttons:
                for text, payload in row:
                    if re.search(label, text, re.I):
                        await self.say(user, payload, button=True)
                        return
        raise AssertionError(f"no button {label!r} for {user}:\n{self.dump(user)}")

    async def tick(self) -> None:
        """Run the periodic jobs (sweeper) and deliver what they queued."""
        await self.runtime.tick()
        await self.runtime.drain()

    def unread(self, user: str) -> list[Delivered]:
        messages = self.transport.inbox[user]
        return messages[self.read.get(user, 0):]

    def expect(self, user: str, pattern: str, *, skipping: bool = False) -> Delivered:
        """The next unread message to ``user`` matches ``pattern`` (a regex, case-insensitive);
        mark it read and return it.

        Strict: an unread message before the one expected fails the test, so a duplicated or
        stray message cannot hide behind a later one. A test that means to pass over what came
        before says so: ``skipping=True`` passes over unread messages up to the first match,
        ``skip(user)`` marks everything so far as read.
        """
        start = self.read.get(user, 0)
        messages = self.transport.inbox[user]
        for index in range(start, len(messages)):
            if re.search(pattern, messages[index].text, re.I | re.S):
                if index > start and not skipping:
                    raise AssertionError(
                        f"{user} got {index - start} unexpected message(s) before the one matching "
                        f"{pattern!r} (expect them, or skip them on purpose with chat.skip({user!r}) "
                        f"or expect(..., skipping=True)):\n{self.dump(user, start, index)}\n"
                        f"=== expected:\n{messages[index].text}"
                    )
                self.read[user] = index + 1
                return messages[index]
        raise AssertionError(
            f"{user} got no message matching {pattern!r}; unread:\n{self.dump(user, start)}"
        )

    def expect_nothing(self, user: str) -> None:
        """``user`` has no unread message."""
        unread = self.unread(user)
        assert not unread, f"{user} got unexpected messages:\n{self.dump(user, self.read.get(user, 0))}"

    def skip(self, user: str) -> None:
        """Mark everything ``user`` got so far as read, on purpose."""
        self.read[user] = len(self.transport.inbox[user])

    def dump(self, user: str, start: int = 0, end: int | None = None) -> str:
        return "\n---\n".join(m.text for m in self.transport.inbox[user][start:end]) or "(nothing)"


def memory_chat(engine: Engine, config: Config, clock: Clock, kek: Kek | None = None) -> Chat:
    """A bot on ``engine`` talking through a memory transport, with fast PIN hashing and no throttle
    (``kek``: the key-encryption key, e.g. to reopen a database; a new one by default)."""
    runtime = build_runtime(config, engine, clock, Keyring(engine, kek or Kek.generate()))
    runtime.core.services["pin_params"] = INTERACTIVE_PIN_PARAMS
    runtime.throttle = Throttle(rate=1e9, burst=10**9)  # transcripts type fast; tests/reliability floods
    transport = MemoryTransport()
    runtime.add_transport(transport)
    if config.email.enabled:  # a real SMTP server on 127.0.0.1 (tests/support/smtp.py)
        attach_email(runtime, config.email)
    return Chat(runtime, transport)
