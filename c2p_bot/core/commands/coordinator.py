"""Coordinator commands: /invite, /people, /audit."""

from __future__ import annotations

from sqlmodel import col, func, select

from c2p_bot.core.context import Context
from c2p_bot.core.i18n import N_
from c2p_bot.core.invites import create_invite
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import PARTNER_KINDS, Role
from storage.models import AuditEntry, Match, Person

COORDINATOR = {Role.COORDINATOR}
AUDIT_DEFAULT, AUDIT_MAX = 20, 200


@registry.command(
    "invite",
    roles=COORDINATOR,
    usage=N_("hrd | partner [mp|lawyer|journalist] | coordinator"),
    help=N_("Create a one-time invite code."),
)
def invite_command(ctx: Context, args: str) -> None:
    words = args.lower().split()
    usage = ctx._("Usage: /invite hrd, /invite partner [mp|lawyer|journalist], or /invite coordinator")
    if not words or words[0] not in {r.value for r in Role} or len(words) > 2:
        ctx.reply(usage)
        return
    role = Role(words[0])
    kind = words[1] if len(words) > 1 else None
    # A partner invited without a kind chooses it while onboarding (as with `c2p-bot invite`).
    if kind is not None and (role is not Role.PARTNER or kind not in PARTNER_KINDS):
        ctx.reply(usage)
        return
    code = create_invite(
        ctx.session, role=role, kind=kind, now=ctx.now, ttl=ctx.config.invites.ttl,
        issued_by=ctx.person_id,
    )
    expires = (ctx.now + ctx.config.invites.ttl).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        ctx._("Invite for a new {role}: it works once and expires on {expires}.").format(
            role=_role_name(ctx, role, kind), expires=expires),
        ctx._("They send this to the bot: /start {code}").format(code=code),
    ]
    if role is Role.PARTNER and kind is None:
        lines.insert(1, ctx._("They will choose whether they are an MP, a lawyer or a journalist "
                              "when they join."))
    link = ctx.core.invite_links.get(ctx.incoming.platform)
    if link is not None:
        lines.append(ctx._("Or they open: {link}").format(link=link(code)))
    ctx.reply("\n".join(lines))


def _role_name(ctx: Context, role: Role, kind: str | None) -> str:
    names = {
        Role.COORDINATOR: ctx._("coordinator"),
        Role.HRD: ctx._("human rights defender"),
        Role.PARTNER: ctx._("partner"),
    }
    return names[role] + (f" ({kind})" if kind else "")


@registry.command("people", roles=COORDINATOR, help=N_("List who is registered, by role."))
def people_command(ctx: Context, args: str) -> None:
    people = ctx.session.exec(select(Person).order_by(col(Person.role), col(Person.alias))).all()
    lines = [ctx._("People registered:")]
    for role in Role:
        group = [p for p in people if p.role == role.value]
        lines.append(f"\n{_role_name(ctx, role, None).capitalize()} ({len(group)})")
        for person in group:
            status = ctx._("active") if person.status == "active" else ctx._("onboarding")
            kind = f" [{person.kind}]" if person.kind else ""
            extra = "".join(hook(ctx, person) for hook in ctx.core.people_hooks)
            lines.append(f"• {person.alias or '#' + str(person.id)}{kind} — {status}{extra}")
    ctx.reply("\n".join(lines))


@registry.command("audit", roles=COORDINATOR, usage=N_("[N]"), help=N_("Show the latest audit entries."))
def audit_command(ctx: Context, args: str) -> None:
    count = AUDIT_DEFAULT
    if args:
        if not args.strip().isdigit() or not 1 <= int(args.strip()) <= AUDIT_MAX:
            ctx.reply(ctx._("Usage: /audit [N], where N is a number from 1 to {max}.").format(
                max=AUDIT_MAX))
            return
        count = int(args.strip())
    entries = ctx.session.exec(
        select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(count)
    ).all()
    lines = [ctx._("Latest {n} audit entries:").format(n=len(entries))]
    for entry in reversed(entries):
        actor = f"person:{entry.actor_id}" if entry.actor_id else "system"
        lines.append(
            f"{entry.at:%Y-%m-%d %H:%M} {actor} {entry.action} {entry.subject or ''} "
            f"{entry.detail or ''}".rstrip()
        )
    ctx.reply("\n".join(lines))


