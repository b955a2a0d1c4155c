"""Delivery: the core's :class:`Outgoing` becomes an encrypted Matrix message (or a redaction).

Never into an unencrypted room: the bot turns encryption on or, if it may not, opens a new
encrypted direct chat with the person and moves their identity there. A ``chat_id`` that is a
user id (``@…``) means "find or open an encrypted DM with that user". The transaction id is
derived from the outbox idempotency key, so a retry returns the first event instead of posting
twice. Homeserver errors become permanent or transient :class:`DeliveryError` (see ``errors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from nio import AsyncClient, RoomCreateResponse, RoomPreset, RoomRedactResponse, RoomSendResponse

from c2p_bot.core.events import DELETE_MESSAGE, DeliveryError, Outgoing, Priority
from c2p_bot.core.service import Core
from c2p_bot.transports.matrix import errors
from c2p_bot.transports.matrix.devices import DeviceTrust
from c2p_bot.transports.matrix.formatting import render_content, transaction_id
from c2p_bot.transports.matrix.receive import Receiver
from c2p_bot.transports.matrix.rooms import MEGOLM, RoomPolicy
from c2p_bot.transports.matrix.session import PLATFORM, MatrixSession
from c2p_bot.transports.matrix.sync import SyncLoop

log = logging.getLogger(__name__)

ENCRYPTION_STATE: dict[str, Any] = {
    "type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}
NEW_ROOM_TIMEOUT = 20.0  # seconds for a new direct chat to show up in a sync


class Delivery:
    """Sends the outbox's messages into encrypted direct chats."""

    def __init__(self, session: MatrixSession, core: Core, sync: SyncLoop, rooms: RoomPolicy,
                 devices: DeviceTrust, receiver: Receiver) -> None:
        self.session = session
        self.core = core
        self.sync = sync
        self.rooms = rooms
        self.devices = devices
        self.receiver = receiver

    async def deliver(self, message: Outgoing) -> str | None:
        ready = self.sync.ready
        if not ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), timeout=2)
            if not ready.is_set():
                raise DeliveryError("matrix: not connected to the homeserver yet", retry_after=5)
        client = self.session.require_client()
        if message.kind == DELETE_MESSAGE:
            await self._redact(client, message)
            return None
        moved_user: str | None = None
        if message.chat_id.startswith("@"):
            moved_user = message.chat_id
            room_id = await self._direct_room(moved_user)
        else:
            room_id = message.chat_id
        room = client.rooms.get(room_id)
        if room is None:
            if room_id in client.invited_rooms:
                raise DeliveryError("matrix: not joined yet", retry_after=5)
            raise DeliveryError("matrix: the bot is not in this room", permanent=True)
        others = self.rooms.others(room)
        if not others:
            raise DeliveryError("matrix: the person left this room", permanent=True)
        if room.member_count > 2 and not (
            message.kind == "reply" and not message.sensitive and message.priority == Priority.REPLY
        ):
            raise DeliveryError("matrix: not a direct chat (more than two members)", permanent=True)
        if not room.encrypted and not await self.rooms.ensure_encrypted(room):
            if len(others) != 1:
                raise DeliveryError("matrix: the room is not encrypted and encryption cannot be enabled",
                                    permanent=True)
            moved_user = others[0]
            room_id = await self._direct_room(moved_user, avoid=room_id)
            room = client.rooms[room_id]
        if not room.encrypted:  # never send in the clear
            raise DeliveryError("matrix: the room is not encrypted", permanent=True)
        await self.devices.refresh(room)
        strict = self.session.config.require_verified_devices and message.sensitive
        if strict:
            await self.devices.require_verified(room)
        content = render_content(message.text, message.buttons, message.priority)
        try:
            response = await client.room_send(
                room_id, "m.room.message", content,
                tx_id=transaction_id(message.idempotency_key),
                ignore_unverified_devices=not strict,
            )
        except errors.SEND_ERRORS as error:
            raise errors.from_exception("matrix send", error) from None
        if not isinstance(response, RoomSendResponse):
            raise errors.from_response("matrix send", response)
        self.receiver.remember_sent(response.event_id, message.text)
        if moved_user is not None:
            self.core.identity_moved(PLATFORM, moved_user, room_id)
        return response.event_id

    async def _redact(self, client: AsyncClient, message: Outgoing) -> None:
        try:
            response = await client.room_redact(
                message.chat_id, message.text, tx_id=transaction_id(message.idempotency_key))
        except errors.REQUEST_ERRORS as error:
            raise errors.from_exception("matrix redact", error) from None
        if isinstance(response, RoomRedactResponse):
            return
        if response.status_code == "M_NOT_FOUND":
            return  # already gone
        raise errors.from_response("matrix redact", response)

    async def _direct_room(self, user_id: str, avoid: str | None = None) -> str:
        """An encrypted direct chat with ``user_id``: an existing one, or a new one."""
        client = self.session.require_client()
        for room_id, room in client.rooms.items():
            if room_id != avoid and room.encrypted and set(room.users) == {self.session.user_id, user_id}:
                return room_id
        try:
            response = await client.room_create(
                is_direct=True,
                preset=RoomPreset.trusted_private_chat,
                invite=[user_id],
                initial_state=[ENCRYPTION_STATE],
            )
        except errors.REQUEST_ERRORS as error:
            raise errors.from_exception("matrix create room", error) from None
        if not isinstance(response, RoomCreateResponse):
            raise errors.from_response("matrix create room", response)
        room_id = response.room_id
        log.info("matrix: opened an encrypted direct chat %s", room_id)
        known = await self.sync.wait_for(
            lambda: room_id in client.rooms and client.rooms[room_id].encrypted
            and user_id in client.rooms[room_id].users,
            timeout=NEW_ROOM_TIMEOUT,
        )
        if not known:
            raise DeliveryError("matrix: the new direct chat did not show up in time", retry_after=5)
        return room_id
