"""A c2p-bot on the Matrix transport against the test Synapse, and people talking to it.

``BotHarness`` owns the bot's database engine, keyring (one KEK for the whole test, so a
restart finds its secrets) and store directory; ``start()`` builds a fresh runtime and
transport over them, as a restarted process would. ``Human`` is a matrix-nio client with
its own store who opens a DM with the bot, says things and waits for decrypted answers.

The fixtures ``make_bot`` and ``make_human`` are re-exported by tests/matrix/conftest.py;
``trio`` onboards and matches a coordinator, an HRD and a partner; ``queue``, ``outbox_row``
and ``raw_timeline`` look at the outbox and at a room as the server holds it.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from nio import (
    AsyncClient,
    JoinResponse,
    MegolmEvent,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from c2p_bot.app import build_runtime
from c2p_bot.config import Config, parse_config
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.crypto import INTERACTIVE_PIN_PARAMS, Kek
from c2p_bot.core.events import Incoming
from c2p_bot.core.invites import create_invite
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.roles import Role
from c2p_bot.core.runtime import Runtime
from c2p_bot.transports.matrix import MatrixTransport, attach_matrix
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import Identity, OutboxMessage
from tests.support.synapse import MatrixClientFactory
from tests.synapse.helpers import DEFAULT_PASSWORD, create_encrypted_dm, key_chores, wait_for_member
from tests.synapse.homeserver import SynapseServer


def matrix_config(synapse: SynapseServer, user_id: str, store: Path, database_url: str,
                  **matrix: Any) -> Config:
    section: dict[str, Any] = {
        "homeserver": synapse.base_url,
        "user_id": user_id,
        "password": DEFAULT_PASSWORD,
        "store_path": str(store),
    }
    section.update(matrix)
    return parse_config({"database": {"url": database_url}, "matrix": section}, env={})


@dataclass
class BotHarness:
    """The bot's persistent parts (database, KEK, store) and its current incarnation."""

    synapse: SynapseServer
    engine: Engine
    config: Config
    clock: FakeClock
    kek: Kek = field(default_factory=Kek.generate)
    runtime: Runtime | None = None
    transport: MatrixTransport | None = None
    options: dict[str, Any] = field(default_factory=dict)
    handed_over: list[Incoming] = field(default_factory=list)  # every Incoming given to the core

    @property
    def user_id(self) -> str:
        assert self.config.matrix.user_id
        return self.config.matrix.user_id

    @property
    def keyring(self) -> Keyring:
        return Keyring(self.engine, self.kek)

    @property
    def core(self):  # type: ignore[no-untyped-def]
        assert self.runtime is not None
        return self.runtime.core

    async def start(self) -> MatrixTransport:
        runtime = build_runtime(self.config, self.engine, self.clock, self.keyring)
        runtime.core.services["pin_params"] = INTERACTIVE_PIN_PARAMS
        handle = runtime.handle

        async def recording_handle(incoming: Incoming) -> None:
            self.handed_over.append(incoming)
            await handle(incoming)

        runtime.handle = recording_handle  # type: ignore[method-assign]
        transport = attach_matrix(runtime, self.config.matrix, self.keyring, **self.options)
        await transport.start()
        await runtime.start()
        self.runtime, self.transport = runtime, transport
        return transport

    async def stop(self) -> None:
        """Stop like ``c2p-bot run`` on SIGTERM: no logout, the device and its store stay."""
        if self.runtime is not None:
            await self.runtime.stop()
        if self.transport is not None:
            await self.transport.stop()
        self.transport = None

    async def restart(self) -> MatrixTransport:
        await self.stop()
        return await self.start()

    def invite_code(self, role: Role, kind: str | None = None) -> str:
        """An invite as ``c2p-bot invite`` makes it."""
        with Session(self.engine) as session:
            code = create_invite(session, role=role, kind=kind, now=self.clock.now(),
                                 ttl=self.config.invites.ttl, issued_by=None)
            session.commit()
        return code

    async def tick(self) -> None:
        """Run the periodic jobs now (the sweeper raises and escalates alerts)."""
        assert self.runtime is not None
        await self.runtime.tick()


@dataclass
class Received:
    room_id: str
    event_id: str
    body: str
    formatted: str | None
    source: dict[str, Any]


