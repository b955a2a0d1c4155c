"""Coordinator commands: /drill HRD, /drills; and what /ack and /resolve do to a drill
(c2p_bot.core.drills). Flow diagram: docs/flows/drill.md.
"""

from __future__ import annotations

from datetime import timedelta
from statistics import median

from sqlalchemy import select as sa_select
from sqlmodel import col, select

from c2p_bot.core.alert_texts import DRILL
from c2p_bot.core.context import Context
from c2p_bot.core.drills import DRILL_KIND, answered, drill_end, finish_drill, took
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.person_args import MAX_BUTTONS, Slot, key, take
from c2p_bot.core.places import country_label
from c2p_bot.core.recipients import current_recipients
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import Role
from storage.models import Alert, AlertRecipient, Person

COORDINATOR = {Role.COORDINATOR}
SHOWN_TIMES = 10  # each person's latest times to acknowledge listed by /drills


def _defenders(ctx: Context, chosen: tuple[Person, ...]) -> list[Person]:
    rows = ctx.session.exec(select(Person).where(Person.role == Role.HRD.value, Person.status == "active")).all()
    return sorted((p for p in rows if p.status == "active"), key=lambda p: key(p.alias or ""))[:MAX_BUTTONS + 1]


def _label(_: Translate, person: Person) -> str:
    alias = person.alias or f"#{person.id}"
    return f"{alias} ({country_label(person.country, _.language)})" if person.country else alias


DRILLED = (Slot("hrd", Role.HRD, N_("I don't know an active defender called “{name}”."),
                N_("Whose alert chain should be tested? Choose a defender:"),
                N_("No defender has joined yet, so there is no alert chain to test."), _defenders, _label),)


@registry.command("drill", roles=COORDINATOR, usage=N_("HRD"),
                  help=N_("Test a defender's alert chain: a full escalation, every message marked DRILL."))
def drill_command(ctx: Context, args: str) -> None:
    me = ctx.person
    if me is None:
        raise InvariantError("a command reached its handler without a registered sender")
    chosen = take(ctx, "drill", args, DRILLED)
    if chosen is None:
        return
    hrd = chosen[0]
    running = ctx.session.exec(select(Alert).where(
        Alert.hrd_id == hrd.id, Alert.kind == DRILL_KIND, col(Alert.status).in_(("open", "acked")))).first()
    if running is not None:
        ctx.reply(ctx._("{drill} #{id} of {hrd}'s alert chain is still running; it ends by itself at {when}.").format(
            drill=ctx._(DRILL), id=running.id, hrd=hrd.alias, when=ctx._.when(drill_end(running, ctx.config),
                                                                              me.timezone)))
        return
    announce = ctx.config.drills.announce
    if announce:  # told first: queued before the drill's messages, and ahead of them
        ctx.tell(hrd, lambda _: _("{drill}: {who} is testing your alert chain now. Your partners and the "
                                  "coordinators will get messages marked {drill}. You don't need to do "
                                  "anything.").format(drill=_(DRILL), who=me.alias),
                 key=f"drill:hrd:{hrd.id}:{ctx.now.isoformat()}", priority=Priority.ESCALATION)
    alert = ctx.core.escalation.raise_alert(ctx.session, hrd, DRILL_KIND, ctx.now)
    alert.raised_by = me.id
    ctx.session.add(alert)
    ctx.audit("drill_started", f"alert:{alert.id}", f"hrd=person:{hrd.id}")
    reply = ctx._("{drill} #{id} started for {hrd}: their alert chain is being tested; every message is marked "
                  "{drill}. It ends by itself at {when}, or once everyone alerted has acknowledged. Results: "
                  "/drills").format(drill=ctx._(DRILL), id=alert.id, hrd=hrd.alias,
                                    when=ctx._.when(drill_end(alert, ctx.config), me.timezone))
    if announce:
        reply += "\n" + ctx._("{hrd} was told first.").format(hrd=hrd.alias)
    ctx.reply(reply)


