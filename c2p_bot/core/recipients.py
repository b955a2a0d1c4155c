"""Who an alert reaches and who may see it: partners, coordinators, the people of each step."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.models import Alert, AlertRecipient, Match, Person


def active_partners(session: Session, hrd_id: int) -> list[Person]:
    # Person and Match both load as ORM rows, so both pass their integrity check (a refused
    # match's status is no longer "active", a refused person's neither).
    return [person for person, match in session.exec(
        select(Person, Match).join(Match, col(Match.partner_id) == col(Person.id)).where(
            Match.hrd_id == hrd_id, Match.status == "active", Person.status == "active")
        .order_by(col(Person.id))
    ).all() if match.status == "active" and person.status == "active"]


def coordinators(session: Session) -> list[Person]:
    return [person for person in session.exec(
        select(Person).where(Person.role == "coordinator", Person.status == "active")
        .order_by(col(Person.id))
    ).all() if person.role == "coordinator"]  # not refused by its integrity check


def step_people(session: Session, audience: str, hrd_id: int) -> list[Person]:
    """The people of a step's audience: ``partners`` or ``coordinators`` (c2p_bot.core.escalation_steps)."""
    return active_partners(session, hrd_id) if audience == "partners" else coordinators(session)


def recipients(session: Session, alert: Alert) -> list[Person]:
    ids = select(AlertRecipient.person_id).where(AlertRecipient.alert_id == alert.id)
    return list(session.exec(select(Person).where(col(Person.id).in_(ids)).order_by(col(Person.id))).all())


def is_recipient(session: Session, alert: Alert, person_id: int) -> bool:
    return session.exec(select(AlertRecipient.id).where(
        AlertRecipient.alert_id == alert.id, AlertRecipient.person_id == person_id)).first() is not None


def may_see(session: Session, alert: Alert, person: Person) -> bool:
    """Coordinators see every alert; partners the alerts of their HRDs or sent to them."""
    if person.role == "coordinator":
        return True
    if person.role != "partner" or person.id is None:
        return False
    return is_matched(session, alert.hrd_id, person.id)


def is_matched(session: Session, hrd_id: int, partner_id: int) -> bool:
    """Whether the partner is matched with the HRD now (an ex-partner loses access at once)."""
    return any(match.status == "active" for match in session.exec(select(Match).where(  # integrity-checked
        Match.hrd_id == hrd_id, Match.partner_id == partner_id, Match.status == "active")).all())


def current_recipients(session: Session, alert: Alert) -> list[Person]:
    """Everyone alerted so far who may still see the alert (not partners unmatched since)."""
    return [p for p in recipients(session, alert)
            if p.status == "active" and (p.role != "partner" or is_matched(session, alert.hrd_id, p.id or 0))]
