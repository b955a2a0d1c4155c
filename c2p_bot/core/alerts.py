"""Alerts and the escalation chain.

An alert notifies step 1 of ``[escalation] steps`` (e.g. the HRD's partners), waits
``ack_timeout`` for an acknowledgement, then adds the next step; after the last step it
repeats to everyone every ``repeat_every`` until acknowledged. Panic and duress alerts notify
every step at once. Flow diagram: docs/flows/escalation.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from c2p_bot.core.audit import audit
from c2p_bot.core.crypto import CryptoError
from c2p_bot.core.events import Button, Priority
from c2p_bot.core.i18n import Translate, gettext_for
from c2p_bot.core.integrity import Integrity, for_session, note_refusal, outbox_mac
from c2p_bot.core.notes import (
    NOTE_ELSEWHERE,
    NOTE_WITHHELD,
    fit_to_channel,
    latest_note,
    open_copy,
    open_note,
)
from c2p_bot.core.outbox import best_identity
from c2p_bot.core.timefmt import both
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

KIND_PRIORITY = {
    "duress": Priority.DURESS,
    "panic": Priority.PANIC,
    "missed": Priority.ESCALATION,
    "wrong_pin": Priority.ESCALATION,
}
ALL_AT_ONCE = {"panic", "duress"}
TAMPERED = "\x00tampered"


def active_partners(session: Session, hrd_id: int) -> list[Person]:
    # Person and Match both load as ORM rows, so both pass their integrity check (a refused
    # match's status is no longer "active", a refused person's neither).
    return [person for person, match in session.exec(
        select(Person, Match).join(Match, col(Match.partner_id) == col(Person.id)).where(
            Match.hrd_id == hrd_id, Match.status == "active", Person.status == "active")
        .order_by(col(Person.id))
    ).all() if match.status == "active" and person.status == "active"]


def coordinators(session: Session) -> list[Person]:
    return [person for person in session.exec(
        select(Person).where(Person.role == "coordinator", Person.status == "active")
        .order_by(col(Person.id))
    ).all() if person.role == "coordinator"]  # not refused by its integrity check


def step_people(session: Session, step: str, hrd_id: int) -> list[Person]:
    return active_partners(session, hrd_id) if step == "partners" else coordinators(session)


def recipients(session: Session, alert: Alert) -> list[Person]:
    ids = select(AlertRecipient.person_id).where(AlertRecipient.alert_id == alert.id)
    return list(session.exec(select(Person).where(col(Person.id).in_(ids)).order_by(col(Person.id))).all())


def is_recipient(session: Session, alert: Alert, person_id: int) -> bool:
    return session.exec(select(AlertRecipient.id).where(
        AlertRecipient.alert_id == alert.id, AlertRecipient.person_id == person_id)).first() is not None


def may_see(session: Session, alert: Alert, person: Person) -> bool:
    """Coordinators see every alert; partners the alerts of their HRDs or sent to them."""
    if person.role == "coordinator":
        return True
    if person.role != "partner" or person.id is None:
        return False
    return is_matched(session, alert.hrd_id, person.id)


def is_matched(session: Session, hrd_id: int, partner_id: int) -> bool:
    """Whether the partner is matched with the HRD now (an ex-partner loses access at once)."""
    return any(match.status == "active" for match in session.exec(select(Match).where(  # integrity-checked
        Match.hrd_id == hrd_id, Match.partner_id == partner_id, Match.status == "active")).all())


def current_recipients(session: Session, alert: Alert) -> list[Person]:
    """Everyone alerted so far who may still see the alert (not partners unmatched since)."""
    return [p for p in recipients(session, alert)
            if p.status == "active" and (p.role != "partner" or is_matched(session, alert.hrd_id, p.id or 0))]


class Escalation:
    """Raising, advancing and closing alerts; all within the caller's transaction."""

    def __init__(self, core) -> None:  # type: ignore[no-untyped-def]
        self.core = core
        self.config = core.config

    # -- raising ---------------------------------------------------------------------

    def raise_alert(self, session: Session, hrd: Person, kind: str, now: datetime,
                    due_at: datetime | None = None, note: Note | None = None) -> Alert:
        clock = session.get(CheckinClock, hrd.id)
        alert = Alert(hrd_id=hrd.id or 0, kind=kind, raised_at=now, due_at=due_at,
                      last_checkin_at=clock.last_checkin_at if clock else None, step=-1)
        session.add(alert)
        session.flush()
        audit(session, now, "alert_raised", subject=f"alert:{alert.id}",
              detail=f"hrd=person:{hrd.id} kind={kind}")
        if kind in ALL_AT_ONCE:
            everyone: dict[int, tuple[Person, int]] = {}
            for index, step in enumerate(self.config.escalation.steps):
                for person in step_people(session, step, hrd.id or 0):
                    everyone.setdefault(person.id or 0, (person, index))
            alert.step = len(self.config.escalation.steps) - 1
            for person, index in everyone.values():
                self._notify(session, alert, hrd, person, index, now)
            alert.next_step_at = now + self.config.escalation.repeat_every
            if not everyone:
                log.error("alert %s has nobody to notify", alert.id)
            session.add(alert)
        else:
            self.advance(session, alert, now)
        return alert

    def raise_missed_batch(self, session: Session, claimed: list[tuple[int, datetime, datetime | None]],
                           now: datetime, coordinating: list[PersonView] | None = None) -> int:
        """Raise ``missed`` alerts for many HRDs at once (the sweeper's hot path).

        ``claimed`` holds (hrd id, due time, last check-in) of clocks this worker has claimed.
        Same alerts, recipients, texts and audit entries as :meth:`raise_alert`, but with a
        fixed number of queries per batch and bulk inserts instead of ORM objects per row.
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
        steps = self.config.escalation.steps
        plans: list[tuple[AlertView, PersonView, list[PersonView]]] = []
        values: list[dict[str, object]] = []
        for hrd_id, due, last in claimed:
            hrd = hrds.get(hrd_id)
            if hrd is None:
                continue
            people: list[PersonView] = []
            step = len(steps) - 1
            for index, name in enumerate(steps):
                if name == "partners":
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
            last_step = step + 1 >= len(steps)
            wait = self.config.escalation.repeat_every if last_step else self.config.checkins.ack_timeout
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
        reader_ids = {p.id for _a, _h, people in plans for p in people}
        identities: dict[int, tuple[int, str, str]] = {}  # person id -> (identity id, platform, chat id)
        ranks: dict[int, tuple[datetime, int]] = {}
        for identity_id, person_id, platform, chat_id, seen, created, user_id, mac in connection.execute(
                sa_select(IDENTITY.c.id, IDENTITY.c.person_id, IDENTITY.c.platform, IDENTITY.c.chat_id,
                          IDENTITY.c.last_seen_at, IDENTITY.c.created_at, IDENTITY.c.platform_user_id,
                          IDENTITY.c.mac).where(
                one_of(IDENTITY.c.person_id, [i or 0 for i in reader_ids], dialect),
                IDENTITY.c.unreachable_at.is_(None))).all():
            if integrity is not None and not integrity.ok(
                    "identity", (identity_id, person_id, platform, user_id, chat_id), mac):
                note_refusal(session, "identity", identity_id)  # never send to a redirected chat
                continue
            rank = (seen or created, identity_id)
            if person_id not in ranks or rank > ranks[person_id]:
                ranks[person_id], identities[person_id] = rank, (identity_id, platform, chat_id)
        notes: dict[int, Note] = {}
        for note in session.exec(select(Note).where(
                one_of(Note.subject_id, ids, dialect), col(Note.kind).in_(("checkin", "duress")))
                .order_by(col(Note.created_at).desc(), col(Note.id).desc())).all():
            notes.setdefault(note.subject_id, note)
        copies = {(c.note_id, c.reader_id): c.ciphertext for c in session.exec(select(NoteCopy).where(
            one_of(NoteCopy.note_id, [n.id or 0 for n in notes.values()], dialect))).all()} if notes else {}
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
                assert person.id is not None
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
                        note_text = open_copy(self.core.keyring, latest, person, ciphertext, private_keys)
                    except CryptoError:
                        note_text = TAMPERED
                _ = gettext_for(person.ui_language)
                identity_id, platform, chat_id = reachable
                opened = note_text
                note_text, safer = fit_to_channel(session, latest, person.id, person.key_mode, platform, opened)
                messages.append(outbox_mac(session, self.core.outbox.row_values(
                    session, platform=platform, chat_id=chat_id,
                    text=alert_text(_, view, hrd, person, note_text, latest), now=now,
                    key=f"alert:{view.id}:to:{person.id}:r0",
                    buttons=[[Button(_("Acknowledge"), f"/ack {view.id}")]], priority=KIND_PRIORITY["missed"],
                    kind="alert", person_id=person.id, identity_id=identity_id, alert_id=view.id,
                    sensitive=note_text is not None and not note_text.startswith("\x00"))))
                if safer is not None:  # the note itself, on the reader's channel safe enough for it
                    messages.append(outbox_mac(session, self.core.outbox.row_values(
                        session, platform=safer.platform, chat_id=safer.chat_id,
                        text=alert_text(_, view, hrd, person, opened, latest), now=now,
                        key=f"alert:{view.id}:to:{person.id}:r0:sealed",
                        buttons=[[Button(_("Acknowledge"), f"/ack {view.id}")]],
                        priority=KIND_PRIORITY["missed"], kind="alert", identity_id=safer.id, sensitive=True)))
        insert_many(connection, table_of(AuditEntry), audits)
        insert_many(connection, table_of(AlertRecipient), recipients_rows)
        insert_many(connection, table_of(OutboxMessage), messages)
        return len(plans)

    def advance(self, session: Session, alert: Alert, now: datetime) -> None:
        """Add the next step that has anyone in it; after the last step, repeat to everyone."""
        hrd = session.get(Person, alert.hrd_id)
        if hrd is None or alert.status != "open":
            return
        steps = self.config.escalation.steps
        while alert.step + 1 < len(steps):
            alert.step += 1
            people = step_people(session, steps[alert.step], alert.hrd_id)
            fresh = [p for p in people if not is_recipient(session, alert, p.id or 0)]
            if not people:
                continue
            for person in fresh:
                self._notify(session, alert, hrd, person, alert.step, now)
            last = alert.step + 1 >= len(steps)
            wait = self.config.escalation.repeat_every if last else self.config.checkins.ack_timeout
            alert.next_step_at = now + wait
            audit(session, now, "alert_escalated", subject=f"alert:{alert.id}",
                  detail=f"step={alert.step + 1} to={len(fresh)}")
            session.add(alert)
            return
        alert.repeats += 1
        people = current_recipients(session, alert)
        if not people:  # nobody anywhere: retry soon, loudly
            log.error("alert %s has nobody to notify", alert.id)
        for person in people:
            self._notify(session, alert, hrd, person, alert.step, now)
        alert.next_step_at = now + self.config.escalation.repeat_every
        audit(session, now, "alert_repeated", subject=f"alert:{alert.id}", detail=f"repeat={alert.repeats}")
        session.add(alert)

    def _notify(self, session: Session, alert: Alert, hrd: Person, person: Person, step: int,
                now: datetime) -> None:
        assert person.id is not None
        if not is_recipient(session, alert, person.id):
            session.add(AlertRecipient(alert_id=alert.id or 0, person_id=person.id, step=step,
                                       notified_at=now))
            session.flush()
        note_kinds = ("panic",) if alert.kind == "panic" else ("checkin", "duress")
        note = latest_note(session, hrd.id or 0, note_kinds)
        try:
            opened = open_note(session, self.core.keyring, note, person) if note else None
        except CryptoError:
            opened = TAMPERED
        # Never over a less protected channel than the note was written on (issue 13 H4).
        best = best_identity(session, person.id)
        note_text, safer = fit_to_channel(session, note, person.id, person.key_mode,
                                          best.platform if best else None, opened)

        acker = session.get(Person, alert.acked_by) if alert.acked_by and alert.status == "open" else None
        stale_ack = (acker.alias or "?", alert.acked_at) if acker is not None and alert.acked_at else None

        def render(_: Translate) -> str:
            return alert_text(_, alert, hrd, person, note_text, note, stale_ack)

        key = f"alert:{alert.id}:to:{person.id}:r{alert.repeats}"
        delivered = self.core.outbox.to_person(
            session, person, render, now=now, key=key,
            buttons=lambda _: [[Button(_("Acknowledge"), f"/ack {alert.id}")]],
            priority=KIND_PRIORITY[alert.kind], kind="alert", alert_id=alert.id,
            sensitive=note_text is not None and not note_text.startswith("\x00"),
        )
        if delivered is None:
            log.warning("alert %s: recipient person:%s has no reachable identity", alert.id, person.id)
        if safer is not None:
            _ = gettext_for(person.ui_language)
            self._note_elsewhere(session, safer, key, alert_text(_, alert, hrd, person, opened, note, stale_ack),
                                 [[Button(_("Acknowledge"), f"/ack {alert.id}")]], KIND_PRIORITY[alert.kind], now)

    def _note_elsewhere(self, session: Session, safer: Identity, key: str, text: str,
                        buttons: list[list[Button]], priority: int, now: datetime) -> None:
        """The alert with its note, on the reader's channel safe enough for it. Not tied to the
        person or the alert: it never fails over to a less protected identity, and the chain
        does not move on when only this copy cannot be delivered."""
        self.core.outbox.to_chat(session, platform=safer.platform, chat_id=safer.chat_id, text=text,
                                 now=now, key=key + ":sealed", buttons=buttons, priority=priority,
                                 kind="alert", identity_id=safer.id, sensitive=True)

    # -- closing ---------------------------------------------------------------------

    def acknowledge(self, session: Session, alert: Alert, by: Person, now: datetime) -> list[Person]:
        """Mark acknowledged until ``[escalation] ack_expiry``; returns who to tell: the other
        recipients and every coordinator (an acknowledgement is not a kill switch)."""
        alert.status, alert.acked_by, alert.acked_at = "acked", by.id, now
        alert.next_step_at = now + self.config.escalation.ack_expiry
        session.add(alert)
        audit(session, now, "alert_acknowledged", actor_id=by.id, subject=f"alert:{alert.id}")
        told = {p.id: p for p in current_recipients(session, alert) + coordinators(session)}
        return [p for p in told.values() if p.id != by.id]

    def ack_expired(self, session: Session, alert: Alert, now: datetime) -> None:
        """Acknowledged but not resolved within ``ack_expiry``: open again and escalate."""
        alert.status = "open"
        session.add(alert)
        audit(session, now, "alert_ack_expired", subject=f"alert:{alert.id}",
              detail=f"acked_by=person:{alert.acked_by}")
        self.advance(session, alert, now)

    def resolve(self, session: Session, alert: Alert, by: Person, now: datetime) -> list[Person]:
        alert.status, alert.resolved_by, alert.resolved_at, alert.next_step_at = "resolved", by.id, now, None
        if alert.acked_at is None:
            alert.acked_by, alert.acked_at = by.id, now
        session.add(alert)
        audit(session, now, "alert_resolved", actor_id=by.id, subject=f"alert:{alert.id}")
        return [p for p in recipients(session, alert) if p.id != by.id]

    def on_unreachable(self, session: Session, row: OutboxMessage) -> None:
        """An alert message reached none of a recipient's identities: move the chain on now."""
        if row.alert_id is None:
            return
        alert = session.get(Alert, row.alert_id)
        if alert is None or alert.status != "open":
            return
        if alert.step + 1 < len(self.config.escalation.steps):
            now = self.core.clock.now()
            audit(session, now, "alert_failover", subject=f"alert:{alert.id}",
                  detail=f"unreachable=person:{row.person_id}")
            self.advance(session, alert, now)


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


