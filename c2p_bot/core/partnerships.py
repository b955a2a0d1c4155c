"""Partnerships over time: a match's term and its renewal, and the contact tracker (issue 16).

Flow diagram and rules: docs/flows/partnership.md. Commands: c2p_bot/core/commands/partnership.py.

- A match starts a term of ``[matching] term`` (:func:`start_term`). ``renew_before`` its end, both
  sides are asked with buttons whether to go on (``/renew``). When both say yes, the term is renewed
  at once (a new end; they are asked again before it). A match not renewed ends with its term: both
  are told, the coordinators too, the partner's place is free again and the HRD gets new proposals
  as an unmatched HRD does. A "no" is told to the coordinators at once, so they can arrange a
  successor (``/handover``) in time.
- Contact: ``last_contact_at`` is the pair's last explicit exchange: a ``/say`` relay, an entry in
  the case logbook of the HRD's alerts, an action recorded (:func:`touch_contact`). When
  ``contact_nudge`` passes without one, both are nudged, once per lapse.

The sweeper's pass (:class:`PartnershipSweep`) reads only due active matches through (status,
deadline) indexes, claims each with a conditional UPDATE (two workers, or a restart, never act
twice) and costs a few indexed queries when nothing is due. Matches made before migration 0009 get
their term on the first pass, counted so that both sides are still asked before it ends.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, col, func, select, update

from c2p_bot.core.answer_words import a_kind
from c2p_bot.core.context import Context
from c2p_bot.core.durations_text import say_duration
from c2p_bot.core.events import Button, Incoming
from c2p_bot.core.i18n import Translate
from c2p_bot.core.integrity import refused
from c2p_bot.core.matching_flow import Scope, propose_for
from c2p_bot.core.recipients import coordinators
from c2p_bot.core.settings import CoreSettings
from c2p_bot.core.sweeper import claim
from storage.models import Match, Person

if TYPE_CHECKING:
    from c2p_bot.core.service import Core
    from c2p_bot.core.sweeper import Sweeper

BATCH = 200
DEADLINES = ("renew_ask_at", "ends_at", "nudge_at")


# -- terms and contact ----------------------------------------------------------------------------


def start_term(match: Match, settings: CoreSettings, now: datetime) -> None:
    """A new match's term, renewal question and contact clock, counted from now."""
    match.ends_at = now + settings.matching.term
    match.renew_ask_at = max(now, match.ends_at - settings.matching.renew_before)
    match.hrd_renews = match.partner_renews = None
    match.last_contact_at = now
    match.nudge_at = now + settings.matching.contact_nudge


def touch_contact(session: Session, hrd_id: int, partner_id: int, settings: CoreSettings, now: datetime) -> None:
    """The HRD and the partner exchanged something now: the contact clock starts again."""
    session.execute(update(Match).where(
        col(Match.hrd_id) == hrd_id, col(Match.partner_id) == partner_id, col(Match.status) == "active",
    ).values(last_contact_at=now, nudge_at=now + settings.matching.contact_nudge))


def _alias(session: Session, person_id: int) -> str:
    person = session.get(Person, person_id)
    return (person.alias or f"#{person_id}") if person is not None else f"#{person_id}"


def _people(session: Session, match: Match) -> tuple[Person, Person] | None:
    hrd, partner = session.get(Person, match.hrd_id), session.get(Person, match.partner_id)
    if hrd is None or partner is None or refused(hrd) or refused(partner):
        return None
    return hrd, partner


# -- renewal --------------------------------------------------------------------------------------


def renewal_buttons(match_id: int) -> Callable[[Translate], list[list[Button]]]:
    return lambda _: [[Button(_("Continue"), f"/renew {match_id} yes"),
                       Button(_("Let it end"), f"/renew {match_id} no")]]


def answer_renewal(ctx: Context, match: Match, yes: bool) -> None:
    """``/renew ID yes|no`` from one side of an active match whose question was asked."""
    if match.ends_at is None:
        return
    session, me = ctx.session, ctx.person_id
    as_hrd = match.hrd_id == me
    other_id = match.partner_id if as_hrd else match.hrd_id
    other, zone = _alias(session, other_id), ctx.person.timezone if ctx.person else "UTC"
    before = match.hrd_renews if as_hrd else match.partner_renews
    if as_hrd:
        match.hrd_renews = yes
    else:
        match.partner_renews = yes
    session.add(match)
    ctx.audit("renewal_answered", f"match:{match.id}", f"side={'hrd' if as_hrd else 'partner'} "
                                                        f"renew={'yes' if yes else 'no'}")
    if match.hrd_renews and match.partner_renews:
        _renew(ctx, match, other_id)
        return
    if not yes:
        ctx.reply(ctx._("Noted: your partnership with {other} ends on {when}. The coordinators have been "
                        "told. Thank you.").format(other=other, when=ctx._.when(match.ends_at, zone)))
        if before is not False:
            _tell_no(ctx, match)
        return
    other_answer = match.partner_renews if as_hrd else match.hrd_renews
    if other_answer is False:
        ctx.reply(ctx._("Noted. {other} does not wish to go on, so the partnership ends on {when}; the "
                        "coordinators know.").format(other=other, when=ctx._.when(match.ends_at, zone)))
    else:
        ctx.reply(ctx._("Noted: you would like to go on with {other}. The partnership continues once {other} "
                        "says yes too.").format(other=other))


