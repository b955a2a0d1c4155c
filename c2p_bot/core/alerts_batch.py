"""The sweeper's batch path: ``missed`` alerts for many HRDs at once, with bulk inserts.

Reads columns, not ORM objects (checking row MACs itself, :mod:`c2p_bot.core.integrity`), and
writes the same alerts, recipients, messages and audit entries as the ORM path
(:meth:`c2p_bot.core.alerts.Escalation.raise_alert`). Each HRD is then told, once per miss, that
they missed their check-in (:func:`tell_missed_batch`): the message says nothing of the alert, and
the sweeper sends these after every alert of the sweep is committed, so alerts never wait for them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from c2p_bot.core.alert_texts import KIND_PRIORITY, TAMPERED, AlertView, PersonView, alert_text, missed_checkin_text
from c2p_bot.core.crypto import CryptoError
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Button, Priority
from c2p_bot.core.i18n import gettext_for
from c2p_bot.core.integrity import Integrity, for_session, note_refusal, outbox_mac
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.notes import fit_to_channel, open_copy
from c2p_bot.core.outbox import Envelope, Outbox
from c2p_bot.core.plans import LoadedPlans, carries
from c2p_bot.core.recipients import coordinators
from c2p_bot.core.settings import CoreSettings
from storage.bulk import insert_many, one_of, table_of
from storage.models import (
    Alert,
    AlertRecipient,
    AuditEntry,
    CheckinClock,
    Identity,
    Match,
    Note,
    NoteCopy,
    OutboxMessage,
    Person,
)

log = logging.getLogger(__name__)

PERSON, MATCH, ALERT, IDENTITY = table_of(Person), table_of(Match), table_of(Alert), table_of(Identity)
CLOCK = table_of(CheckinClock)
PERSON_VIEW = (PERSON.c.id, PERSON.c.alias, PERSON.c.country, PERSON.c.timezone, PERSON.c.ui_language,
               PERSON.c.key_mode, PERSON.c.wrapped_private_key, PERSON.c.public_key)
# What the batch path checks a partner's MACs over (c2p_bot.core.integrity.FIELDS), after PERSON_VIEW.
MAC_CHECKED = (PERSON.c.role, PERSON.c.status, PERSON.c.mac, MATCH.c.id, MATCH.c.status, MATCH.c.mac)


def macs_hold(session: Session, integrity: Integrity, hrd_id: int, partner: PersonView,
              checked: list[Any]) -> bool:
    """Whether a partner's person row and match row are intact (one HMAC each, no KDF)."""
    role, status, person_mac, match_id, match_status, match_mac = checked
    if not integrity.ok("person", (partner.id, role, status, partner.public_key, partner.key_mode), person_mac):
        note_refusal(session, "person", partner.id)
        return False
    if not integrity.ok("match", (match_id, hrd_id, partner.id, match_status), match_mac):
        note_refusal(session, "match", match_id)
        return False
    return True


class Missed(NamedTuple):
    """A missed check-in whose HRD is still to be told (:func:`tell_missed_batch`)."""

    hrd: PersonView
    alert_id: int
    due: datetime


MISSED = "missed_checkins"  # session.info key: the HRDs a batch leaves to be told (list[Missed])


