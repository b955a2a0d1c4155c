"""Drains the outbox for one transport: by priority, paced, retried with backoff, at least once.

It always sends what is sendable next: chats that are in their per-chat pause (or have a send
in flight) are left out while choosing, so one busy chat never holds back the others; several
sends are in flight at once (each to its own chat), paced by slots of the overall rate. Alerts
waiting for the same chat go out as one digest, each with its own button.

Rows are claimed with a conditional UPDATE (a lease), so two workers never send the same
row at the same time; a crash after sending but before marking delivered re-sends it with
the same idempotency key once the lease runs out.

Failures: a rate limit (``retry_after``) is not a failed attempt; it pauses the chat, or the
whole transport when it is bot-wide. A message fails over to the recipient's other identity
(or the alert's next step) only when the recipient is truly unreachable: a refusal, or errors
for longer than ``[escalation] failover_after``. Resends are capped (``MAX_ATTEMPTS``) and end
in a failed, logged state. Database work runs in the dispatcher's own thread, never on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import and_
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select, update

from c2p_bot.core.delivery_failures import record_failure
from c2p_bot.core.events import Button, DeliveryError, Outgoing
from c2p_bot.core.outbox import decode_buttons
from c2p_bot.core.send_rate import RateWindow
from storage.models import OutboxMessage

if TYPE_CHECKING:
    from c2p_bot.core.service import Core

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=20)  # a send (HTTP timeouts included) finishes well within this
MAX_DIGEST = 10  # alerts combined into one message to one chat
DIGEST_KIND = "alert"
DIGEST_SEPARATOR = "\n\n———\n\n"


class Transport(Protocol):
    """What a transport offers the dispatcher."""

    platform: str

    async def deliver(self, message: Outgoing) -> str | None:
        """Send one message; return the platform's message id. Raise :class:`DeliveryError`."""
        ...


@dataclass(frozen=True)
class Pacing:
    """Send limits: messages per second overall, the gap between two messages to one chat, and
    how many sends may be in flight at once (each to a different chat)."""

    per_second: float | None = None
    per_chat_interval: float = 0.0
    in_flight: int = 8


