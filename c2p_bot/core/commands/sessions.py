"""HRD command: /session — a risky-event session (c2p_bot.core.risk_sessions).

``/session 3h court hearing`` opens one; ``/session`` shows it; ``/session end`` closes it, with
the PIN when one is set. The duress PIN closes it just the same (the same reply) and raises the
duress alarm; a session alert already open then continues as the duress alert, never as an
all-clear. Flow diagram: docs/flows/session.md.
"""

from __future__ import annotations

from datetime import timedelta

from c2p_bot.core.context import Context
from c2p_bot.core.duration_words import SpokenDurationError, parse_spoken_duration
from c2p_bot.core.durations_text import read_duration, say_duration
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.notes import write_note
from c2p_bot.core.pins_flow import ACTIONS, OWN_ALARM, ask_pin, needs_pin, raise_duress
from c2p_bot.core.recipients import current_recipients
from c2p_bot.core.registry import registry
from c2p_bot.core.risk_sessions import current_session
from c2p_bot.core.roles import Role
from storage.models import Alert, Note, Person, RiskSession

SHORTEST, LONGEST, EXAMPLE = timedelta(minutes=5), timedelta(days=7), timedelta(hours=3)
END_WORDS = {"end", "stop", "done", "close", "finish", "over", "off"}
MAX_DURATION_WORDS = 6

NONE_OPEN = N_("You have no session open. Before a risky event, start one like /session 3h court hearing: if "
               "you have not sent /session end by then, your partners are alerted, with your note.")
ENDED = N_("Session ended. Glad you are safe.")


