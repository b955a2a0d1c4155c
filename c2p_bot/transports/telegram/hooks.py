"""Work the core asks for from inside its transaction (a menu to refresh after a role change),
run on the event loop once the transaction has committed.

The core calls its hooks synchronously, in its own worker thread or (in tests) on the loop.
On the loop's thread the work starts at once (it runs after the synchronous core call returns);
from the core's thread it waits for the runtime's ``after_handle`` (the transaction is
committed by then), with a delayed fallback for hooks called outside a handled message.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from c2p_bot.transports.telegram.session import STOP_STEP, Session

log = logging.getLogger(__name__)

MENU_FALLBACK_DELAY = 1.0  # seconds: work asked for outside a handled message starts after this

Work = Coroutine[Any, Any, None]


class AfterCommit:
    """Schedules :data:`Work` from any thread; :meth:`finish` ends what is still running."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.loop: asyncio.AbstractEventLoop | None = None  # set by the transport's start()
        self._due: list[Work] = []  # from the core's thread
        self._lock = threading.Lock()
        self._running: set[asyncio.Task[None]] = set()

    def spawn(self, work: Work) -> None:
        """Run ``work`` on the event loop once the core's transaction has committed."""
        loop = self.loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: the core's worker thread
            running = None
        if running is not None and (loop is None or running is loop):
            self._start(work)
            return
        if loop is None or loop.is_closed():
            work.close()
            log.warning("telegram: menu refresh skipped (transport not started)")
            return
        with self._lock:
            self._due.append(work)
        loop.call_soon_threadsafe(loop.call_later, MENU_FALLBACK_DELAY, self.start_due)

    def start_due(self) -> None:
        """Start the work the core's thread asked for (on the loop: the runtime's after_handle)."""
        with self._lock:
            due, self._due = self._due, []
        for work in due:
            self._start(work)

    def _start(self, work: Work) -> None:
        if self.session.stopped:
            work.close()
            return
        task = asyncio.get_running_loop().create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def finish(self) -> None:
        """Give the running work a few seconds, then cancel what is left."""
        if self._running:
            await asyncio.wait(self._running, timeout=STOP_STEP)
            for task in list(self._running):
                task.cancel()