def raise_missed_batch(session: Session, claimed: list[tuple[int, datetime, datetime | None]], now: datetime,
                       coordinating: list[PersonView] | None, *, settings: CoreSettings, keyring: Keyring,
                       outbox: Outbox) -> int:
    """Raise ``missed`` alerts for many HRDs at once (the sweeper's hot path).

    ``claimed`` holds (hrd id, due time, last check-in) of clocks this worker has claimed.
    Same alerts, recipients, texts and audit entries as
    :meth:`c2p_bot.core.alerts.Escalation.raise_alert`, but with a
    fixed number of queries per batch and bulk inserts instead of ORM objects per row.
    The HRDs are not told here: they are left in ``session.info[MISSED]``, for the caller to tell
    once the alerts are committed (:func:`tell_missed_batch`).
    """
    ids = [hrd_id for hrd_id, _due, _last in claimed]
    connection = session.connection()
    dialect = connection.dialect
    # Core tables and column tuples, not ORM objects: for a batch, the ORM's per-statement and
    # per-row work costs more than the SQL.
    hrds = {row[0]: PersonView(*row) for row in connection.execute(
        sa_select(*PERSON_VIEW).where(one_of(PERSON.c.id, ids, dialect))).all()}
    partners: dict[int, list[PersonView]] = {}
    integrity = for_session(session)
    for hrd_id, *partner in connection.execute(
        sa_select(MATCH.c.hrd_id, *PERSON_VIEW, *MAC_CHECKED).join(PERSON, PERSON.c.id == MATCH.c.partner_id)
        .where(one_of(MATCH.c.hrd_id, ids, dialect), MATCH.c.status == "active", PERSON.c.status == "active")
        .order_by(PERSON.c.id)
    ).all():
        one = PersonView(*partner[:len(PERSON_VIEW)])
        if integrity is not None and not macs_hold(session, integrity, hrd_id, one, partner[len(PERSON_VIEW):]):
            continue
        partners.setdefault(hrd_id, []).append(one)
    everyone_coordinating = coordinating
    steps = settings.escalation.chain
    plans: list[tuple[AlertView, PersonView, list[PersonView]]] = []
    values: list[dict[str, object]] = []
    for hrd_id, due, last in claimed:
        hrd = hrds.get(hrd_id)
        if hrd is None:
            continue
        people: list[PersonView] = []
        step = len(steps) - 1
        for index, each in enumerate(steps):
            if each.email:  # email only follows up a chat alert: never the first to reach anyone
                continue
            if each.audience == "partners":
                group = partners.get(hrd_id, [])
            else:
                if everyone_coordinating is None:
                    everyone_coordinating = [PersonView.of(p) for p in coordinators(session)]
                group = everyone_coordinating
            if group:
                people, step = group, index
                break
        if not people:
            log.error("missed check-in of person:%s has nobody to notify", hrd_id)
        wait = settings.wait_after_step(step)
        values.append({"hrd_id": hrd_id, "kind": "missed", "status": "open", "raised_at": now, "due_at": due,
                       "last_checkin_at": last, "step": step, "next_step_at": now + wait, "repeats": 0})
        plans.append((AlertView(0, "missed", now, due, last, 0, step), hrd, people))
    if not plans:
        return 0
    # One executemany, then the ids by HRD: each claimed HRD gets exactly one alert here (its
    # clock is ours now), so (hrd, kind, raised_at) is unique. (INSERT … RETURNING with a stable
    # order would fall back to one statement per row on SQLite.)
    insert_many(connection, ALERT, values)
    new_ids: dict[int, int] = dict(connection.execute(sa_select(ALERT.c.hrd_id, ALERT.c.id).where(
        one_of(ALERT.c.hrd_id, [view_hrd.id or 0 for _v, view_hrd, _p in plans], dialect),
        ALERT.c.kind == "missed", ALERT.c.raised_at == now)).all())
    for view, hrd, _people in plans:
        view.id = new_ids[hrd.id or 0]
    identities = reachable_identities(session, {p.id or 0 for _a, _h, people in plans for p in people})
    notes: dict[int, Note] = {}
    for note in session.exec(select(Note).where(
            one_of(Note.subject_id, ids, dialect), col(Note.kind).in_(("checkin", "duress")))
            .order_by(col(Note.created_at).desc(), col(Note.id).desc())).all():
        notes.setdefault(note.subject_id, note)
    copies = {(c.note_id, c.reader_id): c.ciphertext for c in session.exec(select(NoteCopy).where(
        one_of(NoteCopy.note_id, [n.id or 0 for n in notes.values()], dialect))).all()} if notes else {}
    # Their emergency plans: one query, one decryption per plan (c2p_bot.core.plans).
    emergency = LoadedPlans(session, keyring.kek, ids,
                            {p.id or 0 for _a, _h, people in plans for p in people if p.key_mode == "own"})
    private_keys: dict[int, bytes] = {}
    audits: list[dict[str, object]] = []
    recipients_rows: list[dict[str, object]] = []
    messages: list[dict[str, object]] = []
    for view, hrd, people in plans:
        audits.append({"at": now, "action": "alert_raised", "subject": f"alert:{view.id}",
                       "detail": f"hrd=person:{hrd.id} kind=missed"})
        audits.append({"at": now, "action": "alert_escalated", "subject": f"alert:{view.id}",
                       "detail": f"step={view.step + 1} to={len(people)}"})
        latest = notes.get(hrd.id or 0)
        for person in people:
            if person.id is None:
                raise InvariantError("person.id is missing (a row not flushed yet?)")
            recipients_rows.append({"alert_id": view.id, "person_id": person.id, "step": view.step,
                                    "notified_at": now})
            reachable = identities.get(person.id)
            if reachable is None:
                log.warning("alert %s: recipient person:%s has no reachable identity", view.id, person.id)
                continue
            note_text: str | None = None
            ciphertext = copies.get((latest.id or 0, person.id)) if latest is not None else None
            if latest is not None and ciphertext is not None:
                try:
                    note_text = open_copy(keyring, latest, person, ciphertext, private_keys)
                except CryptoError:
                    note_text = TAMPERED
            _ = gettext_for(person.ui_language)
            identity_id, platform, chat_id = reachable
            opened = note_text
            note_text, safer = fit_to_channel(session, latest, person.id, person.key_mode, platform, opened)
            plan, full_plan, plan_safer = emergency.for_reader(session, hrd.id or 0, person.id, person.key_mode,
                                                               person.public_key, person.ui_language, platform)
            safer = safer or plan_safer
            to_reader = Envelope(platform, chat_id, KIND_PRIORITY["missed"], "alert", person.id, identity_id,
                                 view.id, sensitive=carries(note_text, plan))
            messages.append(outbox_mac(session, outbox.row_values(
                session, to_reader, text=alert_text(_, view, hrd, person, note_text, latest, plan=plan), now=now,
                key=f"alert:{view.id}:to:{person.id}:r0", buttons=[[Button(_("Acknowledge"), f"/ack {view.id}")]])))
            if safer is not None:  # the note itself, on the reader's channel safe enough for it
                sealed = Envelope(safer.platform, safer.chat_id, KIND_PRIORITY["missed"], "alert",
                                  identity_id=safer.id, sensitive=True)
                messages.append(outbox_mac(session, outbox.row_values(
                    session, sealed, text=alert_text(_, view, hrd, person, opened, latest, plan=full_plan), now=now,
                    key=f"alert:{view.id}:to:{person.id}:r0:sealed",
                    buttons=[[Button(_("Acknowledge"), f"/ack {view.id}")]])))
    insert_many(connection, table_of(AuditEntry), audits)
    insert_many(connection, table_of(AlertRecipient), recipients_rows)
    insert_many(connection, table_of(OutboxMessage), messages)
    session.info.setdefault(MISSED, []).extend(
        Missed(hrd, view.id or 0, view.due_at or now) for view, hrd, _people in plans)
    return len(plans)