class Human:
    """A person on their own matrix-nio client (own store and device) talking to the bot."""

    def __init__(self, client: AsyncClient, bot_user_id: str) -> None:
        self.client = client
        self.bot = bot_user_id
        self.room_id: str | None = None
        self.inbox: list[Received] = []
        self.undecryptable: list[MegolmEvent] = []
        self.read = 0

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    async def open_dm(self) -> str:
        """Create an encrypted DM inviting the bot and wait for the bot to join."""
        self.room_id = await create_encrypted_dm(self.client, self.bot)
        await wait_for_member(self.client, self.room_id, self.bot)
        self.client.rooms[self.room_id].members_synced = False  # pick up the bot's devices
        return self.room_id

    async def pump(self, timeout_ms: int = 500) -> SyncResponse:
        """One sync: key chores, auto-join the bot's invitations, collect the bot's messages."""
        client = self.client
        response = await client.sync(timeout=timeout_ms)
        if not isinstance(response, SyncResponse):
            raise RuntimeError(f"sync failed: {response}")
        await key_chores(client)
        for room_id in response.rooms.invite:
            if getattr(client.invited_rooms.get(room_id), "inviter", None) == self.bot:
                joined = await client.join(room_id)
                assert isinstance(joined, JoinResponse), joined
        for room_id, info in response.rooms.join.items():
            for event in info.timeline.events:
                if getattr(event, "sender", None) != self.bot:
                    continue
                if isinstance(event, RoomMessageText):
                    content = event.source.get("content", {})
                    self.inbox.append(Received(room_id, event.event_id, event.body,
                                               content.get("formatted_body"), event.source))
                elif isinstance(event, MegolmEvent):
                    self.undecryptable.append(event)
        return response

    async def expect(self, pattern: str, timeout: float = 20.0) -> Received:
        """Wait for an unread message from the bot matching ``pattern``; consume up to it."""
        deadline = time.monotonic() + timeout
        while True:
            for index in range(self.read, len(self.inbox)):
                if re.search(pattern, self.inbox[index].body, re.I | re.S):
                    self.read = index + 1
                    return self.inbox[index]
            if time.monotonic() > deadline:
                unread = "\n---\n".join(m.body for m in self.inbox[self.read:]) or "(nothing)"
                raise AssertionError(
                    f"{self.user_id} got no message matching {pattern!r}; unread:\n{unread}\n"
                    f"undecryptable: {len(self.undecryptable)}")
            await self.pump()

    async def say(self, text: str, *, room_id: str | None = None,
                  content: dict[str, Any] | None = None) -> str:
        room = room_id or self.room_id
        assert room is not None
        body = content or {"msgtype": "m.text", "body": text}
        response = await self.client.room_send(room, "m.room.message", body, ignore_unverified_devices=True)
        assert isinstance(response, RoomSendResponse), response
        return response.event_id

    async def ask(self, text: str, pattern: str, timeout: float = 20.0) -> Received:
        await self.say(text)
        return await self.expect(pattern, timeout)

    async def reply_to(self, message: Received, text: str, *, fallback: bool = False) -> str:
        """Reply to one of the bot's messages (with or without the legacy quote fallback)."""
        body = text
        if fallback:
            quoted = "\n".join(f"> {line}" for line in message.body.split("\n"))
            body = f"> <{self.bot}> {quoted[2:]}\n\n{text}"
        content = {"msgtype": "m.text", "body": body,
                   "m.relates_to": {"m.in_reply_to": {"event_id": message.event_id}}}
        return await self.say(body, room_id=message.room_id, content=content)

    async def press(self, label: str) -> str:
        """Send the command a "button" stands for: read from the hint line of the latest message."""
        for message in reversed(self.inbox):
            match = re.search(rf"↪ .*?{label}: (/[^·\n]+)", message.body, re.I)
            if match:
                await self.say(match.group(1).strip())
                return match.group(1).strip()
        raise AssertionError(f"no {label!r} command offered to {self.user_id}")

    def skip(self) -> None:
        self.read = len(self.inbox)


def fake_clock() -> FakeClock:
    """The core's clock, starting now (server timestamps are real); moved by tests."""
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


def local_name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


async def onboard_coordinator(bot: BotHarness, human: Human, alias: str) -> None:
    code = bot.invite_code(Role.COORDINATOR)
    await human.ask(f"/start {code}", r"choose an alias")
    await human.ask(alias, r"time zone")
    await human.ask("UTC", r"all set")


async def invite_code_via(coordinator: Human, what: str) -> str:
    message = await coordinator.ask(f"/invite {what}", r"/start \S+")
    match = re.search(r"/start (\S+)", message.body)
    assert match
    return match.group(1)


async def onboard_hrd(bot: BotHarness, human: Human, coordinator: Human, alias: str) -> None:
    code = await invite_code_via(coordinator, "hrd")
    steps = [(f"/start {code}", r"choose an alias"), (alias, r"which country"), ("KE", r"which languages"),
             ("en, sw", r"matched with"), ("lawyer", r"areas of work"), ("land-rights", r"time zone"),
             ("Africa/Nairobi", r"all set")]
    for text, answer in steps:
        await human.ask(text, answer)


