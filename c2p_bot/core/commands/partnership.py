"""Partnerships over time: /renew (both sides), /handover (coordinators), /share (the defender).

Flow diagram and rules: docs/flows/partnership.md. The logic lives in c2p_bot/core/partnerships.py
and c2p_bot/core/handover.py.
"""

from __future__ import annotations

from sqlmodel import col, select

from c2p_bot.core.answer_words import kind_noun
from c2p_bot.core.context import Context
from c2p_bot.core.handover import answer_consent, start_handover
from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.lenient_lists import yes_or_no
from c2p_bot.core.matching_facts import loads
from c2p_bot.core.partnerships import answer_renewal
from c2p_bot.core.person_args import Slot, key, take
from c2p_bot.core.recipients import active_partners, is_matched
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import Role
from storage.models import Match, Person, Proposal

ITEM_SHOWN = 40
MAX_DIGITS = 9  # ids fit a 32-bit integer column


def _id_and_answer(ctx: Context, args: str, usage: str, example: str) -> tuple[int, bool] | None:
    """``ID yes|no`` (yes and no in any of the bot's languages); replies and None otherwise."""
    words = args.split()
    number = words[0].lstrip("#") if words else ""
    if len(words) != 2 or not number.isdigit() or len(number) > MAX_DIGITS:
        ctx.reply(usage)
        return None
    answer = yes_or_no(words[1])
    if answer is None:
        ctx.reply(ctx._("“{item}” is not yes or no. For example: {example}").format(
            item=words[1][:ITEM_SHOWN], example=example.format(id=int(number))))
        return None
    return int(number), answer


@registry.command("renew", roles={Role.HRD, Role.PARTNER}, usage=N_("ID yes|no"),
                  help=N_("Answer whether your partnership should go on for another term."))
def renew_command(ctx: Context, args: str) -> None:
    parsed = _id_and_answer(ctx, args, ctx._("Usage: /renew ID yes|no. Press a button on my question, or write for "
                                             "example /renew 12 yes."), "/renew {id} yes")
    if parsed is None:
        return
    number, yes = parsed
    match = ctx.session.get(Match, number)
    if (match is None or match.status != "active" or ctx.person_id not in (match.hrd_id, match.partner_id)
            or match.ends_at is None or match.renew_ask_at is not None or match.ends_at <= ctx.now):
        ctx.reply(ctx._("There is no question about partnership #{id} waiting for your answer.").format(id=number))
        return
    answer_renewal(ctx, match, yes)


@registry.command("share", roles={Role.HRD}, usage=N_("ID yes|no"),
                  help=N_("Answer whether your new partner may read the logbook of your past alerts."))
def share_command(ctx: Context, args: str) -> None:
    parsed = _id_and_answer(ctx, args, ctx._("Usage: /share ID yes|no. Press a button on my question, or write for "
                                             "example /share 12 yes."), "/share {id} yes")
    if parsed is None:
        return
    number, yes = parsed
    proposal = ctx.session.get(Proposal, number)
    if (proposal is None or proposal.origin != "handover" or proposal.hrd_id != ctx.person_id
            or proposal.consent is None or not is_matched(ctx.session, proposal.hrd_id, proposal.partner_id)):
        ctx.reply(ctx._("There is no question about sharing your logbook (#{id}) waiting for your answer.").format(
            id=number))
        return
    answer_consent(ctx, proposal, yes)


# -- /handover ------------------------------------------------------------------------------------


def _country(_: Translate, person: Person) -> str:
    return f"{person.alias} ({person.country})" if person.country else person.alias or f"#{person.id}"


def _kind(_: Translate, person: Person) -> str:
    return f"{person.alias} ({kind_noun(_, person.kind)})" if person.kind else person.alias or f"#{person.id}"


def _by_name(people: list[Person]) -> list[Person]:
    return sorted((p for p in people if p.status == "active"), key=lambda p: key(p.alias or ""))


def _paired_hrds(ctx: Context, chosen: tuple[Person, ...]) -> list[Person]:
    ids = ctx.session.exec(select(Match.hrd_id).where(Match.status == "active").distinct()).all()
    return _by_name(list(ctx.session.exec(select(Person).where(col(Person.id).in_(ids))).all()))


def _paired_partners(ctx: Context, chosen: tuple[Person, ...]) -> list[Person]:
    return _by_name(active_partners(ctx.session, chosen[0].id or 0))


def _successors(ctx: Context, chosen: tuple[Person, ...]) -> list[Person]:
    """Partners not paired with the defender: of the same kind first, then with a free place."""
    hrd, old = chosen[0], chosen[1]
    paired = {p.id for p in active_partners(ctx.session, hrd.id or 0)}
    taken = loads(ctx.session, pending=False)
    partners = ctx.session.exec(select(Person).where(
        Person.role == Role.PARTNER.value, Person.status == "active")).all()
    return sorted((p for p in partners if p.id not in paired and p.status == "active"), key=lambda p: (
        p.kind != old.kind, not (p.available and taken.get(p.id or 0, 0) < p.capacity), key(p.alias or "")))


HANDOVER = (
    Slot("hrd", Role.HRD, N_("I don't know an active defender called “{name}”."),
         N_("Whose partnership should be handed over? Choose a defender:"), N_("Nobody is matched right now."),
         _paired_hrds, _country),
    Slot("old", Role.PARTNER, N_("I don't know an active partner called “{name}”."),
         N_("Which partner of {hrd} hands over?"), N_("{hrd} is not matched with anyone right now."),
         _paired_partners, _kind),
    Slot("new", Role.PARTNER, N_("I don't know an active partner called “{name}”."),
         N_("Who should take over {hrd} from {old}?"), N_("There is no other partner who could take over."),
         _successors, _kind),
)


@registry.command("handover", roles={Role.COORDINATOR}, usage=N_("HRD FROM TO"),
                  help=N_("Hand a partnership over to a successor, who is asked to accept first."))
def handover_command(ctx: Context, args: str) -> None:
    people = take(ctx, "handover", args, HANDOVER)
    if people is None:
        return
    hrd, old, new = people
    start_handover(ctx, hrd, old, new)
