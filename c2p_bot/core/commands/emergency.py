"""When something has happened: /detained (a partner or a coordinator) and /prove (whoever is alerted).

Detention: c2p_bot.core.detention (flow diagram docs/flows/detention.md); proof of life:
c2p_bot.core.proof_flow (docs/flows/alert-lifecycle.md).
"""

from __future__ import annotations

from sqlmodel import select

from c2p_bot.core.context import Context
from c2p_bot.core.detention import raise_detention
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.i18n import N_
from c2p_bot.core.person_args import Slot, key, take_leading
from c2p_bot.core.proof_flow import ask
from c2p_bot.core.recipients import may_see
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import Role
from storage.models import Alert, Match, Person

RESPONDERS = {Role.PARTNER, Role.COORDINATOR}


def _mine(ctx: Context) -> set[int] | None:
    """The defenders the sender may name: a partner's own (matched) ones; every one for a coordinator."""
    me = ctx.person
    if me is None or me.role == Role.COORDINATOR.value:
        return None
    return {match.hrd_id for match in ctx.session.exec(select(Match).where(  # whole rows: integrity-checked
        Match.partner_id == me.id, Match.status == "active")).all() if match.status == "active"}


def _suggest(ctx: Context, chosen: tuple[Person, ...]) -> list[Person]:
    among = _mine(ctx)
    people = ctx.session.exec(select(Person).where(Person.role == Role.HRD.value, Person.status == "active")).all()
    return sorted((p for p in people if among is None or p.id in among), key=lambda p: key(p.alias or ""))


DETAINED = Slot("hrd", Role.HRD, N_("I don't know an active defender of yours called “{name}”."),
                N_("Who has been detained? Choose a defender:"), N_("You have no defender to report about."),
                _suggest, among=_mine)


@registry.command("detained", roles=RESPONDERS, usage=N_("HRD [TEXT]"),
                  help=N_("Report a defender detained: everyone who protects them is alerted at once, with their "
                          "plan and the first steps to take."))
def detained_command(ctx: Context, args: str) -> None:
    found = take_leading(ctx, "detained", args, DETAINED)
    if found is None:
        return
    hrd, words = found
    me = ctx.person
    if me is None:
        raise InvariantError("a command reached its handler without a registered sender")
    alert, new = raise_detention(ctx, hrd, words)
    if new:
        ctx.reply(ctx._("Detention alert #{id} about {hrd} is raised: every partner and coordinator is being alerted "
                        "now, with {hrd}'s emergency plan and the first steps to take. Tick each step done with "
                        "/done {id} N.").format(id=alert.id, hrd=hrd.alias))
        return
    reply = ctx._("{hrd} was already reported detained: alert #{id}, raised {when}; everyone who protects them was "
                  "alerted then.").format(hrd=hrd.alias, id=alert.id, when=ctx._.when(alert.raised_at, me.timezone))
    if words:
        reply += " " + ctx._("What you wrote is in its logbook (/log {id}).").format(id=alert.id)
    ctx.reply(reply)


@registry.command("prove", roles=RESPONDERS, usage=N_("ID"),
                  help=N_("Ask the defender of an alert their proof-of-life question: you are told only whether "
                          "the answer matches."))
def prove_command(ctx: Context, args: str) -> None:
    me = ctx.person
    if me is None:
        raise InvariantError("a command reached its handler without a registered sender")
    words = args.split()
    if not words:
        ctx.reply(ctx._("Usage: /prove ID, for example /prove 12."))
        return
    number = words[0].lstrip("#")
    alert = ctx.session.get(Alert, int(number)) if number.isdigit() and len(number) < 12 else None
    if alert is None or not may_see(ctx.session, alert, me):
        ctx.reply(ctx._("There is no alert #{id} that you can act on. Send /alerts to see yours.").format(
            id=number[:12]))
        return
    if alert.status == "resolved":
        ctx.reply(ctx._("Alert #{id} is already resolved.").format(id=alert.id))
        return
    ask(ctx, alert)
