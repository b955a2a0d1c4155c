"""Coordinator commands: /invite, /people, /audit."""

from __future__ import annotations

from sqlmodel import col, select

from c2p_bot.core.context import Context
from c2p_bot.core.i18n import N_
from c2p_bot.core.invites import create_invite
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import PARTNER_KINDS, Role
from storage.models import AuditEntry, Person

COORDINATOR = {Role.COORDINATOR}
AUDIT_DEFAULT, AUDIT_MAX = 20, 200


@registry.command(
    "invite",
    roles=COORDINATOR,
    usage=N_("hrd | partner mp|lawyer|journalist | coordinator"),
    help=N_("Create a one-time invite code."),
)
def invite_command(ctx: Context, args: str) -> None:
    words = args.lower().split()
    usage = ctx._("Usage: /invite hrd, /invite partner mp|lawyer|journalist, or /invite coordinator")
    if not words or words[0] not in {r.value for r in Role}:
        ctx.reply(usage)
        return
    role = Role(words[0])
    kind = words[1] if len(words) > 1 else None
    if (role is Role.PARTNER and kind not in PARTNER_KINDS) or (role is not Role.PARTNER and kind):
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
