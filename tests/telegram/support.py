"""Test harness: the real bot (core + Telegram transport) against the fake Bot API.

``TelegramBot`` starts, stops and restarts the runtime and the transport on one database;
the helpers below play people through the fake server: ``say`` (type and wait for the answer),
``press`` (press an inline button and wait), ``onboard_*`` (a whole onboarding by deep link),
and ``matched_trio`` (coordinator, HRD and partner onboarded and matched) for tests that need
registered people.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from c2p_bot.app import build_runtime
from c2p_bot.config import Config, parse_config
from c2p_bot.core.crypto import Kek
from c2p_bot.core.dispatcher import Pacing
from c2p_bot.core.events import Button, Priority
from c2p_bot.core.invites import create_invite
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.roles import Role
from c2p_bot.core.runtime import Runtime
from c2p_bot.transports.memory import MemoryTransport
from c2p_bot.transports.telegram import TelegramTransport, attach_telegram
from storage.models import Identity, OutboxMessage, Person
from tests.telegram_api import FakeBotApi, FakeUser, RecordedMessage


async def eventually(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll ``predicate`` (for database state, which the fake server cannot signal)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


class OffsetClock:
    """Wall-clock time plus an offset the test moves forward: retries and 429 pauses elapse for
    real, while check-in deadlines can be jumped to."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        self.offset += delta
        return self.now()


@dataclass
class Press:
    """An onboarding answer given by pressing the inline button with this label."""

    label: str


