"""Receiving: room timeline events become the core's :class:`Incoming`.

What happened in a room before the bot's invitation is history and is not handled. In an
encrypted room only messages that decrypted are handled (a clear-text one there can only be
forged, e.g. by the homeserver), except just after the bot itself turned encryption on. A reply
to one of the bot's alerts that names exactly one ``/ack N`` becomes ``/ack N``. Event ids are
remembered so a re-delivered event is handed over once (the core de-duplicates too).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from nio import MatrixRoom, MegolmEvent, RoomGetEventResponse, RoomMemberEvent, RoomMessageText

from c2p_bot.core.events import Incoming
from c2p_bot.core.runtime import Runtime
from c2p_bot.transports.matrix import errors
from c2p_bot.transports.matrix.devices import DeviceTrust
from c2p_bot.transports.matrix.formatting import (
    ack_command_in,
    in_reply_to,
    is_command,
    is_edit,
    quoted_fallback,
    strip_reply_fallback,
)
from c2p_bot.transports.matrix.rooms import RoomPolicy
from c2p_bot.transports.matrix.session import PLATFORM, MatrixSession
from c2p_bot.transports.matrix.undecryptable import UndecryptableQueue

log = logging.getLogger(__name__)

HANDLED_MEMORY = 5000  # recent event ids handed over
SENT_MEMORY = 2000  # the bot's recent events and the /ack each names


class Receiver:
    """Hands decrypted text messages addressed to the bot to the core, once each."""

    def __init__(self, runtime: Runtime, session: MatrixSession, rooms: RoomPolicy, devices: DeviceTrust,
                 undecryptable: UndecryptableQueue) -> None:
        self.runtime = runtime
        self.core = runtime.core
        self.session = session
        self.user_id = session.user_id
        self.rooms = rooms
        self.devices = devices
        self.undecryptable = undecryptable
        self.ignored_plaintext = 0
        self._handled: OrderedDict[str, None] = OrderedDict()  # recent event ids
        self._acks: OrderedDict[str, str] = OrderedDict()  # our event id -> "/ack N" or ""

    def _first_time(self, event_id: str) -> bool:
        if event_id in self._handled:
            return False
        self._handled[event_id] = None
        while len(self._handled) > HANDLED_MEMORY:
            self._handled.popitem(last=False)
        return True

    def remember_sent(self, event_id: str, text: str) -> None:
        """One of the bot's own messages: a reply to it may mean its ``/ack N``."""
        self._acks[event_id] = ack_command_in(text) or ""
        while len(self._acks) > SENT_MEMORY:
            self._acks.popitem(last=False)

    def first_addressed(self, events: list[Any]) -> int:
        """Index of the first timeline event addressed to the bot.

        When a timeline holds the bot's own invitation (or, failing that, its join), what came
        before it is history from before the bot was in the room and is not handled; messages
        sent while the invitation was pending are (the person wrote them to the bot).
        """
        invite = join = None
        for index, event in enumerate(events):
            if isinstance(event, RoomMemberEvent) and event.state_key == self.user_id:
                if event.membership == "invite":
                    invite = index
                elif event.membership == "join" and event.prev_membership != "join":
                    join = index
        mark = invite if invite is not None else join
        return 0 if mark is None else mark + 1

    async def on_timeline_event(self, room: MatrixRoom, event: Any, encrypted: bool) -> None:
        """One timeline event of ``room``; ``encrypted``: the room was encrypted when it was sent."""
        if isinstance(event, RoomMemberEvent):
            return
        sender = getattr(event, "sender", None)
        if sender is None or sender == self.user_id:
            return
        if self.rooms.is_history(room.room_id, getattr(event, "server_timestamp", 0)):
            return
        if isinstance(event, MegolmEvent):
            if event.event_id not in self._handled:
                await self.undecryptable.add(room, event)
        elif isinstance(event, RoomMessageText):
            if (encrypted and not event.decrypted
                    and not self.rooms.in_plaintext_grace(room.room_id, event.server_timestamp)):
                self.ignored_plaintext += 1
                log.warning("matrix: ignoring an unencrypted message in the encrypted room %s", room.room_id)
                return
            await self.on_text(room, event)

    async def retry_undecryptable(self) -> None:
        """Hand over what decrypts now; ask the senders of what never will to send it again."""
        found = self.undecryptable.retry()
        for room, event in found.decrypted:
            await self.on_text(room, event)
        for event_id, pending in found.expired:
            if self._first_time(event_id):
                self.undecryptable.ask_to_resend(event_id, pending)

    async def on_text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        content = event.source.get("content") or {}
        if is_edit(content) or not self._first_time(event.event_id):
            return
        reply_to = in_reply_to(content)
        text = strip_reply_fallback(event.body) if reply_to else event.body
        if reply_to and not is_command(text):
            ack = await self._ack_for_reply(room.room_id, reply_to, event.body)
            if ack:
                text = ack
        self.rooms.watch_if_stranger(room.room_id, event.sender)
        if (self.session.config.require_verified_devices
                and not await self.devices.from_verified_device(room, event)):
            return
        incoming = Incoming(
            platform=PLATFORM,
            sender_id=event.sender,
            chat_id=room.room_id,
            text=text,
            sent_at=datetime.fromtimestamp(event.server_timestamp / 1000, UTC),
            event_id=event.event_id,
            message_id=event.event_id,
            is_private=room.member_count <= 2,
        )
        await self.runtime.handle(incoming)

    async def _ack_for_reply(self, room_id: str, event_id: str, body: str) -> str | None:
        """``/ack N`` when a reply answers one of the bot's alerts, else ``None``."""
        if event_id in self._acks:
            return self._acks[event_id] or None
        client = self.session.require_client()
        try:
            response = await client.room_get_event(room_id, event_id)
        except errors.REQUEST_ERRORS as error:
            log.warning("matrix: fetching a replied-to event failed (%s)", type(error).__name__)
            response = None
        if isinstance(response, RoomGetEventResponse):
            replied = response.event
            if getattr(replied, "sender", None) != self.user_id:
                return None
            if isinstance(replied, RoomMessageText):
                return ack_command_in(replied.body)
        sender, quoted = quoted_fallback(body)  # the client's quote, if it still sends one
        return ack_command_in(quoted) if sender == self.user_id else None
