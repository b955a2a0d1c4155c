"""Handing a partnership over to a successor: ``/handover HRD FROM TO`` (issue 16).

Flow diagram and rules: docs/flows/partnership.md.

- A coordinator names the defender, the partner handing over and the successor. The successor is
  asked like any partner offered a match (an offer with Accept and Decline, lapsing after
  ``[matching] offer_timeout``); a proposal of origin ``handover`` records who hands over. Until
  the successor accepts, nothing changes: the partner handing over stays matched and alerted.
- On acceptance the successor's match begins and the old one ends at once (both in one
  transaction), and everyone is told. A decline or a lapse changes nothing and looks for nobody
  else: the coordinators are told that the partner handing over stays.
- The case logbook — every note on the defender's alerts and every action recorded for them — is
  sealed to the successor only if the defender says yes (buttons, ``/share ID yes|no``). Without
  it, the successor reads only what is written from the handover on, like any new partner. The
  bot re-seals each entry from a copy it can open (a custodial reader's); an entry only people
  holding their own keys could read cannot be shared, and the coordinators are told how many.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from sqlmodel import Session, col, or_, select

from c2p_bot.core.answer_words import kind_noun
from c2p_bot.core.context import Context
from c2p_bot.core.crypto import CryptoError
from c2p_bot.core.events import Button
from c2p_bot.core.i18n import Translate
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.matching_facts import facts, hrd_profile, loads, partner_profile, weights
from c2p_bot.core.matching_flow import Scope, offer
from c2p_bot.core.notes import note_context, open_copy, seal_for
from c2p_bot.core.partnerships import freed
from c2p_bot.core.recipients import is_matched
from matching.scoring import pair_score
from storage.models import Match, Note, NoteCopy, Person, Proposal

log = logging.getLogger(__name__)


def _alias(session: Session, person_id: int | None) -> str:
    person = session.get(Person, person_id) if person_id is not None else None
    return (person.alias or f"#{person_id}") if person is not None else f"#{person_id}"


def start_handover(ctx: Context, hrd: Person, old: Person, new: Person) -> None:
    """``/handover``: the successor is asked; nothing changes until they accept."""
    session, zone = ctx.session, ctx.person.timezone if ctx.person else "UTC"
    if not is_matched(session, hrd.id or 0, old.id or 0):
        ctx.reply(ctx._("{hrd} and {partner} are not matched, so there is nothing to hand over. Nothing was "
                        "changed.").format(hrd=hrd.alias, partner=old.alias))
        return
    if is_matched(session, hrd.id or 0, new.id or 0):
        ctx.reply(ctx._("{hrd} and {partner} are already matched.").format(hrd=hrd.alias, partner=new.alias))
        return
    kind = new.kind or ""
    waiting = session.exec(select(Proposal).where(
        Proposal.hrd_id == hrd.id, Proposal.kind == kind, Proposal.status == "offered")).first()
    if waiting is not None and waiting.offer_expires_at is not None:
        ctx.reply(ctx._("{hrd} already has an offer waiting for an answer from {partner} (#{id}, {kind}) until "
                        "{when}. Nothing was changed.").format(
            hrd=hrd.alias, partner=_alias(session, waiting.partner_id), id=waiting.id, kind=kind_noun(ctx._, kind),
            when=ctx._.when(waiting.offer_expires_at, zone)))
        return
    taken = loads(session, pending=False).get(new.id or 0, 0)
    if not new.available or taken >= new.capacity:
        ctx.reply(ctx._("{partner} has no free place right now ({taken} of {capacity} taken by matches and "
                        "offers). Nothing was changed.").format(partner=new.alias, taken=taken, capacity=new.capacity))
        return
    profile = partner_profile(new, taken)
    score = pair_score(hrd_profile(hrd, {kind}), replace(profile, capacity=max(1, profile.capacity)),
                       weights(ctx.core), taken)
    proposal = Proposal(hrd_id=hrd.id or 0, partner_id=new.id or 0, kind=kind, score=round(score.total, 4),
                        explanation=facts(score), origin="handover", status="offered", created_at=ctx.now,
                        from_partner_id=old.id)
    session.add(proposal)
    session.flush()
    pid, h_alias, o_alias = proposal.id, hrd.alias, old.alias
    ctx.audit("handover_started", f"proposal:{pid}",
              f"hrd=person:{hrd.id} from=person:{old.id} to=person:{new.id}")
    offer(Scope.of(ctx), proposal, hrd, new, first=lambda _, country: _(
        "Offer #{id}: {partner} is handing over their support of {hrd}, a human rights defender in {country}. "
        "Would you take over as their {kind}?").format(
        id=pid, partner=o_alias, hrd=h_alias, country=country, kind=kind_noun(_, kind)))
    until = proposal.offer_expires_at or ctx.now
    ctx.reply(ctx._("I asked {new} whether they will take over {hrd} from {old} (offer #{id}). Until they accept, "
                    "{old} stays matched with {hrd}. The offer lapses on {when}.").format(
        new=new.alias, hrd=h_alias, old=o_alias, id=pid, when=ctx._.when(until, zone)))
    n_alias = new.alias
    ctx.tell(old, lambda _: _("The coordinators asked {new} to take over your support of {hrd}. You stay matched "
                              "with {hrd} until {new} accepts.").format(new=n_alias, hrd=h_alias),
             key=f"proposal:{pid}:handover:from")


def took_over(ctx: Context, proposal: Proposal, hrd: Person, new: Person) -> None:
    """The successor accepted (their match is active): the old match ends; the HRD is asked about
    the case logbook."""
    session, pid = ctx.session, proposal.id
    old = session.get(Person, proposal.from_partner_id) if proposal.from_partner_id is not None else None
    h_alias, n_alias, o_alias = hrd.alias, new.alias, _alias(session, proposal.from_partner_id)
    for match in session.exec(select(Match).where(
            Match.hrd_id == hrd.id, Match.partner_id == proposal.from_partner_id, Match.status == "active")).all():
        match.status, match.ended_at = "ended", ctx.now
        session.add(match)
        ctx.audit("match_ended", f"match:{match.id}", f"handover proposal:{pid}")
        if old is not None:
            ctx.tell(old, lambda _: _("{new} has taken over your support of {hrd}; your match with {hrd} has "
                                      "ended. Thank you.").format(new=n_alias, hrd=h_alias),
                     key=f"match:{match.id}:handed-over:partner")
        ctx.tell(hrd, lambda _: _("{old} has handed over to {new}: your alerts now reach {new} instead of "
                                  "{old}.").format(old=o_alias, new=n_alias), key=f"match:{match.id}:handed-over:hrd")
    entries = len(_unshared(session, hrd.id or 0, new.id or 0))
    if entries:
        proposal.consent = "asked"
        session.add(proposal)
        ctx.tell(hrd, lambda _: _.ngettext(
            "May {new} also read the logbook of your past alerts: what your partners and coordinators wrote "
            "about them ({n} entry)? Only if you say yes.",
            "May {new} also read the logbook of your past alerts: what your partners and coordinators wrote "
            "about them ({n} entries)? Only if you say yes.", entries).format(new=n_alias, n=entries),
            key=f"proposal:{pid}:consent", buttons=lambda _: [[
                Button(_("Yes, share it"), f"/share {pid} yes"), Button(_("No"), f"/share {pid} no")]])
    scope = Scope.of(ctx)
    scope.tell_coordinators(lambda _: _("Handover done: {new} took over {hrd} from {old} (offer #{id}).").format(
        new=n_alias, hrd=h_alias, old=o_alias, id=pid) + ("\n" + _(
            "I asked {hrd} whether {new} may read the logbook of their past alerts.").format(
            hrd=h_alias, new=n_alias) if entries else ""), f"proposal:{pid}:handed-over")
    if old is not None and old.status == "active":
        freed(ctx, old)


def handover_refused(scope: Scope, proposal: Proposal, reason: str | None) -> None:
    """The successor declined (``reason`` may be empty) or let the offer lapse (``None``): nothing
    changes, and nobody else is looked for."""
    pid, session = proposal.id, scope.session
    h_alias, n_alias = _alias(session, proposal.hrd_id), _alias(session, proposal.partner_id)
    o_alias = _alias(session, proposal.from_partner_id)

    def render(_: Translate) -> str:
        if reason is None:
            return _("Offer #{id} to take over {hrd} from {old} lapsed without an answer; {old} stays matched with "
                     "{hrd}.").format(id=pid, hrd=h_alias, old=o_alias)
        text = _("{new} declined to take over {hrd} from {old} (offer #{id}); {old} stays matched with {hrd}.").format(
            new=n_alias, hrd=h_alias, old=o_alias, id=pid)
        return text + ("\n" + _("Their reason: {reason}").format(reason=reason) if reason else "")

    scope.tell_coordinators(render, f"proposal:{pid}:handover-refused")
    old = session.get(Person, proposal.from_partner_id) if proposal.from_partner_id is not None else None
    if old is not None and is_matched(session, proposal.hrd_id, old.id or 0):
        scope.tell(old, lambda _: _("{new} will not take over your support of {hrd}: you stay matched with "
                                    "{hrd}.").format(new=n_alias, hrd=h_alias), key=f"proposal:{pid}:refused:from")


# -- the defender's consent -----------------------------------------------------------------------


def answer_consent(ctx: Context, proposal: Proposal, yes: bool) -> None:
    """``/share ID yes|no`` from the defender, about a handover they were asked about."""
    session, pid, hrd = ctx.session, proposal.id, ctx.person
    new = session.get(Person, proposal.partner_id)
    if hrd is None or new is None:
        return
    n_alias, h_alias = new.alias, hrd.alias
    if proposal.consent == "yes":
        ctx.reply(ctx._("You already let {new} read the logbook of your past alerts.").format(new=n_alias))
        return
    if not yes:
        proposal.consent = "no"
        session.add(proposal)
        ctx.audit("logbook_not_shared", f"proposal:{pid}")
        ctx.reply(ctx._("Understood: {new} will not see the logbook of your past alerts, only what is written from "
                        "now on. If you change your mind: /share {id} yes").format(new=n_alias, id=pid))
        Scope.of(ctx).tell_coordinators(lambda _: _("{hrd} chose not to share the logbook of their past alerts with "
                                                    "{new}.").format(hrd=h_alias, new=n_alias),
                                        f"proposal:{pid}:consent:no")
        return
    shared, missing = share_logbook(session, ctx.core.keyring, hrd.id or 0, new)
    proposal.consent = "yes"
    session.add(proposal)
    ctx.audit("logbook_shared", f"proposal:{pid}", f"entries={shared} unavailable={missing}")
    ctx.reply(ctx._("Thank you: {new} can now read the logbook of your past alerts.").format(new=n_alias))
    ctx.tell(new, lambda _: _("{hrd} agreed that you may read the logbook of their past alerts: /log ID for an "
                              "alert, /action {hrd} for what partners did.").format(hrd=h_alias),
             key=f"proposal:{pid}:consent:new")

    def render(_: Translate) -> str:
        text = _("{hrd} agreed to share the logbook of their past alerts with {new}.").format(hrd=h_alias, new=n_alias)
        if missing:
            text += "\n" + _.ngettext(
                "{n} entry could not be shared: only people who hold their own keys can read it.",
                "{n} entries could not be shared: only people who hold their own keys can read them.",
                missing).format(n=missing)
        return text

    Scope.of(ctx).tell_coordinators(render, f"proposal:{pid}:consent:yes")


def _unshared(session: Session, hrd_id: int, reader_id: int) -> list[Note]:
    """The HRD's case logbook (notes on their alerts, actions recorded for them) the reader can't read."""
    readable = select(NoteCopy.note_id).where(NoteCopy.reader_id == reader_id)
    return list(session.exec(select(Note).where(
        Note.subject_id == hrd_id, or_(col(Note.alert_id).is_not(None), Note.kind == "action"),
        col(Note.id).not_in(readable)).order_by(col(Note.id))).all())


def share_logbook(session: Session, keyring: Keyring, hrd_id: int, reader: Person) -> tuple[int, int]:
    """Seal the HRD's case logbook to ``reader``: (entries shared, entries nobody custodial can open)."""
    shared = missing = 0
    keys: dict[int, bytes] = {}
    for note in _unshared(session, hrd_id, reader.id or 0):
        text = None
        for copy, holder in session.exec(select(NoteCopy, Person).join(
                Person, col(Person.id) == col(NoteCopy.reader_id)).where(
                NoteCopy.note_id == note.id, Person.key_mode == "custodial",
                col(Person.wrapped_private_key).is_not(None))).all():
            try:
                text = open_copy(keyring, note, holder, copy.ciphertext, keys)
            except CryptoError:
                log.warning("note %s: a copy failed to open while sharing a logbook", note.id)
                continue
            if text is not None:
                break
        sealed = seal_for(text.encode("utf-8"), reader, note_context(note.id or 0, reader.id or 0)) \
            if text is not None else None
        if sealed is None:
            missing += 1
            continue
        session.add(NoteCopy(note_id=note.id or 0, reader_id=reader.id or 0, ciphertext=sealed))
        shared += 1
    return shared, missing