def _renew(ctx: Context, match: Match, other_id: int) -> None:
    settings = ctx.config.matching
    old_end = match.ends_at or ctx.now
    match.ends_at = old_end + settings.term
    match.renew_ask_at = max(ctx.now, match.ends_at - settings.renew_before)
    match.hrd_renews = match.partner_renews = None
    ctx.session.add(match)
    ctx.audit("match_renewed", f"match:{match.id}")
    until, me = match.ends_at, ctx.person
    other = ctx.session.get(Person, other_id)
    ctx.reply(ctx._("Your partnership with {other} continues until {when}.").format(
        other=_alias(ctx.session, other_id), when=ctx._.when(until, me.timezone if me else "UTC")))
    if other is not None:
        alias, zone = me.alias if me else "?", other.timezone
        ctx.tell(other, lambda _: _("Your partnership with {other} continues until {when}.").format(
            other=alias, when=_.when(until, zone)), key=f"match:{match.id}:renewed:{until.isoformat()}")


def _tell_no(ctx: Context, match: Match) -> None:
    hrd, partner = _alias(ctx.session, match.hrd_id), _alias(ctx.session, match.partner_id)
    who, until = ctx.person.alias if ctx.person else "?", match.ends_at
    if until is None:
        return
    scope = Scope.of(ctx)
    for person in coordinators(ctx.session):
        def render(_: Translate, zone: str = person.timezone) -> str:
            return _("{who} does not wish to continue the partnership of {hrd} and {partner} after {when}. To "
                     "arrange a successor: /handover {hrd} {partner} NEW_PARTNER").format(
                who=who, hrd=hrd, partner=partner, when=_.when(until, zone))

        scope.tell(person, render, key=f"match:{match.id}:no:{ctx.person_id}:{until.isoformat()}:{person.id}")


# -- ending a match -------------------------------------------------------------------------------


def system_context(core: Any, session: Session, now: datetime) -> Context:
    """A context for hooks run by the bot itself (no sender, nothing to reply to)."""
    return Context(core, session, Incoming(platform="system", sender_id="", chat_id="", text=""), now)


def freed(ctx: Context, partner: Person) -> None:
    """A partner's match ended: their place is free again (proposals, plan copies…)."""
    for hook in ctx.core.capacity_hooks:
        hook(ctx, partner)


# -- the sweeper's pass ---------------------------------------------------------------------------


