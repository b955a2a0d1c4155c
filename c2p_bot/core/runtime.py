"""The running bot: the core, one dispatcher per transport, and the background jobs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from c2p_bot.core.dispatcher import Dispatcher, Pacing, Transport
from c2p_bot.core.events import Incoming
from c2p_bot.core.service import Core
from c2p_bot.core.throttle import Throttle

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Runtime:
    """Wires dispatchers to the core's outbox and runs them with the periodic jobs."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.dispatchers: dict[str, Dispatcher] = {}
        self.jobs: list[Job] = []  # awaited by tick(); scheduled by the alarm clock when running
        self.after_handle: list[Callable[[], None]] = []
        self.throttle = Throttle()
        self.on_start: list[Callable[[], None]] = []
        self.on_stop: list[Callable[[], None]] = []
        self._tasks: list[asyncio.Task[None]] = []
        core.outbox.wake = self._wake

    def add_transport(
        self, transport: Transport, pacing: Pacing | None = None, delete_after: timedelta | None = None
    ) -> Dispatcher:
        dispatcher = Dispatcher(self.core, transport, pacing, delete_after=delete_after)
        self.dispatchers[transport.platform] = dispatcher
        return dispatcher

    def _wake(self, platform: str) -> None:
        dispatcher = self.dispatchers.get(platform)
        if dispatcher is not None:
            dispatcher.wake()

    async def handle(self, incoming: Incoming) -> None:
        """Entry point for transports: handle one message, then let dispatchers send."""
        allowed, warn = self.throttle.allow(f"{incoming.platform}:{incoming.sender_id}")
        if not allowed:
            if warn:
                self.core.too_fast(incoming)
            return
        self.core.handle(incoming)
        for hook in self.after_handle:
            hook()

    async def tick(self) -> None:
        """Run every periodic job once (the sweeper, retention, ...)."""
        for job in self.jobs:
            await job()

    async def drain(self) -> int:
        """Send everything due now on every transport (tests)."""
        total = 0
        while True:
            sent = 0
            for dispatcher in self.dispatchers.values():
                sent += await dispatcher.drain()
            total += sent
            if sent == 0:
                return total

    async def start(self) -> None:
        """Start sending, and the alarm clock (which catches up on missed deadlines at once)."""
        # Everything loaded so far (libraries, catalogs, compiled statements) lives for the whole
        # run: keep it out of the cyclic GC's full collections, which otherwise pause alerts.
        gc.collect()
        gc.freeze()
        for hook in self.on_start:
            hook()
        for dispatcher in self.dispatchers.values():
            self._tasks.append(asyncio.create_task(dispatcher.run(), name=f"send-{dispatcher.platform}"))

    async def stop(self) -> None:
        for hook in self.on_stop:
            hook()
        for dispatcher in self.dispatchers.values():
            dispatcher.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
