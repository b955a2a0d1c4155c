"""The matching flow: proposals from the engine, coordinator approval, the partner's consent.

Flow diagram and rules: docs/flows/matching.md. Commands: c2p_bot/core/commands/matching.py.

A *need* is one partner kind an HRD wants (``Person.wants``). Each need has at most one open
proposal (``pending``: waiting for a coordinator, or ``offered``: waiting for the partner):

- when an HRD finishes onboarding, each open need gets its best candidate (``candidates``) as a
  pending proposal; the coordinators are told, with the runners-up named;
- ``/propose`` re-optimises every need without a match or an offer at once (``assign``, the exact
  optimum under capacities): pending proposals the optimum keeps stay, the others are superseded;
- when a partner's capacity frees up (``/unmatch``, a declined or lapsed offer) the open needs of
  that kind are proposed again (``assign``).

A partner's load is their active matches plus open offers. Proposals made one need at a time
(onboarding, freed capacity) also count pending proposals as taken places, so that one partner is
not proposed to more HRDs than they can take; ``/propose`` recomputes those pending ones itself.
Pairs that were declined, rejected, let lapse or unmatched are never proposed again by the engine
(a coordinator can still ask with ``/match``, which also needs the partner's consent).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, col, func, select, update

from c2p_bot.core.answer_words import a_kind, kind_noun
from c2p_bot.core.audit import audit
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Button
from c2p_bot.core.i18n import Translate
from c2p_bot.core.language_names import language_label
from c2p_bot.core.matching_facts import (
    active_hrds,
    csv_set,
    excluded,
    explain,
    facts,
    hrd_profile,
    loads,
    open_needs,
    partner_profile,
    partner_profiles,
    weights,
)
from c2p_bot.core.outbox import Buttons, new_key
from c2p_bot.core.places import country_label
from c2p_bot.core.recipients import coordinators
from matching.assignment import assign, candidates
from matching.profiles import HrdProfile, PartnerProfile
from matching.scoring import Score, pair_score
from storage.models import Match, Person, Proposal

if TYPE_CHECKING:
    from c2p_bot.core.context import Context, CoreServices
    from c2p_bot.core.service import Core
    from c2p_bot.core.sweeper import Sweeper

BATCH = 200
REASON_MAX = 300

# -- where an action happens ------------------------------------------------------------------------


@dataclass
class Scope:
    """A transaction, a moment and who acts (``None``: the bot itself), for telling and auditing."""

    core: CoreServices
    session: Session
    now: datetime
    actor_id: int | None = None

    @classmethod
    def of(cls, ctx: Context, *, system: bool = False) -> Scope:
        return cls(ctx.core, ctx.session, ctx.now, None if system else ctx.person_id)

    def tell(self, person: Person, render: Callable[[Translate], str], *, key: str | None = None,
             buttons: Callable[[Translate], Buttons] | None = None) -> None:
        self.core.outbox.to_person(self.session, person, render, now=self.now, key=key or new_key("notice"),
                                   buttons=buttons, kind="matching")

    def audit(self, action: str, subject: str, detail: str | None = None) -> None:
        audit(self.session, self.now, action, actor_id=self.actor_id, subject=subject, detail=detail)

    def tell_coordinators(self, render: Callable[[Translate], str], key: str,
                          buttons: Callable[[Translate], Buttons] | None = None) -> None:
        for person in coordinators(self.session):
            self.tell(person, render, key=f"{key}:{person.id}", buttons=buttons)


# -- creating proposals ---------------------------------------------------------------------------------


def _alias(session: Session, person_id: int) -> str:
    person = session.get(Person, person_id)
    return (person.alias or f"#{person_id}") if person else f"#{person_id}"


def _create(scope: Scope, hrd_id: int, partner_id: int, kind: str, score: Score, *, origin: str = "engine",
            status: str = "pending") -> Proposal:
    proposal = Proposal(hrd_id=hrd_id, partner_id=partner_id, kind=kind, score=round(score.total, 4),
                        explanation=facts(score), origin=origin, status=status, created_at=scope.now)
    scope.session.add(proposal)
    scope.session.flush()
    scope.audit("proposal_created", f"proposal:{proposal.id}",
                f"hrd=person:{hrd_id} partner=person:{partner_id} kind={kind} origin={origin}")
    return proposal


def _announce(scope: Scope, proposal: Proposal, alternatives: Iterable[str] = ()) -> None:
    """Tell the coordinators about a new pending proposal, with Approve and Reject buttons."""
    hrd, partner = _alias(scope.session, proposal.hrd_id), _alias(scope.session, proposal.partner_id)
    others = list(alternatives)
    pid, kind, stored = proposal.id, proposal.kind, proposal.explanation

    def render(_: Translate) -> str:
        text = _("New proposal #{id}: {hrd} ↔ {partner} ({kind}): {why}. /approve {id} or /reject {id}").format(
            id=pid, hrd=hrd, partner=partner, kind=kind_noun(_, kind), why=explain(_, stored))
        if others:
            text += "\n" + _("Other candidates: {names}.").format(names=", ".join(others))
        return text

    scope.tell_coordinators(render, f"proposal:{pid}:new", buttons=lambda _: [[
        Button(_("Approve"), f"/approve {pid}"), Button(_("Reject"), f"/reject {pid}")]])


def _no_candidate(scope: Scope, hrd: Person, kind: str, key: str) -> None:
    alias = hrd.alias

    def render(_: Translate) -> str:
        return _("No partner fits {hrd}'s need for {kind} right now. Send /propose when new partners "
                 "have joined, or match them by hand with /match.").format(hrd=alias, kind=a_kind(_, kind))

    scope.tell_coordinators(render, key)


def propose_for(scope: Scope, hrd: Person) -> list[Proposal]:
    """The best candidate for each open need of one HRD, as pending proposals (on onboarding)."""
    needs = open_needs(scope.session, hrd, keep_pending=True)
    if not needs:
        return []
    profile = hrd_profile(hrd, needs)
    partners = partner_profiles(scope.session, pending=True, kinds=needs)
    banned = excluded(scope.session)
    return [made for kind in sorted(needs) if (made := _best(
        scope, hrd, profile, partners, banned, kind, f"proposal:none:{hrd.id}:{kind}:{scope.now.isoformat()}"))]


def _best(scope: Scope, hrd: Person, profile: HrdProfile, partners: list[PartnerProfile], banned: set[tuple[int, int]],
          kind: str, none_key: str) -> Proposal | None:
    """The best candidate of ``kind`` as a pending proposal (runners-up named), or the coordinators told
    that nobody fits."""
    found = candidates(profile, partners, weights(scope.core), banned, kind=kind,
                       k=scope.core.config.matching.candidates)
    if not found:
        _no_candidate(scope, hrd, kind, none_key)
        return None
    proposal = _create(scope, profile.id, found[0][0].id, kind, found[0][1])
    _announce(scope, proposal, [_alias(scope.session, p.id) for p, _s in found[1:]])
    return proposal


def propose_open(scope: Scope, kinds: Iterable[str] | None = None) -> list[Proposal]:
    """Pending proposals for every open need (of ``kinds``), jointly optimal under free capacity."""
    wanted = set(kinds) if kinds is not None else None
    hrds = []
    for hrd in active_hrds(scope.session):
        needs = open_needs(scope.session, hrd, keep_pending=True)
        needs = needs & wanted if wanted is not None else needs
        if needs:
            hrds.append(hrd_profile(hrd, needs))
    if not hrds:
        return []
    partners = partner_profiles(scope.session, pending=True, kinds=wanted)
    made = []
    for pick in assign(hrds, partners, weights(scope.core), excluded(scope.session)):
        proposal = _create(scope, pick.hrd_id, pick.partner_id, pick.kind, pick.score)
        _announce(scope, proposal)
        made.append(proposal)
    return made


@dataclass
class Recomputed:
    """What ``/propose`` did."""

    new: list[Proposal]
    kept: int
    superseded: int
    unmet: list[tuple[str, str]]  # (alias, kind) of each need no partner fits now, by alias


def recompute(scope: Scope) -> Recomputed:
    """``/propose``: the exact optimum for every need without a match or an offer.

    Pending proposals the optimum keeps stay as they are; the others are superseded.
    """
    hrds, names = [], {}
    for hrd in active_hrds(scope.session):
        needs = open_needs(scope.session, hrd, keep_pending=False)
        if needs:
            hrds.append(hrd_profile(hrd, needs))
            names[hrd.id or 0] = hrd.alias or f"#{hrd.id}"
    needs_of = {(h.id, kind) for h in hrds for kind in h.wants}
    pending = {(p.hrd_id, p.kind): p for p in scope.session.exec(
        select(Proposal).where(Proposal.status == "pending").order_by(col(Proposal.id))).all()}
    picks = assign(hrds, partner_profiles(scope.session, pending=False), weights(scope.core),
                   excluded(scope.session)) if hrds else []
    chosen = {(a.hrd_id, a.kind): a for a in picks}
    unmet = sorted((names[hrd_id], kind) for hrd_id, kind in needs_of - chosen.keys())
    result = Recomputed([], 0, 0, unmet)
    for need in sorted(needs_of):
        old, pick = pending.get(need), chosen.get(need)
        if old is not None and pick is not None and old.partner_id == pick.partner_id:
            result.kept += 1
            continue
        if old is not None:
            _supersede(scope, old)
            result.superseded += 1
        if pick is not None:
            proposal = _create(scope, pick.hrd_id, pick.partner_id, pick.kind, pick.score)
            _announce(scope, proposal)
            result.new.append(proposal)
    return result


def _supersede(scope: Scope, proposal: Proposal) -> None:
    proposal.status, proposal.decided_by, proposal.decided_at = "superseded", scope.actor_id, scope.now
    scope.session.add(proposal)
    scope.audit("proposal_superseded", f"proposal:{proposal.id}")


def after_refusal(scope: Scope, proposal: Proposal) -> None:
    """After a decline or a lapsed offer: the next best partner of that kind for that HRD (whatever
    made the offer: the engine, or a coordinator's ``/match`` for a kind the HRD did not list or
    already has), then other open needs of the kind (the partner's place is free again). The
    coordinators are told, by the HRD's name, when nobody is left."""
    hrd, kind = scope.session.get(Person, proposal.hrd_id), proposal.kind
    other = scope.session.exec(select(Proposal.id).where(  # another proposal or offer for it: nothing to look for
        Proposal.hrd_id == proposal.hrd_id, Proposal.kind == kind, Proposal.id != proposal.id,
        col(Proposal.status).in_(("pending", "offered")))).first()
    if hrd is not None and hrd.role == "hrd" and hrd.status == "active" and other is None:
        _best(scope, hrd, hrd_profile(hrd, {kind}), partner_profiles(scope.session, pending=True, kinds={kind}),
              excluded(scope.session), kind, f"proposal:{proposal.id}:no-next")
    propose_open(scope, {kind})


# -- offers ---------------------------------------------------------------------------------------------


def offer(scope: Scope, proposal: Proposal, hrd: Person, partner: Person,
          first: Callable[[Translate, str], str] | None = None) -> None:
    """Make the proposal an offer to the partner: alias, country, needs and languages, no contact details.
    ``first``: the question, given the country's name (a handover asks its own)."""
    proposal.status, proposal.offered_at = "offered", scope.now
    proposal.offer_expires_at = scope.now + scope.core.config.matching.offer_timeout
    scope.session.add(proposal)
    pid, kind, alias, country = proposal.id, proposal.kind, hrd.alias, hrd.country
    needs, languages = ", ".join(sorted(csv_set(hrd.expertise))), sorted(csv_set(hrd.languages))
    until, zone = proposal.offer_expires_at, partner.timezone

    def render(_: Translate) -> str:
        where = country_label(country, _.language) if country else "—"
        spoken = ", ".join(language_label(code, _.language) for code in languages) or "—"
        return "\n".join([
            first(_, where) if first else
            _("Offer #{id}: would you support {hrd}, a human rights defender in {country}, as their {kind}?").format(
                id=pid, hrd=alias, country=where, kind=kind_noun(_, kind)),
            _("They need help with: {needs}.").format(needs=needs or _("nothing specific")),
            _("Languages: {languages}.").format(languages=spoken),
            _("If you accept, you will be introduced and alerted when they miss a check-in or raise the alarm."),
            _("Answer by {when}: /accept {id} or /decline {id} [reason].").format(when=_.when(until, zone), id=pid),
        ])

    scope.tell(partner, render, key=f"proposal:{pid}:offer", buttons=lambda _: [[
        Button(_("Accept"), f"/accept {pid}"), Button(_("Decline"), f"/decline {pid}")]])


def manual_match(ctx: Context, hrd: Person, partner: Person) -> None:
    """``/match HRD PARTNER``: an offer to the partner straight away; the match starts when they accept."""
    session, kind = ctx.session, partner.kind or ""
    active = session.exec(select(Match.id).where(
        Match.hrd_id == hrd.id, Match.partner_id == partner.id, Match.status == "active")).first()
    if active is not None:
        ctx.reply(ctx._("{hrd} and {partner} are already matched.").format(hrd=hrd.alias, partner=partner.alias))
        return
    waiting = session.exec(select(Proposal).where(
        Proposal.hrd_id == hrd.id, Proposal.kind == kind, Proposal.status == "offered")).first()
    if waiting is not None:
        if waiting.offer_expires_at is None:
            raise InvariantError("an offered proposal without an expiry")
        ctx.reply(ctx._("{hrd} already has an offer waiting for an answer from {partner} (#{id}, {kind}) until "
                        "{when}. Nothing was changed.").format(
            hrd=hrd.alias, partner=_alias(session, waiting.partner_id), id=waiting.id, kind=kind_noun(ctx._, kind),
            when=ctx._.when(waiting.offer_expires_at, ctx.person.timezone if ctx.person else "UTC")))
        return
    scope = Scope.of(ctx)
    for old in session.exec(select(Proposal).where(
            Proposal.hrd_id == hrd.id, Proposal.kind == kind, Proposal.status == "pending")).all():
        _supersede(scope, old)
    load = loads(session, pending=False).get(partner.id or 0, 0)
    profile = partner_profile(partner, load)
    score = pair_score(hrd_profile(hrd, {kind}), replace(profile, capacity=max(1, profile.capacity)),
                       weights(ctx.core), load)
    score = replace(score, capacity=profile.capacity)
    proposal = _create(scope, hrd.id or 0, partner.id or 0, kind, score, origin="manual", status="offered")
    offer(scope, proposal, hrd, partner)
    scope.audit("proposal_approved", f"proposal:{proposal.id}", "origin=manual")
    if proposal.offer_expires_at is None:
        raise InvariantError("an offered proposal without an expiry")
    ctx.reply(ctx._("I asked {partner} whether they will support {hrd} (offer #{id}). The match starts when "
                    "they accept; I will tell you their answer. The offer lapses on {when}.").format(
        partner=partner.alias, hrd=hrd.alias, id=proposal.id,
        when=ctx._.when(proposal.offer_expires_at, ctx.person.timezone if ctx.person else "UTC")))


# -- offer expiry (a sweeper job) -------------------------------------------------------------------------


def expire_offers(core: Core, now: datetime) -> int:
    """Offers past ``offer_expires_at``: claim each once, tell the partner and the coordinators, propose
    the next best."""
    done = 0
    while True:
        with core.session() as session:
            query = select(Proposal).where(Proposal.status == "offered", col(Proposal.offer_expires_at) <= now) \
                .order_by(col(Proposal.offer_expires_at)).limit(BATCH)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = list(session.exec(query).all())
            for proposal in rows:
                claimed = session.exec(  # type: ignore[call-overload]
                    update(Proposal).where(
                        col(Proposal.id) == proposal.id, col(Proposal.status) == "offered",
                        col(Proposal.offer_expires_at) == proposal.offer_expires_at,
                    ).values(status="expired", decided_at=now))
                if claimed.rowcount != 1:
                    continue
                session.refresh(proposal)
                _lapsed(Scope(core, session, now), proposal)
                done += 1
            core.commit(session)
        if len(rows) < BATCH:
            return done


def _lapsed(scope: Scope, proposal: Proposal) -> None:
    scope.audit("offer_expired", f"proposal:{proposal.id}")
    pid, kind = proposal.id, proposal.kind
    hrd, partner_alias = _alias(scope.session, proposal.hrd_id), _alias(scope.session, proposal.partner_id)
    partner = scope.session.get(Person, proposal.partner_id)
    if partner is not None:
        scope.tell(partner, lambda _: _("Offer #{id} to support {hrd} has lapsed without an answer. No need to "
                                        "do anything.").format(id=pid, hrd=hrd), key=f"proposal:{pid}:lapsed")
    handover_refused = scope.core.services.get("handover_refused")  # c2p_bot.core.handover
    if proposal.origin == "handover" and callable(handover_refused):
        handover_refused(scope, proposal, None)
        return
    scope.tell_coordinators(lambda _: _("Offer #{id} ({hrd} ↔ {partner}, {kind}) lapsed without an answer; "
                                        "looking for the next candidate.").format(
        id=pid, hrd=hrd, partner=partner_alias, kind=kind_noun(_, kind)), f"proposal:{pid}:lapsed")
    after_refusal(scope, proposal)


# -- wiring ---------------------------------------------------------------------------------------------


def install_matching(core: Core, sweeper: Sweeper) -> None:
    """Propose on HRD onboarding and freed capacity, ask consent for /match, expire offers."""

    def on_activation(ctx: Context, person: Person) -> None:
        if person.role == "hrd":
            propose_for(Scope.of(ctx, system=True), person)

    def on_capacity(ctx: Context, partner: Person) -> None:
        if partner.kind:
            propose_open(Scope.of(ctx, system=True), {partner.kind})

    def expire(now: datetime) -> int:
        return expire_offers(core, now)

    core.activation_hooks.append(on_activation)
    core.capacity_hooks.append(on_capacity)
    core.services["manual_match"] = manual_match
    sweeper.extra_jobs.append(expire)

    def next_expiry(session: Session) -> datetime | None:
        return session.exec(select(func.min(Proposal.offer_expires_at)).where(
            col(Proposal.offer_expires_at).is_not(None), Proposal.status == "offered")).one()

    sweeper.extra_wakeups.append(next_expiry)
