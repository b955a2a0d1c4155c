"""Long polling: ``getUpdates`` with ``offset``, each update handled *before* the next
``getUpdates`` confirms it, so a crash re-delivers rather than loses.

- The first calls ask without waiting (``timeout=0``) until a short batch shows that the
  updates that queued while the bot was down are handled (``caught_up``); then long polls.
- Failures are retried with the transports' :class:`~c2p_bot.transports.backoff.Backoff`;
  a 429 waits its ``retry_after``, a refused token a minute.
- A batch python-telegram-bot cannot read is fetched raw and read update by update, so one
  unreadable update (skipped with one log line, no content) never blocks the others.
- The messages of a batch are handed to the core at once (a run of check-ins then shares one
  transaction, committed before the offset confirms them); a button press is handed over alone,
  after the messages before it and before those after it, as it is answered first.
- On stop, the updates in hand are finished and what was handled is confirmed.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Sequence
from datetime import timedelta

from telegram import Update
from telegram.error import Conflict, InvalidToken, RetryAfter, TelegramError

from c2p_bot.transports.backoff import Backoff
from c2p_bot.transports.telegram.errors import UNREADABLE_UPDATE, retry_after_seconds
from c2p_bot.transports.telegram.session import ALLOWED_UPDATES, STOP_STEP, Session, finish
from c2p_bot.transports.telegram.updates import UpdateHandler

log = logging.getLogger(__name__)

BACKLOG_BATCH = 100  # getUpdates' default limit: a shorter batch means the backlog is drained
INVALID_TOKEN_WAIT = 60.0  # seconds before asking again with a refused token
CONFLICT_WAIT_MIN = 1.0  # another process polling this bot: wait at least this long
# Confirming on stop: the Bot API or the network fails, the step runs over its bound, or the
# next update (which is only asked for, not handled) cannot be read.
CONFIRM_FAILURES: tuple[type[Exception], ...] = (TelegramError, TimeoutError, *UNREADABLE_UPDATE)


def handed_together(updates: Sequence[Update]) -> list[list[Update]]:
    """The batch in order, in runs handed to the core at once: messages together, each button
    press alone (it is answered before it is handled)."""
    runs: list[list[Update]] = []
    for update in updates:
        if update.callback_query is None and runs and runs[-1][-1].callback_query is None:
            runs[-1].append(update)
        else:
            runs.append([update])
    return runs


class Poller:
    """Runs the getUpdates loop as a task from :meth:`start` to :meth:`stop`."""

    def __init__(self, session: Session, updates: UpdateHandler) -> None:
        self.session = session
        self.updates = updates
        self.offset: int | None = None  # the next update id to ask for: confirms those before
        self.backoff = Backoff(first=0.5, cap=30.0)
        self._waiting = False  # in a getUpdates call: nothing in hand, stop may cancel at once
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telegram-poll")

    async def stop(self) -> None:
        """Finish the update in hand (within a bound), then confirm what was handled. Called
        once ``session.stopping`` is set."""
        if self._task is None:
            return
        await finish(self._task, cancel=self._waiting, timeout=STOP_STEP)
        self._task = None
        await self._confirm_handled()

    async def _run(self) -> None:
        delay = 0.0
        while not self.session.stopped:
            if delay and await self.session.sleep(delay):
                return
            try:
                delay = await self._poll_once()
            except Exception as error:  # the loop's top: receiving must outlive a bug in one
                # round (no update would reach the core again); the traceback shows the bug
                delay = self.backoff.next()
                log.error("telegram: polling failed (%s); retrying in %.1fs", type(error).__name__, delay,
                          exc_info=True)

    async def _poll_once(self) -> float:
        """One getUpdates and the handling of its batch; returns the delay before the next."""
        self._waiting = True
        try:
            updates = await self.session.app.bot.get_updates(
                offset=self.offset,
                timeout=timedelta(seconds=self.session.config.poll_timeout if self.session.caught_up.is_set() else 0),
                allowed_updates=ALLOWED_UPDATES,
            )
        except RetryAfter as error:
            return retry_after_seconds(error)
        except InvalidToken:
            log.error("telegram: the bot token was refused; retrying in a minute")
            return INVALID_TOKEN_WAIT
        except Conflict:
            log.warning("telegram: another process is receiving this bot's updates")
            return max(CONFLICT_WAIT_MIN, self.backoff.next())
        except TelegramError as error:
            log.warning("telegram: getUpdates failed (%s)", type(error).__name__)
            return self.backoff.next()
        except UNREADABLE_UPDATE as error:
            log.warning("telegram: could not read a batch of updates (%s)", type(error).__name__)
            if not await self._poll_one_by_one():
                return self.backoff.next()
            self.backoff.reset()
            return 0.0
        finally:
            self._waiting = False
        self.backoff.reset()
        received = self.session.core.clock.now()  # when they reached the bot, whatever handling takes
        for together in handed_together(updates):
            if self.session.stopped:
                return 0.0
            await self.updates.handle_together(together, received)
            self.offset = together[-1].update_id + 1
        if len(updates) < BACKLOG_BATCH:
            self.session.caught_up.set()
        return 0.0

    async def _poll_one_by_one(self) -> bool:
        """Fetch the batch raw and read each update alone, skipping (one log line, no content)
        any that cannot be read. Returns whether the batch was fetched."""
        bot = self.session.app.bot
        try:
            with warnings.catch_warnings():  # PTB suggests get_updates, which is what failed
                warnings.simplefilter("ignore")
                raw = await bot.do_api_request(
                    "getUpdates", api_kwargs={"offset": self.offset, "timeout": 0,
                                              "allowed_updates": ALLOWED_UPDATES})
        except TelegramError as error:
            log.warning("telegram: getUpdates failed (%s)", type(error).__name__)
            return False
        received = self.session.core.clock.now()
        for data in raw if isinstance(raw, list) else []:
            update_id = data.get("update_id") if isinstance(data, dict) else None
            if not isinstance(update_id, int):
                continue
            try:
                update = Update.de_json(data, bot)
            except UNREADABLE_UPDATE as error:
                log.error("telegram: skipped update %s, which could not be read (%s)",
                          update_id, type(error).__name__)
            else:
                if update is not None:
                    await self.updates.handle(update, received)
            self.offset = update_id + 1
        return True

    async def _confirm_handled(self) -> None:
        """Ask for the next update without waiting: Telegram forgets those before ``offset``."""
        if self.offset is None:
            return
        try:
            await asyncio.wait_for(self.session.app.bot.get_updates(
                offset=self.offset, timeout=timedelta(0), limit=1, allowed_updates=ALLOWED_UPDATES),
                STOP_STEP)
        except CONFIRM_FAILURES as error:
            log.info("telegram: could not confirm handled updates (%s); they will be "
                     "de-duplicated when fetched again", type(error).__name__)
