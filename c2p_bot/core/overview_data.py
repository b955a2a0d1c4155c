"""What ``/overview`` shows, read in a few queries whatever the number of people.

The overview is one list in four sections, cut into pages: every defender (alerting first, then
overdue, then the others by name) with their partners, last check-in, plan and open alerts; every
partner with their load against capacity; proposals and offers waiting; and needs without a
partner, by name. Counting each section and ordering the defenders happen in the database; only
the people on the asked page are read in full (a handful of ``IN`` queries), so a page costs the
same with ten defenders or ten thousand.

Emergency plans (issue 14) are shown through the ``plan_status`` service when the plan feature
registers one (:data:`PLAN_STATUS`); without it the overview has no plan column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, exists, or_
from sqlmodel import Session, col, func, select

from c2p_bot.core.matching_facts import csv_set, loads
from storage.models import Alert, CheckinClock, Match, Person, Proposal

PAGE_SIZE = 15
OPEN_ALERTS = ("open", "acked")
WAITING = ("pending", "offered")
# The plan feature registers ``core.services[PLAN_STATUS]``: a callable (session, HRD ids, now)
# -> {HRD id: "current" | "review" | "missing"}; HRDs it leaves out show no plan status.
PLAN_STATUS = "plan_status"
PlanStatus = Callable[[Session, list[int], datetime], dict[int, str]]


@dataclass
class HrdLine:
    id: int
    alias: str
    state: str  # alerting | overdue | paused | ok | new (no clock yet)
    due: datetime | None = None
    last_checkin: datetime | None = None
    partners: list[tuple[str, str]] = field(default_factory=list)  # (alias, kind)
    alerts: list[tuple[int, str, str]] = field(default_factory=list)  # (id, kind, status)
    plan: str | None = None


@dataclass
class PartnerLine:
    alias: str
    kind: str
    load: int
    capacity: int
    available: bool


@dataclass
class WaitingLine:
    id: int
    hrd: str
    partner: str
    kind: str
    status: str  # pending | offered
    expires: datetime | None


@dataclass
class NeedLine:
    hrd: str
    kind: str
    proposal: int | None  # an open proposal or offer for it, if any
    status: str | None


@dataclass
class Overview:
    page: int
    pages: int
    hrds: int = 0
    alerting: int = 0
    overdue: int = 0
    partners: int = 0
    full: int = 0
    pending: int = 0
    offered: int = 0
    needs: int = 0
    hrd_lines: list[HrdLine] = field(default_factory=list)
    partner_lines: list[PartnerLine] = field(default_factory=list)
    waiting_lines: list[WaitingLine] = field(default_factory=list)
    need_lines: list[NeedLine] = field(default_factory=list)
    plans: bool = False  # whether plan status is known


def _rank(now: datetime):  # type: ignore[no-untyped-def]
    """0 alerting (an open or acknowledged alert, or an alerting clock), 1 overdue, 2 the others."""
    alerting = exists().where(col(Alert.hrd_id) == col(Person.id), col(Alert.status).in_(OPEN_ALERTS),
                              col(Alert.kind) != "drill")  # a drill is not a real alert state
    return case((or_(alerting, col(CheckinClock.state) == "alerting"), 0),
                (and_(col(CheckinClock.state) == "ok", col(CheckinClock.next_due) < now), 1), else_=2)


def _active(role: str):  # type: ignore[no-untyped-def]
    return and_(col(Person.role) == role, col(Person.status) == "active")


def _slices(sizes: list[int], page: int) -> list[tuple[int, int]]:
    """(offset, limit) in each section of the items on ``page`` (from 1)."""
    start, end, before, out = (page - 1) * PAGE_SIZE, page * PAGE_SIZE, 0, []
    for size in sizes:
        low, high = max(start - before, 0), min(end - before, size)
        out.append((low, max(high - low, 0)))
        before += size
    return out


def open_need_list(session: Session) -> list[NeedLine]:
    """Every kind an active defender wants with no active partner of that kind, by name."""
    hrds = session.exec(select(Person.id, Person.alias, Person.wants).where(_active("hrd"))).all()
    matched = set(session.exec(select(Match.hrd_id, Person.kind).join(
        Person, col(Person.id) == col(Match.partner_id)).where(
        col(Match.status) == "active", col(Person.status) == "active")).all())
    waiting: dict[tuple[int, str], tuple[int, str]] = {}
    for proposal_id, proposal_hrd, kind, status in session.exec(select(
            Proposal.id, Proposal.hrd_id, Proposal.kind, Proposal.status).where(
            col(Proposal.status).in_(WAITING)).order_by(col(Proposal.id))).all():
        waiting.setdefault((proposal_hrd, kind), (proposal_id or 0, status))
    lines = []
    for hrd_id, alias, wants in hrds:
        for kind in sorted(csv_set(wants)):
            if (hrd_id, kind) not in matched:
                found = waiting.get((hrd_id or 0, kind))
                lines.append(NeedLine(alias or f"#{hrd_id}", kind, found[0] if found else None,
                                      found[1] if found else None))
    return sorted(lines, key=lambda n: (n.hrd.casefold(), n.kind))


def overview(session: Session, now: datetime, page: int, plan_status: PlanStatus | None = None) -> Overview:
    """The counts, and the lines of ``page`` (clamped to the pages there are)."""
    rank = _rank(now)
    ranked = select(rank.label("rank")).select_from(Person).outerjoin(
        CheckinClock, col(CheckinClock.person_id) == col(Person.id)).where(_active("hrd")).subquery()
    by_rank = {int(r): int(n) for r, n in session.exec(
        select(ranked.c.rank, func.count()).group_by(ranked.c.rank)).all()}
    partners = session.exec(select(Person.id, Person.capacity, Person.available).where(_active("partner"))).all()
    taken = loads(session, pending=False)
    states = dict(session.exec(select(Proposal.status, func.count()).where(
        col(Proposal.status).in_(WAITING)).group_by(col(Proposal.status))).all())
    needs = open_need_list(session)
    result = Overview(page=1, pages=1, hrds=sum(by_rank.values()), alerting=by_rank.get(0, 0),
                      overdue=by_rank.get(1, 0), partners=len(partners),
                      full=sum(1 for pid, cap, free in partners if not free or taken.get(pid or 0, 0) >= cap),
                      pending=int(states.get("pending", 0)), offered=int(states.get("offered", 0)),
                      needs=len(needs), plans=plan_status is not None)
    sizes = [result.hrds, result.partners, result.pending + result.offered, result.needs]
    result.pages = max(1, -(-sum(sizes) // PAGE_SIZE))
    result.page = min(max(page, 1), result.pages)
    (h_off, h_n), (p_off, p_n), (w_off, w_n), (n_off, n_n) = _slices(sizes, result.page)
    if h_n:
        result.hrd_lines = _hrd_lines(session, now, rank, h_off, h_n, plan_status)
    if p_n:
        rows = session.exec(select(Person).where(_active("partner")).order_by(
            func.lower(col(Person.alias)), col(Person.id)).offset(p_off).limit(p_n)).all()
        result.partner_lines = [PartnerLine(p.alias or f"#{p.id}", p.kind or "", taken.get(p.id or 0, 0),
                                            p.capacity, p.available) for p in rows]
    if w_n:
        result.waiting_lines = _waiting(session, w_off, w_n)
    result.need_lines = needs[n_off:n_off + n_n]
    return result


def _hrd_lines(session: Session, now: datetime, rank, offset: int, limit: int,  # type: ignore[no-untyped-def]
               plan_status: PlanStatus | None) -> list[HrdLine]:
    ids = [int(pid or 0) for pid, _r in session.exec(select(Person.id, rank).select_from(Person).outerjoin(
        CheckinClock, col(CheckinClock.person_id) == col(Person.id)).where(_active("hrd")).order_by(
        rank, func.lower(col(Person.alias)), col(Person.id)).offset(offset).limit(limit)).all()]
    people = {p.id: p for p in session.exec(select(Person).where(col(Person.id).in_(ids))).all()}
    clocks = {c.person_id: c for c in session.exec(select(CheckinClock).where(
        col(CheckinClock.person_id).in_(ids))).all()}
    lines: dict[int, HrdLine] = {}
    for pid in ids:
        person, clock = people.get(pid), clocks.get(pid)
        if person is None:
            continue
        state = "new" if clock is None else clock.state
        if clock is not None and clock.state == "ok" and clock.next_due < now:
            state = "overdue"
        lines[pid] = HrdLine(pid, person.alias or f"#{pid}", state, clock.next_due if clock else None,
                             clock.last_checkin_at if clock else None)
    for hrd_id, alias, kind in session.exec(select(Match.hrd_id, Person.alias, Person.kind).join(
            Person, col(Person.id) == col(Match.partner_id)).where(
            col(Match.hrd_id).in_(ids), col(Match.status) == "active", col(Person.status) == "active")
            .order_by(func.lower(col(Person.alias)))).all():
        if hrd_id in lines:
            lines[hrd_id].partners.append((alias or "?", kind or ""))
    for aid, hrd_id, kind, status in session.exec(select(Alert.id, Alert.hrd_id, Alert.kind, Alert.status).where(
            col(Alert.hrd_id).in_(ids), col(Alert.status).in_(OPEN_ALERTS), col(Alert.kind) != "drill")
            .order_by(col(Alert.id))).all():
        if hrd_id in lines:
            lines[hrd_id].alerts.append((aid or 0, kind, status))
            lines[hrd_id].state = "alerting"
    if plan_status is not None:
        for hrd_id, status in plan_status(session, ids, now).items():
            if hrd_id in lines:
                lines[hrd_id].plan = status
    return [lines[pid] for pid in ids if pid in lines]


def _waiting(session: Session, offset: int, limit: int) -> list[WaitingLine]:
    rows = session.exec(select(Proposal).where(col(Proposal.status).in_(WAITING)).order_by(
        col(Proposal.status).desc(), col(Proposal.id)).offset(offset).limit(limit)).all()
    ids = {r.hrd_id for r in rows} | {r.partner_id for r in rows}
    names = {pid: alias or f"#{pid}" for pid, alias in session.exec(select(Person.id, Person.alias).where(
        col(Person.id).in_(ids))).all()} if ids else {}
    return [WaitingLine(r.id or 0, names.get(r.hrd_id, "?"), names.get(r.partner_id, "?"), r.kind, r.status,
                        r.offer_expires_at) for r in rows]