def _left(_: Translate, value: timedelta) -> str:
    return say_duration(_, timedelta(minutes=max(0, int(value.total_seconds()) // 60)))


@registry.command("session", roles={Role.HRD}, usage=N_("[DURATION [note] | end]"),
                  help=N_("Before a risky event, e.g. /session 3h court hearing: your partners are alerted "
                          "unless you send /session end in time."))
def session_command(ctx: Context, args: str) -> None:
    hrd = ctx.person
    if hrd is None or hrd.id is None:
        raise InvariantError("a command reached its handler without a registered sender")
    text = args.strip()
    current = current_session(ctx.session, hrd.id)
    if not text:
        _show(ctx, current)
    elif text.lower().strip(".!") in END_WORDS:
        if current is None:
            ctx.reply(ctx._(NONE_OPEN))
        elif needs_pin(ctx):
            ask_pin(ctx, "session", "end")
        else:
            _end(ctx, "end", False)
    elif current is not None:
        ctx.reply(ctx._("You already have a session open until {due}. Send /session end first, then start the "
                        "new one.").format(due=ctx._.when(current.due_at, hrd.timezone)))
    else:
        _start(ctx, hrd, text)


def _show(ctx: Context, current: RiskSession | None) -> None:
    hrd = ctx.person
    if hrd is None:
        raise InvariantError("a command reached its handler without a registered sender")
    if current is None:
        ctx.reply(ctx._(NONE_OPEN))
    elif current.state == "missed":
        ctx.reply(ctx._("Your session was due to end {due}. If you are safe, send /session end now.").format(
            due=ctx._.when(current.due_at, hrd.timezone)))
    elif current.note_id is not None:
        ctx.reply(ctx._("Your session runs until {due}; {left} left. It has a sealed note. Send /session end "
                        "when you are safe.").format(due=ctx._.when(current.due_at, hrd.timezone),
                                                      left=_left(ctx._, current.due_at - ctx.now)))
    else:
        ctx.reply(ctx._("Your session runs until {due}; {left} left. Send /session end when you are "
                        "safe.").format(due=ctx._.when(current.due_at, hrd.timezone),
                                        left=_left(ctx._, current.due_at - ctx.now)))


def read_session(_: Translate, text: str) -> tuple[timedelta, str] | str:
    """The duration at the start of ``text`` (the longest run of words that reads as one) and the
    note after it; or what to answer, naming the part that is wrong, with an example."""
    words = text.split()
    example = "\n" + _("For example: {example}").format(example="/session 3h court hearing")
    for count in range(min(len(words), MAX_DURATION_WORDS), 0, -1):
        head = " ".join(words[:count])
        if count > 1 and _note_starts(words[count - 2], words[count - 1]):
            continue
        try:
            parse_spoken_duration(head)
        except SpokenDurationError:
            continue
        value = read_duration(_, head, SHORTEST, LONGEST, EXAMPLE)
        if isinstance(value, str):
            return value + example
        return value, " ".join(words[count:]).lstrip(",;:-–— ").strip()
    problem = read_duration(_, words[0], SHORTEST, LONGEST, EXAMPLE)  # one word alone was tried above
    if not isinstance(problem, str):
        raise InvariantError("a duration read alone did not read as one")
    return problem + example


def _reads(word: str) -> bool:
    try:
        parse_spoken_duration(word)
    except SpokenDurationError:
        return False
    return True


def _note_starts(before: str, last: str) -> bool:
    """Whether the last word of a run that reads as a duration rather starts the note: a bare number
    ("3h 2 lawyers") or a unit word that stands for one after a whole duration ("1h second meeting")."""
    if last.isdecimal():
        return True
    return not any(ch.isdigit() for ch in last) and _reads(last) and _reads(before)


def _start(ctx: Context, hrd: Person, text: str) -> None:
    read = read_session(ctx._, text)
    if isinstance(read, str):
        ctx.reply(read)
        return
    duration, note_text = read
    due = ctx.now + duration
    note = write_note(ctx.session, subject_id=hrd.id or 0, author_id=hrd.id, kind="session", text=note_text,
                      now=ctx.now, outbox=ctx.core.outbox) if note_text else None
    ctx.session.add(RiskSession(hrd_id=hrd.id or 0, started_at=ctx.now, due_at=due,
                                note_id=note.id if note is not None else None))
    ctx.audit("session_started", f"person:{hrd.id}", f"for {int(duration.total_seconds())}s")
    if note is not None:
        reply = ctx._("Session started for {left}. If you have not sent /session end by {due}, your partners "
                      "will be alerted, with your note. Your regular check-ins go on as usual.")
    else:
        reply = ctx._("Session started for {left}. If you have not sent /session end by {due}, your partners "
                      "will be alerted. Your regular check-ins go on as usual.")
    ctx.reply(reply.format(due=ctx._.when(due, hrd.timezone), left=say_duration(ctx._, duration)))


def _end(ctx: Context, args: str, duress: bool) -> None:
    """Close the HRD's session (after the PIN, if they have one: ``duress`` when it was the duress PIN)."""
    hrd = ctx.person
    if hrd is None or hrd.id is None:
        raise InvariantError("a command reached its handler without a registered sender")
    current = current_session(ctx.session, hrd.id)
    alert = ctx.session.get(Alert, current.alert_id) if current is not None and current.alert_id else None
    if current is None:
        ctx.reply(ctx._(NONE_OPEN))
    else:
        current.state, current.ended_at = "ended", ctx.now
        ctx.session.add(current)
        ctx.audit("session_ended", f"person:{hrd.id}")
        ctx.reply(ctx._(ENDED))
    still_open = alert is not None and alert.status in ("open", "acked")
    if duress:  # the same reply; then the silent alarm (pins_flow.OWN_ALARM: raised here, not there)
        alarm = raise_duress(ctx, hrd, "/session end")
        note = ctx.session.get(Note, current.note_id) if current is not None and current.note_id else None
        if note is not None and note.alert_id is None:  # the session's note, in the duress case's logbook
            note.alert_id = alarm.id
            ctx.session.add(note)
        if alert is not None and still_open:
            _fold(ctx, hrd, alert, alarm)
    elif alert is not None and still_open:
        _all_clear(ctx, hrd, alert)


def _all_clear(ctx: Context, hrd: Person, alert: Alert) -> None:
    told = current_recipients(ctx.session, alert)
    ctx.core.escalation.resolve(ctx.session, alert, hrd, ctx.now)
    alias, ended = hrd.alias or "?", ctx.now
    for person in told:
        if person.id == hrd.id:
            continue
        zone = person.timezone

        def render(_: Translate, zone: str = zone) -> str:
            return _("{alias} ended their session at {when}. Alert #{id} is resolved.").format(
                alias=alias, when=_.when(ended, zone), id=alert.id)

        ctx.tell(person, render, key=f"alert:{alert.id}:session-ended:{person.id}", kind="alert-closed")


def _fold(ctx: Context, hrd: Person, old: Alert, alarm: Alert) -> None:
    """A session alert answered with the duress PIN goes on as the duress alert (as missed alerts do,
    :func:`c2p_bot.core.pins_flow.fold_into_duress`)."""
    told = current_recipients(ctx.session, old)
    old.status, old.resolved_at, old.resolved_by, old.next_step_at = "resolved", ctx.now, None, None
    ctx.session.add(old)
    ctx.audit("alert_folded", f"alert:{old.id}", f"into=alert:{alarm.id}")
    alias = hrd.alias or "?"
    for person in told:
        if person.id == hrd.id:
            continue
        ctx.tell(person, lambda _: _("Session alert #{old} about {alias} continues as duress alert #{new}: they "
                                     "ended their session with their duress PIN, so it is not an all-clear. "
                                     "Acknowledge with /ack {new}.").format(old=old.id, alias=alias, new=alarm.id),
                 key=f"alert:{old.id}:folded:{person.id}", kind="alert", alert_id=alarm.id,
                 priority=Priority.DURESS)


ACTIONS["session"] = _end
OWN_ALARM.add("session")