def ack_drill(ctx: Context, alert: Alert, me: Person) -> None:
    """``/ack`` on a drill: every recipient's acknowledgement is recorded with its time; the first
    one stops the escalation (as in a real alert) and is told to the others."""
    row = ctx.session.exec(select(AlertRecipient).where(
        AlertRecipient.alert_id == alert.id, AlertRecipient.person_id == me.id)).first()
    mark, hrd = ctx._(DRILL), ctx.session.get(Person, alert.hrd_id)
    alias = hrd.alias or "?" if hrd is not None else "?"
    if row is not None and row.acked_at is not None:
        ctx.reply(ctx._("{drill} #{id}: you already acknowledged it.").format(drill=mark, id=alert.id))
        return
    first = alert.status == "open"
    if first:
        ctx.core.escalation.acknowledge(ctx.session, alert, me, ctx.now)  # records this recipient's time
    elif row is not None:
        row.acked_at = ctx.now
        ctx.session.add(row)
    elif alert.acked_by is not None:
        acker = ctx.session.get(Person, alert.acked_by)
        ctx.reply(ctx._("{drill} #{id} was already acknowledged by {alias}.").format(
            drill=mark, id=alert.id, alias=acker.alias if acker is not None else "?"))
        return
    ctx.session.flush()
    if row is not None:
        ctx.session.refresh(row)
    ctx.audit("drill_acknowledged", f"alert:{alert.id}")
    after = took(ctx._, row.acked_at - row.notified_at) if row is not None and row.acked_at else None
    if after is not None:
        ctx.reply(ctx._("{drill} #{id}: you acknowledged after {time}. Thank you — this was a drill: nothing has "
                        "happened to {hrd}.").format(drill=mark, id=alert.id, time=after, hrd=alias))
    else:
        ctx.reply(ctx._("{drill} #{id}: you acknowledged it. Thank you — this was a drill: nothing has happened "
                        "to {hrd}.").format(drill=mark, id=alert.id, hrd=alias))
    if first:
        starter = ctx.session.get(Person, alert.raised_by) if alert.raised_by else None
        told = {p.id: p for p in [*current_recipients(ctx.session, alert), *([starter] if starter else [])]
                if p.id != me.id and p.status == "active"}
        sent_at = row.notified_at if row is not None else None
        for person in told.values():
            ctx.tell(person, lambda _: (_("{drill} #{id}: {who} acknowledged after {time}.").format(
                drill=_(DRILL), id=alert.id, who=me.alias, time=took(_, ctx.now - sent_at)) if sent_at else
                _("{drill} #{id}: {who} acknowledged it.").format(drill=_(DRILL), id=alert.id, who=me.alias)),
                key=f"drill:{alert.id}:acked:{person.id}")
    if all(r.acked_at is not None for _p, r in answered(ctx.session, alert)):
        finish_drill(ctx.session, alert, ctx.now, ctx.core.outbox, ctx.config)


def end_drill(ctx: Context, alert: Alert, me: Person) -> None:
    """``/resolve`` on a drill: a coordinator ends it now; a partner is told it ends by itself."""
    if me.role != Role.COORDINATOR.value:
        ctx.reply(ctx._("{drill} #{id} ends by itself at {when}; only a coordinator can end it sooner.").format(
            drill=ctx._(DRILL), id=alert.id, when=ctx._.when(drill_end(alert, ctx.config), me.timezone)))
        return
    finish_drill(ctx.session, alert, ctx.now, ctx.core.outbox, ctx.config, by=me)


@registry.command("drills", roles=COORDINATOR, help=N_("Drill results: each person's time to acknowledge."))
def drills_command(ctx: Context, args: str) -> None:
    rows = ctx.session.execute(sa_select(col(Alert.status), col(Person.alias), col(AlertRecipient.notified_at),
                                         col(AlertRecipient.acked_at))
                               .join(AlertRecipient, col(AlertRecipient.alert_id) == col(Alert.id))
                               .join(Person, col(Person.id) == col(AlertRecipient.person_id))
                               .where(col(Alert.kind) == DRILL_KIND).order_by(col(Alert.id))).all()
    if not rows:
        example = next(iter(_defenders(ctx, ())), None)
        ctx.reply(ctx._("No drills yet. Start one with /drill followed by a defender's name, like /drill "
                        "{hrd}.").format(hrd=example.alias if example is not None else "Amina"))
        return
    people: dict[str, list[tuple[str, timedelta | None]]] = {}
    for status, alias, notified_at, acked_at in rows:
        outcome = acked_at - notified_at if acked_at is not None else None
        people.setdefault(alias or "?", []).append((status, outcome))
    lines = [ctx._("{drill} results, time to acknowledge:").format(drill=ctx._(DRILL))]
    for alias in sorted(people, key=key):
        lines.append(_person_line(ctx._, alias, people[alias]))
    ctx.reply("\n".join(lines))


def _person_line(_: Translate, alias: str, drills: list[tuple[str, timedelta | None]]) -> str:
    times = [t for _status, t in drills if t is not None]
    missed = sum(1 for status, t in drills if t is None and status == "resolved")
    running = sum(1 for status, t in drills if t is None and status != "resolved")
    parts = [_("acknowledged {n}").format(n=_.number(len(times)))]
    if times:
        shown = ", ".join(took(_, t) for t in times[-SHOWN_TIMES:])
        parts.append(_("median {median} ({times})").format(
            median=took(_, timedelta(seconds=median(t.total_seconds() for t in times))), times=shown))
    if missed:
        parts.append(_("missed {n}").format(n=_.number(missed)))
    if running:
        parts.append(_("still running {n}").format(n=_.number(running)))
    counted = _.ngettext("{n} drill", "{n} drills", len(drills)).format(n=_.number(len(drills)))
    return _("{alias} — {drills}: {results}").format(alias=alias, drills=counted, results=", ".join(parts))
