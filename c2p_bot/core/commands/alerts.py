"""Partner and coordinator commands on alerts: /alerts, /ack, /log, /resolve.

Flow diagram: docs/flows/escalation.md.
"""

from __future__ import annotations

from sqlmodel import col, select

from c2p_bot.core.alert_kinds import kind_name
from c2p_bot.core.case_log import note_kind_label
from c2p_bot.core.checkins import restart_clock
from c2p_bot.core.commands.drills import ack_drill, end_drill
from c2p_bot.core.context import Context
from c2p_bot.core.crypto import CryptoError
from c2p_bot.core.drills import DRILL_KIND
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Button
from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.notes import read_note, write_note
from c2p_bot.core.outcomes import LABELS, outcome_label, read_outcome
from c2p_bot.core.partnerships import touch_contact
from c2p_bot.core.recipients import coordinators, may_see
from c2p_bot.core.registry import registry
from c2p_bot.core.resolution import ask_outcome, close_with, tell_outcome
from c2p_bot.core.roles import Role
from storage.models import Alert, CheckinClock, Note, Person

RESPONDERS = {Role.PARTNER, Role.COORDINATOR}


def _alert_arg(ctx: Context, args: str, usage: str) -> tuple[Alert, str] | None:
    """The alert named by the first word, if this person may act on it; else replies and None."""
    words = args.split(maxsplit=1)
    if not words:
        ctx.reply(usage)
        return None
    number = words[0].lstrip("#")
    alert = ctx.session.get(Alert, int(number)) if number.isdigit() and len(number) < 12 else None
    if alert is None or ctx.person is None or not may_see(ctx.session, alert, ctx.person):
        ctx.reply(ctx._("There is no alert #{id} that you can act on. Send /alerts to see yours.").format(
            id=number[:12]))
        return None
    return alert, words[1] if len(words) > 1 else ""


def _alias(ctx: Context, person_id: int | None) -> str:
    person = ctx.session.get(Person, person_id) if person_id else None
    return person.alias or "?" if person else ctx._("someone who has left")


@registry.command("alerts", roles=RESPONDERS, help=N_("List open and acknowledged alerts."))
def alerts_command(ctx: Context, args: str) -> None:
    person = ctx.person
    if person is None:
        raise InvariantError("a command reached its handler without a registered sender")
    alerts = [a for a in ctx.session.exec(select(Alert).where(col(Alert.status).in_(("open", "acked")))
                                          .order_by(col(Alert.id))).all() if may_see(ctx.session, a, person)]
    if not alerts:
        ctx.reply(ctx._("No open alerts."))
        return
    lines = [ctx._("Alerts:")]
    for alert in alerts:
        state = ctx._("OPEN") if alert.status == "open" else ctx._("acknowledged by {alias}").format(
            alias=_alias(ctx, alert.acked_by))
        lines.append(f"#{alert.id} {kind_name(ctx._, alert.kind)} — {_alias(ctx, alert.hrd_id)} — "
                     f"{ctx._.when(alert.raised_at, person.timezone)} — {state}")
    lines.append(ctx._("Acknowledge with /ack ID; see or add to the logbook with /log ID [TEXT]."))
    ctx.reply("\n".join(lines))


@registry.command("ack", roles=RESPONDERS, usage=N_("ID"), help=N_("Acknowledge an alert: you are on it."))
def ack_command(ctx: Context, args: str) -> None:
    found = _alert_arg(ctx, args, ctx._("Usage: /ack ID, for example /ack 12."))
    if found is None:
        return
    alert, _rest = found
    me = ctx.person
    if me is None:
        raise InvariantError("a command reached its handler without a registered sender")
    if alert.kind == DRILL_KIND and alert.status != "resolved":  # every recipient's time counts
        ack_drill(ctx, alert, me)
        return
    if alert.status != "open":
        ctx.reply(ctx._("Alert #{id} was already acknowledged by {alias}.").format(
            id=alert.id, alias=_alias(ctx, alert.acked_by)))
        return
    others = ctx.core.escalation.acknowledge(ctx.session, alert, me, ctx.now)
    hrd_alias = _alias(ctx, alert.hrd_id)
    acked_at = ctx.now.isoformat()
    for person in others:
        ctx.tell(person, lambda _: _("{who} acknowledged alert #{id} about {hrd}.").format(
            who=me.alias, id=alert.id, hrd=hrd_alias), key=f"alert:{alert.id}:acked:{person.id}:{acked_at}",
            kind="alert-acked", priority=10)
    ctx.reply(ctx._("You acknowledged alert #{id} about {hrd}. Others have been told. Keep the case "
                    "logbook with /log {id} TEXT and close the case with /resolve {id}.").format(
        id=alert.id, hrd=hrd_alias))


@registry.command("log", roles=RESPONDERS, usage=N_("ID [TEXT]"),
                  help=N_("Add to an alert's case logbook, or read it."))
