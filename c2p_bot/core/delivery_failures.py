"""What a failed send does to its outbox row: wait out a rate limit, back off and retry, fail
over to another identity (or the alert's next step) when the recipient is unreachable, or give
up after ``MAX_ATTEMPTS``. Called by the dispatcher (c2p_bot.core.dispatcher), in its thread.
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from c2p_bot.core.events import DELETE_MESSAGE, DeliveryError
from c2p_bot.core.failover import UnreachableHook, fail_over
from c2p_bot.core.outbox import Outbox
from storage.models import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # failed sends of one row (rate limits not counted); then it is given up


def _backoff(attempts: int, backoff: tuple[float, float]) -> timedelta:
    base, longest = backoff
    return timedelta(seconds=min(longest, base * 2 ** (attempts - 1)) * random.uniform(0.5, 1.0))


def record_failure(session: Session, row: OutboxMessage, error: DeliveryError, now: datetime, *, platform: str,
                   outbox: Outbox, hooks: list[UnreachableHook], failover_after: timedelta,
                   backoff: tuple[float, float]) -> None:
    """Record one failed send of ``row``; ``backoff`` is (base, longest) in seconds."""
    row.last_error = error.reason[:300]
    if error.retry_after is not None:  # a rate limit: not an attempt, not a failure
        row.attempts = max(0, row.attempts - 1)
        row.next_attempt_at = now + timedelta(seconds=max(0.0, float(error.retry_after)))
        session.add(row)
        return
    if row.kind == DELETE_MESSAGE:
        _failed_deletion(session, row, error, now, platform=platform, backoff=backoff)
        return
    if error.permanent:
        row.failed_at = row.next_attempt_at = now
        session.add(row)
        fail_over(session, outbox, row, hooks, now_identity_unreachable=True)
        log.warning("%s: message %s undeliverable (%s); failing over", platform, row.id, error.reason[:80])
        return
    if row.failing_since is None:
        row.failing_since = now
    failing_for = now - _aware(row.failing_since)
    if row.attempts >= MAX_ATTEMPTS:
        row.failed_at = row.next_attempt_at = now
        session.add(row)
        log.warning("%s: message %s gave up after %d attempts (%s)", platform, row.id, row.attempts,
                    error.reason[:80])
        fail_over(session, outbox, row, hooks, now_identity_unreachable=False)
        return
    if failing_for >= failover_after:
        # Unreachable for a while: try the person's other identity (this copy is then done),
        # and let the hooks move an alert's chain on; with nowhere else to go, keep trying.
        moved = fail_over(session, outbox, row, hooks, now_identity_unreachable=False)
        log.warning("%s: message %s failing for %.0fs (%s); %s", platform, row.id,
                    failing_for.total_seconds(), error.reason[:80],
                    "moved to another identity" if moved else "still retrying")
        if moved:
            row.failed_at = row.next_attempt_at = now
            session.add(row)
            return
        row.failing_since = now  # the next failover check is another failover_after away
    row.next_attempt_at = now + _backoff(row.attempts, backoff)
    session.add(row)


def _failed_deletion(session: Session, row: OutboxMessage, error: DeliveryError, now: datetime, *, platform: str,
                     backoff: tuple[float, float]) -> None:
    """A deletion refused for good (e.g. past Telegram's 48 h) is recorded as failed: the
    message stays on the phone, and the log says so (without its text)."""
    if not error.permanent and row.attempts < MAX_ATTEMPTS:
        row.next_attempt_at = now + _backoff(row.attempts, backoff)
    else:
        row.failed_at = row.next_attempt_at = now
        log.warning("%s: could not delete a note-carrying message in outbox row %s (%s); it stays "
                    "in the chat", platform, row.id, error.reason[:80])
    session.add(row)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
