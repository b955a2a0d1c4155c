"""Recording a check-in and answering it: the one reply every check-in gets, then the all-clear.

Shared by ``/checkin`` (c2p_bot.core.commands.checkin) and the PIN flow (c2p_bot.core.pins_flow).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from c2p_bot.core.checkins import record_checkin
from c2p_bot.core.context import Context
from c2p_bot.core.crypto import CryptoError
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import Translate
from c2p_bot.core.notes import read_note, write_note
from c2p_bot.core.recipients import current_recipients
from c2p_bot.core.risk_sessions import checkin_line
from storage.models import Alert, Checkin, CheckinClock, Note, Person


def checkin_reply(_: Translate, due_text: str) -> str:
    """The one reply every check-in gets (a duress check-in must look exactly the same)."""
    return _("Checked in. Thank you. Your next check-in is due {due}.").format(due=due_text)


# A check-in's answer goes out before anything the check-in sets off (a duress alarm to every step,
# alerts resolved): a coerced HRD's reply must come as fast as a free one's, so every check-in
# reply has this priority and is queued before the alarm.
CHECKIN_REPLY_PRIORITY = Priority.DURESS


@dataclass(frozen=True)
class Recorded:
    """A check-in recorded: the reply to show, and the missed alerts it answers."""

    reply: str
    missed: list[Alert]
    sent_at: datetime
    note: Note | None = None


def record_and_reply(ctx: Context, clock: CheckinClock, note_text: str) -> Recorded:
    """Record a check-in and its note and queue the one reply every check-in gets.

    Nothing here depends on which PIN was used: the duress path calls this too, then raises its
    alarm (and folds the missed alerts into it) instead of :func:`resolve_missed`.
    """
    hrd = ctx.person
    if hrd is None or hrd.id is None:
        raise InvariantError("a command reached its handler without a registered sender")
    sent_at = min(ctx.incoming.sent_at or ctx.now, ctx.now)
    result = record_checkin(ctx.session, clock, sent_at, ctx.now, ctx.config)
    note: Note | None = None
    if not result.stale:
        checkin = Checkin(hrd_id=hrd.id, sent_at=sent_at, received_at=ctx.now, on_time=not result.late)
        ctx.session.add(checkin)
        ctx.session.flush()
        if note_text:
            note = write_note(ctx.session, subject_id=hrd.id, author_id=hrd.id, kind="checkin", text=note_text,
                              now=ctx.now, checkin_id=checkin.id, outbox=ctx.core.outbox)
        ctx.audit("checkin", f"person:{hrd.id}", "late" if result.late else "on time")
    reply = checkin_reply(ctx._, ctx._.when(clock.next_due, clock.timezone))
    session_open = checkin_line(ctx._, ctx.session, hrd.id, clock.timezone)  # a check-in does not end it
    if session_open is not None:
        reply += "\n" + session_open
    ctx.reply(reply, priority=CHECKIN_REPLY_PRIORITY)
    return Recorded(reply, [] if result.stale else list(result.resolved), sent_at, note)


def resolve_missed(ctx: Context, recorded: Recorded) -> None:
    """A free check-in closes the missed alerts it answers and tells everyone alerted (who may
    still see the alert) of the all-clear, with the HRD's note. For an HRD with a PIN this runs
    only after the check-in PIN: the all-clear needs it (the duress PIN folds the alerts instead).
    """
    hrd = ctx.person
    if hrd is None:
        raise InvariantError("a command reached its handler without a registered sender")
    for alert in recorded.missed:
        current = {p.id for p in current_recipients(ctx.session, alert)}
        others = ctx.core.escalation.resolve(ctx.session, alert, hrd, ctx.now)
        for person in others:
            if person.id not in current:
                continue
            note_text = _note_for(ctx, recorded.note, person)
            ctx.tell(person, _resolved_text(hrd.alias or "", recorded.sent_at, alert.id or 0, person.timezone,
                                            note_text),
                     key=f"alert:{alert.id}:resolved-by-checkin:{person.id}", kind="alert-closed",
                     sensitive=note_text is not None)


def _note_for(ctx: Context, note: Note | None, reader: Person) -> str | None:
    if note is None:
        return None
    try:
        return read_note(ctx.session, ctx.core.keyring, note, reader)
    except CryptoError:
        return None


def do_checkin(ctx: Context, clock: CheckinClock, note_text: str) -> None:
    """A normal check-in: record it, reply, resolve the missed alerts it answers."""
    resolve_missed(ctx, record_and_reply(ctx, clock, note_text))


def _resolved_text(alias: str, sent_at: datetime, alert_id: int, zone: str,
                   note_text: str | None = None) -> Callable[[Translate], str]:
    def render(_: Translate) -> str:
        text = _("{alias} checked in at {when}. Alert #{id} is resolved.").format(
            alias=alias, when=_.when(sent_at, zone), id=alert_id)
        if note_text is not None:
            text += "\n" + _("Their note: {note}").format(note=note_text)
        return text

    return render
