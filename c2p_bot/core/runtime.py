"""The running bot: the core, one dispatcher per transport, and the background jobs.

Nothing that touches the database runs on the event loop: messages are handled in the *core*
thread (one, so they keep their order), sweeps and the alarm's reads in the *clock* thread, and
each dispatcher reads and marks its rows in its own thread. A long sweep, a slow PIN hash or a
database lock held by another worker never stalls receiving or sending on any platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, TypeVar

from c2p_bot.core.dispatcher import Dispatcher, Pacing, Transport
from c2p_bot.core.events import Incoming
from c2p_bot.core.service import Core
from c2p_bot.core.throttle import Throttle

log = logging.getLogger(__name__)

SWITCH_INTERVAL = 0.001  # seconds
HANDLE_GROUP = 64  # queued messages the core thread takes at once (Core.handle_many)
MAKE_WAY = 0.1  # seconds the core thread waits at most for other database work between two groups

Job = Callable[[], Awaitable[None]]
T = TypeVar("T")


class Runtime:
    """Wires dispatchers to the core's outbox and runs them with the periodic jobs."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.dispatchers: dict[str, Dispatcher] = {}
        self.jobs: list[Job] = []  # awaited by tick(); scheduled by the alarm clock when running
        self.after_handle: list[Callable[[], None]] = []
        # After each message, with the earliest deadline it set when that is all it changed that
        # the sweeper watches (an express check-in), else None (the alarm clock re-reads).
        self.after_message: list[Callable[[datetime | None], None]] = []
        self.throttle = Throttle()
        self.on_start: list[Callable[[], None]] = []
        self.on_stop: list[Callable[[], None]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._core_worker = ThreadPoolExecutor(1, thread_name_prefix="c2p-core")
        self._clock_worker = ThreadPoolExecutor(1, thread_name_prefix="c2p-clock")
        # Messages waiting for the core thread, in the order they were handed over.
        self._inbox: deque[tuple[Incoming, asyncio.Future[datetime | None]]] = deque()
        self._inbox_lock = threading.Lock()
        self._taking = False  # a job of the core thread is taking from the inbox
        self._generation = 0  # bumped by stop(): a job of an earlier run takes nothing more
        core.outbox.wake = self._wake
        core.spawn = self.spawn

    def add_transport(
        self, transport: Transport, pacing: Pacing | None = None, delete_after: timedelta | None = None
    ) -> Dispatcher:
        dispatcher = Dispatcher(self.core, transport, pacing, delete_after=delete_after)
        self.dispatchers[transport.platform] = dispatcher
        return dispatcher

    # -- threads and the loop ------------------------------------------------------------

    def _remember_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        self._loop = loop
        return loop

    def _in_loop(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the event loop, whichever thread asks."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            callback()
        else:
            loop.call_soon_threadsafe(callback)

    def _wake(self, platform: str) -> None:
        dispatcher = self.dispatchers.get(platform)
        if dispatcher is not None:
            self._in_loop(dispatcher.wake)

    def spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        """Start ``work`` as a task on the event loop (safe from the core and clock threads)."""
        if self._loop is None:
            with contextlib.suppress(RuntimeError):
                self._remember_loop()
        if self._loop is None or self._loop.is_closed():
            work.close()
            return

        def start() -> None:
            task = asyncio.ensure_future(work)
            self._background.add(task)
            task.add_done_callback(self._background.discard)

        self._in_loop(start)

    async def on_clock(self, job: Callable[[], T]) -> T:
        """Run ``job`` in the clock thread (sweeps, deadline reads)."""
        loop = self._remember_loop()
        return await loop.run_in_executor(self._clock_worker, self.core.gate.running, job)

    # -- entry points ----------------------------------------------------------------------

    async def handle(self, incoming: Incoming) -> None:
        """Entry point for transports: handle one message (in the core thread), then let the
        dispatchers send. Returns once the message is committed.

        Messages handed over while the core thread is busy wait in order and are taken together
        (:meth:`Core.handle_many`: a run of plain check-ins shares one commit), so a transport that
        hands over a batch at once (tasks, ``asyncio.gather``) gets them handled as one.
        """
        loop = self._remember_loop()
        allowed, warn = self.throttle.allow(f"{incoming.platform}:{incoming.sender_id}")
        if not allowed:
            if warn:
                await loop.run_in_executor(self._core_worker, self.core.too_fast, incoming)
            return
        moment = await self._queue(incoming, loop)
        for hook in self.after_handle:
            hook()
        for after in self.after_message:
            after(moment)

    def _queue(self, incoming: Incoming, loop: asyncio.AbstractEventLoop) -> asyncio.Future[datetime | None]:
        done: asyncio.Future[datetime | None] = loop.create_future()
        with self._inbox_lock:
            self._inbox.append((incoming, done))
            start, self._taking = not self._taking, True
            generation = self._generation
        if start:
            loop.run_in_executor(self._core_worker, self._take, loop, generation)
        return done

    def _take(self, loop: asyncio.AbstractEventLoop, generation: int) -> None:
        """Core thread: handle the waiting messages in order, up to HANDLE_GROUP at a time."""
        while True:
            with self._inbox_lock:
                if generation != self._generation:
                    return
                if not self._inbox:
                    self._taking = False
                    return
                group = [self._inbox.popleft() for _ in range(min(len(self._inbox), HANDLE_GROUP))]
            error: Exception | None = None
            moments: list[datetime | None] = [None] * len(group)
            try:
                moments = self.core.handle_many([incoming for incoming, _done in group])
            except Exception as caught:  # the core answers its own errors: this is a bug; tell the callers
                error = caught
            for (_incoming, done), moment in zip(group, moments, strict=True):
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
                    loop.call_soon_threadsafe(_settle, done, moment, error)
            if self._inbox:  # more at once: let a sweep or a dispatcher write first (c2p_bot.core.contention)
                self.core.gate.make_way(MAKE_WAY)

    async def tick(self) -> None:
        """Run every periodic job once (the sweeper, retention, ...)."""
        self._remember_loop()
        for job in self.jobs:
            await job()

    async def drain(self) -> int:
        """Send everything due now on every transport (tests)."""
        self._remember_loop()
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
        self._remember_loop()
        # Everything loaded so far (libraries, catalogs, compiled statements) lives for the whole
        # run: keep it out of the cyclic GC's full collections, which otherwise pause alerts.
        gc.collect()
        gc.freeze()
        # The loop shares the interpreter with the core, clock and sender threads: a shorter
        # switch interval (5 ms by default) bounds how long it waits for the GIL after a wake-up.
        sys.setswitchinterval(SWITCH_INTERVAL)
        for hook in self.on_start:
            hook()
        for dispatcher in self.dispatchers.values():
            self._tasks.append(asyncio.create_task(dispatcher.run(), name=f"send-{dispatcher.platform}"))

    async def stop(self) -> None:
        with self._inbox_lock:  # messages not taken yet are not handled (they were never acknowledged)
            self._generation += 1
            self._taking = False
            waiting = [done for _incoming, done in self._inbox]
            self._inbox.clear()
        for done in waiting:
            done.cancel()
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
        for task in list(self._background):
            task.cancel()
        # A sweep or a message being handled finishes its transaction; nothing new starts.
        for worker in (self._core_worker, self._clock_worker):
            worker.shutdown(wait=False, cancel_futures=True)
        self._core_worker = ThreadPoolExecutor(1, thread_name_prefix="c2p-core")
        self._clock_worker = ThreadPoolExecutor(1, thread_name_prefix="c2p-clock")


def _settle(done: asyncio.Future[datetime | None], moment: datetime | None, error: Exception | None) -> None:
    if done.done():  # its caller was cancelled
        return
    if error is None:
        done.set_result(moment)
    else:
        done.set_exception(error)
