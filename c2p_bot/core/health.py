"""The running bot's health, cheap to read from any thread: how long since the sweeper last made
progress, how long the oldest due message has waited in the outbox, and which transports are up.

Operations code (:mod:`c2p_bot.ops`: the heartbeat, the systemd watchdog, the metrics) reads it
in threads of its own: never on the event loop, never in the core or clock threads, so a
stalled bot cannot also stall the view that reports it. Each read is one or two small queries.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from storage.models import Alert, CheckinClock, OutboxMessage

if TYPE_CHECKING:
    from c2p_bot.core.runtime import Runtime
    from c2p_bot.core.sweeper import Sweeper

UNSENT = (col(OutboxMessage.delivered_at).is_(None), col(OutboxMessage.failed_at).is_(None))


@dataclass(frozen=True)
class Health:
    """One reading. Ages are in seconds."""

    since_sweep: float  # since the sweeper last finished a job without an error (or since start)
    oldest_due: float | None  # how long the oldest due, unsent message has waited; None: none waits
    transports: dict[str, bool] = field(default_factory=dict)  # platform -> up
    sweep_failures: int = 0  # sweeper jobs that failed since start

    def problems(self, sweep_within: float, outbox_within: float) -> list[str]:
        """What is wrong, one short phrase each (no names, no chat ids); empty when healthy.

        Healthy: the sweeper made progress within ``sweep_within`` seconds and no due message
        has waited longer than ``outbox_within``. A transport that is down is reported by the
        metrics, not here: restarting the bot would not bring a chat platform back.
        """
        found = []
        if self.since_sweep > sweep_within:
            found.append(f"sweeper stalled: no sweep for {self.since_sweep:.0f} s")
        if self.oldest_due is not None and self.oldest_due > outbox_within:
            found.append(f"outbox stuck: a due message has waited {self.oldest_due:.0f} s")
        return found


class HealthView:
    """Reads :class:`Health` for one running bot (its sweeper, outbox and transports)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.core = runtime.core
        self.started = time.monotonic()

    @property
    def sweeper(self) -> Sweeper | None:
        return self.core.services.get("sweeper")  # type: ignore[return-value]

    def read(self) -> Health:
        sweeper = self.sweeper
        progress = sweeper.progress_at if sweeper is not None else None
        now = self.core.clock.now()
        with self.core.session() as session:
            oldest = session.exec(select(func.min(OutboxMessage.next_attempt_at)).where(
                *UNSENT, col(OutboxMessage.next_attempt_at) <= now)).one()
        return Health(
            since_sweep=max(0.0, time.monotonic() - (progress if progress is not None else self.started)),
            oldest_due=max(0.0, (now - _aware(oldest)).total_seconds()) if oldest is not None else None,
            transports=self.transports(),
            sweep_failures=sweeper.failures if sweeper is not None else 0,
        )

    def transports(self) -> dict[str, bool]:
        """Each platform's state as its transport reports it (``connected``); a transport that
        has no notion of a connection (the console) counts as up."""
        return {platform: bool(getattr(dispatcher.transport, "connected", True))
                for platform, dispatcher in list(self.runtime.dispatchers.items())}

    def outbox_depth(self) -> dict[int, int]:
        """Unsent messages (due or waiting to be retried) by priority."""
        with self.core.session() as session:
            rows = session.exec(select(OutboxMessage.priority, func.count()).where(*UNSENT)
                                .group_by(col(OutboxMessage.priority))).all()
        return {int(priority): int(count) for priority, count in rows}

    def last_alert_id(self) -> int:
        with self.core.session() as session:
            return int(session.exec(select(func.max(Alert.id))).one() or 0)

    def alerts_raised(self, after_id: int) -> dict[str, int]:
        """Alerts raised (by any worker on this database) with an id above ``after_id``, by kind."""
        with self.core.session() as session:
            rows = session.exec(select(Alert.kind, func.count()).where(col(Alert.id) > after_id)
                                .group_by(col(Alert.kind))).all()
        return {str(kind): int(count) for kind, count in rows}

    def deadlines(self, alert_ids: list[int]) -> dict[int, tuple[datetime, datetime]]:
        """(raised at, deadline) of each alert: a missed check-in's deadline is its due time plus
        the HRD's grace; any other alert's is the moment it was raised."""
        found: dict[int, tuple[datetime, datetime]] = {}
        with self.core.session() as session:
            for start in range(0, len(alert_ids), 500):
                rows = session.execute(
                    sa_select(col(Alert.id), col(Alert.kind), col(Alert.raised_at), col(Alert.due_at),
                              col(CheckinClock.grace_s))
                    .outerjoin(CheckinClock, col(CheckinClock.person_id) == col(Alert.hrd_id))
                    .where(col(Alert.id).in_(alert_ids[start:start + 500]))).all()
                for alert_id, kind, raised, due, grace in rows:
                    raised = _aware(raised)
                    deadline = raised
                    if kind == "missed" and due is not None:
                        deadline = _aware(due) + timedelta(seconds=grace or 0)
                    found[int(alert_id or 0)] = (raised, deadline)
        return found


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
