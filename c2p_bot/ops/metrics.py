"""Prometheus metrics (``[monitoring] metrics_listen``), served by prometheus-client.

Read at scrape time from the database and the health view (c2p_bot.core.health) rather than
counted on the hot paths: raising an alert costs nothing more. The one thing counted as it
happens, the latency of sent alerts, is a note appended in the sender's thread after a delivery
(each dispatcher's ``delivered_hooks``) and turned into a histogram at the next scrape.

Labels carry only kinds, priorities and platforms: never a name, an alias, a chat id or a note.

* ``c2p_alerts_raised_total{kind}``: alerts raised since this process started (by any worker on
  this database: with several workers, read one of them, not the sum);
* ``c2p_alert_delivery_latency_seconds``: from an alert's deadline (a missed check-in's due
  time plus grace; a panic's or duress alert's raising) to each first message of it being sent
  by this process;
* ``c2p_outbox_depth{priority}``, ``c2p_outbox_oldest_due_seconds``: what waits to be sent;
* ``c2p_transport_up{platform}``, ``c2p_seconds_since_last_sweep``, ``c2p_sweep_failures_total``,
  ``c2p_healthy`` (the heartbeat's and watchdog's rule).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import start_http_server
from prometheus_client.registry import Collector

from c2p_bot.core.alert_texts import KIND_PRIORITY
from c2p_bot.core.events import Priority
from c2p_bot.core.health import Health, HealthView
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600)  # seconds
PENDING_MAX = 100_000  # sent alerts noted between two scrapes; older notes are dropped beyond this


def priority_name(priority: int) -> str:
    try:
        return Priority(priority).name.lower()
    except ValueError:
        return str(priority)


class BotCollector(Collector):
    """Every metric of one running bot, read when Prometheus scrapes."""

    def __init__(self, view: HealthView, judge: Callable[[Health], list[str]]) -> None:
        self.view = view
        self.judge = judge
        self.alert_base = view.last_alert_id()  # alerts above this id were raised since start
        self.raised: dict[str, int] = dict.fromkeys(KIND_PRIORITY, 0)
        self.sent_alerts: deque[tuple[int, datetime, datetime]] = deque(maxlen=PENDING_MAX)
        self.latency = Histogram("c2p_alert_delivery_latency_seconds",
                                 "Seconds from an alert's deadline to each of its first messages being sent",
                                 buckets=LATENCY_BUCKETS, registry=None)
        self._lock = threading.Lock()

    def delivered(self, rows: Sequence[OutboxMessage], now: datetime) -> None:
        """A dispatcher's hook: note the alert messages just sent (no database work here)."""
        for row in rows:
            if row.alert_id is not None and row.kind == "alert":
                self.sent_alerts.append((row.alert_id, row.created_at, now))

    def collect(self) -> Iterator[Metric]:
        with self._lock:  # concurrent scrapes take turns (the counts below are kept here)
            yield from self._collect()

    def _collect(self) -> Iterator[Metric]:
        health = self.view.read()
        raised = CounterMetricFamily("c2p_alerts_raised", "Alerts raised since this process started, by kind",
                                     labels=["kind"])
        for kind, count in self.view.alerts_raised(self.alert_base).items():
            # Never backwards, should retention delete a resolved alert counted here.
            self.raised[kind] = max(self.raised.get(kind, 0), count)
        for kind, count in sorted(self.raised.items()):
            raised.add_metric([kind], count)
        yield raised

        self._observe_sent()
        yield from self.latency.collect()

        depth = GaugeMetricFamily("c2p_outbox_depth", "Unsent messages (due or waiting for a retry), by priority",
                                  labels=["priority"])
        by_priority = self.view.outbox_depth()
        for priority in sorted(set(by_priority) | {int(p) for p in Priority}):
            depth.add_metric([priority_name(priority)], by_priority.get(priority, 0))
        yield depth
        yield GaugeMetricFamily("c2p_outbox_oldest_due_seconds",
                                "How long the oldest due, unsent message has waited (0: none waits)",
                                value=health.oldest_due or 0.0)

        up = GaugeMetricFamily("c2p_transport_up", "1 when the transport is connected, else 0", labels=["platform"])
        for platform, connected in sorted(health.transports.items()):
            up.add_metric([platform], 1.0 if connected else 0.0)
        yield up
        yield GaugeMetricFamily("c2p_seconds_since_last_sweep",
                                "Seconds since the sweeper last finished a job without an error",
                                value=health.since_sweep)
        yield CounterMetricFamily("c2p_sweep_failures", "Sweeper jobs that failed since this process started",
                                  value=health.sweep_failures)
        yield GaugeMetricFamily("c2p_healthy", "1 while heartbeats and the systemd watchdog are sent, else 0",
                                value=0.0 if self.judge(health) else 1.0)

    def _observe_sent(self) -> None:
        notes = []
        while self.sent_alerts:
            notes.append(self.sent_alerts.popleft())
        if not notes:
            return
        deadlines = self.view.deadlines(sorted({alert_id for alert_id, _c, _s in notes}))
        for alert_id, created, sent in notes:
            if alert_id not in deadlines:
                continue
            raised, deadline = deadlines[alert_id]
            # Only the messages written when the alert was raised: a later step's or a repeat's
            # wait for the acknowledgement is the escalation chain's design, not a delay.
            if abs((created - raised).total_seconds()) < 0.001:
                self.latency.observe(max(0.0, (sent - deadline).total_seconds()))


class MetricsServer:
    """The HTTP endpoint (``/metrics``) in a daemon thread of prometheus-client's own."""

    def __init__(self, collector: BotCollector, address: tuple[str, int]) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(collector)
        self.address = address
        self._server: Any = None

    def start(self) -> int:
        """Listen; returns the port (useful with port 0)."""
        host, port = self.address
        self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return int(self._server.server_port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
