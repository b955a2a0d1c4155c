"""Onboarding: redeem an invite, then ask the role's profile questions one by one.

Flow diagram: docs/flows/onboarding.md. State lives in ``Conversation`` rows, so a
restart in the middle resumes at the same question.
"""

from __future__ import annotations

from sqlmodel import func, select

from c2p_bot.core.answer_words import choice_label
from c2p_bot.core.context import Context
from c2p_bot.core.conversations import start_conversation
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Button
from c2p_bot.core.guidance import tell_first_checkin
from c2p_bot.core.i18n import DEFAULT_LANGUAGE, N_, SUPPORTED_LANGUAGES, guess_language, language_name
from c2p_bot.core.parsing import ParsedCommand
from c2p_bot.core.profile_fields import FIELDS, ONBOARDING_FIELDS, FieldError, ProfileField
from c2p_bot.core.roles import Role
from storage.models import Conversation, Identity, Invite, Person

FLOW = "onboarding"

WELCOME = {
    Role.COORDINATOR: N_("Welcome to Connect2Protect. You are joining as a coordinator."),
    Role.HRD: N_(
        "Welcome to Connect2Protect. You are joining as a human rights defender. "
        "A few questions first; you can change every answer later with /profile."
    ),
    Role.PARTNER: N_(
        "Welcome to Connect2Protect. You are joining as a partner. "
        "A few questions first; you can change every answer later with /profile."
    ),
}


def register(ctx: Context, invite: Invite) -> None:
    """Create the person and their identity from a redeemed invite, then ask the first question."""
    role = Role(invite.role)
    guessed = guess_language(ctx.incoming.language_hint) or DEFAULT_LANGUAGE
    person = Person(role=role.value, kind=invite.kind, status="onboarding", created_at=ctx.now,
                    ui_language=guessed)
    ctx.session.add(person)
    ctx.session.flush()
    identity = Identity(
        person_id=person.id or 0,
        platform=ctx.incoming.platform,
        platform_user_id=ctx.incoming.sender_id,
        chat_id=ctx.incoming.chat_id,
        created_at=ctx.now,
        last_seen_at=ctx.now,
    )
    ctx.session.add(identity)
    ctx.session.flush()
    ctx.person, ctx.identity = person, identity
    ctx.audit("invite_redeemed", f"invite:{invite.id}", f"person:{person.id} role={role.value}")
    for hook in ctx.core.registration_hooks:
        hook(ctx, person)
    steps = _steps(person)
    start_conversation(ctx, FLOW, steps[0])
    ctx.set_language(guessed)
    others = [Button(language_name(code), f"/language {code}") for code in SUPPORTED_LANGUAGES if code != guessed]
    ctx.reply(ctx._(WELCOME[role]) + "\n" + ctx._(
        "I will write to you in {language}. To change the language, press a button or send "
        "/language at any time.").format(language=language_name(guessed)), [others])
    _ask(ctx, FIELDS[steps[0]])


def ask_again(ctx: Context) -> None:
    """Ask the current onboarding question again (after a change of language)."""
    conversation = ctx.session.get(Conversation, ctx.person_id)
    if conversation is not None:
        _ask(ctx, FIELDS[conversation.step])


def _steps(person: Person) -> list[str]:
    """The questions still to come for a new person: an invite that names a kind skips that one."""
    steps = list(ONBOARDING_FIELDS[Role(person.role)])
    if person.kind:
        steps.remove("kind")
    return steps


def _next_step(person: Person, current: str) -> str | None:
    """The question after ``current``, or ``None`` when it was the last.

    Computed from the role's full list, so answering the kind question (which sets
    ``person.kind``) does not lose our place in it.
    """
    steps = list(ONBOARDING_FIELDS[Role(person.role)])
    later = steps[steps.index(current) + 1:] if current in steps else []
    return next((step for step in later if not (step == "kind" and person.kind)), None)


def _ask(ctx: Context, field: ProfileField, problem: str | None = None) -> None:
    text = ctx._(field.question) + "\n" + field.accepted(ctx._, ctx.config)
    if problem:
        text = problem + "\n\n" + text
    choices = field.choices(ctx.config)
    buttons: list[list[Button]] = [[Button(choice_label(ctx._, field.name, choice), choice)
                                    for choice in choices]] if choices else []
    if field.multi and choices:
        buttons.append([Button(ctx._("All of them"), ", ".join(choices))])
    ctx.reply(text, buttons)


def handle(ctx: Context, command: ParsedCommand | None, text: str) -> None:
    """A message from someone still onboarding."""
    conversation = ctx.session.get(Conversation, ctx.person_id)
    if conversation is None:  # should not happen; restart the questions
        conversation = start_conversation(ctx, FLOW, _steps(ctx.person)[0])  # type: ignore[arg-type]
    field = FIELDS[conversation.step]
    if command is not None:
        spec = ctx.core.commands.lookup(command.name) if command.name else None
        if spec is not None and spec.during_onboarding and ctx.role in spec.roles:
            spec.handler(ctx, command.args)
            return
        _ask(ctx, field, ctx._("Let's finish setting you up first."))
        return
    answer(ctx, conversation, text)


def answer(ctx: Context, conversation: Conversation, text: str) -> None:
    person = ctx.person
    if person is None:
        raise InvariantError("a command reached its handler without a registered sender")
    field = FIELDS[conversation.step]
    try:
        value = field.parse(text, ctx.config, ctx._)
    except FieldError as error:
        if error.choices:  # e.g. a country with several time zones: pick one
            ctx.reply(error.message, [[Button(label, value)] for label, value in error.choices])
            return
        _ask(ctx, field, ctx._("That doesn't look right.") + " " + error.message)
        return
    if field.name == "alias" and alias_taken(ctx, str(value)):
        _ask(ctx, field, ctx._("That alias is already taken. Please choose another."))
        return
    field.store(person, value)
    if field.name == "language":
        ctx.set_language(str(value))
    ctx.session.add(person)
    following = _next_step(person, field.name)
    if following is not None:
        conversation.step = following
        conversation.updated_at = ctx.now
        ctx.session.add(conversation)
        _ask(ctx, FIELDS[conversation.step])
        return
    ctx.session.delete(conversation)
    person.status = "active"
    ctx.session.add(person)
    ctx.session.flush()
    ctx.audit("person_registered", f"person:{person.id}", f"role={person.role}")
    ctx.reply(ctx._("You're all set, {alias}. Send /help to see what you can do.").format(
        alias=person.alias))
    ctx.core.person_activated(ctx, person)
    for hook in ctx.core.role_change_hooks:
        hook(person.id or 0)
    tell_first_checkin(ctx)  # an HRD: when the first check-in is due, and what a missed one sets off


def alias_taken(ctx: Context, alias: str) -> bool:
    """Whether another person already uses this alias (case-insensitive)."""
    other = ctx.session.exec(
        select(Person.id).where(func.lower(Person.alias) == alias.lower(), Person.id != ctx.person_id)
    ).first()
    return other is not None
