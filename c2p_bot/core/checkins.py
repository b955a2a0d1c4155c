"""The check-in clock of each HRD: schedule, deadlines, check-ins, pause.

The ``checkin_clock`` row is the source of truth: ``next_due`` is when the next check-in is
due, ``alert_at`` = due + grace is when the alarm goes off, ``remind_at`` when the reminder
goes out. Flow diagram: docs/flows/checkin.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from c2p_bot.core.schedule import Schedule, parse_times
from c2p_bot.core.settings import CoreSettings
from storage.models import Alert, CheckinClock, Person


def schedule_of(clock: CheckinClock) -> Schedule:
    if clock.schedule_kind == "daily":
        return Schedule("daily", times=parse_times(clock.daily_times), timezone=clock.timezone)
    return Schedule("every", interval=timedelta(seconds=clock.interval_s), timezone=clock.timezone)


def arm(clock: CheckinClock, due: datetime, config: CoreSettings, now: datetime) -> None:
    """Set the next deadline and its reminder."""
    clock.next_due = due
    clock.alert_at = due + timedelta(seconds=clock.grace_s)
    remind = due - config.checkins.remind_before
    clock.remind_at = remind if remind > now else None


def next_due_after_checkin(clock: CheckinClock, sent_at: datetime, config: CoreSettings) -> datetime:
    """A check-in covers any due time within ``remind_before`` after it."""
    schedule = schedule_of(clock)
    if schedule.kind == "every":
        return schedule.next_due(sent_at)
    return schedule.next_due(sent_at + config.checkins.remind_before)


def ensure_clock(session: Session, person: Person, config: CoreSettings, now: datetime) -> CheckinClock:
    """The HRD's clock, created with the default schedule (every ``interval``) if missing."""
    clock = session.get(CheckinClock, person.id)
    if clock is None:
        clock = CheckinClock(
            person_id=person.id or 0, schedule_kind="every",
            interval_s=int(config.checkins.interval.total_seconds()),
            grace_s=int(config.checkins.grace.total_seconds()), timezone=person.timezone,
            next_due=now + config.checkins.interval,
        )
        arm(clock, now + config.checkins.interval, config, now)
        session.add(clock)
    return clock


@dataclass(frozen=True)
class CheckinResult:
    next_due: datetime
    late: bool
    stale: bool
    resolved: list[Alert]
    ended_pause: bool


def record_checkin(session: Session, clock: CheckinClock, sent_at: datetime, now: datetime,
                   config: CoreSettings) -> CheckinResult:
    """Move the clock on from a check-in sent at ``sent_at``; does not notify anyone."""
    if clock.last_checkin_at is not None and sent_at <= clock.last_checkin_at:
        return CheckinResult(clock.next_due, False, True, [], False)
    late = clock.alert_at is not None and sent_at > clock.alert_at
    clock.last_checkin_at = sent_at
    ended_pause = clock.state == "paused"
    clock.state = "ok"
    clock.paused_until = clock.pause_remind_at = None
    due = next_due_after_checkin(clock, sent_at, config)
    while due <= now:  # an old message read late: the next deadline is still in the future
        due = next_due_after_checkin(clock, due, config)
    arm(clock, due, config, now)
    session.add(clock)
    missed = session.exec(select(Alert).where(
        Alert.hrd_id == clock.person_id, col(Alert.status).in_(("open", "acked")), Alert.kind == "missed",
    )).all()
    return CheckinResult(due, late, False, list(missed), ended_pause)


def restart_clock(clock: CheckinClock, now: datetime, config: CoreSettings) -> None:
    """Start counting again from now (after /resume, a resolved alert, a schedule change)."""
    clock.state = "ok"
    clock.paused_until = clock.pause_remind_at = None
    arm(clock, schedule_of(clock).next_due(now), config, now)
