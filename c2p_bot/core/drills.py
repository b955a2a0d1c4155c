"""Drills: a full escalation of an HRD's alert chain, every message marked DRILL (issue 14).

A drill is an alert of kind ``drill`` raised by a coordinator (``/drill HRD``, who is its
``raised_by``). It goes through the steps like a missed check-in, but every message says DRILL (in
the reader's language, :data:`~c2p_bot.core.alert_texts.DRILL`) and goes out after real alerts.
Each recipient's acknowledgement is recorded (``alert_recipient.acked_at``), not only the first:
the time to acknowledge is from when that recipient was alerted. The first acknowledgement stops
the escalation as in a real alert; the drill ends once everyone alerted has acknowledged, when a
coordinator ``/resolve``\\ s it, or ``[drills] ends_after`` after it started; then whoever started
it gets each recipient's time, and everyone alerted is told it is over.

A drill never touches the HRD's check-in clock, so a real miss during a drill raises a real alert,
and the commands that read an HRD's real alert state leave drills out (:data:`DRILL_KIND`).
Flow diagram: docs/flows/drill.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from c2p_bot.core.alert_texts import DRILL
from c2p_bot.core.audit import audit
from c2p_bot.core.durations_text import say_duration
from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import Translate
from c2p_bot.core.outbox import Outbox
from c2p_bot.core.recipients import is_matched
from c2p_bot.core.settings import CoreSettings
from storage.models import Alert, AlertRecipient, Person

DRILL_KIND = "drill"
__all__ = ["DRILL", "DRILL_KIND", "capped", "drill_end", "drill_over_text", "finish_drill", "took"]


def drill_end(alert: Alert, settings: CoreSettings) -> datetime:
    """When the drill ends by itself."""
    return alert.raised_at + settings.drills.ends_after


def capped(alert: Alert, moment: datetime, settings: CoreSettings) -> datetime:
    """``moment``, or the drill's end if that comes first (a drill's next step never outlives it)."""
    return min(moment, drill_end(alert, settings)) if alert.kind == DRILL_KIND else moment


def took(_: Translate, value: timedelta) -> str:
    """A time to acknowledge, in words, in whole minutes (``4 minutes``; under a minute in seconds)."""
    seconds = max(0, int(value.total_seconds()))
    return say_duration(_, timedelta(seconds=seconds - seconds % 60 if seconds >= 60 else seconds))


def drill_over_text(_: Translate, alert_id: int, alias: str) -> str:
    """What everyone alerted is told when a drill ends."""
    return _("{drill} #{id} about {alias} is over. It was a drill: nothing has happened to {alias}.").format(
        drill=_(DRILL), id=alert_id, alias=alias)


def answered(session: Session, alert: Alert) -> list[tuple[Person, AlertRecipient]]:
    """Everyone the drill alerted, in the order they were alerted, with their acknowledgement."""
    return [(person, row) for row, person in session.exec(
        select(AlertRecipient, Person).join(Person, col(Person.id) == col(AlertRecipient.person_id))
        .where(AlertRecipient.alert_id == alert.id)
        .order_by(col(AlertRecipient.notified_at), col(AlertRecipient.id))).all()]


def results_text(_: Translate, session: Session, alert: Alert, alias: str) -> str:
    """The drill's results for whoever started it: each recipient's time to acknowledge."""
    lines = [_("{drill} #{id} about {alias} is over.").format(drill=_(DRILL), id=alert.id, alias=alias)]
    for person, row in answered(session, alert):
        if row.acked_at is None:
            lines.append(_("{alias}: did not acknowledge.").format(alias=person.alias or "?"))
        else:
            lines.append(_("{alias}: acknowledged after {time}.").format(
                alias=person.alias or "?", time=took(_, row.acked_at - row.notified_at)))
    lines.append(_("All results: /drills"))
    return "\n".join(lines)


def finish_drill(session: Session, alert: Alert, now: datetime, outbox: Outbox, settings: CoreSettings,
                 by: Person | None = None) -> None:
    """End a drill (``by``: the coordinator who ended it early, if any): the results go to whoever
    started it (and ``by``), everyone else alerted is told it is over; an announced drill's HRD too."""
    alert.status, alert.resolved_at, alert.next_step_at = "resolved", now, None
    alert.resolved_by = by.id if by is not None else None
    session.add(alert)
    audit(session, now, "drill_finished", actor_id=by.id if by is not None else None,
          subject=f"alert:{alert.id}")
    hrd = session.get(Person, alert.hrd_id)
    alias = hrd.alias or "?" if hrd is not None else "?"
    starter = session.get(Person, alert.raised_by) if alert.raised_by else None
    summary = {p.id: p for p in (starter, by) if p is not None and p.status == "active"}
    for person, _row in answered(session, alert):
        if person.id in summary or person.status != "active":
            continue
        if person.role == "partner" and not is_matched(session, alert.hrd_id, person.id or 0):
            continue
        outbox.to_person(session, person, lambda _: drill_over_text(_, alert.id or 0, alias), now=now,
                         key=f"drill:{alert.id}:over:{person.id}", priority=Priority.NOTICE, kind="notice")
    for person in summary.values():
        outbox.to_person(session, person, lambda _: results_text(_, session, alert, alias), now=now,
                         key=f"drill:{alert.id}:results:{person.id}", priority=Priority.NOTICE, kind="notice")
    if settings.drills.announce and hrd is not None:
        outbox.to_person(session, hrd, lambda _: _("{drill}: the test of your alert chain is over. Thank you.")
                         .format(drill=_(DRILL)), now=now, key=f"drill:{alert.id}:over:hrd",
                         priority=Priority.NOTICE, kind="notice")
