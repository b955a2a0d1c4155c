"""The sweeper's job for risky-event sessions (c2p_bot.core.risk_sessions): each session past its
deadline is claimed once (a conditional UPDATE, like every sweeper item), raises an alert of kind
``session`` carrying the session's note through the usual escalation chain, and its HRD is asked,
once, to send ``/session end`` (nothing about the alert). Due sessions are read through the index on
(state, due_at); the wake-up is their earliest deadline. Flow diagram: docs/flows/session.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import Session, col, select

from c2p_bot.core.events import Button, Priority
from c2p_bot.core.i18n import Translate
from c2p_bot.core.risk_sessions import SESSION_KIND
from c2p_bot.core.shutdown import notice_shutdowns
from c2p_bot.core.sweeper import BATCH, Sweeper, claim
from storage.models import Identity, Note, Person, RiskSession

if TYPE_CHECKING:
    from c2p_bot.core.service import Core


class SessionWatch:
    """Raises the alert of every session past its deadline."""

    __name__ = "sessions"

    def __init__(self, core: Core, sweeper: Sweeper) -> None:
        self.core = core
        self.sweeper = sweeper

    def __call__(self, now: datetime) -> int:
        countries: set[str | None] = set()
        with self.core.session() as session:
            query = select(RiskSession).where(RiskSession.state == "open", col(RiskSession.due_at) <= now) \
                .order_by(col(RiskSession.due_at))
            held = self.sweeper.catching_up()
            if held:  # an "end" may wait among the messages still arriving (as for check-ins)
                query = query.where(col(RiskSession.hrd_id).not_in(
                    select(Identity.person_id).where(col(Identity.platform).in_(sorted(held)))))
            done = 0
            for row in self.sweeper._candidates(session, query, BATCH):
                if not claim(session, RiskSession, {"id": row.id, "state": "open"}, state="missed"):
                    continue
                hrd = session.get(Person, row.hrd_id)
                if hrd is None:
                    continue
                alert = self.core.escalation.raise_alert(session, hrd, SESSION_KIND, now, due_at=row.due_at)
                session.refresh(row)
                row.alert_id = alert.id
                session.add(row)
                note = session.get(Note, row.note_id) if row.note_id else None
                if note is not None:  # in the alert's case logbook too
                    note.alert_id = alert.id
                    session.add(note)
                due, zone = row.due_at, hrd.timezone

                def render(_: Translate, due: datetime = due, zone: str = zone) -> str:
                    return _("Your session was due to end {due}. If you are safe, send /session end now.").format(
                        due=_.when(due, zone))

                self.core.outbox.to_person(session, hrd, render, now=now, key=f"session:{row.id}:missed",
                                           buttons=lambda _: [[Button(_("I'm safe"), "/session end")]],
                                           priority=Priority.NOTICE, kind="reminder")
                countries.add(hrd.country)
                done += 1
            self.core.commit(session)
        if countries:
            with self.core.session() as session:
                notice_shutdowns(session, self.core.outbox, self.core.config, countries, now)
                self.core.commit(session)
        return done

    def next_wakeup(self, session: Session) -> datetime | None:
        """The earliest deadline of an open session."""
        return session.exec(select(func.min(RiskSession.due_at)).where(
            RiskSession.state == "open", col(RiskSession.due_at).is_not(None))).one()


def install_sessions(core: Core, sweeper: Sweeper) -> SessionWatch:
    """The sweeper job (and its wake-up) for risky-event sessions."""
    watch = SessionWatch(core, sweeper)
    sweeper.extra_jobs.append(watch)
    sweeper.extra_wakeups.append(watch.next_wakeup)
    return watch
