"""One alert's case as a text file for a partner organisation (``c2p-bot export-case``).

The case: the alert, its timeline (the audit log of the alert and who was alerted at which step),
its logbook with every entry the bot can open, the partner actions during it and its outcome.
Logbook entries are sealed to their readers; the bot opens an entry through a reader whose key it
keeps (custodial). An entry sealed only to readers who hold their own key cannot be opened here:
it is listed, marked, without its text. The text is written in English with times in UTC (the
reader is outside the programme); the caller seals it to the organisation's key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from c2p_bot.core.audit_view import aliases, audit_lines
from c2p_bot.core.crypto import CryptoError
from c2p_bot.core.i18n import gettext_for
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.notes import open_copy
from c2p_bot.core.timefmt import utc
from storage.models import Alert, AlertRecipient, AuditEntry, Note, NoteCopy, Person

KINDS = {"missed": "missed check-in", "panic": "panic", "duress": "duress PIN", "wrong_pin": "repeated wrong PINs"}
SEALED_AWAY = "[sealed only to readers who hold their own keys: the bot cannot open it, so its text is not here]"
NO_COPY = "[no copy of this entry is kept any more: its text is not here]"
TAMPERED = "[this entry failed its integrity check: its text is not here]"


class CaseNotFound(LookupError):
    """No alert with that number."""


@dataclass(frozen=True)
class Case:
    alert_id: int
    text: str
    entries: int  # logbook entries
    unopened: int  # of which the bot could not open


def case_file(session: Session, keyring: Keyring, alert_id: int, now: datetime) -> Case:
    """The case of alert ``alert_id`` as text; raises :class:`CaseNotFound`."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise CaseNotFound(alert_id)
    names = aliases(session, {alert.hrd_id, *(p for p in (alert.acked_by, alert.resolved_by) if p)})
    hrd = session.get(Person, alert.hrd_id)
    lines = [f"Case file: alert #{alert.id} ({KINDS.get(alert.kind, alert.kind)})",
             f"Exported {utc(now)} from c2p-bot. Times are UTC.", "",
             f"Defender: {names.get(alert.hrd_id, 'a forgotten person')}"
             + (f" (country {hrd.country})" if hrd is not None and hrd.country else ""),
             f"Raised: {utc(alert.raised_at)}"]
    if alert.due_at is not None:
        lines.append(f"Check-in that was due: {utc(alert.due_at)}")
    lines.append(f"Last check-in before it: {utc(alert.last_checkin_at)}" if alert.last_checkin_at
                 else "Last check-in before it: none recorded")
    if alert.acked_at is not None:
        lines.append(f"Acknowledged: {utc(alert.acked_at)} by {names.get(alert.acked_by or 0, 'a forgotten person')}")
    if alert.resolved_at is not None:
        lines.append(f"Resolved: {utc(alert.resolved_at)} by {names.get(alert.resolved_by or 0, 'a forgotten person')}")
    else:
        lines.append(f"State: {'acknowledged' if alert.status == 'acked' else 'open'}")
    outcome = getattr(alert, "outcome", None)
    lines.append(f"Outcome: {outcome}" if outcome else "Outcome: not recorded")
    lines += ["", "Timeline:", *_timeline(session, alert)]
    logbook, unopened = _logbook(session, keyring, alert)
    lines += ["", "Logbook:", *(logbook or ["(empty)"])]
    lines += ["", "Partner actions:", *(_actions(session, alert, now) or ["none recorded"])]
    return Case(alert_id, "\n".join(lines) + "\n", len(logbook), unopened)


def _timeline(session: Session, alert: Alert) -> list[str]:
    english = gettext_for("en")
    subject = f"alert:{alert.id}"
    entries = session.exec(select(AuditEntry).where(AuditEntry.subject == subject).order_by(col(AuditEntry.id))).all()
    timed = list(zip([e.at for e in entries], audit_lines(english, session, entries, "UTC"), strict=True))
    recipients = session.exec(select(AlertRecipient, Person).join(
        Person, col(Person.id) == col(AlertRecipient.person_id), isouter=True).where(
        AlertRecipient.alert_id == alert.id).order_by(col(AlertRecipient.id))).all()
    for row, person in recipients:
        who = f"{person.alias} ({person.kind or person.role})" if person is not None else "a forgotten person"
        timed.append((row.notified_at, f"{utc(row.notified_at)} {who} alerted (step {row.step + 1})"))
    return [line for _at, line in sorted(timed, key=lambda item: item[0])]


def _logbook(session: Session, keyring: Keyring, alert: Alert) -> tuple[list[str], int]:
    notes = session.exec(select(Note).where(Note.alert_id == alert.id).order_by(
        col(Note.created_at), col(Note.id))).all()
    authors = aliases(session, {n.author_id for n in notes if n.author_id})
    lines, unopened = [], 0
    for note in notes:
        text = _open(session, keyring, note)
        if text.startswith("["):
            unopened += 1
        who = authors.get(note.author_id or 0, "a forgotten person") if note.author_id else "the bot"
        lines.append(f"{utc(note.created_at)} {who} ({note.kind}): {text}")
    return lines, unopened


def _open(session: Session, keyring: Keyring, note: Note) -> str:
    """The entry's text through a reader whose key the bot keeps, or why it cannot be shown."""
    copies = session.exec(select(NoteCopy, Person).join(Person, col(Person.id) == col(NoteCopy.reader_id)).where(
        NoteCopy.note_id == note.id)).all()
    if not copies:
        return NO_COPY
    custodial = [(c, p) for c, p in copies if p.key_mode != "own" and p.wrapped_private_key]
    for copy, reader in custodial:
        try:
            opened = open_copy(keyring, note, reader, copy.ciphertext)
        except CryptoError:
            continue
        if opened is not None:
            return opened
    return TAMPERED if custodial else SEALED_AWAY


def _actions(session: Session, alert: Alert, now: datetime) -> list[str]:
    """Partner actions about the defender while the case was open (audit ``partner_action``)."""
    until, person = alert.resolved_at or now, re.compile(rf"\bperson:{alert.hrd_id}\b")
    entries = [e for e in session.exec(select(AuditEntry).where(
        AuditEntry.action == "partner_action", col(AuditEntry.at) >= alert.raised_at, col(AuditEntry.at) <= until,
        or_(col(AuditEntry.subject) == f"person:{alert.hrd_id}",
            col(AuditEntry.detail).contains(f"person:{alert.hrd_id}", autoescape=True)))
        .order_by(col(AuditEntry.id))).all() if person.search(f"{e.subject} {e.detail}")]
    return audit_lines(gettext_for("en"), session, entries, "UTC")