def log_command(ctx: Context, args: str) -> None:
    found = _alert_arg(ctx, args, ctx._("Usage: /log ID TEXT to add an entry, or /log ID to read the logbook."))
    if found is None:
        return
    alert, text = found
    me = ctx.person
    if me is None or me.id is None:
        raise InvariantError("a command reached its handler without a registered sender")
    if text:
        write_note(ctx.session, subject_id=alert.hrd_id, author_id=me.id, kind="log", text=text,
                   now=ctx.now, alert_id=alert.id, outbox=ctx.core.outbox)
        ctx.audit("logbook_entry", f"alert:{alert.id}")
        touch_contact(ctx.session, alert.hrd_id, me.id, ctx.config, ctx.now)  # a partner's entry is contact
        ctx.reply(ctx._("Added to the logbook of alert #{id}.").format(id=alert.id))
        return
    notes = ctx.session.exec(select(Note).where(Note.alert_id == alert.id).order_by(col(Note.id))).all()
    lines = [ctx._("Logbook of alert #{id}:").format(id=alert.id)]
    if alert.outcome:
        lines.append(ctx._("Resolved {when}. Outcome: {outcome}.").format(
            when=ctx._.when(alert.resolved_at or ctx.now, me.timezone), outcome=outcome_label(ctx._, alert.outcome)))
    for note in notes:
        try:
            text_shown = read_note(ctx.session, ctx.core.keyring, note, me)
        except CryptoError:
            text_shown = ctx._("[this entry failed its integrity check and is not shown]")
        if text_shown is None:
            text_shown = ctx._("[written before you could read this case]")
        lines.append(f"{ctx._.when(note.created_at, me.timezone)} {_alias(ctx, note.author_id)}: "
                     f"{note_kind_label(ctx._, ctx.session, note)}{text_shown}")
    if len(lines) == 1:
        lines.append(ctx._("(empty)"))
    ctx.reply("\n".join(lines), sensitive=True)


@registry.command("resolve", roles=RESPONDERS, usage=N_("ID OUTCOME [TEXT]"),
                  help=N_("Close an alert's case with how it ended: safe, false-alarm, incident, detained or drill."))
def resolve_command(ctx: Context, args: str) -> None:
    found = _alert_arg(ctx, args, ctx._("Usage: /resolve ID OUTCOME [what happened], for example /resolve 12 "
                                        "safe she called me."))
    if found is None:
        return
    alert, text = found
    me = ctx.person
    if me is None or me.id is None:
        raise InvariantError("a command reached its handler without a registered sender")
    if alert.status == "resolved":
        ctx.reply(ctx._("Alert #{id} is already resolved.").format(id=alert.id))
        return
    if alert.kind == DRILL_KIND:
        end_drill(ctx, alert, me)
        return
    outcome, text = read_outcome(text)
    if outcome is None:  # acknowledging is not resolving: how did it end?
        ask_outcome(ctx, alert, me, text)
        return
    if me.role != Role.COORDINATOR.value:
        _ask_to_close(ctx, alert, me, text, outcome)
        return
    others, note = close_with(ctx, alert, me, outcome, text)
    still_open = ctx.session.exec(select(Alert.id).where(
        Alert.hrd_id == alert.hrd_id, Alert.id != alert.id, col(Alert.status).in_(("open", "acked")),
        Alert.kind != DRILL_KIND)).first()  # a drill is not part of the HRD's real alert state
    clock = ctx.session.get(CheckinClock, alert.hrd_id)
    if clock is not None and clock.state == "alerting" and still_open is None:
        restart_clock(clock, ctx.now, ctx.config)
        ctx.session.add(clock)
    tell_outcome(ctx, alert, me, others, outcome, note, text)


def _close_asked(_: Translate, me: Person, alert: Alert, hrd_alias: str, outcome: str, text: str) -> str:
    asked = _("{who} asks to close alert #{id} about {hrd}. Outcome: {outcome}.").format(
        who=me.alias, id=alert.id, hrd=hrd_alias, outcome=outcome_label(_, outcome))
    how = _("Close it with /resolve {id} {value} [what happened], or press the button.").format(
        id=alert.id, value=outcome)
    return "\n".join([asked, text, how] if text else [asked, how])


def _ask_to_close(ctx: Context, alert: Alert, me: Person, text: str, outcome: str) -> None:
    """A partner cannot end an escalation (nothing but a coordinator's decision does): their
    word goes to the logbook and to every coordinator, and the alert counts as acknowledged by
    them, so it escalates again after ``ack_expiry`` unless a coordinator closes it."""
    if text:
        write_note(ctx.session, subject_id=alert.hrd_id, author_id=me.id, kind="log", text=text,
                   now=ctx.now, alert_id=alert.id, outbox=ctx.core.outbox)
    if alert.status == "open":
        ctx.core.escalation.acknowledge(ctx.session, alert, me, ctx.now)
    hrd_alias = _alias(ctx, alert.hrd_id)
    ctx.audit("alert_close_requested", f"alert:{alert.id}")
    for coordinator in coordinators(ctx.session):
        ctx.tell(coordinator, lambda _: _close_asked(_, me, alert, hrd_alias, outcome, text),
            key=f"alert:{alert.id}:close-asked:{coordinator.id}:{ctx.now.isoformat()}",
            buttons=lambda _: [[Button(_("Close: {outcome}").format(outcome=_(LABELS[outcome])),
                                       f"/resolve {alert.id} {outcome}")]],
            kind="alert-acked", priority=10, sensitive=bool(text))
    ctx.reply(ctx._("Only a coordinator can close alert #{id}. They have been told that you think it "
                    "can be closed, and what you wrote is in the logbook.").format(id=alert.id))