class PartnershipSweep:
    """Renewal questions, ends of terms and contact nudges that are due (a sweeper job)."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def __call__(self, now: datetime) -> int:
        return (self._adopt(now) + self._due("renew_ask_at", now, self._ask)
                + self._due("ends_at", now, self._end) + self._due("nudge_at", now, self._nudge))

    def next_wakeup(self, session: Session) -> datetime | None:
        moments = [session.exec(select(func.min(getattr(Match, name))).where(
            Match.status == "active", col(getattr(Match, name)).is_not(None))).one() for name in DEADLINES]
        found = [m for m in moments if m is not None]
        return min(found) if found else None

    def _rows(self, session: Session, query: Any) -> list[Match]:
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return list(session.exec(query.limit(BATCH)).all())

    def _adopt(self, now: datetime) -> int:
        """Matches without a term (made before migration 0009): a term from their start, ending no
        sooner than ``renew_before`` from now so both are asked first; contact counted from now."""
        settings, done = self.core.config.matching, 0
        while True:
            with self.core.session() as session:
                rows = self._rows(session, select(Match).where(
                    Match.status == "active", col(Match.ends_at).is_(None)).order_by(col(Match.id)))
                for match in rows:
                    ends = max(match.created_at + settings.term, now + settings.renew_before)
                    done += claim(session, Match, {"id": match.id, "ends_at": None}, ends_at=ends,
                                  renew_ask_at=ends - settings.renew_before, last_contact_at=now,
                                  nudge_at=now + settings.contact_nudge)
                session.commit()
            if len(rows) < BATCH:
                return done

    def _due(self, name: str, now: datetime, act: Callable[[Scope, Match], None]) -> int:
        column, done = getattr(Match, name), 0
        while True:
            with self.core.session() as session:
                rows = self._rows(session, select(Match).where(Match.status == "active", col(column) <= now)
                                  .order_by(col(column), col(Match.id)))
                claimed = 0
                for match in rows:
                    if match.status != "active":  # refused by its integrity check
                        continue
                    values: dict[str, object] = {"ended_at": now} if name == "ends_at" else {name: None}
                    if not claim(session, Match, {"id": match.id, "status": "active", name: getattr(match, name)},
                                 **values):
                        continue
                    session.refresh(match)
                    act(Scope(self.core, session, now), match)
                    claimed += 1
                self.core.commit(session)
            done += claimed
            if len(rows) < BATCH or not claimed:
                return done

    def _ask(self, scope: Scope, match: Match) -> None:
        people = _people(scope.session, match)
        if people is None or match.ends_at is None:
            return
        hrd, partner = people
        until, term, mid = match.ends_at, scope.core.config.matching.term, match.id or 0
        key = f"match:{mid}:renew-ask:{until.isoformat()}"
        p_alias, p_kind, h_alias = partner.alias, partner.kind or "", hrd.alias
        scope.tell(hrd, lambda _: _(
            "Your partnership with {partner}, {kind}, ends on {when}. Would you like to go on together for "
            "another {term}? Both of you are asked; it continues if you both say yes.").format(
            partner=p_alias, kind=a_kind(_, p_kind), when=_.when(until, hrd.timezone), term=say_duration(_, term)),
            key=f"{key}:hrd", buttons=renewal_buttons(mid))
        scope.tell(partner, lambda _: _(
            "Your support of {hrd} ends on {when}. Would you like to go on for another {term}? Both of you "
            "are asked; it continues if you both say yes.").format(
            hrd=h_alias, when=_.when(until, partner.timezone), term=say_duration(_, term)),
            key=f"{key}:partner", buttons=renewal_buttons(mid))
        scope.audit("renewal_asked", f"match:{mid}")

    def _end(self, scope: Scope, match: Match) -> None:
        match.status = "ended"
        scope.session.add(match)
        scope.session.flush()
        mid = match.id or 0
        scope.audit("match_ended", f"match:{mid}", "term")
        people = _people(scope.session, match)
        if people is None:
            return
        hrd, partner = people
        h_alias, p_alias = hrd.alias, partner.alias
        scope.tell(hrd, lambda _: _("Your partnership with {partner} has ended with its term. Your alerts still "
                                    "reach the coordinators, who will look for a new partner for you.").format(
            partner=p_alias), key=f"match:{mid}:term-ended:hrd")
        scope.tell(partner, lambda _: _("Your partnership with {hrd} has ended with its term. Thank you for your "
                                        "support.").format(hrd=h_alias), key=f"match:{mid}:term-ended:partner")
        scope.tell_coordinators(lambda _: _("The partnership of {hrd} and {partner} ended with its term: it was "
                                            "not renewed.").format(hrd=h_alias, partner=p_alias),
                                f"match:{mid}:term-ended")
        if hrd.status == "active":
            propose_for(scope, hrd)  # as for an unmatched HRD
        if partner.status == "active":
            freed(system_context(scope.core, scope.session, scope.now), partner)

    def _nudge(self, scope: Scope, match: Match) -> None:
        people = _people(scope.session, match)
        if people is None:
            return
        hrd, partner = people
        since = timedelta(days=max(1, (scope.now - (match.last_contact_at or match.created_at)).days))
        mid, h_alias, p_alias = match.id or 0, hrd.alias, partner.alias
        key = f"match:{mid}:nudge:{scope.now.isoformat()}"
        scope.tell(hrd, lambda _: _(
            "You and {partner} have not exchanged anything through me for {time}. You can write to them here: "
            "/say {partner} your message").format(partner=p_alias, time=say_duration(_, since)), key=f"{key}:hrd")
        scope.tell(partner, lambda _: _(
            "You and {hrd} have not been in touch through me for {time}. Send them a word with /say {hrd} "
            "your message, or record what you did for them with /action {hrd}").format(
            hrd=h_alias, time=say_duration(_, since)), key=f"{key}:partner")
        scope.audit("contact_nudged", f"match:{mid}")


def install_partnerships(core: Core, sweeper: Sweeper) -> PartnershipSweep:
    """The sweeper job (and its wake-up) for renewals, ends of terms and nudges."""
    sweep = PartnershipSweep(core)
    sweeper.extra_jobs.append(sweep)
    sweeper.extra_wakeups.append(sweep.next_wakeup)
    return sweep
