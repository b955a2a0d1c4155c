"""A c2p-bot on the Matrix transport against the test Synapse, and people talking to it.

``BotHarness`` owns the bot's database engine, keyring (one KEK for the whole test, so a
restart finds its secrets) and store directory; ``start()`` builds a fresh runtime and
transport over them, as a restarted process would. ``Human`` is a matrix-nio client with
its own store who opens a DM with the bot, says things and waits for decrypted answers.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    JoinResponse,
    MegolmEvent,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)
from sqlalchemy.engine import Engine
from sqlmodel import Session

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
        transport = attach_matrix(runtime, self.config, self.keyring, **self.options)
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
             ("en, sw", r"paired with"), ("lawyer", r"areas of work"), ("land-rights", r"time zone"),
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


DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
