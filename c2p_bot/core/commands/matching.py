"""Matching commands: coordinators /propose, /proposals, /approve, /reject; partners /accept, /decline.

Flow diagram: docs/flows/matching.md. The logic lives in c2p_bot/core/matching_flow.py.
"""

from __future__ import annotations

from sqlmodel import col, select

from c2p_bot.core.answer_words import kind_noun
from c2p_bot.core.context import Context
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.handover import handover_refused, took_over
from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.matching_facts import explain, loads, state_name
from c2p_bot.core.matching_flow import REASON_MAX, Scope, after_refusal, offer, recompute
from c2p_bot.core.plans import seal_for_reader
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import Role
from storage.models import Match, Person, Proposal

COORDINATOR = {Role.COORDINATOR}
PARTNER = {Role.PARTNER}
LIST_MAX = 30


def _number(ctx: Context, args: str, usage: str) -> tuple[int, str] | None:
    """The proposal number and the rest of the arguments; replies with the usage if there is none."""
    words = args.split(maxsplit=1)
    number = words[0].lstrip("#") if words else ""
    if not number.isdigit() or len(number) > 11:
        ctx.reply(usage)
        return None
    return int(number), (words[1].strip()[:REASON_MAX] if len(words) > 1 else "")


def _proposal(ctx: Context, args: str, usage: str) -> tuple[Proposal, str] | None:
    """A coordinator's proposal argument."""
    parsed = _number(ctx, args, usage)
    if parsed is None:
        return None
    proposal = ctx.session.get(Proposal, parsed[0])
    if proposal is None:
        ctx.reply(ctx._("There is no proposal #{id}. Send /proposals to see them.").format(id=parsed[0]))
        return None
    return proposal, parsed[1]


def _offer(ctx: Context, args: str, usage: str) -> tuple[Proposal, str] | None:
    """A partner's offer argument: only offers made to them (others look exactly like unknown numbers)."""
    parsed = _number(ctx, args, usage)
    if parsed is None:
        return None
    proposal = ctx.session.get(Proposal, parsed[0])
    if (proposal is None or proposal.partner_id != ctx.person_id or proposal.offered_at is None
            or proposal.status in ("pending", "rejected", "superseded")):
        ctx.reply(ctx._("There is no offer #{id} for you.").format(id=parsed[0]))
        return None
    if proposal.status == "accepted":
        ctx.reply(ctx._("You already accepted offer #{id}.").format(id=proposal.id))
        return None
    if proposal.status == "declined":
        ctx.reply(ctx._("You already declined offer #{id}.").format(id=proposal.id))
        return None
    if proposal.status == "expired" or (proposal.offer_expires_at and proposal.offer_expires_at <= ctx.now):
        ctx.reply(ctx._("Offer #{id} has lapsed, so nothing was changed. Thank you all the same; the "
                        "coordinators will look for someone else.").format(id=proposal.id))
        return None
    return proposal, parsed[1]


def _people(ctx: Context, proposal: Proposal) -> tuple[Person, Person] | None:
    hrd, partner = ctx.session.get(Person, proposal.hrd_id), ctx.session.get(Person, proposal.partner_id)
    if hrd is None or partner is None or hrd.status != "active" or partner.status != "active":
        return None
    return hrd, partner


def _alias(ctx: Context, person_id: int) -> str:
    person = ctx.session.get(Person, person_id)
    return (person.alias or f"#{person_id}") if person else ctx._("someone who has left")


# -- coordinators ---------------------------------------------------------------------------------------


@registry.command("propose", roles=COORDINATOR,
                  help=N_("Work out the best matches for every defender still waiting for a partner."))
def propose_command(ctx: Context, args: str) -> None:
    if args.strip():
        ctx.reply(ctx._("Usage: /propose, with nothing after it."))
        return
    result = recompute(Scope.of(ctx))
    lines = [ctx._("Proposals worked out: {new} new, {kept} unchanged, {superseded} replaced.").format(
        new=len(result.new), kept=result.kept, superseded=result.superseded)]
    if result.unmet:
        shown = [ctx._("{hrd} ({kind})").format(hrd=alias, kind=kind_noun(ctx._, kind))
                 for alias, kind in result.unmet[:LIST_MAX]]
        hidden = len(result.unmet) - len(shown)
        if hidden:
            shown.append(ctx._.ngettext("… and {n} more", "… and {n} more", hidden).format(n=hidden))
        lines.append(ctx._("Needs with no fitting partner now: {needs}.").format(needs=", ".join(shown)))
    lines.append(ctx._("Send /proposals to review them."))
    ctx.reply("\n".join(lines))


