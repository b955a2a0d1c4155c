"""The sync loop: its own loop (not ``sync_forever``), with nio's key chores after each sync.

nio saves its sync token *before* the events are processed, so the loop keeps its own
"everything handed over" token in ``c2p-sync.json`` and the next start syncs from there; the
receiver and the core drop events they have seen. Failures are retried with the transports'
shared backoff; the loop ends only when the transport stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from nio import RoomEncryptionEvent, SyncResponse

from c2p_bot.transports.backoff import Backoff, sleep_unless_stopped
from c2p_bot.transports.matrix import errors
from c2p_bot.transports.matrix.devices import DeviceTrust
from c2p_bot.transports.matrix.receive import Receiver
from c2p_bot.transports.matrix.rooms import RoomPolicy
from c2p_bot.transports.matrix.session import MatrixSession

log = logging.getLogger(__name__)

SYNC_STATE_FILE = "c2p-sync.json"
SYNC_FILTER: dict[str, Any] = {"room": {"timeline": {"limit": 50}}}


class SyncLoop:
    """Syncs, hands each sync's events over, then does the key chores and keeps the token.

    ``ready`` is set once the first sync is handled; :meth:`wait_for` waits for a later sync
    to make a condition true (e.g. a new room to show up).
    """

    def __init__(self, session: MatrixSession, rooms: RoomPolicy, receiver: Receiver, devices: DeviceTrust,
                 *, timeout_ms: int) -> None:
        self.session = session
        self.rooms = rooms
        self.receiver = receiver
        self.devices = devices
        self.timeout_ms = timeout_ms
        self.ready = asyncio.Event()
        self._tick = asyncio.Event()

    # -- the "everything handed over" token ----------------------------------------------

    def _saved_token(self) -> str | None:
        try:
            state = json.loads((self.session.store_path / SYNC_STATE_FILE).read_text())
        except (OSError, ValueError):  # none yet, or unreadable: sync from nio's own token
            return None
        if not isinstance(state, dict) or state.get("device_id") != self.session.device_id:
            return None
        token = state.get("token")
        return token if isinstance(token, str) else None

    def _save_token(self, token: str) -> None:
        path = self.session.store_path / SYNC_STATE_FILE
        temp = path.with_suffix(".tmp")
        temp.write_text(json.dumps({"device_id": self.session.device_id, "token": token}))
        os.replace(temp, path)

    # -- syncing -------------------------------------------------------------------------

    async def first_sync(self, stop: asyncio.Event) -> bool:
        """The first sync (full state), retried until it works; ``False`` if stopped first."""
        client = self.session.require_client()
        since = self._saved_token()
        history = since is None and client.loaded_sync_token is None
        backoff = Backoff()
        while True:
            try:
                response = await client.sync(timeout=0, sync_filter=SYNC_FILTER, since=since, full_state=True)
            except errors.REQUEST_ERRORS as error:
                problem = type(error).__name__
            else:
                if isinstance(response, SyncResponse):
                    break
                problem = str(getattr(response, "status_code", "") or "sync failed")
            delay = backoff.next()
            log.warning("matrix: first sync failed (%s); retrying in %.0fs", problem, delay)
            if await sleep_unless_stopped(stop, delay):
                return False
        if history:
            self.rooms.mark_history(response.rooms.join)
        self.devices.baseline()
        await self.handle(response)
        self.rooms.review_at_start()
        self.ready.set()
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Sync until ``stop``; each failure waits the backoff (or the server's ``retry_after``)."""
        backoff = Backoff()
        while not stop.is_set():
            try:
                wait = await self._sync_once(backoff)
            except Exception:  # the loop's top level: a bug in one sync must not stop receiving
                log.exception("matrix: handling a sync response failed")
                wait = backoff.next()  # and a bug that repeats must not spin
            if wait and await sleep_unless_stopped(stop, wait):
                return

    async def _sync_once(self, backoff: Backoff) -> float:
        """One long-poll sync and its handling; how long to wait before the next."""
        client = self.session.require_client()
        try:
            response = await client.sync(timeout=self.timeout_ms, sync_filter=SYNC_FILTER)
        except errors.REQUEST_ERRORS as error:
            delay = backoff.next()
            log.warning("matrix: sync failed (%s); retrying in %.0fs", type(error).__name__, delay)
            return delay
        if not isinstance(response, SyncResponse):
            code = getattr(response, "status_code", None)
            if code == "M_UNKNOWN_TOKEN":
                log.error("matrix: the access token was revoked; nothing arrives until a restart")
            delay = backoff.next()
            wait: float = (getattr(response, "retry_after_ms", None) or 0) / 1000 or delay
            log.warning("matrix: sync refused (%s); retrying in %.0fs", code, wait)
            return wait
        backoff.reset()
        await self.handle(response)
        return 0.0

    async def handle(self, response: SyncResponse) -> None:
        """Handle one sync: invites, timelines, leaves; then key chores; then remember the token."""
        client = self.session.require_client()
        for room_id, info in response.rooms.invite.items():
            self.rooms.invited(room_id, info.invite_state)
        await self.rooms.answer_invites()
        for room_id, join_info in response.rooms.join.items():
            room = client.rooms.get(room_id)
            if room is None:
                continue
            # Once a room is encrypted, a message in the clear can only be forged (e.g. by the
            # homeserver): from then on only messages that decrypted are handled.
            encrypted = self.rooms.was_encrypted(room_id) or any(
                isinstance(event, RoomEncryptionEvent) for event in join_info.state)
            events = join_info.timeline.events
            for event in events[self.receiver.first_addressed(events):]:
                if isinstance(event, RoomEncryptionEvent):
                    encrypted = True
                try:
                    await self.receiver.on_timeline_event(room, event, encrypted)
                except Exception:  # the top of the per-event loop: one bad event must not lose the rest
                    log.exception("matrix: handling an event failed")
            await self.rooms.after_timeline(room)
        for room_id in response.rooms.leave:
            self.rooms.forget(room_id)
        await self._key_chores()
        await self.receiver.retry_undecryptable()
        self._save_token(response.next_batch)
        tick, self._tick = self._tick, asyncio.Event()
        tick.set()

    async def _key_chores(self) -> None:
        """What ``sync_forever`` does between syncs: to-device messages, key upload/query/claim."""
        client = self.session.require_client()
        async with self.session.keys_lock:
            try:
                await client.send_to_device_messages()
                if client.should_upload_keys:
                    await client.keys_upload()
                if client.should_query_keys:
                    await client.keys_query()
                if client.should_claim_keys:
                    await client.keys_claim(client.get_users_for_key_claiming())
            except errors.KEY_ERRORS as error:
                log.warning("matrix: key maintenance failed (%s)", type(error).__name__)
        self.devices.update()

    async def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait, sync by sync, until ``condition()`` holds; ``False`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tick.wait(), timeout=remaining)
        return True
