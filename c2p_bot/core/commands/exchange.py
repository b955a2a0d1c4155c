"""Exchange between a defender and their partners: /say (relayed messages) and /action (partner actions).

Flow diagram and rules: docs/flows/partnership.md.

``/say NAME TEXT`` relays a message between a matched defender and partner, pseudonymously: the
recipient sees the sender's alias, never their account or chat. The message exists only as an
outbox row, its body sealed with the key-encryption key (like every queued message) until it is
delivered, when the body is erased (the dispatcher does that to every delivered row); it is marked
sensitive, so it is deleted from the chat too after ``delete_after`` where that is set. Like a
check-in note, what a defender writes never travels over a less protected channel than the one
they wrote on (unless they allowed notes over Telegram). Only a matched pair can use it: any other
name gets the same kind answer, listing only the sender's own partners. It counts as contact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import col, select

from c2p_bot.core.action_kinds import ACTION_KINDS, action_choices, action_label, read_action
from c2p_bot.core.case_log import case_lines, record_action
from c2p_bot.core.context import Context
from c2p_bot.core.events import Button, Priority
from c2p_bot.core.i18n import N_, gettext_for
from c2p_bot.core.notes import MAX_NOTE, safer_identity, shown_over
from c2p_bot.core.outbox import Envelope, best_identity, new_key
from c2p_bot.core.partnerships import touch_contact
from c2p_bot.core.person_args import MAX_BUTTONS, OPENING, key
from c2p_bot.core.recipients import active_partners
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import Role
from storage.models import Match, Person

MAX_NAME_WORDS = 8
ITEM_SHOWN = 40
_ID = re.compile(r"#(\d{1,18})")


@dataclass(frozen=True)
class _Origin:
    """Where a defender's words were written (the channel rule of notes)."""

    subject_id: int
    platform: str | None


def _named(args: str, people: list[Person]) -> tuple[Person, str] | None:
    """The person ``args`` starts with (by alias, any case, accents or quotes, or ``#id``) and the rest."""
    by_key = {key(p.alias or ""): p for p in people}
    by_id = {p.id: p for p in people}
    ends = [m.end() for m in re.finditer(r"\S+", args)][:MAX_NAME_WORDS]
    for end in reversed(ends):
        name = args[:end].strip().strip(OPENING).strip()
        number = _ID.fullmatch(name)
        person = by_id.get(int(number.group(1))) if number else by_key.get(key(name))
        if person is not None:
            return person, args[end:].strip()
    return None


def _partnered(ctx: Context) -> list[Person]:
    """The sender's own counterparts: a defender's partners, or a partner's defenders."""
    me = ctx.person
    if me is None or me.id is None:
        return []
    if me.role == Role.HRD.value:
        people = active_partners(ctx.session, me.id)
    else:
        people = [person for person, match in ctx.session.exec(
            select(Person, Match).join(Match, col(Match.hrd_id) == col(Person.id)).where(
                Match.partner_id == me.id, Match.status == "active", Person.status == "active")).all()
            if match.status == "active"]
    return sorted(people, key=lambda p: key(p.alias or ""))


def _names(people: list[Person]) -> str:
    return ", ".join(p.alias or f"#{p.id}" for p in people)


# -- /say -----------------------------------------------------------------------------------------


@registry.command("say", roles={Role.HRD, Role.PARTNER}, usage=N_("NAME TEXT"),
                  help=N_("Send a message to your partner, or to the defender you support, through me; neither of "
                          "you sees the other's account."))
def say_command(ctx: Context, args: str) -> None:
    others = _partnered(ctx)
    if not others:
        ctx.reply(ctx._("I can pass messages only between a defender and their partners, and you are not matched "
                        "with anyone yet."))
        return
    found = _named(args, others)
    example = ctx._("/say {name} I am safe").format(name=others[0].alias)
    if found is None:
        ctx.reply(ctx._("I can pass messages only between a defender and their partners. You can write to: "
                        "{names}. For example: {example}").format(names=_names(others), example=example))
        return
    person, text = found
    if not text:
        ctx.reply(ctx._("Write your message after the name, for example: {example}").format(example=example))
        return
    if len(text) > MAX_NOTE:
        ctx.reply(ctx._("Your message is too long: at most {max} characters. Please send it in parts.").format(
            max=MAX_NOTE))
        return
    _relay(ctx, person, text)