@registry.command("proposals", roles=COORDINATOR, help=N_("List proposed matches and offers waiting for an answer."))
def proposals_command(ctx: Context, args: str) -> None:
    rows = ctx.session.exec(select(Proposal).where(col(Proposal.status).in_(("pending", "offered")))
                            .order_by(col(Proposal.id))).all()
    if not rows:
        ctx.reply(ctx._("No proposals are waiting. Send /propose to look for new ones."))
        return
    zone = ctx.person.timezone if ctx.person else "UTC"
    pending = [p for p in rows if p.status == "pending"]
    offered = [p for p in rows if p.status == "offered"]
    lines: list[str] = []
    if pending:
        lines.append(ctx._("Waiting for your decision:"))
        for p in pending[:LIST_MAX]:
            lines.append(ctx._("#{id} {hrd} ↔ {partner} ({kind}), score {score:.2f}: {why}. /approve {id} or "
                               "/reject {id}").format(id=p.id, hrd=_alias(ctx, p.hrd_id), kind=kind_noun(ctx._, p.kind),
                                                      partner=_alias(ctx, p.partner_id), score=p.score,
                                                      why=explain(ctx._, p.explanation)))
    if offered:
        lines.append(ctx._("Offers waiting for the partner's answer:"))
        for p in offered[:LIST_MAX]:
            if p.offer_expires_at is None:
                raise InvariantError("an offered proposal without an expiry")
            lines.append(ctx._("#{id} {hrd} ↔ {partner} ({kind}): {why}. Offered until {when}.").format(
                id=p.id, hrd=_alias(ctx, p.hrd_id), partner=_alias(ctx, p.partner_id), kind=kind_noun(ctx._, p.kind),
                why=explain(ctx._, p.explanation), when=ctx._.when(p.offer_expires_at, zone)))
    hidden = max(0, len(pending) - LIST_MAX) + max(0, len(offered) - LIST_MAX)
    if hidden:
        lines.append(ctx._.ngettext("… and {n} more.", "… and {n} more.", hidden).format(n=hidden))
    ctx.reply("\n".join(lines))


def _not_pending(ctx: Context, proposal: Proposal, action: str) -> bool:
    """Reply and return True unless the proposal waits for a coordinator."""
    if proposal.status == "pending":
        return False
    if proposal.status == "offered":
        ctx.reply(ctx._("Proposal #{id} is already offered to {partner}; it waits for their answer. "
                        "Nothing was changed.").format(id=proposal.id, partner=_alias(ctx, proposal.partner_id)))
    else:
        ctx.reply(ctx._("Proposal #{id} can't be {action}: it is {state}. Nothing was changed.").format(
            id=proposal.id, action=action, state=state_name(ctx._, proposal.status)))
    return True


@registry.command("approve", roles=COORDINATOR, usage=N_("ID"),
                  help=N_("Approve a proposal: the partner is asked whether they accept."))
def approve_command(ctx: Context, args: str) -> None:
    found = _proposal(ctx, args, ctx._("Usage: /approve ID, for example /approve 12. Send /proposals to see them."))
    if found is None:
        return
    proposal, _rest = found
    if _not_pending(ctx, proposal, ctx._("approved")):
        return
    people = _people(ctx, proposal)
    if people is None:
        ctx.reply(ctx._("Proposal #{id} can't be approved: one of the two is no longer active. Send /reject {id} "
                        "to drop it.").format(id=proposal.id))
        return
    hrd, partner = people
    taken = loads(ctx.session, pending=False).get(partner.id or 0, 0)
    if not partner.available or taken >= partner.capacity:
        ctx.reply(ctx._("{partner} has no free place right now ({taken} of {capacity} taken by matches and offers). "
                        "Nothing was changed: wait for a place to free up, or send /reject {id}.").format(
            partner=partner.alias, taken=taken, capacity=partner.capacity, id=proposal.id))
        return
    offer(Scope.of(ctx), proposal, hrd, partner)
    ctx.audit("proposal_approved", f"proposal:{proposal.id}")
    if proposal.offer_expires_at is None:
        raise InvariantError("an offered proposal without an expiry")
    ctx.reply(ctx._("Approved proposal #{id}: I asked {partner} whether they will support {hrd}. I will tell you "
                    "their answer; the offer lapses on {when}.").format(
        id=proposal.id, partner=partner.alias, hrd=hrd.alias,
        when=ctx._.when(proposal.offer_expires_at, ctx.person.timezone if ctx.person else "UTC")))