async def onboard_partner(bot: BotHarness, human: Human, coordinator: Human, alias: str) -> None:
    code = await invite_code_via(coordinator, "partner lawyer")
    steps = [(f"/start {code}", r"choose an alias"), (alias, r"countries or regions"),
             ("KE", r"which languages"), ("en", r"areas of work"), ("land-rights", r"how many"),
             ("3", r"time zone"), ("Europe/London", r"all set")]
    for text, answer in steps:
        await human.ask(text, answer)


async def settle(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def trio(bot: BotHarness, make_human: HumanFactory) -> tuple[Human, Human, Human]:
    """Cora (coordinator), Amina (HRD) and Paul (partner), each onboarded in their own DM; matched."""
    cora = await make_human("cora", bot)
    await onboard_coordinator(bot, cora, "Cora")
    amina = await make_human("amina", bot)
    await onboard_hrd(bot, amina, cora, "Amina")
    paul = await make_human("paul", bot)
    await onboard_partner(bot, paul, cora, "Paul")
    await cora.ask("/match Amina Paul", r"asked Paul whether they will support Amina")
    await paul.expect(r"Amina")
    await paul.press("Accept")  # a match needs the partner's consent
    await cora.expect(r"Matched Amina with Paul")
    await paul.expect(r"matched with Amina")
    await amina.expect(r"matched with Paul")
    return cora, amina, paul


async def raw_timeline(client: AsyncClient, room_id: str) -> list[dict[str, Any]]:
    """The room's events as the server holds them (not decrypted by nio)."""
    path = f"/_matrix/client/v3/rooms/{quote(room_id)}/messages?dir=b&limit=200"
    response = await client.send("GET", path, None, {"Authorization": f"Bearer {client.access_token}"})
    try:
        payload = json.loads(await response.text())
    finally:
        response.release()
    assert response.status == 200, payload
    return list(payload["chunk"])


def queue(bot: BotHarness, chat_id: str, text: str, key: str, identity: Identity | None = None) -> None:
    with bot.core.session() as session:
        bot.core.outbox.to_chat(session, platform="matrix", chat_id=chat_id, text=text, now=bot.clock.now(),
                                key=key, person_id=identity.person_id if identity else None,
                                identity_id=identity.id if identity else None)
        bot.core.commit(session)


def _settled(row: OutboxMessage) -> bool:
    return row.delivered_at is not None or row.failed_at is not None


async def outbox_row(bot: BotHarness, key: str, timeout: float = 15.0,
                     until: Callable[[OutboxMessage], bool] = _settled) -> OutboxMessage:
    """The outbox row once ``until`` holds (by default: delivered or failed for good)."""
    deadline = time.monotonic() + timeout
    while True:
        with Session(bot.engine) as session:
            row = session.exec(select(OutboxMessage).where(OutboxMessage.idempotency_key == key)).one()
        if until(row) or time.monotonic() > deadline:
            return row
        await asyncio.sleep(0.1)


BotFactory = Callable[..., Awaitable[BotHarness]]
HumanFactory = Callable[..., Awaitable[Human]]


@pytest.fixture
async def make_bot(synapse: SynapseServer, tmp_path: Path) -> AsyncIterator[BotFactory]:
    """``await make_bot(database_url=None, start=True, **matrix_keys)`` -> a running bot."""
    bots: list[BotHarness] = []

    async def factory(database_url: str | None = None, start: bool = True,
                      options: dict[str, Any] | None = None, **matrix: Any) -> BotHarness:
        name = local_name("c2pbot")
        user_id = await asyncio.to_thread(synapse.register_user, name, DEFAULT_PASSWORD)
        url = database_url or f"sqlite:///{tmp_path / f'{name}.db'}"
        engine = make_engine(url)
        if database_url is None:
            upgrade(engine)
        config = matrix_config(synapse, user_id, tmp_path / f"{name}-store", url, **matrix)
        bot = BotHarness(synapse, engine, config, fake_clock(), options=options or {})
        bots.append(bot)
        if start:
            await bot.start()
        return bot

    yield factory
    for bot in bots:
        await bot.stop()
        bot.engine.dispose()


@pytest.fixture
async def make_human(matrix_client: MatrixClientFactory) -> AsyncIterator[HumanFactory]:
    """``await make_human("amina", bot)`` -> a person with their own client and a DM with the bot."""

    async def factory(name: str, bot: BotHarness | str, open_dm: bool = True) -> Human:
        human = Human(await matrix_client(name), bot if isinstance(bot, str) else bot.user_id)
        if open_dm:
            await human.open_dm()
        return human

    yield factory