@dataclass
class _Claimed:
    """Rows claimed for one send: one, or several alerts to one chat as a digest."""

    rows: list[OutboxMessage]
    message: Outgoing
    chat_id: str = ""
    started: float = 0.0
    previous: float | None = None  # when this chat was last sent to before this send


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
        self._ready_at: dict[str, float] = {}  # chat id -> monotonic time it may be sent to again
        self._last_sent: dict[str, float] = {}  # chat id -> monotonic time of the last send start
        self._in_flight: dict[str, asyncio.Task[None]] = {}  # chat id -> its send
        self._next_global = 0.0  # monotonic time the next send may start (the overall rate)
        self._rate = RateWindow(self.pacing.per_second) if self.pacing.per_second else None
        self._paused_until = 0.0  # a bot-wide rate limit pauses every chat
        self._wake = asyncio.Event()
        self._running = False
        self._worker = ThreadPoolExecutor(1, thread_name_prefix=f"c2p-send-{self.platform}")
        self.sent = 0
        # Called in this dispatcher's thread with the rows just marked delivered and the moment
        # (e.g. the metrics' latency histogram); a hook must be quick and must not raise.
        self.delivered_hooks: list[Callable[[Sequence[OutboxMessage], datetime], None]] = []

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Ask :meth:`run` to return (cancellation alone can be swallowed by wait_for on 3.11)."""
        self._running = False
        self._wake.set()

    async def _db(self, work, *args):  # type: ignore[no-untyped-def]
        """Run database work in this dispatcher's thread (in order, off the event loop)."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, self.core.gate.running, work, *args)

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        """Send until :meth:`stop`; sleep until woken, a chat's pause ends or a retry is due."""
        self._running = True
        try:
            while self._running:
                try:
                    started = await self._start_next()
                except Exception:
                    log.exception("dispatcher for %s failed a step", self.platform)
                    started = False
                if started:
                    continue
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._idle_wait())
        finally:
            if self._in_flight:
                await asyncio.wait(list(self._in_flight.values()), timeout=5.0)

    def _idle_wait(self) -> float:
        now = time.monotonic()
        waits = [1.0]
        if self._next_global > now:
            waits.append(self._next_global - now)
        if self._paused_until > now:
            waits.append(self._paused_until - now)
        for chat_id in [c for c, at in self._ready_at.items() if at <= now]:
            del self._ready_at[chat_id]  # nothing to remember about a chat that may be sent to again
        if self._ready_at:
            waits.append(min(self._ready_at.values()) - now)
        return max(0.005, min(waits))

    def _blocked_chats(self, now: float) -> list[str]:
        blocked = {c for c, at in self._ready_at.items() if at > now}
        blocked.update(self._in_flight)
        return sorted(blocked)

    async def _start_next(self) -> bool:
        """Claim the most urgent sendable message and start sending it; whether one started."""
        now = time.monotonic()
        if now < self._paused_until:
            return False
        if self.pacing.per_second and now < self._next_global:
            return False
        if len(self._in_flight) >= max(1, self.pacing.in_flight):
            return False
        claimed = await self._db(self._claim, self._blocked_chats(now))
        if claimed is None:
            return False
        self._mark_started(claimed)
        if self._rate is not None:  # at most per_second starts in any second (c2p_bot.core.send_rate)
            self._next_global = self._rate.started(claimed.started, chosen=now)
        chat_id = claimed.chat_id
        task = asyncio.create_task(self._send(claimed), name=f"send-{self.platform}")
        self._in_flight[chat_id] = task
        task.add_done_callback(functools.partial(self._finished, chat_id))
        return True

    def _finished(self, chat_id: str, _task: object = None) -> None:
        self._in_flight.pop(chat_id, None)
        self._wake.set()

    async def drain(self, limit: int = 10_000) -> int:
        """Send everything due now, one at a time, ignoring pacing (tests); returns how many
        sends were attempted."""
        count = 0
        while count < limit and await self.step(ignore_pacing=True):
            count += 1
        return count

    async def step(self, ignore_pacing: bool = False) -> bool:
        """Send the most urgent sendable message, if any, and wait for it; whether one was tried."""
        now = time.monotonic()
        paced = now < self._paused_until or bool(self.pacing.per_second and now < self._next_global)
        if paced and not ignore_pacing:
            return False
        claimed = await self._db(self._claim, [] if ignore_pacing else self._blocked_chats(now))
        if claimed is None:
            return False
        self._mark_started(claimed)
        if self._rate is not None and not ignore_pacing:
            self._next_global = self._rate.started(claimed.started, chosen=now)
        await self._send(claimed)
        return True

    def _mark_started(self, claimed: _Claimed) -> None:
        chat_id = claimed.message.chat_id
        started = time.monotonic()
        claimed.chat_id, claimed.started, claimed.previous = chat_id, started, self._last_sent.get(chat_id)
        self._last_sent[chat_id] = started
        self._ready_at[chat_id] = started + self.pacing.per_chat_interval

    # -- choosing ------------------------------------------------------------------------

    def _claim(self, blocked: Sequence[str]) -> _Claimed | None:
        """Lease the most urgent due row of a chat that may be sent to now (and, for an alert,
        the other alerts due for that chat)."""
        now = self.core.clock.now()
        due = and_(
            col(OutboxMessage.platform) == self.platform,
            col(OutboxMessage.delivered_at).is_(None),
            col(OutboxMessage.failed_at).is_(None),
            col(OutboxMessage.next_attempt_at) <= now,
        )
        query = select(OutboxMessage).where(due)
        if blocked:
            query = query.where(col(OutboxMessage.chat_id).not_in(list(blocked)))
        with self.core.session() as session:
            rows = session.exec(
                query.order_by(col(OutboxMessage.priority), col(OutboxMessage.id)).limit(self.batch)
            ).all()
            for row in rows:
                if not self._lease(session, row, now):
                    continue
                claimed = [row]
                if row.kind == DIGEST_KIND:
                    others = session.exec(
                        select(OutboxMessage).where(
                            due, OutboxMessage.chat_id == row.chat_id, OutboxMessage.kind == DIGEST_KIND,
                            col(OutboxMessage.id) != row.id,
                        ).order_by(col(OutboxMessage.priority), col(OutboxMessage.id)).limit(MAX_DIGEST - 1)
                    ).all()
                    claimed += [other for other in others if self._lease(session, other, now)]
                session.commit()
                return _Claimed(claimed, self._outgoing(claimed))
            session.commit()
        return None

    def _lease(self, session, row: OutboxMessage, now: datetime) -> bool:  # type: ignore[no-untyped-def]
        leased = session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == row.id,
                col(OutboxMessage.next_attempt_at) == row.next_attempt_at,
                col(OutboxMessage.delivered_at).is_(None),
            )
            .values(next_attempt_at=now + LEASE, attempts=row.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if leased.rowcount != 1:
            return False
        # What the database now holds, without making the object dirty (a flush would rewrite it).
        set_committed_value(row, "attempts", row.attempts + 1)
        set_committed_value(row, "next_attempt_at", now + LEASE)
        return True

    def _outgoing(self, rows: list[OutboxMessage]) -> Outgoing:
        first = rows[0]
        texts = [self.core.outbox.protector.open(row.idempotency_key, row.body) for row in rows]
        buttons: list[tuple[Button, ...]] = []
        for row in rows:
            buttons += decode_buttons(row.buttons)
        return Outgoing(
            outbox_id=first.id or 0,
            platform=first.platform,
            chat_id=first.chat_id,
            text=DIGEST_SEPARATOR.join(texts),
            buttons=tuple(buttons),
            priority=min(row.priority for row in rows),
            # One key per set of rows: a digest re-sent after a crash is the same digest.
            idempotency_key=first.idempotency_key if len(rows) == 1
            else "digest:" + ",".join(str(row.id) for row in rows),
            kind=first.kind,
            sensitive=any(row.sensitive for row in rows),
            alert_id=first.alert_id,
            person_id=first.person_id,
        )

    # -- sending -------------------------------------------------------------------------

    async def _send(self, claimed: _Claimed) -> None:
        try:
            platform_id = await self.transport.deliver(claimed.message)
        except DeliveryError as error:
            self._rate_limited(claimed, error)
            await self._db(self._failed, claimed.rows, error)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a transport bug must not stop deliveries
            log.exception("transport %s raised while sending", self.platform)
            await self._db(self._failed, claimed.rows, DeliveryError(type(error).__name__))
        else:
            await self._db(self._delivered, claimed.rows, platform_id)

    def _rate_limited(self, claimed: _Claimed, error: DeliveryError) -> None:
        """Pause the chat, or the whole transport for a bot-wide limit."""
        if error.retry_after is None:
            return
        delay = max(0.0, float(error.retry_after))
        until = time.monotonic() + delay
        scope = error.scope
        if scope is None:
            # We pace each chat ourselves: a limit on a chat we had left alone for its whole
            # interval can only be the bot-wide one.
            previous = claimed.previous
            scope = "chat" if previous is not None and claimed.started - previous < self.pacing.per_chat_interval \
                else "transport"
        if scope == "transport":
            self._paused_until = max(self._paused_until, until)
            log.warning("%s: rate limited bot-wide; pausing every chat for %.0fs", self.platform, delay)
        self._ready_at[claimed.chat_id] = max(self._ready_at.get(claimed.chat_id, 0.0), until)

    def _delivered(self, rows: list[OutboxMessage], platform_id: str | None) -> None:
        now = self.core.clock.now()
        with self.core.session() as session:
            for row in rows:
                delete_at = now + self.delete_after if (row.sensitive and self.delete_after) else None
                session.exec(  # type: ignore[call-overload]
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id) == row.id)
                    .values(delivered_at=now, platform_message_id=platform_id, body=b"",
                            last_error=None, delete_at=delete_at, failing_since=None)
                )
            session.commit()
        self.sent += len(rows)
        for hook in self.delivered_hooks:
            hook(rows, now)

    def _failed(self, rows: list[OutboxMessage], error: DeliveryError) -> None:
        now = self.core.clock.now()
        with self.core.session() as session:
            for row in rows:
                current = session.get(OutboxMessage, row.id)
                if current is None or current.delivered_at is not None:
                    continue
                record_failure(session, current, error, now, platform=self.platform, outbox=self.core.outbox,
                               hooks=self.core.unreachable_hooks,
                               failover_after=self.core.config.escalation.failover_after,
                               backoff=(self.backoff_base, self.backoff_max))
            self.core.commit(session)