@registry.command("reject", roles=COORDINATOR, usage=N_("ID [reason]"),
                  help=N_("Drop a proposal; that match is not proposed again."))
def reject_command(ctx: Context, args: str) -> None:
    found = _proposal(ctx, args, ctx._("Usage: /reject ID [reason], for example /reject 12 too far away."))
    if found is None:
        return
    proposal, reason = found
    if _not_pending(ctx, proposal, ctx._("rejected")):
        return
    proposal.status, proposal.decided_by, proposal.decided_at = "rejected", ctx.person_id, ctx.now
    proposal.reason = reason or None
    ctx.session.add(proposal)
    ctx.audit("proposal_rejected", f"proposal:{proposal.id}")
    ctx.reply(ctx._("Rejected proposal #{id}: {hrd} and {partner} will not be proposed again. Send /propose "
                    "to look for someone else.").format(
        id=proposal.id, hrd=_alias(ctx, proposal.hrd_id), partner=_alias(ctx, proposal.partner_id)))


# -- partners -------------------------------------------------------------------------------------------


@registry.command("accept", roles=PARTNER, usage=N_("ID"), help=N_("Accept an offer to support a defender."))
def accept_command(ctx: Context, args: str) -> None:
    found = _offer(ctx, args, ctx._("Usage: /accept ID, with the number of the offer, for example /accept 12."))
    if found is None:
        return
    proposal, _rest = found
    people = _people(ctx, proposal)
    if people is None:
        ctx.reply(ctx._("Offer #{id} can no longer be accepted: the defender has left. Nothing was changed.").format(
            id=proposal.id))
        return
    hrd, partner = people
    from c2p_bot.core.commands.coordinator import activate_match  # registered after this module

    proposal.status, proposal.decided_by, proposal.decided_at = "accepted", ctx.person_id, ctx.now
    ctx.session.add(proposal)
    ctx.audit("offer_accepted", f"proposal:{proposal.id}")
    ctx.reply(ctx._("Thank you for accepting offer #{id}.").format(id=proposal.id))
    already = ctx.session.exec(select(Match.id).where(
        Match.hrd_id == hrd.id, Match.partner_id == partner.id, Match.status == "active")).first()
    if already is None:
        activate_match(ctx, hrd, partner, confirm=False)  # introduces both
        seal_for_reader(ctx.session, ctx.core.keyring, partner, [hrd.id or 0])  # the HRD's emergency plan
    if proposal.origin == "handover":
        took_over(ctx, proposal, hrd, partner)  # the partner handing over steps back
        return
    pid, hrd_alias, partner_alias = proposal.id, hrd.alias, partner.alias
    Scope.of(ctx).tell_coordinators(lambda _: _("Matched {hrd} with {partner}: {partner} accepted offer #{id}. "
                                                "{hrd}'s alerts now reach them.").format(
        hrd=hrd_alias, partner=partner_alias, id=pid), f"proposal:{pid}:accepted")


@registry.command("decline", roles=PARTNER, usage=N_("ID [reason]"),
                  help=N_("Decline an offer to support a defender."))
def decline_command(ctx: Context, args: str) -> None:
    found = _offer(ctx, args, ctx._("Usage: /decline ID [reason], for example /decline 12 no time this month."))
    if found is None:
        return
    proposal, reason = found
    proposal.status, proposal.decided_by, proposal.decided_at = "declined", ctx.person_id, ctx.now
    proposal.reason = reason or None
    ctx.session.add(proposal)
    ctx.audit("offer_declined", f"proposal:{proposal.id}")
    ctx.reply(ctx._("You declined offer #{id}. Thank you for letting us know.").format(id=proposal.id))
    if proposal.origin == "handover":
        handover_refused(Scope.of(ctx, system=True), proposal, reason)  # nobody else is looked for
        return
    pid, kind = proposal.id, proposal.kind
    hrd_alias, partner_alias = _alias(ctx, proposal.hrd_id), _alias(ctx, proposal.partner_id)

    def render(_: Translate) -> str:
        text = _("{partner} declined offer #{id} ({hrd}, {kind}); looking for the next candidate.").format(
            partner=partner_alias, id=pid, hrd=hrd_alias, kind=kind_noun(_, kind))
        return text + ("\n" + _("Their reason: {reason}").format(reason=reason) if reason else "")

    scope = Scope.of(ctx, system=True)
    scope.tell_coordinators(render, f"proposal:{pid}:declined")
    after_refusal(scope, proposal)