class TelegramBot:
    """The bot wired like ``c2p-bot run`` would, with the fake Bot API as Telegram."""

    def __init__(self, api: FakeBotApi, engine: Engine, kek: Kek, **telegram: Any) -> None:
        self.api = api
        self.engine = engine
        self.kek = kek
        self.clock = OffsetClock()
        self.config: Config = parse_config(
            {"telegram": {"token": api.token, "base_url": api.base_url, "poll_timeout": 5, **telegram}},
            env={},
        )
        self.memory: MemoryTransport | None = None
        self._runtime: Runtime | None = None
        self._transport: TelegramTransport | None = None

    @property
    def runtime(self) -> Runtime:
        assert self._runtime is not None, "bot not started"
        return self._runtime

    @property
    def transport(self) -> TelegramTransport:
        assert self._transport is not None, "bot not started"
        return self._transport

    async def start(self, *, pacing: Pacing | None = None, memory: bool = False,
                    runtime_first: bool = False, between: Callable[[], Any] | None = None,
                    connected: bool = True) -> None:
        """Build a fresh runtime and transport on the database, and start both. ``pacing``
        None is the production pacing (TELEGRAM_PACING), which the fake's limits expect."""
        runtime = build_runtime(self.config, self.engine, self.clock, Keyring(self.engine, self.kek))
        if memory:
            self.memory = MemoryTransport()
            runtime.add_transport(self.memory)
        transport = attach_telegram(runtime, self.config.telegram, pacing=pacing)
        dispatcher = runtime.dispatchers["telegram"]
        dispatcher.backoff_base, dispatcher.backoff_max = 0.2, 1.0  # shortened retry timings
        self._runtime, self._transport = runtime, transport
        if runtime_first:
            await runtime.start()
            if between is not None:
                between()
                await asyncio.sleep(0.1)  # the dispatcher picks the row up and waits for the transport
            await transport.start()
        else:
            await transport.start()
            await runtime.start()
        if connected:  # start() returns at once; most tests want Telegram connected first
            await eventually(lambda: transport.connected, timeout=10, what="telegram connected")

    async def stop(self) -> None:
        if self._transport is not None:
            await self._transport.stop()
        if self._runtime is not None:
            await self._runtime.stop()
        self._runtime = self._transport = None

    async def restart(self, **kwargs: Any) -> None:
        await self.stop()
        await self.start(**kwargs)

    # -- the database -------------------------------------------------------------------

    def session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def cli_invite(self, role: Role, kind: str | None = None) -> str:
        """An invite as ``c2p-bot invite --role ...`` makes it."""
        with self.session() as session:
            code = create_invite(session, role=role, kind=kind, now=self.clock.now(),
                                 ttl=self.config.invites.ttl, issued_by=None)
            session.commit()
        return code

    def enqueue(self, chat: FakeUser | int, text: str, key: str, *, kind: str = "reply",
                buttons: tuple[tuple[Button, ...], ...] = (), priority: int = Priority.REPLY) -> None:
        """Write an outbox row directly (as any core feature would) and wake the dispatcher."""
        chat_id = chat.id if isinstance(chat, FakeUser) else chat
        core = self.runtime.core
        with core.session() as session:
            core.outbox.to_chat(session, platform="telegram", chat_id=str(chat_id), text=text,
                                now=self.clock.now(), key=key, kind=kind, buttons=buttons,
                                priority=priority)
            core.commit(session)

    def outbox_row(self, key: str) -> OutboxMessage:
        with self.session() as session:
            return session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()

    def person(self, alias: str) -> Person:
        with self.session() as session:
            return session.exec(select(Person).where(Person.alias == alias)).one()

    def identity(self, user: FakeUser) -> Identity:
        with self.session() as session:
            return session.exec(select(Identity).where(
                Identity.platform == "telegram", Identity.platform_user_id == str(user.id))).one()

    # -- people ------------------------------------------------------------------------

    def user(self, name: str) -> FakeUser:
        return self.api.user(name)

    async def say(self, user: FakeUser, text: str, expect: str | None = None,
                  timeout: float = 10.0) -> RecordedMessage | None:
        """``user`` types ``text`` (dated by the bot's clock); wait for a reply matching ``expect``."""
        user.send_text(text, date=self.clock.now())
        if expect is None:
            return None
        return await self.api.wait_for_message(user, expect, timeout=timeout)

    async def press(self, user: FakeUser, message: RecordedMessage, label: str,
                    expect: str | None = None) -> RecordedMessage | None:
        """``user`` presses the button labelled ``label`` on ``message``; wait for ``expect``."""
        user.press(message, text=label)
        if expect is None:
            return None
        return await self.api.wait_for_message(user, expect)

    async def answer_questions(self, user: FakeUser, steps: list[tuple[str, str | Press]]) -> None:
        """Each step: wait for a question matching the pattern, then answer it (text or button)."""
        for question, reply in steps:
            asked = await self.api.wait_for_message(user, question)
            if isinstance(reply, Press):
                user.press(asked, text=reply.label)
            else:
                user.send_text(reply, date=self.clock.now())
        await self.api.wait_for_message(user, r"You're all set")

    async def invite_via(self, coordinator: FakeUser, what: str) -> str:
        """The coordinator's ``/invite``; returns the code from the t.me deep link in the reply."""
        reply = await self.say(coordinator, f"/invite {what}", r"Or they open: https://t\.me/")
        assert reply is not None and reply.text is not None
        link = re.search(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)", reply.text)
        assert link is not None, reply.text
        assert link.group(1) == self.api.bot_username
        return link.group(2)

    async def onboard_coordinator(self, name: str = "cora") -> FakeUser:
        user = self.user(name)
        user.send_text(f"/start {self.cli_invite(Role.COORDINATOR)}", date=self.clock.now())
        await self.answer_questions(user, [("Choose an alias", name.capitalize()),
                                           ("time zone", "UTC")])
        return user

    async def onboard_hrd(self, coordinator: FakeUser, name: str = "amina",
                          wants: str = "lawyer") -> FakeUser:
        code = await self.invite_via(coordinator, "hrd")
        user = self.user(name)
        user.send_text(f"/start {code}", date=self.clock.now())  # what the deep link sends
        await self.answer_questions(user, [
            ("Choose an alias", name.capitalize()),
            ("Which country", "KE"),
            ("Which languages", "en, sw"),
            ("Who would you like to be matched with", Press(wants)),
            ("Which areas of work", "land-rights"),
            ("Which time zone", "Africa/Nairobi"),
        ])
        return user

    async def onboard_partner(self, coordinator: FakeUser, name: str = "paul",
                              kind: str = "lawyer") -> FakeUser:
        code = await self.invite_via(coordinator, f"partner {kind}")
        user = self.user(name)
        user.send_text(f"/start {code}", date=self.clock.now())
        await self.answer_questions(user, [
            ("Choose an alias", name.capitalize()),
            ("Which countries or regions", "KE"),
            ("Which languages", "en"),
            ("Which areas of work", "land-rights"),
            ("How many defenders", "3"),
            ("Which time zone", "Europe/London"),
        ])
        return user

    async def matched_trio(self) -> tuple[FakeUser, FakeUser, FakeUser]:
        """Cora (coordinator), Amina (HRD) and Paul (partner, lawyer), onboarded and matched."""
        cora = await self.onboard_coordinator()
        amina = await self.onboard_hrd(cora)
        paul = await self.onboard_partner(cora)
        await self.say(cora, "/match Amina Paul", r"I asked Paul whether they will support Amina")
        offer = await self.api.wait_for_message(paul, r"would you support Amina")
        await self.press(paul, offer, "Accept", r"matched with Amina")
        await self.api.wait_for_message(cora, r"Matched Amina with Paul")
        await self.api.wait_for_message(amina, r"matched with Paul")
        return cora, amina, paul

    async def tick(self) -> None:
        """Run the sweeper now (as the alarm clock would), after moving the clock."""
        await self.runtime.tick()
