"""Watching the watchman: the running bot tells the outside world it is alive, and only then.

c2p-bot is itself the single point of failure of a dead-man's switch: if it stops, or its sweeper
stalls, nobody hears of a missed check-in. So, while the bot runs:

* every ``[monitoring] heartbeat_every`` it pings ``heartbeat_url`` (c2p_bot.ops.heartbeat);
* under systemd (``Type=notify``) it says ``READY=1`` once the clock and senders run,
  ``WATCHDOG=1`` every half ``WatchdogSec``, ``STOPPING=1`` when it stops (c2p_bot.ops.sdnotify);
* on ``metrics_listen`` it serves Prometheus metrics (c2p_bot.ops.metrics).

Heartbeats and ``WATCHDOG=1`` follow one rule, read from the core's health view in threads of
their own (never the event loop, the core or the clock thread): the sweeper made progress within
``sweep_stale_after`` (default: twice ``[checkins] sweep_interval``) and no due message has
waited in the outbox longer than ``outbox_stuck_after``. A dead process sends nothing, and a
stalled one stops sending, so the monitor raises the alarm and systemd restarts the bot.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING

from c2p_bot.config import MonitoringConfig
from c2p_bot.core.health import Health, HealthView
from c2p_bot.core.runtime import Runtime
from c2p_bot.ops.heartbeat import Every, Heartbeat, host_of
from c2p_bot.ops.sdnotify import notify, watchdog_interval

if TYPE_CHECKING:
    from c2p_bot.ops.metrics import MetricsServer

log = logging.getLogger(__name__)


class Watchman:
    """Heartbeats, systemd notifications and metrics for one running bot."""

    def __init__(self, runtime: Runtime, settings: MonitoringConfig, env: Mapping[str, str] | None = None) -> None:
        self.runtime = runtime
        self.settings = settings
        self.env = dict(os.environ if env is None else env)
        self.view = HealthView(runtime)
        stale = settings.sweep_stale_after or 2 * runtime.core.config.checkins.sweep_interval
        self.sweep_within = stale.total_seconds()
        self.outbox_within = settings.outbox_stuck_after.total_seconds()
        self.metrics_port: int | None = None
        self._parts: list[Heartbeat | Every] = []
        self._metrics: MetricsServer | None = None
        self._lock = threading.Lock()
        self._verdict: tuple[str, ...] | None = None  # the kinds of problem last seen

    # -- the rule --------------------------------------------------------------------------

    def problems(self, health: Health) -> list[str]:
        return health.problems(self.sweep_within, self.outbox_within)

    def check(self) -> bool:
        """Whether the bot is healthy now; logs (and tells systemd's status) when that changes."""
        try:
            problems = self.problems(self.view.read())
        except Exception as error:  # the database cannot even be read: not healthy
            problems = [f"health unreadable: {type(error).__name__}"]
        kinds = tuple(problem.split(":", 1)[0] for problem in problems)
        with self._lock:
            before, self._verdict = self._verdict, kinds
        if kinds != before:
            if problems:
                log.error("not healthy (%s): heartbeats and the systemd watchdog pause", "; ".join(problems))
            elif before:
                log.warning("healthy again: heartbeats and the systemd watchdog resume")
            notify("STATUS=" + ("; ".join(problems) if problems else "running"), self.env)
        return not problems

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Call once the clock and senders run (after ``Runtime.start``)."""
        address = self.settings.metrics_address
        if address is not None:
            from c2p_bot.ops.metrics import BotCollector, MetricsServer

            collector = BotCollector(self.view, self.problems)
            for dispatcher in self.runtime.dispatchers.values():
                dispatcher.delivered_hooks.append(collector.delivered)
            metrics = MetricsServer(collector, address)
            try:
                self.metrics_port = metrics.start()
            except OSError as error:  # the alarm runs on without metrics; Prometheus sees the target down
                log.error("metrics: cannot listen on %s:%s (%s)", *address, error.strerror or type(error).__name__)
            else:
                self._metrics = metrics
                log.info("metrics on http://%s:%s/metrics", address[0], self.metrics_port)
        notify("READY=1\nSTATUS=running", self.env)
        if self.settings.heartbeat_url:
            heartbeat = Heartbeat(self.settings.heartbeat_url, self.settings.heartbeat_every.total_seconds(),
                                  self.check)
            self._parts.append(heartbeat)
            log.info("heartbeat to %s every %s", host_of(self.settings.heartbeat_url), self.settings.heartbeat_every)
        interval = watchdog_interval(self.env)
        if interval is not None and self.env.get("NOTIFY_SOCKET"):
            self._parts.append(Every("c2p-watchdog", interval, self._feed_watchdog))
        for part in self._parts:
            part.start()

    def _feed_watchdog(self) -> None:
        if self.check():
            notify("WATCHDOG=1", self.env)

    def stop(self) -> None:
        """Call as shutdown begins: systemd hears ``STOPPING=1`` first."""
        notify("STOPPING=1", self.env)
        for part in self._parts:
            part.stop()
        self._parts.clear()
        if self._metrics is not None:
            self._metrics.stop()
            self._metrics = None
