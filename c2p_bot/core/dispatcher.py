"""Drains the outbox for one transport: by priority, paced, retried with backoff, at least once.

Rows are claimed with a conditional UPDATE (a lease), so two workers never send the same
row at the same time; a crash after sending but before marking delivered re-sends it with
the same idempotency key once the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlmodel import col, select, update

from c2p_bot.core.events import DeliveryError, Outgoing, Priority
from c2p_bot.core.failover import fail_over
from c2p_bot.core.outbox import decode_buttons
from storage.models import OutboxMessage

if TYPE_CHECKING:
    from c2p_bot.core.service import Core

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=20)  # a send (HTTP timeouts included) finishes well within this
FAILOVER_AFTER_ATTEMPTS = 3


class Transport(Protocol):
    """What a transport offers the dispatcher."""

    platform: str

    async def deliver(self, message: Outgoing) -> str | None:
        """Send one message; return the platform's message id. Raise :class:`DeliveryError`."""
        ...


@dataclass(frozen=True)
class Pacing:
    """Send limits: messages per second overall, and the gap between two messages to one chat."""

    per_second: float | None = None
    per_chat_interval: float = 0.0


@dataclass
class _ChatState:
    ready_at: float = 0.0  # monotonic time the chat may be sent to again


class Dispatcher:
    """One per transport."""

    def __init__(
        self,
        core: Core,
        transport: Transport,
        pacing: Pacing | None = None,
        *,
        backoff_base: float = 2.0,
        backoff_max: float = 300.0,
        batch: int = 50,
        delete_after: timedelta | None = None,
    ) -> None:
        self.core = core
        self.transport = transport
        self.platform = transport.platform
        self.pacing = pacing or Pacing()
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.batch = batch
        self.delete_after = delete_after
        self._chats: dict[str, _ChatState] = {}
        self._next_global = 0.0
        self._wake = asyncio.Event()
        self._running = False
        self.sent = 0

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Ask :meth:`run` to return (cancellation alone can be swallowed by wait_for on 3.11)."""
        self._running = False
        self._wake.set()

    async def run(self) -> None:
        """Send until :meth:`stop`; sleep until woken or until the next retry is due."""
        self._running = True
        while self._running:
            try:
                progressed = await self.step()
            except Exception:
                log.exception("dispatcher for %s failed a step", self.platform)
                progressed = False
            if progressed:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._idle_wait())

    def _idle_wait(self) -> float:
        now = time.monotonic()
        waits = [1.0]
        if self._next_global > now:
            waits.append(self._next_global - now)
        for chat_id in [c for c, state in self._chats.items() if state.ready_at <= now]:
            del self._chats[chat_id]  # nothing to remember about a chat that may be sent to again
        ready = [c.ready_at - now for c in self._chats.values()]
        if ready:
            waits.append(min(ready))
        return max(0.01, min(waits))

    async def drain(self, limit: int = 10_000) -> int:
        """Send everything due now (tests); returns how many sends were attempted."""
        count = 0
        while count < limit and await self.step(ignore_pacing=True):
            count += 1
        return count

    def _pick(self, ignore_pacing: bool) -> OutboxMessage | None:
        now = self.core.clock.now()
        mono = time.monotonic()
        with self.core.session() as session:
            rows = session.exec(
                select(OutboxMessage)
                .where(
                    OutboxMessage.platform == self.platform,
                    col(OutboxMessage.delivered_at).is_(None),
                    col(OutboxMessage.failed_at).is_(None),
                    OutboxMessage.next_attempt_at <= now,
                )
                .order_by(col(OutboxMessage.priority), col(OutboxMessage.id))
                .limit(self.batch)
            ).all()
            for row in rows:
                chat = self._chats.get(row.chat_id)
                if not ignore_pacing and chat is not None and chat.ready_at > mono:
                    continue
                claimed = session.exec(  # type: ignore[call-overload]
                    update(OutboxMessage)
                    .where(
                        col(OutboxMessage.id) == row.id,
                        col(OutboxMessage.next_attempt_at) == row.next_attempt_at,
                        col(OutboxMessage.delivered_at).is_(None),
                    )
                    .values(next_attempt_at=now + LEASE, attempts=row.attempts + 1)
                )
                session.commit()
                if claimed.rowcount == 1:
                    row.attempts += 1
                    return row
        return None

    async def step(self, ignore_pacing: bool = False) -> bool:
        """Send the most urgent sendable message, if any; returns whether one was attempted."""
        started = time.monotonic()
        if not ignore_pacing and self.pacing.per_second and started < self._next_global:
            return False
        row = self._pick(ignore_pacing)
        if row is None:
            return False
        if self.pacing.per_second:  # by slot: the time spent picking counts towards the period
            self._next_global = max(self._next_global, started) + 1.0 / self.pacing.per_second
        message = Outgoing(
            outbox_id=row.id or 0,
            platform=row.platform,
            chat_id=row.chat_id,
            text=self.core.outbox.protector.open(row.idempotency_key, row.body),
            buttons=decode_buttons(row.buttons),
            priority=row.priority,
            idempotency_key=row.idempotency_key,
            kind=row.kind,
            sensitive=row.sensitive,
            alert_id=row.alert_id,
            person_id=row.person_id,
        )
        self._chats.setdefault(row.chat_id, _ChatState()).ready_at = (
            time.monotonic() + self.pacing.per_chat_interval
        )
        try:
            platform_id = await self.transport.deliver(message)
        except DeliveryError as error:
            self._failed(row, error)
        except Exception as error:  # a transport bug must not stop deliveries
            log.exception("transport %s raised while sending", self.platform)
            self._failed(row, DeliveryError(type(error).__name__))
        else:
            self._delivered(row, platform_id)
        return True

    def _delivered(self, row: OutboxMessage, platform_id: str | None) -> None:
        now = self.core.clock.now()
        delete_at = now + self.delete_after if (row.sensitive and self.delete_after) else None
        with self.core.session() as session:
            session.exec(  # type: ignore[call-overload]
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == row.id)
                .values(delivered_at=now, platform_message_id=platform_id, body=b"",
                        last_error=None, delete_at=delete_at)
            )
            session.commit()
        self.sent += 1

    def _failed(self, row: OutboxMessage, error: DeliveryError) -> None:
        now = self.core.clock.now()
        with self.core.session() as session:
            current = session.get(OutboxMessage, row.id)
            if current is None or current.delivered_at is not None:
                return
            current.last_error = error.reason[:300]
            if error.permanent:
                current.failed_at = now
                session.add(current)
                current.next_attempt_at = now
                fail_over(session, self.core.outbox, current, self.core.unreachable_hooks,
                          now_identity_unreachable=True)
                log.warning("%s: message %s undeliverable (%s); failing over",
                            self.platform, row.id, error.reason[:80])
            else:
                if error.retry_after is not None:
                    delay = float(error.retry_after)
                    chat = self._chats.setdefault(row.chat_id, _ChatState())
                    chat.ready_at = time.monotonic() + delay
                else:
                    delay = min(self.backoff_max, self.backoff_base * 2 ** (current.attempts - 1))
                    delay *= random.uniform(0.5, 1.0)
                current.next_attempt_at = now + timedelta(seconds=delay)
                session.add(current)
                if current.attempts == FAILOVER_AFTER_ATTEMPTS and current.priority <= Priority.ESCALATION:
                    fail_over(session, self.core.outbox, current, self.core.unreachable_hooks,
                              now_identity_unreachable=False)
            self.core.commit(session)


def due_pending(core: Core, platform: str, now: datetime) -> int:
    """How many messages are waiting to be sent on a platform."""
    with core.session() as session:
        return len(session.exec(
            select(OutboxMessage.id).where(
                OutboxMessage.platform == platform,
                col(OutboxMessage.delivered_at).is_(None),
                col(OutboxMessage.failed_at).is_(None),
            )
        ).all())
