"""Room policy: which rooms the bot is in, and that they are encrypted direct chats.

Direct-chat invitations are joined, group invitations declined. A room whose members are all
unregistered is watched and left after ``stranger_timeout``; a room that grew past two members,
or that everybody else left, is left on the next sweep. The bot turns encryption on where it is
missing. Join times live in memory: a restart starts the stranger clock again.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from typing import Any

from nio import ErrorResponse, InviteMemberEvent, JoinResponse, MatrixRoom, RoomPutStateResponse

from c2p_bot.core.service import Core
from c2p_bot.transports.matrix import errors
from c2p_bot.transports.matrix.session import PLATFORM, MatrixSession

log = logging.getLogger(__name__)

MEGOLM = "m.megolm.v1.aes-sha2"
# A person's app may still send in the clear for a moment after the bot turned encryption on.
PLAINTEXT_GRACE_MS = 60_000
# Answers to a join that say the invitation is gone for good.
STALE_INVITE = ("M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN")


class RoomPolicy:
    """The bot's rooms: invitations, encryption, history marks, strangers and leaving."""

    def __init__(self, session: MatrixSession, core: Core) -> None:
        self.session = session
        self.core = core
        self.user_id = session.user_id
        self._history_before: dict[str, int] = {}  # first sync ever: room -> ms; older is history
        self._watch: dict[str, float] = {}  # room without a registered member -> since (monotonic)
        self._invites: dict[str, bool] = {}  # invites seen and not yet answered -> is_direct
        self._encryption_tried: set[str] = set()
        self._encrypted: set[str] = set()  # rooms known to be encrypted before the current sync
        self._enabled_encryption: dict[str, int] = {}  # rooms the bot encrypted -> when (ms)

    def others(self, room: MatrixRoom) -> list[str]:
        return [user for user in room.users if user != self.user_id]

    # -- what the receiving side asks ----------------------------------------------------

    def mark_history(self, room_ids: Iterable[str]) -> None:
        """First sync ever: what these rooms hold from before now is history, not addressed to us."""
        now_ms = int(time.time() * 1000)
        for room_id in room_ids:
            self._history_before[room_id] = now_ms

    def is_history(self, room_id: str, server_timestamp: int) -> bool:
        return server_timestamp < self._history_before.get(room_id, 0)

    def was_encrypted(self, room_id: str) -> bool:
        """Whether the room was known to be encrypted before the sync being handled."""
        return room_id in self._encrypted

    def in_plaintext_grace(self, room_id: str, server_timestamp: int) -> bool:
        """Whether a clear-text message came just after the bot itself turned encryption on."""
        return server_timestamp <= self._enabled_encryption.get(room_id, 0) + PLAINTEXT_GRACE_MS

    def watch_if_stranger(self, room_id: str, sender: str) -> None:
        if room_id not in self._watch and not self.core.is_known(PLATFORM, sender):
            self._watch[room_id] = time.monotonic()

    def review_at_start(self) -> None:
        """After a restart: watch every room that has no registered member (strangers' rooms)."""
        client = self.session.require_client()
        now = time.monotonic()
        for room_id, room in client.rooms.items():
            if not any(self.core.is_known(PLATFORM, user) for user in self.others(room)):
                self._watch.setdefault(room_id, now)

    # -- invitations ---------------------------------------------------------------------

    def invited(self, room_id: str, invite_state: Iterable[Any]) -> None:
        direct = False
        for event in invite_state:
            if isinstance(event, InviteMemberEvent) and event.state_key == self.user_id:
                direct = bool(event.content.get("is_direct"))
                break
        self._invites[room_id] = direct

    async def answer_invites(self) -> None:
        for room_id in list(self._invites):
            await self._answer_invite(room_id)

    async def _answer_invite(self, room_id: str) -> None:
        """Join direct chats (so ``/start CODE`` can arrive); decline invitations to groups."""
        client = self.session.require_client()
        direct = self._invites.get(room_id, False)
        invited = client.invited_rooms.get(room_id)
        members = len(invited.users) if invited is not None else 0
        try:
            if not direct and members > 2:
                log.info("matrix: declining an invitation to a group room %s", room_id)
                await client.room_leave(room_id)
                self._invites.pop(room_id, None)
                return
            response = await client.join(room_id)
        except errors.REQUEST_ERRORS as error:
            log.warning("matrix: answering an invitation failed (%s); retrying later", type(error).__name__)
            return
        if isinstance(response, JoinResponse):
            log.info("matrix: joined the direct chat %s", room_id)
            self._invites.pop(room_id, None)
            inviter = invited.inviter if invited is not None else None
            if inviter is None or not self.core.is_known(PLATFORM, inviter):
                self._watch.setdefault(room_id, time.monotonic())
        elif response.status_code in STALE_INVITE:
            log.info("matrix: invitation to %s no longer valid (%s)", room_id, response.status_code)
            self._invites.pop(room_id, None)

    # -- encryption ----------------------------------------------------------------------

    async def after_timeline(self, room: MatrixRoom) -> None:
        """After a sync's events for ``room``: remember it is encrypted, or try to make it so (once)."""
        if room.encrypted:
            self._encrypted.add(room.room_id)
        elif room.room_id not in self._encryption_tried:
            await self.ensure_encrypted(room)

    async def ensure_encrypted(self, room: MatrixRoom) -> bool:
        """Turn encryption on in a room that lacks it; whether the room is now encrypted."""
        if room.encrypted:
            return True
        client = self.session.require_client()
        self._encryption_tried.add(room.room_id)
        try:
            response = await client.room_put_state(room.room_id, "m.room.encryption", {"algorithm": MEGOLM})
        except errors.REQUEST_ERRORS as error:
            log.warning("matrix: enabling encryption failed (%s)", type(error).__name__)
            return False
        if not isinstance(response, RoomPutStateResponse):
            log.warning("matrix: could not enable encryption in %s (%s)", room.room_id, response.status_code)
            return False
        log.info("matrix: enabled encryption in %s", room.room_id)
        room.encrypted = True
        self._encrypted.add(room.room_id)
        self._enabled_encryption[room.room_id] = int(time.time() * 1000)
        client.encrypted_rooms.add(room.room_id)
        if client.store is not None:
            client.store.save_encrypted_rooms({room.room_id})
        return True

    # -- leaving -------------------------------------------------------------------------

    async def sweep(self) -> None:
        """Answer pending invitations; leave groups, empty rooms and strangers past the timeout."""
        client = self.session.require_client()
        await self.answer_invites()
        now = time.monotonic()
        timeout = self.session.config.stranger_timeout.total_seconds()
        for room_id, room in list(client.rooms.items()):
            others = self.others(room)
            if room.member_count > 2:
                await self._leave(room_id, "it is a group")
            elif not others:
                await self._leave(room_id, "everyone else left")
            elif room_id in self._watch:
                if any(self.core.is_known(PLATFORM, user) for user in others):
                    del self._watch[room_id]
                elif now - self._watch[room_id] >= timeout:
                    await self._leave(room_id, "a stranger did not register in time")

    async def _leave(self, room_id: str, why: str) -> None:
        client = self.session.require_client()
        try:
            response = await client.room_leave(room_id)
        except errors.REQUEST_ERRORS as error:
            log.warning("matrix: leaving %s failed (%s)", room_id, type(error).__name__)
            return
        if isinstance(response, ErrorResponse):
            log.warning("matrix: leaving %s failed (%s)", room_id, response.status_code)
            return
        log.info("matrix: left %s (%s)", room_id, why)
        with contextlib.suppress(*errors.REQUEST_ERRORS):  # forgetting is tidiness; we have left
            await client.room_forget(room_id)
        self.forget(room_id)

    def forget(self, room_id: str) -> None:
        if self.session.client is not None:
            self.session.client.rooms.pop(room_id, None)  # nio keeps left rooms otherwise
        self._watch.pop(room_id, None)
        self._history_before.pop(room_id, None)
        self._encryption_tried.discard(room_id)
        self._encrypted.discard(room_id)