def _by_alias(ctx: Context, alias: str, role: Role) -> Person | None:
    person = ctx.session.exec(select(Person).where(func.lower(Person.alias) == alias.lower())).first()
    if person is None or person.role != role.value or person.status != "active":
        return None
    return person


def _pair(ctx: Context, args: str, usage: str) -> tuple[Person, Person] | None:
    words = args.split()
    if len(words) != 2:
        ctx.reply(usage)
        return None
    hrd, partner = _by_alias(ctx, words[0], Role.HRD), _by_alias(ctx, words[1], Role.PARTNER)
    if hrd is None or partner is None:
        ctx.reply(ctx._("I need an active defender's alias, then an active partner's alias. "
                        "Send /people to see them."))
        return None
    return hrd, partner


@registry.command("match", roles=COORDINATOR, usage=N_("HRD PARTNER"),
                  help=N_("Pair a defender with a partner (by alias)."))
def match_command(ctx: Context, args: str) -> None:
    pair = _pair(ctx, args, ctx._("Usage: /match HRD PARTNER, using their aliases."))
    if pair is None:
        return
    hrd, partner = pair
    matcher = ctx.core.services.get("manual_match")
    if matcher is not None:  # the matching flow asks the partner for consent first
        matcher(ctx, hrd, partner)  # type: ignore[operator]
        return
    activate_match(ctx, hrd, partner)


def activate_match(ctx: Context, hrd: Person, partner: Person, *, confirm: bool = True) -> Match | None:
    """Make an active match (alerts about the HRD now reach the partner) and introduce them.

    ``confirm`` replies "Matched X with Y" to the sender (a coordinator's /match); the partner
    accepting an offer gets the introduction instead.
    """
    existing = ctx.session.exec(select(Match).where(
        Match.hrd_id == hrd.id, Match.partner_id == partner.id, Match.status == "active")).first()
    if existing is not None:
        ctx.reply(ctx._("{hrd} and {partner} are already matched.").format(hrd=hrd.alias, partner=partner.alias))
        return None
    match = Match(hrd_id=hrd.id or 0, partner_id=partner.id or 0, status="active", created_at=ctx.now)
    ctx.session.add(match)
    ctx.session.flush()
    ctx.audit("match_created", f"match:{match.id}", f"hrd=person:{hrd.id} partner=person:{partner.id}")
    ctx.tell(hrd, lambda _: _("You are now paired with {partner}, a {kind}. If you miss a check-in or "
                              "raise the alarm, they will be alerted.").format(
        partner=partner.alias, kind=partner.kind or ""), key=f"match:{match.id}:hrd")
    ctx.tell(partner, lambda _: _("You are now matched with {hrd} ({country}). You will be alerted if they "
                                  "miss a check-in or raise the alarm.").format(
        hrd=hrd.alias, country=hrd.country or "—"), key=f"match:{match.id}:partner")
    if confirm:
        ctx.reply(ctx._("Matched {hrd} with {partner}.").format(hrd=hrd.alias, partner=partner.alias))
    return match


@registry.command("unmatch", roles=COORDINATOR, usage=N_("HRD PARTNER"),
                  help=N_("End a pairing (by alias)."))
def unmatch_command(ctx: Context, args: str) -> None:
    pair = _pair(ctx, args, ctx._("Usage: /unmatch HRD PARTNER, using their aliases."))
    if pair is None:
        return
    hrd, partner = pair
    match = ctx.session.exec(select(Match).where(
        Match.hrd_id == hrd.id, Match.partner_id == partner.id, Match.status == "active")).first()
    if match is None:
        ctx.reply(ctx._("{hrd} and {partner} are not matched.").format(hrd=hrd.alias, partner=partner.alias))
        return
    match.status, match.ended_at = "ended", ctx.now
    ctx.session.add(match)
    ctx.audit("match_ended", f"match:{match.id}")
    ctx.tell(partner, lambda _: _("Your pairing with {hrd} has ended.").format(hrd=hrd.alias),
             key=f"match:{match.id}:ended:partner")
    ctx.tell(hrd, lambda _: _("Your pairing with {partner} has ended.").format(partner=partner.alias),
             key=f"match:{match.id}:ended:hrd")
    ctx.reply(ctx._("Unmatched {hrd} and {partner}.").format(hrd=hrd.alias, partner=partner.alias))
    for hook in ctx.core.capacity_hooks:
        hook(ctx, partner)
