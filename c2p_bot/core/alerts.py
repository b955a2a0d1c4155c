"""Alerts and the escalation chain.

An alert notifies step 1 of ``[escalation] steps`` (e.g. the HRD's partners), waits
``ack_timeout`` for an acknowledgement, then adds the next step; after the last step it
repeats to everyone every ``repeat_every`` until acknowledged. Panic, duress, detention and failed
proof-of-life alerts notify every step at once. Flow diagram: docs/flows/escalation.md.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, col, update

from c2p_bot.core.alert_texts import KIND_PRIORITY, TAMPERED, PersonView, alert_text
from c2p_bot.core.alerts_batch import Missed, raise_missed_batch, tell_missed_batch
from c2p_bot.core.audit import audit
from c2p_bot.core.crypto import CryptoError
from c2p_bot.core.drills import DRILL_KIND, capped, drill_end, finish_drill
from c2p_bot.core.email_alerts import email_step
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Button
from c2p_bot.core.i18n import Translate, gettext_for
from c2p_bot.core.mail import EMAIL_SERVICE
from c2p_bot.core.notes import fit_to_channel, latest_note, open_note
from c2p_bot.core.outbox import best_identity
from c2p_bot.core.plans import PlanView, Shown, action_count, carries, plan_for
from c2p_bot.core.playbook import DETENTION, Playbook, steps_of
from c2p_bot.core.recipients import coordinators as coordinators  # re-exported: transports and benchmarks
from c2p_bot.core.recipients import current_recipients, is_recipient, recipients, step_people
from c2p_bot.core.risk_sessions import OWN_NOTE, own_note
from storage.models import Alert, AlertRecipient, CheckinClock, Identity, Note, OutboxMessage, Person

log = logging.getLogger(__name__)

ALL_AT_ONCE = {"panic", "duress", DETENTION, "proof"}  # "proof": a failed proof of life (proof_flow)
# Whose notes an alert shows: the latest of these kinds (a check-in's or a duress note by default).
NOTE_KINDS = {"panic": ("panic",), DETENTION: (DETENTION,)}


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
            chain = self.config.escalation.chain
            for index, step in enumerate(chain):
                for person in [] if step.email else step_people(session, step.audience, hrd.id or 0):
                    everyone.setdefault(person.id or 0, (person, index))
            alert.step = len(chain) - 1
            for person, index in everyone.values():
                self._notify(session, alert, hrd, person, index, now)
            for index, step in enumerate(chain):  # the email steps at once too, to those just alerted
                if step.email:
                    self._email(session, alert, hrd, [p for p in step_people(session, step.audience, hrd.id or 0)
                                                      if (p.id or 0) in everyone], index, now)
            alert.next_step_at = now + self.config.escalation.repeat_every
            if not everyone:
                log.error("alert %s has nobody to notify", alert.id)
            session.add(alert)
        else:
            self.advance(session, alert, now)
        return alert

    def raise_missed_batch(self, session: Session, claimed: list[tuple[int, datetime, datetime | None]],
                           now: datetime, coordinating: list[PersonView] | None = None) -> int:
        """Raise ``missed`` alerts for many HRDs at once (the sweeper's hot path): see
        :func:`c2p_bot.core.alerts_batch.raise_missed_batch`."""
        return raise_missed_batch(session, claimed, now, coordinating, settings=self.config,
                                  keyring=self.core.keyring, outbox=self.core.outbox)

    def tell_missed(self, session: Session, missed: list[Missed], now: datetime) -> int:
        """Tell each HRD of ``missed`` to check in now: see :func:`c2p_bot.core.alerts_batch.tell_missed_batch`."""
        return tell_missed_batch(session, missed, now, self.core.outbox)

    def advance(self, session: Session, alert: Alert, now: datetime) -> None:
        """Add the next step that has anyone in it; after the last step, repeat to everyone."""
        hrd = session.get(Person, alert.hrd_id)
        if hrd is None or alert.status != "open":
            return
        if alert.kind == DRILL_KIND and now >= drill_end(alert, self.config):
            finish_drill(session, alert, now, self.core.outbox, self.config)
            return
        steps = self.config.escalation.chain
        while alert.step + 1 < len(steps):
            alert.step += 1
            step = steps[alert.step]
            people = step_people(session, step.audience, alert.hrd_id)
            if step.email:  # follows up the chat alert, to those it reached (c2p_bot.core.escalation_steps)
                people = [p for p in people if is_recipient(session, alert, p.id or 0)]
            fresh = [p for p in people if not is_recipient(session, alert, p.id or 0)]
            if not people:
                continue
            if step.email:
                action, told = "alert_emailed", self._email(session, alert, hrd, people, alert.step, now)
            else:
                for person in fresh:
                    self._notify(session, alert, hrd, person, alert.step, now)
                action, told = "alert_escalated", len(fresh)
            alert.next_step_at = capped(alert, now + self.config.wait_after_step(alert.step), self.config)
            audit(session, now, action, subject=f"alert:{alert.id}", detail=f"step={alert.step + 1} to={told}")
            session.add(alert)
            return
        alert.repeats += 1
        people = current_recipients(session, alert)
        if not people:  # nobody anywhere: retry soon, loudly
            log.error("alert %s has nobody to notify", alert.id)
        for person in people:
            self._notify(session, alert, hrd, person, alert.step, now)
        alert.next_step_at = capped(alert, now + self.config.escalation.repeat_every, self.config)
        audit(session, now, "alert_repeated", subject=f"alert:{alert.id}", detail=f"repeat={alert.repeats}")
        session.add(alert)

    def _notify(self, session: Session, alert: Alert, hrd: Person, person: Person, step: int,
                now: datetime) -> None:
        if person.id is None:
            raise InvariantError("person.id is missing (a row not flushed yet?)")
        if not is_recipient(session, alert, person.id):
            session.add(AlertRecipient(alert_id=alert.id or 0, person_id=person.id, step=step,
                                       notified_at=now))
            session.flush()
        if alert.kind in OWN_NOTE:  # a session's own note; none for a drill (c2p_bot.core.risk_sessions)
            note = own_note(session, alert)
        else:
            note = latest_note(session, hrd.id or 0, NOTE_KINDS.get(alert.kind, ("checkin", "duress")))
        if alert.kind == DETENTION and note is not None and note.alert_id not in (None, alert.id):
            note = None  # an earlier detention's words
        try:
            opened = open_note(session, self.core.keyring, note, person) if note else None
        except CryptoError:
            opened = TAMPERED
        # Never over a less protected channel than the note was written on (issue 13 H4).
        best = best_identity(session, person.id)
        note_text, safer = fit_to_channel(session, note, person.id, person.key_mode,
                                          best.platform if best else None, opened)

        # The HRD's emergency plan, by the same channel rules (c2p_bot.core.plans).
        plan, full_plan, plan_safer = plan_for(session, self.core.keyring, hrd.id or 0, person,
                                               best.platform if best else None)
        safer = safer or plan_safer

        acker = session.get(Person, alert.acked_by) if alert.acked_by and alert.status == "open" else None
        stale_ack = (acker.alias or "?", alert.acked_at) if acker is not None and alert.acked_at else None

        playbook = self._playbook(session, alert, note, plan)

        def render(_: Translate) -> str:
            return alert_text(_, alert, hrd, person, note_text, note, stale_ack, plan, playbook)

        key = f"alert:{alert.id}:to:{person.id}:r{alert.repeats}"
        delivered = self.core.outbox.to_person(
            session, person, render, now=now, key=key,
            buttons=lambda _: [[Button(_("Acknowledge"), f"/ack {alert.id}")]],
            priority=KIND_PRIORITY[alert.kind], kind="alert", alert_id=alert.id,
            sensitive=carries(note_text, plan),
        )
        if delivered is None:
            log.warning("alert %s: recipient person:%s has no reachable identity", alert.id, person.id)
        if safer is not None:
            _ = gettext_for(person.ui_language)
            self._note_elsewhere(session, safer, key,
                                 alert_text(_, alert, hrd, person, opened, note, stale_ack, full_plan,
                                            self._playbook(session, alert, note, full_plan)),
                                 [[Button(_("Acknowledge"), f"/ack {alert.id}")]], KIND_PRIORITY[alert.kind], now)

    def _email(self, session: Session, alert: Alert, hrd: Person, people: list[Person], step: int,
               now: datetime) -> int:
        """An email step (c2p_bot.core.email_alerts), when the bot has an email transport."""
        if self.core.services.get(EMAIL_SERVICE) is None:
            log.warning("alert %s: step %d sends email, but no email transport is running", alert.id, step + 1)
            return 0
        return email_step(session, self.core.outbox, alert, hrd, people, step, now)

    def _note_elsewhere(self, session: Session, safer: Identity, key: str, text: str,
                        buttons: list[list[Button]], priority: int, now: datetime) -> None:
        """The alert with its note, on the reader's channel safe enough for it. Not tied to the
        person or the alert: it never fails over to a less protected identity, and the chain
        does not move on when only this copy cannot be delivered."""
        self.core.outbox.to_chat(session, platform=safer.platform, chat_id=safer.chat_id, text=text,
                                 now=now, key=key + ":sealed", buttons=buttons, priority=priority,
                                 kind="alert", identity_id=safer.id, sensitive=True)

    def _playbook(self, session: Session, alert: Alert, note: Note | None, plan: Shown | None) -> Playbook | None:
        """A detention alert's first-hours steps, numbered after the plan's actions (c2p_bot.core.playbook)."""
        if alert.kind != DETENTION:
            return None
        reporter = session.get(Person, note.author_id) if note is not None and note.author_id else None
        by = (reporter.alias or "?") if reporter is not None and reporter.id != alert.hrd_id else None
        first = action_count(session, self.core.keyring.kek, alert.hrd_id) + 1
        return Playbook(by, first, steps_of(self.config), plan_hidden=not isinstance(plan, PlanView))

    # -- closing ---------------------------------------------------------------------

    def acknowledge(self, session: Session, alert: Alert, by: Person, now: datetime) -> list[Person]:
        """Mark acknowledged until ``[escalation] ack_expiry``; returns who to tell: the other
        recipients and every coordinator (an acknowledgement is not a kill switch)."""
        alert.status, alert.acked_by, alert.acked_at = "acked", by.id, now
        # A drill does not escalate again once acknowledged: it runs until its end (c2p_bot.core.drills).
        alert.next_step_at = drill_end(alert, self.config) if alert.kind == DRILL_KIND \
            else now + self.config.escalation.ack_expiry
        session.add(alert)
        session.exec(update(AlertRecipient).where(  # type: ignore[call-overload]
            col(AlertRecipient.alert_id) == alert.id, col(AlertRecipient.person_id) == by.id,
            col(AlertRecipient.acked_at).is_(None)).values(acked_at=now))
        audit(session, now, "alert_acknowledged", actor_id=by.id, subject=f"alert:{alert.id}")
        told = {p.id: p for p in current_recipients(session, alert) + coordinators(session)}
        return [p for p in told.values() if p.id != by.id]

    def ack_expired(self, session: Session, alert: Alert, now: datetime) -> None:
        """Acknowledged but not resolved within ``ack_expiry``: open again and escalate (a drill ends)."""
        if alert.kind == DRILL_KIND:
            finish_drill(session, alert, now, self.core.outbox, self.config)
            return
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


