"""The alarm clock: APScheduler wakes the sweeper at the earliest deadline and on an interval.

APScheduler holds no state that matters (in-memory job store, ``misfire_grace_time=None``):
the database's deadlines are the truth, and on start the sweeper catches up on anything that
fell due while the bot was down.

No wake-up can be lost. A sweep pass runs in the runtime's clock thread (never on the event
loop) and loops until nothing is due; a wake-up that fires while a pass runs only asks that pass
to look again, so APScheduler's ``max_instances`` never drops one (FIELD-NOTES: a one-shot job
re-armed from inside itself is skipped and gone). A later wake-up never replaces an earlier one
that is still ahead.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from c2p_bot.core.runtime import Runtime
    from c2p_bot.core.sweeper import Sweeper

log = logging.getLogger(__name__)

IDLE_RETRY = timedelta(seconds=1)  # something stays due but nothing could be done: look again soon
REARM_COALESCE = 0.05  # seconds: messages within this share one read of the next deadline


class AlarmClock:
    def __init__(self, runtime: Runtime, sweeper: Sweeper, interval: timedelta) -> None:
        self.runtime = runtime
        self.sweeper = sweeper
        self.interval = interval
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            # Several instances may start; only one pass runs (``_passing``), the others ask it
            # to look again. With max_instances=1 APScheduler would drop them instead.
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 16},
        )
        self._passing = False
        self._again = False
        self._armed_at: datetime | None = None
        self._rearm_wanted = False
        self._rearming = False

    def start(self) -> None:
        self.scheduler.add_job(self._run, "interval", seconds=self.interval.total_seconds(),
                               id="safety-net", next_run_time=datetime.now(UTC))
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def _run(self) -> None:
        """Sweep until nothing is due, then arm the next wake-up."""
        if self._passing:
            self._again = True
            return
        self._passing = True
        moment: datetime | None = None
        try:
            while True:
                self._again = False
                looked_at = self.runtime.core.clock.now()  # the sweep sees at least what was due by now
                done = await self.runtime.on_clock(self.sweeper.sweep)
                moment = await self.runtime.on_clock(self.sweeper.next_wakeup)
                if self._again:
                    continue
                if moment is not None and moment <= self.runtime.core.clock.now():
                    if done or moment > looked_at:  # work was done, or it fell due after the sweep looked
                        continue
                    # Due when the sweep looked and nothing was done (a failing job): don't spin,
                    # look again soon.
                    moment = self.runtime.core.clock.now() + IDLE_RETRY
                break
        except asyncio.CancelledError:
            return  # shutting down: the pass in the clock thread finishes its transaction
        except Exception:
            log.exception("the sweep pass failed; the interval job still runs")
            moment = self.runtime.core.clock.now() + IDLE_RETRY
        finally:
            self._passing = False
            self._armed_at = None  # this pass read the database last: its moment is the truth
            self._arm(moment)

    def after_message(self, moment: datetime | None) -> None:
        """A message was handled. ``moment``: the earliest deadline it set, when that is all it
        changed that the sweeper watches (an express check-in only moves its own clock on): wake
        up by then, without reading the database. None: anything may have changed, re-read.

        Arming for the new deadline alone is enough: the wake-up already armed is at or before
        every other deadline, and if it was this clock's old one it now fires early, finds
        nothing due and arms the next from the database."""
        if moment is None:
            self.rearm()
        elif self.scheduler.running:
            if self._passing:  # the pass may have read before this commit: let it read again
                self._again = True
            else:
                self._arm(moment)

    def rearm(self) -> None:
        """A message was handled: it may have moved a deadline earlier; re-read (off the loop).
        Reads are coalesced: a burst of messages costs one read per ``REARM_COALESCE``."""
        if not self.scheduler.running:
            return
        if self._passing:
            self._again = True
            return
        self._rearm_wanted = True
        if not self._rearming:
            self._rearming = True
            self.runtime.spawn(self._rearm())

    async def _rearm(self) -> None:
        try:
            while self._rearm_wanted:
                await asyncio.sleep(REARM_COALESCE)
                self._rearm_wanted = False
                try:
                    moment = await self.runtime.on_clock(self.sweeper.next_wakeup)
                except Exception:
                    log.exception("could not read the next deadline; the interval job still runs")
                    return
                if self._passing:
                    self._again = True
                    return
                self._arm(moment)
        finally:
            self._rearming = False

    def _arm(self, moment: datetime | None) -> None:
        """Set the one-shot wake-up to ``moment`` unless an earlier one is still ahead."""
        if moment is None or not self.scheduler.running:
            return
        # The core clock may differ from the wall clock in rehearsals; schedule by the distance.
        delay = max(0.0, (moment - self.runtime.core.clock.now()).total_seconds())
        wall_now = datetime.now(UTC)
        run_at = wall_now + timedelta(seconds=delay)
        if self._armed_at is not None and wall_now < self._armed_at <= run_at:
            return
        self._armed_at = run_at
        self.scheduler.add_job(self._run, "date", run_date=run_at, id="wake", replace_existing=True)