def _relay(ctx: Context, person: Person, text: str) -> None:
    me, session = ctx.person, ctx.session
    if me is None or me.id is None or person.id is None:
        return
    hrd_id, partner_id = (me.id, person.id) if me.role == Role.HRD.value else (person.id, me.id)
    identity = best_identity(session, person.id)
    if identity is not None and me.role == Role.HRD.value:  # a defender's words: the channel rule of notes
        origin = _Origin(me.id, ctx.incoming.platform)
        if not shown_over(session, origin, identity.platform):
            identity = safer_identity(session, origin, person.id)
            if identity is None:
                ctx.reply(ctx._("I did not send it: {name} reads me on an app less protected than the one you wrote "
                                "on, and you have not allowed notes over Telegram (/profile "
                                "notes_over_telegram=yes).").format(name=person.alias))
                return
    if identity is None:
        ctx.reply(ctx._("I can't reach {name} right now, so I did not send it. Please try again later.").format(
            name=person.alias))
        return
    _ = gettext_for(person.ui_language)
    sender = me.alias or "?"
    body = _("Message from {name}:\n{text}\n\nAnswer with /say {name} your message").format(name=sender, text=text)
    ctx.core.outbox.send(session, Envelope(identity.platform, identity.chat_id, Priority.NOTICE, "relay", person.id,
                                           identity.id, sensitive=True), text=body, now=ctx.now, key=new_key("relay"))
    touch_contact(session, hrd_id, partner_id, ctx.config, ctx.now)
    match_id = session.exec(select(Match.id).where(Match.hrd_id == hrd_id, Match.partner_id == partner_id,
                                                   Match.status == "active")).first()
    ctx.audit("relay_sent", f"match:{match_id}")
    ctx.reply(ctx._("Sent to {name}.").format(name=person.alias))


# -- /action --------------------------------------------------------------------------------------


def _defenders(ctx: Context) -> list[Person]:
    """Whom the sender may record actions for: a partner's defenders; for a coordinator, every one."""
    if ctx.role is Role.COORDINATOR:
        return sorted(ctx.session.exec(select(Person).where(
            Person.role == Role.HRD.value, Person.status == "active")).all(), key=lambda p: key(p.alias or ""))
    return _partnered(ctx)


def _kind_buttons(ctx: Context, hrd: Person) -> list[list[Button]]:
    return [[Button(action_label(ctx._, kind), f"/action #{hrd.id} {kind}")] for kind in ACTION_KINDS]


@registry.command("action", roles={Role.PARTNER, Role.COORDINATOR}, usage=N_("HRD KIND [TEXT]"),
                  help=N_("Record something you did for a defender (a parliamentary question, a letter, an embassy "
                          "contact, a visit, a trial observation, a statement, or other) in their case log; with "
                          "only their name, read it."))
def action_command(ctx: Context, args: str) -> None:
    pool = _defenders(ctx)
    if not pool:
        ctx.reply(ctx._("You do not support any defender yet, so there is nothing to record.")
                  if ctx.role is Role.PARTNER else ctx._("No defender has joined yet."))
        return
    first = pool[0].alias
    example = ctx._("/action {hrd} letter wrote to the minister").format(hrd=first)
    if not args.strip():
        ctx.reply(ctx._("Which defender is this about?"),
                  [[Button(p.alias or f"#{p.id}", f"/action #{p.id}")] for p in pool[:MAX_BUTTONS]])
        return
    found = _named(args, pool)
    if found is None:
        _unknown_defender(ctx, args, pool, example)
        return
    hrd, rest = found
    if not rest:
        _show_case_log(ctx, hrd)
        return
    words = rest.split()
    read = read_action(words)
    if read is None:
        ctx.reply(ctx._("“{item}” is not a kind of action. Choose one of: {kinds}. For example: {example}").format(
            item=words[0][:ITEM_SHOWN], kinds=action_choices(ctx._),
            example=ctx._("/action {hrd} letter wrote to the minister").format(hrd=hrd.alias)),
            _kind_buttons(ctx, hrd))
        return
    kind, count = read
    text = re.split(r"\s+", rest.strip(), maxsplit=count)[count] if len(words) > count else ""
    action = record_action(ctx, hrd, kind, text)
    where = (ctx._("It is in the logbook of alert #{id}.").format(id=action.alert_id) if action.alert_id is not None
             else ctx._("It is in {hrd}'s case log: /action {hrd}").format(hrd=hrd.alias))
    ctx.reply(ctx._("Recorded for {hrd}: {kind}.").format(hrd=hrd.alias, kind=action_label(ctx._, kind)) + " " + where)


def _unknown_defender(ctx: Context, args: str, pool: list[Person], example: str) -> None:
    words = args.split()
    cut = next((i for i in range(1, len(words)) if read_action(words[i:]) is not None), 1)
    name = " ".join(words[:cut])[:ITEM_SHOWN]
    if ctx.role is Role.COORDINATOR:
        text = ctx._("I don't know an active defender called “{name}”.").format(name=name) + "\n" + \
            ctx._("For example: {example}").format(example=example)
    else:
        text = ctx._("You can record actions only for the defenders you support: {names}. For example: "
                     "{example}").format(names=_names(pool), example=example)
    ctx.reply(text, [[Button(p.alias or f"#{p.id}", f"/action #{p.id}")] for p in pool[:MAX_BUTTONS]])


def _show_case_log(ctx: Context, hrd: Person) -> None:
    me = ctx.person
    if me is None:
        return
    lines = [ctx._("Case log of {hrd}:").format(hrd=hrd.alias)]
    lines += case_lines(ctx, hrd, me) or [ctx._("(empty)")]
    lines.append(ctx._("To record what you did, choose it below, or write for example: {example}").format(
        example=ctx._("/action {hrd} letter wrote to the minister").format(hrd=hrd.alias)))
    ctx.reply("\n".join(lines), _kind_buttons(ctx, hrd), sensitive=True)
