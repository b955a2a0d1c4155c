"""The sweeper: finds what is due in the database and acts on it, claiming each item once.

Each item is claimed with a conditional UPDATE (the row must still be in the state and at the
deadline the sweeper read), so a second worker, or a restart, never acts twice; on PostgreSQL
candidates are read ``FOR UPDATE SKIP LOCKED`` so several workers share the work.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select, update

from c2p_bot.core.alert_texts import PersonView
from c2p_bot.core.alerts import Escalation
from c2p_bot.core.alerts_batch import MISSED, Missed
from c2p_bot.core.audit import audit
from c2p_bot.core.checkins import restart_clock
from c2p_bot.core.events import Button, Priority
from c2p_bot.core.i18n import Translate
from c2p_bot.core.recipients import coordinators
from c2p_bot.core.shutdown import notice_shutdowns
from storage.models import Alert, CheckinClock, Identity, Person

if TYPE_CHECKING:
    from c2p_bot.core.service import Core

log = logging.getLogger(__name__)
BATCH = 200
STEP_BATCH = 50  # escalation steps per transaction (each touches a few rows per recipient)
DEADLINE_BATCH = 500  # one claim and a fixed number of queries per batch

Job = Callable[[datetime], int]


class Sweeper:
    """Acts on every due deadline, reminder, pause end and escalation step."""

    def __init__(self, core: Core, escalation: Escalation) -> None:
        self.core = core
        self.escalation = escalation
        self.extra_jobs: list[Job] = []
        self.extra_wakeups: list[Callable[[Session], datetime | None]] = []  # e.g. offer expiry
        # Platforms still handing over the messages that queued while the bot was down: the
        # deadlines of HRDs reachable there wait (a check-in among those messages must not be
        # overtaken by its own alarm); everyone else's go on. The command line bounds how long.
        self.catching_up: Callable[[], frozenset[str]] = frozenset
        # For the health view (c2p_bot.core.health): when a job last finished without an error
        # (time.monotonic; None until one has), and how many jobs have failed so far.
        self.progress_at: float | None = None
        self.failures = 0

    def _candidates(self, session: Session, query: Any, limit: int = 0) -> list[Any]:
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(session.exec(query.limit(limit or BATCH)).all())

    def sweep(self) -> int:
        """Do everything due now; returns how many items were acted on."""
        now = self.core.clock.now()
        done = 0
        for job in (self._deadlines, self._steps, self._reminders, self._pauses, *self.extra_jobs):
            try:
                done += job(now)
            except Exception:
                self.failures += 1
                log.exception("sweeper job %s failed", getattr(job, "__name__", job))
            else:
                self.progress_at = time.monotonic()
        return done

    # -- missed check-ins --------------------------------------------------------------

    def _deadlines(self, now: datetime) -> int:
        """Raise the alerts of every overdue clock; then tell each of those HRDs to check in now,
        in a transaction of its own, so no alert waits for these (a crash in between loses only them)."""
        missed: list[Missed] = []
        try:
            return self._raise_missed(now, missed)
        finally:
            if missed:
                with self.core.session() as session:
                    self.escalation.tell_missed(session, missed, now)
                    self.core.commit(session)
                with self.core.session() as session:  # many misses in one country: a shutdown?
                    notice_shutdowns(session, self.core.outbox, self.core.config, {m.hrd.country for m in missed}, now)
                    self.core.commit(session)

    def _raise_missed(self, now: datetime, missed: list[Missed]) -> int:
        """Claim overdue clocks a batch at a time (one UPDATE … RETURNING) and raise their alerts."""
        held = self.catching_up()
        done = 0
        coordinating: list[PersonView] | None = None  # loaded once per sweep, not per batch
        while True:
            # A batch allocates ~100,000 short-lived objects; collections triggered by that count
            # would land inside it. Paused per batch, so a long catch-up still collects between.
            with cyclic_gc_paused(), self.core.session() as session:
                # One statement claims the batch. On PostgreSQL a CTE picks the earliest overdue
                # clocks (MATERIALIZED and FOR UPDATE SKIP LOCKED: it runs once and skips rows
                # another worker holds; a LIMIT inside IN (…) was rescanned by a nested loop into
                # more rows than the batch). On SQLite the pick stays inside IN (…): a statement
                # that starts with WITH is not seen as a write by Python's sqlite3, which then
                # opens no transaction, so the claim would commit on its own, apart from its
                # alerts. The UPDATE re-checks each clock, so one checked in meanwhile is not claimed.
                due = select(CheckinClock.person_id).where(
                    CheckinClock.state == "ok", col(CheckinClock.alert_at) <= now,
                ).order_by(col(CheckinClock.alert_at)).limit(DEADLINE_BATCH)
                if held:
                    due = due.where(col(CheckinClock.person_id).not_in(
                        select(Identity.person_id).where(col(Identity.platform).in_(sorted(held)))))
                if session.get_bind().dialect.name == "postgresql":
                    cte = due.with_for_update(skip_locked=True).cte("due").prefix_with(
                        "MATERIALIZED", dialect="postgresql")
                    batch = select(cte.c.person_id)
                else:
                    batch = due
                claimed = session.execute(
                    update(CheckinClock).where(
                        col(CheckinClock.person_id).in_(batch),
                        col(CheckinClock.state) == "ok",
                        col(CheckinClock.alert_at) <= now,
                    ).values(state="alerting", remind_at=None)
                    .returning(col(CheckinClock.person_id), col(CheckinClock.next_due),
                               col(CheckinClock.last_checkin_at))
                    .execution_options(synchronize_session=False)
                ).all()
                if not claimed:
                    return done
                if coordinating is None:
                    coordinating = [PersonView.of(person) for person in coordinators(session)]
                done += self.escalation.raise_missed_batch(
                    session, [(row[0], row[1], row[2]) for row in claimed], now, coordinating)
                self.core.commit(session)
                missed += session.info.pop(MISSED, [])  # told once every alert is committed
            self.progress_at = time.monotonic()  # a long catch-up is progress, not a stall
            if len(claimed) < DEADLINE_BATCH:
                return done

    # -- escalation steps and repeats ----------------------------------------------------

    def _steps(self, now: datetime) -> int:
        """Next steps and repeats of open alerts, and acknowledgements that expired unresolved.
        Small batches: each is a short transaction, so check-ins handled meanwhile never wait long."""
        done = 0
        while True:
            with self.core.session() as session:
                rows = self._candidates(session, select(Alert).where(
                    col(Alert.status).in_(("open", "acked")), col(Alert.next_step_at) <= now,
                ).order_by(col(Alert.next_step_at)), STEP_BATCH)
                for alert in rows:
                    if not claim(session, Alert, {"id": alert.id, "status": alert.status,
                                                  "next_step_at": alert.next_step_at}, next_step_at=None):
                        continue
                    session.refresh(alert)
                    if alert.status == "acked":
                        self.escalation.ack_expired(session, alert, now)
                    else:
                        self.escalation.advance(session, alert, now)
                    done += 1
                self.core.commit(session)
            if len(rows) < STEP_BATCH:
                return done

    # -- reminders -----------------------------------------------------------------------

    def _reminders(self, now: datetime) -> int:
        done = 0
        with self.core.session() as session:
            rows = self._candidates(session, select(CheckinClock).where(
                CheckinClock.state == "ok", col(CheckinClock.remind_at) <= now))
            for clock in rows:
                claimed = claim(session, CheckinClock, {"person_id": clock.person_id, "remind_at": clock.remind_at},
                                remind_at=None)
                hrd = session.get(Person, clock.person_id)
                if not claimed or hrd is None:
                    continue
                due = clock.next_due

                def render(_: Translate, due: datetime = due, zone: str = hrd.timezone) -> str:
                    return _("Reminder: your next check-in is due {due}. Send /checkin when you can.").format(
                        due=_.when(due, zone))

                self.core.outbox.to_person(
                    session, hrd, render, now=now, key=f"remind:{hrd.id}:{due.isoformat()}",
                    buttons=lambda _: [[Button(_("I'm safe"), "/checkin")]],
                    priority=Priority.REMINDER, kind="reminder")
                done += 1
            self.core.commit(session)
        return done

    # -- pauses --------------------------------------------------------------------------

    def _pauses(self, now: datetime) -> int:
        done = 0
        with self.core.session() as session:
            ending = self._candidates(session, select(CheckinClock).where(
                CheckinClock.state == "paused", col(CheckinClock.pause_remind_at) <= now))
            for clock in ending:
                claimed = claim(session, CheckinClock, {"person_id": clock.person_id,
                                                        "pause_remind_at": clock.pause_remind_at},
                                pause_remind_at=None)
                hrd = session.get(Person, clock.person_id)
                if not claimed or hrd is None or clock.paused_until is None:
                    continue
                until = clock.paused_until

                def ending_text(_: Translate, until: datetime = until, zone: str = hrd.timezone) -> str:
                    return _("Your pause ends {when}; check-ins start again then. Send /pause to extend "
                             "it or /resume to end it now.").format(when=_.when(until, zone))

                self.core.outbox.to_person(
                    session, hrd, ending_text,
                    now=now, key=f"pause-ending:{hrd.id}:{until.isoformat()}",
                    priority=Priority.REMINDER, kind="reminder")
                done += 1
            over = self._candidates(session, select(CheckinClock).where(
                CheckinClock.state == "paused", col(CheckinClock.paused_until) <= now))
            for clock in over:
                claimed = claim(session, CheckinClock, {"person_id": clock.person_id, "state": "paused",
                                                        "paused_until": clock.paused_until}, state="ok")
                hrd = session.get(Person, clock.person_id)
                if not claimed or hrd is None:
                    continue
                session.refresh(clock)
                restart_clock(clock, now, self.core.config)
                session.add(clock)
                audit(session, now, "pause_ended", subject=f"person:{hrd.id}")
                due = clock.next_due

                def over_text(_: Translate, due: datetime = due, zone: str = hrd.timezone) -> str:
                    return _("Your pause is over. Your next check-in is due {due}.").format(due=_.when(due, zone))

                self.core.outbox.to_person(
                    session, hrd, over_text,
                    now=now, key=f"pause-over:{hrd.id}:{due.isoformat()}", priority=Priority.REMINDER,
                    kind="reminder")
                done += 1
            self.core.commit(session)
        return done

    # -- when to wake next ---------------------------------------------------------------

    def next_wakeup(self) -> datetime | None:
        """The earliest moment anything becomes due (for the alarm clock)."""
        with self.core.session() as session:
            # Each min() also says IS NOT NULL: the column's index then starts at the first
            # value instead of walking every NULL (37 ms at 100,000 clocks, after every message).
            candidates = [
                session.exec(select(func.min(column)).where(col(column).is_not(None), where)).one()
                for column, where in (
                    (CheckinClock.alert_at, CheckinClock.state == "ok"),
                    (CheckinClock.remind_at, CheckinClock.state == "ok"),
                    (CheckinClock.pause_remind_at, CheckinClock.state == "paused"),
                    (CheckinClock.paused_until, CheckinClock.state == "paused"),
                    (Alert.next_step_at, col(Alert.status).in_(("open", "acked"))),
                )
            ]
            candidates += [source(session) for source in self.extra_wakeups]
        moments = [_aware(c) for c in candidates if c is not None]
        return min(moments) if moments else None


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (reference counting still frees everything acyclic):
    its collections, triggered by allocation counts, otherwise land inside alert batches."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def claim(session: Session, model: type[SQLModel], chosen_by: dict[str, object], **values: object) -> bool:
    """Take one row for this worker: a conditional UPDATE that sets ``values`` only while the
    columns the row was chosen by (``chosen_by``, its key included) still hold those values. Another
    worker, or a check-in meanwhile, makes it fail, so nothing is done twice."""
    result = session.exec(  # type: ignore[call-overload]
        update(model).where(*(col(getattr(model, name)) == value for name, value in chosen_by.items()))
        .values(**values))
    return bool(result.rowcount == 1)


def _aware(value: Any) -> datetime:
    from datetime import UTC

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
