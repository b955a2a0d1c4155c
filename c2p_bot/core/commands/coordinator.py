"""Coordinator commands: /invite, /approve_invite, /people, /audit, /match, /unmatch (people by name:
c2p_bot/core/person_args.py)."""

from __future__ import annotations

from sqlmodel import col, select

from c2p_bot.core.answer_words import a_kind, kind_noun, parse_kinds
from c2p_bot.core.audit_view import audit_lines
from c2p_bot.core.context import Context
from c2p_bot.core.events import Button
from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.invites import approve_invite, create_invite, last_invite_id
from c2p_bot.core.lenient_lists import UnknownItems
from c2p_bot.core.matching_facts import csv_set, loads
from c2p_bot.core.number_words import parse_count
from c2p_bot.core.partnerships import start_term
from c2p_bot.core.person_args import MAX_BUTTONS, Slot, key, take
from c2p_bot.core.places import country_label
from c2p_bot.core.recipients import active_partners, coordinators
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import PARTNER_KINDS, Role
from storage.models import AuditEntry, Invite, Match, Person, Proposal

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
    kinds, unknown = _kinds_named(" ".join(args.split()[1:]))
    if words[:1] == [Role.PARTNER.value] and (unknown or len(kinds) > 1):
        ctx.reply(ctx._("“{item}” is not a kind of partner. Write /invite partner MP, /invite partner lawyer "
                        "or /invite partner journalist.").format(item=unknown or " ".join(args.split()[1:])))
        return
    if not words or words[0] not in {r.value for r in Role} or unknown or len(kinds) > 1:
        ctx.reply(usage)
        return
    role = Role(words[0])
    kind = kinds[0] if kinds else None
    # A partner invited without a kind chooses it while onboarding (as with `c2p-bot invite`).
    if kind is not None and (role is not Role.PARTNER or kind not in PARTNER_KINDS):
        ctx.reply(usage)
        return
    two_person = role is Role.COORDINATOR and ctx.config.security.coordinator_invites == "two-person"
    code = create_invite(
        ctx.session, role=role, kind=kind, now=ctx.now, ttl=ctx.config.invites.ttl,
        issued_by=ctx.person_id, needs_approval=two_person,
    )
    expires = ctx._.when(ctx.now + ctx.config.invites.ttl, ctx.person.timezone if ctx.person else "UTC")
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
    if role is Role.COORDINATOR:
        number = last_invite_id(ctx.session, code)
        others = _announce_coordinator_invite(ctx, number, two_person)
        lines.append(ctx._("This is invite #{id}; every coordinator has been told about it.").format(
            id=number) if others else ctx._("This is invite #{id}.").format(id=number))
        if two_person:
            lines.append(ctx._("Before it works, another coordinator must approve it: I have asked them.")
                         if others else
                         ctx._("Before it works, another coordinator must approve it, and there is none: "
                               "the operator can make a coordinator with `c2p-bot invite --role "
                               "coordinator`."))
    ctx.reply("\n".join(lines))


def _announce_coordinator_invite(ctx: Context, number: int, two_person: bool) -> list[Person]:
    """Tell every other active coordinator (a new coordinator reads every future note)."""
    others = [p for p in coordinators(ctx.session) if p.id != ctx.person_id]
    requester = ctx.person.alias if ctx.person and ctx.person.alias else f"#{ctx.person_id}"
    for person in others:
        if two_person:
            ctx.tell(person, lambda _: _(
                "{alias} asks for an invite for a new coordinator (invite #{id}). A coordinator can "
                "read every future note. It works only once another coordinator approves it: "
                "/approve_invite {id}").format(alias=requester, id=number),
                buttons=lambda _: [[Button(_("Approve invite #{id}").format(id=number),
                                           f"/approve_invite {number}")]],
                key=f"invite:{number}:announce:{person.id}")
        else:
            ctx.tell(person, lambda _: _(
                "{alias} created an invite for a new coordinator (invite #{id}). A coordinator can "
                "read every future note; if you did not expect this, ask them and check /audit."
            ).format(alias=requester, id=number), key=f"invite:{number}:announce:{person.id}")
    return others


@registry.command(
    "approve_invite",
    roles=COORDINATOR,
    usage=N_("ID"),
    help=N_("Approve another coordinator's invite for a new coordinator."),
)
def approve_invite_command(ctx: Context, args: str) -> None:
    words = args.strip().lstrip("#").split()
    if len(words) != 1 or not words[0].isdigit():
        ctx.reply(ctx._("Usage: /approve_invite ID, with the invite number from the request."))
        return
    number = int(words[0])
    invite = ctx.session.get(Invite, number)
    if (invite is None or invite.role != Role.COORDINATOR.value or not invite.needs_approval
            or invite.used_at is not None or invite.expires_at <= ctx.now):
        ctx.reply(ctx._("No coordinator invite #{id} is waiting for approval.").format(id=number))
        return
    if invite.approved_at is not None:
        ctx.reply(ctx._("Invite #{id} is already approved.").format(id=number))
        return
    if invite.issued_by == ctx.person_id:
        ctx.reply(ctx._("You asked for invite #{id}: you cannot approve your own invite; another "
                        "coordinator must.").format(id=number))
        return
    approve_invite(ctx.session, invite, ctx.person_id, ctx.now)
    ctx.reply(ctx._("Approved invite #{id}: the code now works once, until it expires.").format(id=number))
    approver = ctx.person.alias if ctx.person and ctx.person.alias else f"#{ctx.person_id}"
    for person in coordinators(ctx.session):
        if person.id == ctx.person_id:
            continue
        ctx.tell(person, lambda _: _("{alias} approved invite #{id} for a new coordinator.").format(
            alias=approver, id=number), key=f"invite:{number}:approved:{person.id}")


