"""The Matrix transport: matrix-nio with end-to-end encryption, one device for the bot's life.

:class:`MatrixTransport` puts the parts together and runs their loops; each part has one
concern and its own module:

* ``session`` — log in once, restore the same device afterwards, cross-signing;
* ``sync`` — the sync loop, nio's key chores, the "everything handed over" token;
* ``receive`` — timeline events to the core's ``Incoming``;
* ``rooms`` — invitations, encryption, strangers and groups, leaving;
* ``undecryptable`` — messages waiting for their room key;
* ``devices`` (with ``trust``) — the new-device watch and the verified-device rules;
* ``delivery`` — ``Outgoing`` to encrypted direct chats, errors to ``DeliveryError``;
* ``cross_signing`` and ``signing`` — the bot's cross-signing identity (matrix-org's
  ``canonicaljson`` and ``signedjson``); ``errors`` — what each handler expects nio to raise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nio import AsyncClient, MatrixRoom

from c2p_bot.core.dispatcher import Pacing
from c2p_bot.core.events import Outgoing
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.runtime import Runtime
from c2p_bot.transports.backoff import sleep_unless_stopped
from c2p_bot.transports.matrix.delivery import Delivery
from c2p_bot.transports.matrix.devices import DeviceTrust
from c2p_bot.transports.matrix.receive import Receiver
from c2p_bot.transports.matrix.rooms import RoomPolicy
from c2p_bot.transports.matrix.session import PLATFORM, MatrixSession, MatrixStartError, quiet_sdk_logging
from c2p_bot.transports.matrix.sync import SyncLoop
from c2p_bot.transports.matrix.undecryptable import UndecryptableQueue
from c2p_bot.transports.settings import MatrixConfig

log = logging.getLogger(__name__)

MATRIX_PACING = Pacing(per_second=10, per_chat_interval=0.2)

__all__ = ["MATRIX_PACING", "PLATFORM", "MatrixStartError", "MatrixTransport", "attach_matrix"]


class MatrixTransport:
    """Receives from and delivers to Matrix rooms for the bot's account.

    Public attributes for operators and tests: ``client`` (the nio client once started),
    ``logins`` (password logins made by this instance), ``undecryptable_count`` (messages the
    bot could not decrypt and asked to be resent), ``ignored_plaintext``, ``on_new_device``
    (called with user id and device id when an account the bot knows shows a new device).
    """

    platform = PLATFORM

    def __init__(
        self,
        runtime: Runtime,
        config: MatrixConfig,
        keyring: Keyring,
        *,
        sync_timeout_ms: int = 30_000,
        sweep_interval: float | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.runtime = runtime
        self.config = config
        self.start_timeout = start_timeout
        shortest = min(config.stranger_timeout, config.undecryptable_timeout).total_seconds()
        self.sweep_interval = sweep_interval or max(0.2, min(30.0, shortest / 4))
        core = runtime.core
        self.session = MatrixSession(config, keyring, core.clock.now)
        self.user_id = self.session.user_id
        self.store_path: Path = self.session.store_path
        self.rooms = RoomPolicy(self.session, core)
        self.devices = DeviceTrust(self.session, core)
        self.undecryptable = UndecryptableQueue(self.session, core)
        self.receiver = Receiver(runtime, self.session, self.rooms, self.devices, self.undecryptable)
        self.sync = SyncLoop(self.session, self.rooms, self.receiver, self.devices, timeout_ms=sync_timeout_ms)
        self.delivery = Delivery(self.session, core, self.sync, self.rooms, self.devices, self.receiver)
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- what operators and tests read -------------------------------------------------

    @property
    def client(self) -> AsyncClient | None:
        return self.session.client

    @client.setter
    def client(self, client: AsyncClient | None) -> None:
        self.session.client = client

    @property
    def device_id(self) -> str | None:
        return self.session.device_id

    @property
    def logins(self) -> int:
        return self.session.logins

    @property
    def connected(self) -> bool:
        """Synced with the homeserver: deliveries may go out (the health view and metrics)."""
        return self.sync.ready.is_set()

    @property
    def cross_signing_ready(self) -> bool:
        return self.session.cross_signing_ready

    @property
    def undecryptable_count(self) -> int:
        return self.undecryptable.count

    @property
    def ignored_plaintext(self) -> int:
        return self.receiver.ignored_plaintext

    @property
    def on_new_device(self) -> Callable[[str, str], None]:
        return self.devices.on_new_device

    @on_new_device.setter
    def on_new_device(self, callback: Callable[[str, str], None]) -> None:
        self.devices.on_new_device = callback

    def notify_coordinators(self, user_id: str, device_id: str) -> None:
        """The default ``on_new_device``: every coordinator is told and the audit log records it."""
        self.devices.notify_coordinators(user_id, device_id)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Log in (or restore the login), bootstrap cross-signing, sync once, start the loops.

        Returns once connected, or after ``start_timeout`` with the connection still being tried
        in the background (an unreachable homeserver must not hold up the other transports and
        the escalation clock). A refused configuration raises :class:`MatrixStartError`.
        """
        quiet_sdk_logging()
        self._stop.clear()
        self.session.prepare_store()
        startup = asyncio.create_task(self._bring_up(), name="matrix-start")
        self._tasks = [startup]
        done, _ = await asyncio.wait({startup}, timeout=self.start_timeout)
        if startup in done:
            startup.result()
        else:
            log.warning("matrix: not connected after %.0fs; still trying in the background",
                        self.start_timeout)

    async def _bring_up(self) -> None:
        if not await self.session.connect(self._stop):
            return
        await self.session.bootstrap_cross_signing()
        self.undecryptable.load()
        if not await self.sync.first_sync(self._stop):
            return
        self._tasks += [
            asyncio.create_task(self.sync.run(self._stop), name="matrix-sync"),
            asyncio.create_task(self._sweep_loop(), name="matrix-sweep"),
        ]
        log.info("matrix: running as %s (device %s)", self.user_id, self.device_id)

    async def stop(self) -> None:
        """Stop the loops and close the HTTP session. Never logs out (that would delete the device)."""
        self._stop.set()
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        # Stopping always finishes (the bot always stops on SIGTERM): a task's own failure has
        # been reported already (``start`` raised it, the loops logged it) and is not re-raised.
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        for task, outcome in zip(tasks, outcomes, strict=True):
            if isinstance(outcome, Exception) and not isinstance(outcome, MatrixStartError):
                log.warning("matrix: %s had ended with %s", task.get_name(), type(outcome).__name__)
        self.sync.ready.clear()
        await self.session.close()

    # -- periodic chores ---------------------------------------------------------------

    async def sweep(self) -> None:
        """Periodic chores: retry cross-signing, answer invitations, leave strangers' rooms and
        groups, retry undecryptable messages."""
        self.session.require_client()
        if not self.session.cross_signing_ready:
            await self.session.bootstrap_cross_signing()
        await self.rooms.sweep()
        await self.receiver.retry_undecryptable()

    async def _sweep_loop(self) -> None:
        while not await sleep_unless_stopped(self._stop, self.sweep_interval):
            try:
                await self.sweep()
            except Exception:  # the loop's top level: a bug in one sweep must not end the chores
                log.exception("matrix: sweep failed")

    # -- receiving and sending -----------------------------------------------------------

    async def _on_timeline_event(self, room: MatrixRoom, event: Any, encrypted: bool) -> None:
        """One timeline event through the receive path (the hostile-input test feeds events here)."""
        await self.receiver.on_timeline_event(room, event, encrypted)

    async def deliver(self, message: Outgoing) -> str | None:
        return await self.delivery.deliver(message)


def attach_matrix(
    runtime: Runtime, matrix: MatrixConfig, keyring: Keyring, *, pacing: Pacing | None = None,
    **options: Any,
) -> MatrixTransport:
    """Create the Matrix transport and register it with the runtime (no network until ``start``).

    The caller runs ``await transport.start()`` with ``runtime.start()``, and on the way out
    ``await transport.stop()`` before ``runtime.stop()``.
    """
    transport = MatrixTransport(runtime, matrix, keyring, **options)
    runtime.add_transport(transport, pacing or MATRIX_PACING)
    return transport
