"""Commands for everyone: /help, /profile, /forget."""

from __future__ import annotations

from sqlmodel import col, delete

from c2p_bot.core.context import Context
from c2p_bot.core.i18n import N_
from c2p_bot.core.onboarding import alias_taken
from c2p_bot.core.parsing import parse_assignments
from c2p_bot.core.profile_fields import FieldError, fields_for
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import ALL_ROLES
from storage.models import Person


@registry.command(
    "help", roles=ALL_ROLES, help=N_("Show what you can do."), during_onboarding=True
)
def help_command(ctx: Context, args: str) -> None:
    role = ctx.role
    assert role is not None
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
    person = ctx.person
    assert person is not None and ctx.role is not None
    fields = {f.name: f for f in fields_for(ctx.role)}
    if not args:
        lines = [ctx._("Your profile:")]
        lines += [f"{name}: {field.show(person) or '—'}" for name, field in fields.items()]
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
                key=key, accepted=error.message))
            return
    if "alias" in values and alias_taken(ctx, str(values["alias"])):
        ctx.reply(ctx._("Nothing was changed: that alias is already taken."))
        return
    for key, value in values.items():
        fields[key].store(person, value)
    ctx.session.add(person)
    if "language" in values:
        ctx.set_language(str(values["language"]))
    ctx.audit("profile_changed", f"person:{person.id}", "fields=" + ",".join(sorted(values)))
    ctx.reply(ctx._("Saved: {fields}.").format(fields=", ".join(sorted(values))))
    for hook in ctx.core.profile_hooks:
        hook(ctx, person)


@registry.command(
    "forget",
    roles=ALL_ROLES,
    usage=N_("[confirm]"),
    help=N_("Erase your profile, check-ins, notes and keys for good."),
    during_onboarding=True,
)
def forget_command(ctx: Context, args: str) -> None:
    person = ctx.person
    assert person is not None
    if args.strip().lower() != "confirm":
        ctx.reply(ctx._("This erases your profile, check-ins, notes and keys, and you will "
                        "no longer be protected by the programme. To go ahead, send "
                        "/forget confirm"))
        return
    person_id, role = person.id, person.role
    for hook in ctx.core.forget_hooks:
        hook(ctx, person)
    ctx.session.execute(delete(Person).where(col(Person.id) == person_id))
    ctx.session.expunge(person)
    ctx.person, ctx.identity = None, None
    ctx.audit("person_forgotten", f"person:{person_id}", f"role={role}")
    ctx.reply(ctx._("Your data has been erased. Goodbye, and stay safe."))
