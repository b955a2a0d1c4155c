"""What an alert says: the message each recipient gets, in their language and time zone.

Shared by the ORM path (c2p_bot.core.alerts) and the sweeper's batch path
(c2p_bot.core.alerts_batch), which has views of rows instead of ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.notes import NOTE_ELSEWHERE, NOTE_WITHHELD
from c2p_bot.core.places import country_label
from c2p_bot.core.plans import Shown, plan_section
from c2p_bot.core.playbook import DETENTION, Playbook, playbook_lines
from storage.models import Alert, Note, Person

KIND_PRIORITY = {
    "duress": Priority.DURESS,
    "panic": Priority.PANIC,
    "missed": Priority.ESCALATION,
    "wrong_pin": Priority.ESCALATION,
    "detention": Priority.PANIC,
    "proof": Priority.DURESS,  # a failed proof of life (c2p_bot.core.proof_flow)
    "session": Priority.ESCALATION,
    "drill": Priority.NOTICE,  # never ahead of a real alert
}
# Every message about a drill starts with this mark, in the reader's language (c2p_bot.core.drills).
DRILL = N_("🧪 DRILL")
TAMPERED = "\x00tampered"


class PersonView(NamedTuple):
    """The fields of a person an alert needs (the batch path reads columns, not ORM objects)."""

    id: int | None
    alias: str | None
    country: str | None
    timezone: str
    ui_language: str
    key_mode: str
    wrapped_private_key: bytes | None
    public_key: bytes | None = None  # named in an own-key reader's armour

    @classmethod
    def of(cls, person: Person) -> PersonView:
        return cls(person.id, person.alias, person.country, person.timezone, person.ui_language,
                   person.key_mode, person.wrapped_private_key, person.public_key)


@dataclass
class AlertView:
    """The fields of an alert its message shows (the batch path has no ORM object)."""

    id: int | None
    kind: str
    raised_at: datetime
    due_at: datetime | None
    last_checkin_at: datetime | None
    repeats: int
    step: int = 0


def missed_checkin_text(_: Translate, due: datetime, zone: str) -> str:
    """What an HRD who missed a check-in is told (once per miss): nothing about any alert."""
    return _("You missed your check-in due {due}. Please check in now: press the button or send /checkin.").format(
        due=_.when(due, zone))


def alert_text(_: Translate, alert: Alert | AlertView, hrd: Person | PersonView, reader: Person | PersonView,
               note_text: str | None, note: Note | None,
               stale_ack: tuple[str, datetime] | None = None, plan: Shown | None = None,
               playbook: Playbook | None = None) -> str:
    """What a recipient sees: who, what, when, the last check-in, the latest note, the HRD's
    emergency plan (:func:`c2p_bot.core.plans.plan_section`), a detention's first steps
    (:func:`c2p_bot.core.playbook.playbook_lines`), how to ack."""
    zone = reader.timezone
    alias = hrd.alias or "?"
    if alert.kind == "duress":
        head = _("🚨 DURESS ALERT #{id}: {alias} checked in with their duress PIN at {when}. "
                 "They may be under coercion: do not contact them in a way that could expose them."
                 ).format(id=alert.id, alias=alias, when=_.when(alert.raised_at, zone))
    elif alert.kind == "panic":
        head = _("🚨 PANIC ALERT #{id}: {alias} raised the alarm at {when}.").format(
            id=alert.id, alias=alias, when=_.when(alert.raised_at, zone))
    elif alert.kind == "wrong_pin":
        head = _("🚨 ALERT #{id}: repeated wrong PINs on {alias}'s check-ins at {when}. "
                 "Someone else may have their phone.").format(
            id=alert.id, alias=alias, when=_.when(alert.raised_at, zone))
    elif alert.kind == "session":
        head = _("🚨 SESSION ALERT #{id}: {alias} did not end their risky-event session due {due}.").format(
            id=alert.id, alias=alias, due=_.when(alert.due_at or alert.raised_at, zone))
    elif alert.kind == "drill":
        head = _("{drill} #{id} — this is a drill, not a real alert: {alias}'s alert chain is being tested. "
                 "Please answer it as you would a real alert.").format(drill=_(DRILL), id=alert.id, alias=alias)
    elif alert.kind == DETENTION and playbook is not None and playbook.reporter is not None:
        head = _("🚨 DETAINED — ALERT #{id}: {who} reports that {alias} has been detained ({when}).").format(
            id=alert.id, who=playbook.reporter, alias=alias, when=_.when(alert.raised_at, zone))
    elif alert.kind == DETENTION:
        head = _("🚨 DETAINED — ALERT #{id}: {alias} says they are being detained ({when}).").format(
            id=alert.id, alias=alias, when=_.when(alert.raised_at, zone))
    elif alert.kind == "proof":
        head = _("🚨 PROOF OF LIFE FAILED — ALERT #{id}: the answer given in {alias}'s chat to their "
                 "proof-of-life question did not match ({when}). Someone else may be answering for them: "
                 "do not contact them in a way that could expose them.").format(
            id=alert.id, alias=alias, when=_.when(alert.raised_at, zone))
    else:
        head = _("🚨 ALERT #{id}: {alias} missed a check-in due {due}.").format(
            id=alert.id, alias=alias, due=_.when(alert.due_at or alert.raised_at, zone))
    lines = [head]
    if stale_ack is not None:
        lines.append(_("It was acknowledged by {alias} {when} but not resolved since: it is escalating "
                       "again.").format(alias=stale_ack[0], when=_.when(stale_ack[1], zone)))
    elif alert.repeats:
        lines.append(_("Reminder {n}: nobody has acknowledged this alert yet.").format(n=alert.repeats))
    if alert.last_checkin_at is not None:
        lines.append(_("Last check-in: {when}.").format(when=_.when(alert.last_checkin_at, zone)))
    else:
        lines.append(_("No check-in recorded yet."))
    lines.append(_("Country: {country}.").format(
        country=country_label(hrd.country, _.language) if hrd.country else "—"))
    if note_text == TAMPERED:
        lines.append(_("⚠ The latest note failed its integrity check and is not shown."))
    elif note_text == NOTE_ELSEWHERE:
        lines.append(_("🔒 A sealed note is waiting — read it on Matrix. It was written on an end-to-end "
                       "encrypted channel and is not shown here."))
    elif note_text == NOTE_WITHHELD:
        lines.append(_("🔒 There is a sealed note from {when}. It was written on an end-to-end encrypted "
                       "channel and is not shown here: join the bot on Matrix, or register your own key "
                       "(c2p-bot keygen, then /key), to read such notes.").format(
            when=_.when(note.created_at, zone) if note is not None else "—"))
    elif note_text is not None and note is not None and note.kind == "session":
        lines.append(_("Their session note, written {when}: {note}").format(
            when=_.when(note.created_at, zone), note=note_text))
    elif note_text is not None and note is not None and alert.kind == DETENTION:
        if note_text.strip() != "—":  # the words said with the report, if any
            lines.append(_("What was reported ({when}): {note}").format(
                when=_.when(note.created_at, zone), note=note_text))
    elif note_text is not None and note is not None:
        lines.append(_("Latest note ({when}): {note}").format(when=_.when(note.created_at, zone), note=note_text))
    lines += plan_section(_, plan, alias, zone, alert.id)
    if playbook is not None:
        lines += playbook_lines(_, playbook, alias, alert.id)
    lines.append(_("Acknowledge with /ack {id}. Add to the case logbook with /log {id} TEXT.").format(
        id=alert.id))
    return "\n".join(lines)