def reachable_identities(session: Session, person_ids: set[int]) -> dict[int, tuple[int, str, str]]:
    """Each person's reachable identity used most recently, as (identity id, platform, chat id):
    what :func:`c2p_bot.core.outbox.best_identity` picks, for many people in one query."""
    connection = session.connection()
    integrity = for_session(session)
    identities: dict[int, tuple[int, str, str]] = {}
    ranks: dict[int, tuple[datetime, int]] = {}
    for identity_id, person_id, platform, chat_id, seen, created, user_id, mac in connection.execute(
            sa_select(IDENTITY.c.id, IDENTITY.c.person_id, IDENTITY.c.platform, IDENTITY.c.chat_id,
                      IDENTITY.c.last_seen_at, IDENTITY.c.created_at, IDENTITY.c.platform_user_id,
                      IDENTITY.c.mac).where(
            one_of(IDENTITY.c.person_id, list(person_ids), connection.dialect),
            IDENTITY.c.unreachable_at.is_(None))).all():
        if integrity is not None and not integrity.ok(
                "identity", (identity_id, person_id, platform, user_id, chat_id), mac):
            note_refusal(session, "identity", identity_id)  # never send to a redirected chat
            continue
        rank = (seen or created, identity_id)
        if person_id not in ranks or rank > ranks[person_id]:
            ranks[person_id], identities[person_id] = rank, (identity_id, platform, chat_id)
    return identities


def tell_missed_batch(session: Session, missed: list[Missed], now: datetime, outbox: Outbox) -> int:
    """Tell each HRD, once per miss, that they missed their check-in, with the "I'm safe" button
    (``/checkin``, which asks for the PIN of a PIN holder). Nothing about the alert, its
    recipients or any other alert: what a coerced HRD's phone shows is what a free one's does.
    HRDs who checked in or paused since the alert was raised are left alone. Two queries and one
    bulk insert, whatever the number of HRDs."""
    if not missed:
        return 0
    connection = session.connection()
    ids = [m.hrd.id or 0 for m in missed]
    still = set(connection.execute(sa_select(CLOCK.c.person_id).where(
        one_of(CLOCK.c.person_id, ids, connection.dialect), CLOCK.c.state == "alerting")).scalars())
    identities = reachable_identities(session, still)
    messages: list[dict[str, object]] = []
    for hrd, alert_id, due in missed:
        found = identities.get(hrd.id or 0)
        if found is None:
            continue
        identity_id, platform, chat_id = found
        _ = gettext_for(hrd.ui_language)
        envelope = Envelope(platform, chat_id, Priority.NOTICE, "reminder", hrd.id, identity_id)
        messages.append(outbox_mac(session, outbox.row_values(
            session, envelope, text=missed_checkin_text(_, due, hrd.timezone), now=now,
            key=f"missed:{alert_id}:to-hrd", buttons=[[Button(_("I'm safe"), "/checkin")]])))
    insert_many(connection, table_of(OutboxMessage), messages)
    return len(messages)