def _kinds_named(text: str) -> tuple[list[str], str]:
    """The partner kinds ``text`` names (``member of parliament``, ``avocat``…) and what it names
    that is no kind (empty when all is known)."""
    try:
        return parse_kinds(text), ""
    except UnknownItems as error:
        return [], ", ".join(error.items)


def _role_name(ctx: Context, role: Role, kind: str | None) -> str:
    names = {
        Role.COORDINATOR: ctx._("coordinator"),
        Role.HRD: ctx._("human rights defender"),
        Role.PARTNER: ctx._("partner"),
    }
    return names[role] + (f" ({kind_noun(ctx._, kind)})" if kind else "")


@registry.command("people", roles=COORDINATOR, help=N_("List who is registered, by role."))
def people_command(ctx: Context, args: str) -> None:
    people = ctx.session.exec(select(Person).order_by(col(Person.role), col(Person.alias))).all()
    lines = [ctx._("People registered:")]
    for role in Role:
        group = [p for p in people if p.role == role.value]
        lines.append(f"\n{_role_name(ctx, role, None).capitalize()} ({len(group)})")
        for person in group:
            status = ctx._("active") if person.status == "active" else ctx._("onboarding")
            kind = f" [{kind_noun(ctx._, person.kind)}]" if person.kind else ""
            extra = "".join(hook(ctx, person) for hook in ctx.core.people_hooks)
            lines.append(f"• {person.alias or '#' + str(person.id)}{kind} — {status}{extra}")
    ctx.reply("\n".join(lines))


@registry.command("audit", roles=COORDINATOR, usage=N_("[N]"), help=N_("Show the latest audit entries."))
def audit_command(ctx: Context, args: str) -> None:
    count = AUDIT_DEFAULT
    if args:
        asked = parse_count(args)
        if asked is None or not 1 <= asked <= AUDIT_MAX:
            ctx.reply(ctx._("Usage: /audit [N]. “{item}” is not a number from 1 to {max}, like /audit 50.").format(
                item=args.strip(), max=AUDIT_MAX))
            return
        count = asked
    entries = ctx.session.exec(
        select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(count)
    ).all()
    lines = [ctx._.ngettext("Latest {n} audit entry:", "Latest {n} audit entries:", len(entries)).format(
        n=len(entries))]
    lines += audit_lines(ctx._, ctx.session, list(reversed(entries)), ctx.person.timezone if ctx.person else "UTC")
    ctx.reply("\n".join(lines))


def _country(_: Translate, person: Person) -> str:
    return f"{person.alias} ({person.country})" if person.country else person.alias or f"#{person.id}"


def _kind(_: Translate, person: Person) -> str:
    return f"{person.alias} ({kind_noun(_, person.kind)})" if person.kind else person.alias or f"#{person.id}"


def _rows(ctx: Context, ids: list[int]) -> list[Person]:
    """The people (as rows, so their integrity is checked) still active, enough for the buttons."""
    people = (ctx.session.get(Person, pid) for pid in ids[:MAX_BUTTONS + 1])
    return [p for p in people if p is not None and p.status == "active"]


def _waiting_first(ctx: Context, chosen: tuple[Person, ...]) -> list[Person]:
    """Defenders waiting for a partner (longest first), then the others by name."""
    covered: dict[int, set[str]] = {}
    for hrd_id, kind in [*ctx.session.exec(select(Match.hrd_id, Person.kind).join(
            Person, col(Person.id) == col(Match.partner_id)).where(Match.status == "active")).all(),
            *ctx.session.exec(select(Proposal.hrd_id, Proposal.kind).where(Proposal.status == "offered")).all()]:
        covered.setdefault(hrd_id, set()).add(kind or "")
    rows = ctx.session.exec(select(Person.id, Person.alias, Person.wants).where(
        Person.role == Role.HRD.value, Person.status == "active").order_by(col(Person.created_at),
                                                                          col(Person.id))).all()
    waiting = [pid for pid, _alias, wants in rows if csv_set(wants) - covered.get(pid or 0, set())]
    others = [pid for pid, _alias, _wants in sorted(rows, key=lambda r: key(r[1] or "")) if pid not in set(waiting)]
    return _rows(ctx, [pid for pid in waiting + others if pid is not None])