PERSON, MATCH, ALERT, IDENTITY = table_of(Person), table_of(Match), table_of(Alert), table_of(Identity)
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


def alert_text(_: Translate, alert: Alert | AlertView, hrd: Person | PersonView, reader: Person | PersonView,
               note_text: str | None, note: Note | None,
               stale_ack: tuple[str, datetime] | None = None) -> str:
    """What a recipient sees: who, what, when, the last check-in, the latest note, how to ack."""
    zone = reader.timezone
    alias = hrd.alias or "?"
    if alert.kind == "duress":
        head = _("🚨 DURESS ALERT #{id}: {alias} checked in with their duress PIN at {when}. "
                 "They may be under coercion: do not contact them in a way that could expose them."
                 ).format(id=alert.id, alias=alias, when=both(alert.raised_at, zone))
    elif alert.kind == "panic":
        head = _("🚨 PANIC ALERT #{id}: {alias} raised the alarm at {when}.").format(
            id=alert.id, alias=alias, when=both(alert.raised_at, zone))
    elif alert.kind == "wrong_pin":
        head = _("🚨 ALERT #{id}: repeated wrong PINs on {alias}'s check-ins at {when}. "
                 "Someone else may have their phone.").format(
            id=alert.id, alias=alias, when=both(alert.raised_at, zone))
    else:
        head = _("🚨 ALERT #{id}: {alias} missed a check-in due {due}.").format(
            id=alert.id, alias=alias, due=both(alert.due_at or alert.raised_at, zone))
    lines = [head]
    if stale_ack is not None:
        lines.append(_("It was acknowledged by {alias} {when} but not resolved since: it is escalating "
                       "again.").format(alias=stale_ack[0], when=both(stale_ack[1], zone)))
    elif alert.repeats:
        lines.append(_("Reminder {n}: nobody has acknowledged this alert yet.").format(n=alert.repeats))
    if alert.last_checkin_at is not None:
        lines.append(_("Last check-in: {when}.").format(when=both(alert.last_checkin_at, zone)))
    else:
        lines.append(_("No check-in recorded yet."))
    lines.append(_("Country: {country}.").format(country=hrd.country or "—"))
    if note_text == TAMPERED:
        lines.append(_("⚠ The latest note failed its integrity check and is not shown."))
    elif note_text == NOTE_ELSEWHERE:
        lines.append(_("🔒 A sealed note is waiting — read it on Matrix. It was written on an end-to-end "
                       "encrypted channel and is not shown here."))
    elif note_text == NOTE_WITHHELD:
        lines.append(_("🔒 There is a sealed note from {when}. It was written on an end-to-end encrypted "
                       "channel and is not shown here: join the bot on Matrix, or register your own key "
                       "(c2p-bot keygen, then /key), to read such notes.").format(
            when=both(note.created_at, zone) if note is not None else "—"))
    elif note_text is not None and note is not None:
        lines.append(_("Latest note ({when}): {note}").format(when=both(note.created_at, zone), note=note_text))
    lines.append(_("Acknowledge with /ack {id}. Add to the case logbook with /log {id} TEXT.").format(
        id=alert.id))
    return "\n".join(lines)
