"""Commands for everyone: /help, /profile, /forget."""

from __future__ import annotations

from sqlmodel import col, delete, select

from c2p_bot.core.context import Context
from c2p_bot.core.email_addresses import confirm, email_on, not_set_up, set_address, status
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Button, Priority
from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.notes import readers_of
from c2p_bot.core.onboarding import alias_taken
from c2p_bot.core.parsing import parse_assignments
from c2p_bot.core.pins_flow import ACTIONS, ask_pin, needs_pin, raise_duress, tell_protectors
from c2p_bot.core.profile_fields import FieldError, fields_for
from c2p_bot.core.recipients import coordinators
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import ALL_ROLES, Role
from storage.models import AuditEntry, Identity, Person


@registry.command(
    "help", roles=ALL_ROLES, help=N_("Show what you can do."), during_onboarding=True
)
def help_command(ctx: Context, args: str) -> None:
    role = ctx.role
    if role is None:
        raise InvariantError("a command reached its handler without a registered sender")
    if ctx.person is not None and ctx.person.status == "onboarding":
        ctx.reply(ctx._("You are being set up. Answer the question above, or send /forget "
                        "to stop and erase what you entered."))
        return
    lines = [ctx._("Commands you can use:")]
    for spec in ctx.core.commands.for_role(role):
        usage = f" {ctx._(spec.usage)}" if spec.usage else ""
        lines.append(f"/{spec.name}{usage} — {ctx._(spec.help)}")
    ctx.reply("\n".join(lines))


@registry.command(
    "profile",
    roles=ALL_ROLES,
    usage=N_("[key=value …]"),
    help=N_("Show your profile, or change fields, e.g. /profile languages=en,sw"),
)
def profile_command(ctx: Context, args: str) -> None:
    _profile(ctx, args, confirmed=False)


def _profile(ctx: Context, args: str, *, confirmed: bool) -> None:
    person = ctx.person
    if person is None or ctx.role is None:
        raise InvariantError("a command reached its handler without a registered sender")
    fields = {f.name: f for f in fields_for(ctx.role)}
    if not args:
        lines = [ctx._("Your profile:")]
        lines += [f"{name}: {field.show(person, ctx._) or '—'}" for name, field in fields.items()]
        lines.append(ctx._("Change a field with /profile key=value, for example /profile timezone=UTC"))
        ctx.reply("\n".join(lines))
        return
    pairs, leftovers = parse_assignments(args)
    unknown = [key for key in pairs if key not in fields] + leftovers
    if unknown or not pairs:
        ctx.reply(ctx._("I can't change {what}. Fields you can set: {fields}. "
                        "Write them as key=value.").format(
            what=", ".join(unknown) or args[:40], fields=", ".join(fields)))
        return
    values: dict[str, object] = {}
    for key, raw in pairs.items():
        try:
            values[key] = fields[key].parse(raw, ctx.config, ctx._)
        except FieldError as error:
            ctx.reply(ctx._("Nothing was changed: {key} is not valid. {accepted}").format(
                key=key, accepted=error.message),
                [[Button(label, f"/profile {key}={value}")] for label, value in error.choices])
            return
    if "alias" in values and alias_taken(ctx, str(values["alias"])):
        ctx.reply(ctx._("Nothing was changed: that alias is already taken."))
        return
    if values.get("email") and not email_on(ctx):
        ctx.reply(ctx._("Nothing was changed: email is not set up on this bot, so alerts reach you only in "
                        "the chat."))
        return
    if values.get("notes_over_telegram") is True and needs_pin(ctx) and not confirmed:
        ask_pin(ctx, "profile", args)  # letting notes travel over Telegram weakens protection
        return
    for key, value in values.items():
        fields[key].store(person, value)
    ctx.session.add(person)
    if "language" in values:
        ctx.set_language(str(values["language"]))
    ctx.audit("profile_changed", f"person:{person.id}", "fields=" + ",".join(sorted(values)))
    saved = ctx._("Saved: {fields}.").format(fields=", ".join(sorted(values)))
    if "email" in values:  # kept in its own table, confirmed by a code (c2p_bot.core.email_addresses)
        saved += "\n" + set_address(ctx, person, str(values["email"]))
    ctx.reply(saved)
    for hook in ctx.core.profile_hooks:
        hook(ctx, person)


@registry.command(
    "email",
    roles=(Role.PARTNER, Role.COORDINATOR),
    usage=N_("[confirm CODE]"),
    help=N_("See your email address for alerts, or confirm it with the code sent to it."),
)
def email_command(ctx: Context, args: str) -> None:
    person = ctx.person
    if person is None:
        raise InvariantError("a command reached its handler without a registered sender")
    words = args.split()
    code = words[1:] if words[:1] and words[0].lower() == "confirm" else words
    if not words:
        shown = status(ctx, person)
        ctx.reply(shown if email_on(ctx) else not_set_up(ctx) + "\n" + shown)
    elif len(code) == 1 and code[0].isdigit():
        ctx.reply(confirm(ctx, person, code[0]))
    else:
        ctx.reply(ctx._("Send /email confirm CODE with the six digits from the email (for example "
                        "/email confirm 123456), or /email to see your address."))