def _partners_for(ctx: Context, chosen: tuple[Person, ...]) -> list[Person]:
    """Partners not yet paired with the defender: of a kind they want first, then with a free place."""
    hrd, wanted, taken = chosen[0], csv_set(chosen[0].wants), loads(ctx.session, pending=False)
    paired = set(ctx.session.exec(select(Match.partner_id).where(
        Match.hrd_id == hrd.id, Match.status == "active")).all())
    partners = ctx.session.exec(select(Person).where(
        Person.role == Role.PARTNER.value, Person.status == "active")).all()
    return sorted((p for p in partners if p.id not in paired and p.status == "active"), key=lambda p: (
        p.kind not in wanted, not (p.available and taken.get(p.id or 0, 0) < p.capacity), key(p.alias or "")))


def _paired_hrds(ctx: Context, chosen: tuple[Person, ...]) -> list[Person]:
    rows = ctx.session.exec(select(Person.id, Person.alias).join(Match, col(Match.hrd_id) == col(Person.id)).where(
        Match.status == "active", Person.status == "active").distinct()).all()
    return _rows(ctx, [pid for pid, _alias in sorted(rows, key=lambda r: key(r[1] or "")) if pid is not None])


def _paired_partners(ctx: Context, chosen: tuple[Person, ...]) -> list[Person]:
    return sorted(active_partners(ctx.session, chosen[0].id or 0), key=lambda p: key(p.alias or ""))


UNKNOWN_HRD = N_("I don't know an active defender called “{name}”.")
UNKNOWN_PARTNER = N_("I don't know an active partner called “{name}”.")
MATCH = (
    Slot("hrd", Role.HRD, UNKNOWN_HRD, N_("Who needs a partner? Choose a defender:"),
         N_("No defender has joined yet, so there is nobody to match."), _waiting_first, _country),
    Slot("partner", Role.PARTNER, UNKNOWN_PARTNER, N_("Choose a partner for {hrd}:"),
         N_("{hrd} is already matched with every partner."), _partners_for, _kind),
)
UNMATCH = (
    Slot("hrd", Role.HRD, UNKNOWN_HRD, N_("Whose match should end? Choose a defender:"),
         N_("Nobody is matched right now."), _paired_hrds, _country),
    Slot("partner", Role.PARTNER, UNKNOWN_PARTNER, N_("Which partner should no longer be matched with {hrd}?"),
         N_("{hrd} is not matched with anyone right now."), _paired_partners, _kind),
)


@registry.command("match", roles=COORDINATOR, usage=N_("HRD PARTNER"),
                  help=N_("Pair a defender with a partner (by alias)."))
def match_command(ctx: Context, args: str) -> None:
    pair = take(ctx, "match", args, MATCH)
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
    start_term(match, ctx.config, ctx.now)  # its term, renewal question and contact clock
    ctx.session.add(match)
    ctx.session.flush()
    ctx.audit("match_created", f"match:{match.id}", f"hrd=person:{hrd.id} partner=person:{partner.id}")
    ctx.tell(hrd, lambda _: _("You are now matched with {partner}, {kind}. If you miss a check-in or "
                              "raise the alarm, they will be alerted.").format(
        partner=partner.alias, kind=a_kind(_, partner.kind or "")), key=f"match:{match.id}:hrd")
    ctx.tell(partner, lambda _: _("You are now matched with {hrd} ({country}). You will be alerted if they "
                                  "miss a check-in or raise the alarm.").format(
        hrd=hrd.alias, country=country_label(hrd.country, _.language) if hrd.country else "—"),
        key=f"match:{match.id}:partner")
    if confirm:
        ctx.reply(ctx._("Matched {hrd} with {partner}.").format(hrd=hrd.alias, partner=partner.alias))
    return match


@registry.command("unmatch", roles=COORDINATOR, usage=N_("HRD PARTNER"),
                  help=N_("End a match (by alias)."))
def unmatch_command(ctx: Context, args: str) -> None:
    pair = take(ctx, "unmatch", args, UNMATCH)
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
    ctx.tell(partner, lambda _: _("Your match with {hrd} has ended.").format(hrd=hrd.alias),
             key=f"match:{match.id}:ended:partner")
    ctx.tell(hrd, lambda _: _("Your match with {partner} has ended.").format(partner=partner.alias),
             key=f"match:{match.id}:ended:hrd")
    ctx.reply(ctx._("Unmatched {hrd} and {partner}.").format(hrd=hrd.alias, partner=partner.alias))
    for hook in ctx.core.capacity_hooks:
        hook(ctx, partner)


def announce_new_coordinator(ctx: Context, person: Person) -> None:
    """Every new coordinator (who will read every future note) is announced to the others,
    whichever way they were invited (chat, `c2p-bot invite`, or a row planted in the database)."""
    if person.role != Role.COORDINATOR.value:
        return
    alias = person.alias or "?"
    for other in coordinators(ctx.session):
        if other.id == person.id:
            continue
        ctx.tell(other, lambda _: _("{alias} registered as a coordinator: they can read every note "
                                    "written from now on. If you did not expect this, act now.").format(alias=alias),
                 key=f"coordinator-joined:{person.id}:to:{other.id}")
    ctx.audit("coordinator_registered", f"person:{person.id}")

