"""An escalation step ``… by email``: a short email to each person of the step's audience whom the
alert has already reached in the chat and who has a confirmed address (c2p_bot.core.escalation_steps).

The email says only who (the HRD's alias), which alert (its number, kind and time, in the
reader's language and time zone) and how to act in the chat. It never carries the note, the
plan or anything else sealed: email is the least protected channel, readable by every mail
server on the way. Queued in the outbox like any message (platform ``email``), sent by the email
transport, retried and given up by the outbox's rules; the chat alert never depends on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, col, select

from c2p_bot.core.alert_texts import KIND_PRIORITY, alert_text
from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import N_, Translate, gettext_for
from c2p_bot.core.mail import ALERT_EMAIL, EMAIL, letter
from c2p_bot.core.outbox import Envelope, Outbox
from storage.models import Alert, EmailAddress, Person

DRILL = N_("🧪 DRILL")  # the mark of every message about a drill (as in c2p_bot.core.alert_texts)


def confirmed_addresses(session: Session, person_ids: Iterable[int]) -> dict[int, str]:
    """Each person's confirmed address (rows refused by their MAC are neither confirmed nor theirs)."""
    ids = [i for i in person_ids if i]
    if not ids:
        return {}
    rows = session.exec(select(EmailAddress).where(col(EmailAddress.person_id).in_(ids),
                                                   col(EmailAddress.confirmed).is_(True))).all()
    return {row.person_id: row.address for row in rows if row.confirmed and row.person_id in ids}


def email_subject(_: Translate, alert: Alert, alias: str) -> str:
    subject = _("Alert #{id} about {alias}: please open your chat with the bot").format(id=alert.id, alias=alias)
    return f"{_(DRILL)} — {subject}" if alert.kind == "drill" else subject


def email_body(_: Translate, alert: Alert, hrd: Person, reader: Person) -> str:
    """Who, which alert and when (the chat alert's first line, rendered without note or plan), and
    how to act in the chat."""
    head = alert_text(_, alert, hrd, reader, None, None).split("\n", 1)[0]
    return "\n\n".join((
        head,
        _("Open your chat with the bot and send /ack {id} to acknowledge it. The chat has the rest: "
          "notes and emergency plans are never sent by email.").format(id=alert.id),
        _("You get this email because you added this address to your profile. To stop these emails, "
          "send /profile email= in the chat."),
    ))


def email_step(session: Session, outbox: Outbox, alert: Alert, hrd: Person, people: list[Person], step: int,
               now: datetime) -> int:
    """Queue the alert's email to each of ``people`` who has a confirmed address; how many."""
    addresses = confirmed_addresses(session, [p.id or 0 for p in people])
    queued = 0
    for person in people:
        address = addresses.get(person.id or 0)
        if address is None:
            continue
        _ = gettext_for(person.ui_language)
        envelope = Envelope(EMAIL, address, KIND_PRIORITY.get(alert.kind, Priority.ESCALATION), ALERT_EMAIL,
                            person.id, None, alert.id, sensitive=False)
        text = letter(email_subject(_, alert, hrd.alias or "?"), email_body(_, alert, hrd, person))
        if outbox.send(session, envelope, text=text, now=now,
                       key=f"alert:{alert.id}:email:{person.id}:s{step}") is not None:
            queued += 1
    return queued