@registry.command(
    "forget",
    roles=ALL_ROLES,
    usage=N_("[confirm]"),
    help=N_("Erase your profile, check-ins, notes and keys for good."),
    during_onboarding=True,
)
def forget_command(ctx: Context, args: str) -> None:
    person = ctx.person
    if person is None:
        raise InvariantError("a command reached its handler without a registered sender")
    words = args.strip().lower().split()
    if words[:1] != ["confirm"]:
        ctx.reply(ctx._("This erases your profile, check-ins, notes and keys, and you will "
                        "no longer be protected by the programme. To go ahead, send "
                        "/forget confirm"))
        return
    if _last_coordinator(ctx, person) and words[1:] != ["last"]:
        ctx.reply(ctx._("Warning: you are the last active coordinator. Without you, alerts that are "
                        "not answered reach nobody beyond the partners, and nobody can invite, match "
                        "or resolve. Invite another coordinator first. To erase your data anyway, "
                        "send /forget confirm last"))
        return
    if needs_pin(ctx):
        ask_pin(ctx, "forget", "")
        return
    forget_person(ctx, "", False)


def _last_coordinator(ctx: Context, person: Person) -> bool:
    if person.role != Role.COORDINATOR.value or person.status != "active":
        return False
    return all(other.id == person.id for other in coordinators(ctx.session))


def forget_person(ctx: Context, args: str, duress: bool) -> None:
    """Erase the sender. Under the duress PIN it only looks erased: the phone's identities are
    unlinked (the bot treats it as a stranger from now on, as after a real /forget), while the
    profile, the clock and the partners stay and the duress alarm goes out."""
    person = ctx.person
    if person is None:
        raise InvariantError("a command reached its handler without a registered sender")
    person_id, role = person.id, person.role
    if person.role == Role.HRD.value and person.status == "active":
        alias = person.alias or "?"
        tell_protectors(ctx, person, lambda _, zone: _(
            "{alias} left the programme and erased their data (/forget). Their check-ins and alerts "
            "have ended.").format(alias=alias) if not duress else _(
            "{alias} sent /forget with the duress PIN: their data is kept and they are still "
            "protected, but their chat no longer reaches them.").format(alias=alias))
    for hook in ctx.core.forget_hooks:
        # Under duress only the transports' hooks run (they make the chat look like a stranger's);
        # the core's erase what a real /forget erases, and this person is kept.
        if not duress or getattr(hook, "__module__", "").startswith("c2p_bot.transports."):
            hook(ctx, person)
    if duress:
        raise_duress(ctx, person, "/forget")
        ctx.session.execute(delete(Identity).where(col(Identity.person_id) == person_id))
        action, detail = "identities_unlinked_under_duress", None
    else:
        ctx.session.execute(delete(Person).where(col(Person.id) == person_id))
        action, detail = "person_forgotten", f"role={role}"
    ctx.session.flush()
    for row in (person, ctx.identity):
        if row is not None and row in ctx.session:
            ctx.session.expunge(row)
    ctx.person, ctx.identity = None, None
    ctx.audit(action, f"person:{person_id}", detail)
    ctx.reply(ctx._("Your data has been erased. Goodbye, and stay safe."))


ACTIONS["forget"] = forget_person


def _confirmed_profile(ctx: Context, args: str, duress: bool) -> None:
    _profile(ctx, args, confirmed=True)


ACTIONS["profile"] = _confirmed_profile


def tell_notes_over_telegram(ctx: Context, person: Person) -> None:
    """A profile hook: an HRD who lets their notes travel over Telegram weakens their protection,
    so their partners and the coordinators are told (invariant 5)."""
    if person.role != "hrd" or not person.notes_over_telegram:
        return
    changed = ctx.session.exec(select(AuditEntry.id).where(
        AuditEntry.action == "profile_changed", AuditEntry.subject == f"person:{person.id}",
        AuditEntry.at == ctx.now, col(AuditEntry.detail).contains("notes_over_telegram"))).first()
    if changed is None:
        return
    alias = person.alias or "?"

    def render(_: Translate) -> str:
        return _("🔓 {alias} now allows their notes written on Matrix (end-to-end encrypted) to be shown "
                 "on Telegram, where Telegram can read them.").format(alias=alias)

    for reader in readers_of(ctx.session, person.id or 0):
        ctx.tell(reader, render, key=f"notes-over-telegram:{person.id}:{reader.id}:{ctx.now.isoformat()}",
                 priority=Priority.NOTICE)
