"""The alarm clock: APScheduler wakes the sweeper at the earliest deadline and on an interval.

APScheduler holds no state that matters (in-memory job store, ``misfire_grace_time=None``):
the database's deadlines are the truth, and on start the sweeper catches up on anything that
fell due while the bot was down.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from c2p_bot.core.runtime import Runtime
    from c2p_bot.core.sweeper import Sweeper

log = logging.getLogger(__name__)


class AlarmClock:
    def __init__(self, runtime: Runtime, sweeper: Sweeper, interval: timedelta) -> None:
        self.runtime = runtime
        self.sweeper = sweeper
        self.interval = interval
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    def start(self) -> None:
        self.scheduler.add_job(self._run, "interval", seconds=self.interval.total_seconds(),
                               id="safety-net", next_run_time=datetime.now(UTC))
        self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def _run(self) -> None:
        try:
            await self.runtime.tick()
        finally:
            self.rearm()

    def rearm(self) -> None:
        """Set the one-shot wake-up to the earliest due moment in the database."""
        if not self.scheduler.running:
            return
        try:
            moment = self.sweeper.next_wakeup()
        except Exception:
            log.exception("could not read the next deadline; the interval job still runs")
            return
        if moment is None:
            return
        # The core clock may differ from the wall clock in rehearsals; schedule by the distance.
        delay = max(0.0, (moment - self.runtime.core.clock.now()).total_seconds())
        run_at = datetime.now(UTC) + timedelta(seconds=delay)
        self.scheduler.add_job(self._run, "date", run_date=run_at, id="wake", replace_existing=True)
