"""Messages the bot could not decrypt: request the key, keep the event, try again.

An event is kept (ciphertext and ids only, also across restarts in ``c2p-undecryptable.json``)
until it decrypts — then it is handed over like any message — or until
``undecryptable_timeout``, when the sender is asked in that room, in their language, to send it
again.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nio import MatrixRoom, MegolmEvent, RoomMessageText
from nio.exceptions import EncryptionError, LocalProtocolError

from c2p_bot.core.i18n import N_, gettext_for
from c2p_bot.core.service import Core
from c2p_bot.transports.matrix import errors
from c2p_bot.transports.matrix.session import PLATFORM, MatrixSession

log = logging.getLogger(__name__)

PENDING_FILE = "c2p-undecryptable.json"

UNREADABLE = N_(
    "I could not read a message you sent me: it reached me encrypted with a key your app did not "
    "share with me. Please send it again."
)


@dataclass
class Undecryptable:
    room_id: str
    sender: str
    deadline: float  # wall-clock seconds
    source: dict[str, Any]


@dataclass
class Retried:
    """What a retry found: messages that decrypted now, and events whose time ran out."""

    decrypted: list[tuple[MatrixRoom, RoomMessageText]] = field(default_factory=list)
    expired: list[tuple[str, Undecryptable]] = field(default_factory=list)


class UndecryptableQueue:
    """Events waiting for their room key. ``count``: how many times a sender was asked to resend."""

    def __init__(self, session: MatrixSession, core: Core) -> None:
        self.session = session
        self.core = core
        self.count = 0
        self._pending: dict[str, Undecryptable] = {}

    @property
    def _path(self) -> Path:
        return self.session.store_path / PENDING_FILE

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._pending

    async def add(self, room: MatrixRoom, event: MegolmEvent) -> None:
        """Keep ``event`` and ask the other devices for its key."""
        if event.event_id in self._pending:
            return
        client = self.session.require_client()
        log.info("matrix: could not decrypt an event in %s; requesting the key", room.room_id)
        event.room_id = room.room_id
        deadline = time.time() + self.session.config.undecryptable_timeout.total_seconds()
        self._pending[event.event_id] = Undecryptable(room.room_id, event.sender, deadline, event.source)
        self.save()
        try:
            await client.request_room_key(event)
        except LocalProtocolError:
            pass  # already requested for this session
        except errors.REQUEST_ERRORS as error:
            log.warning("matrix: requesting a room key failed (%s)", type(error).__name__)

    def retry(self) -> Retried:
        """Try to decrypt every kept event again; what decrypted or expired leaves the queue."""
        found = Retried()
        if not self._pending:
            return found
        client = self.session.require_client()
        now = time.time()
        before = len(self._pending)
        for event_id, pending in list(self._pending.items()):
            decrypted: Any = None
            encrypted = MegolmEvent.from_dict(pending.source)
            if isinstance(encrypted, MegolmEvent):
                encrypted.room_id = pending.room_id
                try:
                    decrypted = client.decrypt_event(encrypted)
                except (EncryptionError, LocalProtocolError):
                    decrypted = None  # still no key
            if isinstance(decrypted, RoomMessageText):
                del self._pending[event_id]
                room = client.rooms.get(pending.room_id)
                if room is not None:
                    found.decrypted.append((room, decrypted))
            elif decrypted is not None or now >= pending.deadline:
                del self._pending[event_id]
                if decrypted is None:
                    found.expired.append((event_id, pending))
        if len(self._pending) != before:
            self.save()
        return found

    def ask_to_resend(self, event_id: str, pending: Undecryptable) -> None:
        self.count += 1
        log.warning("matrix: a message in %s stayed undecryptable; asking to resend", pending.room_id)
        role = self.core.person_role(PLATFORM, pending.sender)
        _ = gettext_for(role[2] if role else None)
        with self.core.session() as session:
            self.core.outbox.to_chat(
                session, platform=PLATFORM, chat_id=pending.room_id, text=_(UNREADABLE),
                now=self.core.clock.now(), key=f"matrix:undecryptable:{event_id}",
                person_id=role[0] if role else None,
            )
            self.core.commit(session)

    def load(self) -> None:
        try:
            raw = json.loads(self._path.read_text())
        except (OSError, ValueError):  # none yet, or unreadable: start empty
            return
        if not isinstance(raw, dict):
            return
        for event_id, item in raw.items():
            try:
                self._pending[event_id] = Undecryptable(**item)
            except TypeError:  # written by another version: drop it
                continue

    def save(self) -> None:
        """Undecryptable events survive a restart (they hold ciphertext and ids only)."""
        path = self._path
        temp = path.with_suffix(".tmp")
        temp.write_text(json.dumps({key: asdict(value) for key, value in self._pending.items()}))
        os.replace(temp, path)
