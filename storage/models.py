"""SQLModel tables. The database is the source of truth for people, clocks, alerts and the outbox.

Secrets never sit here in usable form: notes are stored only as ciphertext
(``NoteCopy``), private keys only wrapped by the key-encryption key, PINs only as
argon2id hashes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.email_models import EmailAddress as EmailAddress  # issue 16: alert emails
from storage.proof_models import ProofRequest as ProofRequest  # issue 14: proof-of-life questions
from storage.types import UtcDateTime
from storage.watch_models import RiskSession as RiskSession  # issue 14's sessions and shutdown notices
from storage.watch_models import ShutdownNotice as ShutdownNotice

# Every integer id is handed out once, ever: ids go into outbox idempotency keys, audit subjects
# and sealed notes' associated data, so a reused id would collide with its predecessor's messages.
# PostgreSQL sequences never go back; SQLite needs AUTOINCREMENT (without it a new row takes
# max(id) + 1, so deleting the newest rows gives their ids out again). Migration 0003.
NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


def _ts(index: bool = False, nullable: bool = True) -> Column:  # type: ignore[type-arg]
    return Column(UtcDateTime(), index=index, nullable=nullable)


class Person(SQLModel, table=True):
    """Anyone registered: a coordinator, an HRD or a partner."""

    __table_args__ = (Index("ix_person_role_status", "role", "status"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    role: str = Field(max_length=16)  # coordinator | hrd | partner
    kind: str | None = Field(default=None, max_length=16)  # partner kind: mp | lawyer | journalist
    status: str = Field(default="onboarding", max_length=16)  # onboarding | active
    alias: str | None = Field(default=None, max_length=64, unique=True)
    ui_language: str = Field(default="en", max_length=8)
    timezone: str = Field(default="UTC", max_length=64)
    country: str | None = Field(default=None, max_length=2)
    languages: str = Field(default="", max_length=200)  # comma list, ISO 639-1
    expertise: str = Field(default="", max_length=1000)  # comma list of vocabulary tags
    wants: str = Field(default="", max_length=64)  # comma list of partner kinds (HRD)
    regions: str = Field(default="", max_length=1000)  # comma list (partner)
    capacity: int = Field(default=0)
    available: bool = Field(default=True)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    public_key: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    wrapped_private_key: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    key_mode: str = Field(default="custodial", max_length=16)  # custodial | own
    pin_hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    duress_hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    notes_over_telegram: bool = Field(default=False)  # notes written on Matrix may be shown on Telegram
    mac: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # c2p_bot.core.integrity


class Identity(SQLModel, table=True):
    """One platform account of a person (a person may have several, on different platforms)."""

    __table_args__ = (UniqueConstraint("platform", "platform_user_id"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    platform: str = Field(max_length=16)
    platform_user_id: str = Field(max_length=255)
    chat_id: str = Field(max_length=255)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    last_seen_at: datetime | None = Field(default=None, sa_column=_ts())
    unreachable_at: datetime | None = Field(default=None, sa_column=_ts())
    mac: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # c2p_bot.core.integrity


class Invite(SQLModel, table=True):
    """A one-time invite code, stored only as a hash."""

    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    kind: str | None = Field(default=None, max_length=16)
    issued_by: int | None = Field(default=None)  # person id; None = command line
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=_ts())
    needs_approval: bool = Field(default=False)  # a coordinator invite under "two-person"
    approved_by: int | None = Field(default=None)
    approved_at: datetime | None = Field(default=None, sa_column=_ts())


class AuditEntry(SQLModel, table=True):
    """Append-only audit log (triggers refuse UPDATE and DELETE). Holds ids, never secrets."""

    __tablename__ = "audit_log"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_ts(nullable=False))
    actor_id: int | None = Field(default=None)
    action: str = Field(max_length=64)
    subject: str | None = Field(default=None, max_length=128)
    detail: str | None = Field(default=None, max_length=500)


class AuditRewrite(SQLModel, table=True):
    """Open only inside a ``/forget`` transaction: lets the audit log's triggers accept the
    pseudonymisation of a forgotten person's entries, and nothing else (migration 0006)."""

    __tablename__ = "audit_rewrite"

    pseudonym: str = Field(primary_key=True, max_length=32)


class Conversation(SQLModel, table=True):
    """The state of a guided conversation (onboarding, PIN setup, ...), so a restart resumes it."""

    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    flow: str = Field(max_length=32)
    step: str = Field(max_length=32)
    data: str = Field(default="{}", max_length=4000)  # JSON; never secrets
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class OutboxMessage(SQLModel, table=True):
    """A message to send, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "platform", "delivered_at", "failed_at", "priority"), NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    platform: str = Field(max_length=16)
    chat_id: str = Field(max_length=255)
    person_id: int | None = Field(default=None, foreign_key="person.id", ondelete="CASCADE", index=True)
    identity_id: int | None = Field(default=None)
    priority: int = Field(default=40)
    kind: str = Field(default="reply", max_length=32)
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # protected at rest
    buttons: str = Field(default="[]", max_length=4000)  # JSON rows of [label, payload]
    sensitive: bool = Field(default=False)  # carries a note: deleted from the chat later
    alert_id: int | None = Field(default=None, index=True)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    next_attempt_at: datetime = Field(sa_column=_ts(index=True, nullable=False))
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=300)
    delivered_at: datetime | None = Field(default=None, sa_column=_ts())
    failed_at: datetime | None = Field(default=None, sa_column=_ts())
    platform_message_id: str | None = Field(default=None, max_length=255)
    delete_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    failing_since: datetime | None = Field(default=None, sa_column=_ts())  # first failed send
    mac: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # binds the row to its chat


class SeenEvent(SQLModel, table=True):
    """Platform events already handled (update id, chat+message id, Matrix event id)."""

    __tablename__ = "seen_event"
    __table_args__ = (UniqueConstraint("platform", "event_key"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    event_key: str = Field(max_length=255)
    seen_at: datetime = Field(sa_column=_ts(index=True, nullable=False))


class CheckinClock(SQLModel, table=True):
    """An HRD's schedule and the deadline the sweeper watches (``alert_at``)."""

    __tablename__ = "checkin_clock"
    __table_args__ = (
        Index("ix_clock_state_alert_at", "state", "alert_at"),
        Index("ix_clock_state_remind_at", "state", "remind_at"),
    )

    person_id: int = Field(foreign_key="person.id", primary_key=True, ondelete="CASCADE")
    schedule_kind: str = Field(default="every", max_length=8)  # every | daily
    interval_s: int = Field(default=86400)
    daily_times: str = Field(default="", max_length=200)  # "09:00,21:00" wall clock in timezone
    timezone: str = Field(default="UTC", max_length=64)
    grace_s: int = Field(default=3600)
    state: str = Field(default="ok", max_length=12)  # ok | alerting | paused
    next_due: datetime = Field(sa_column=_ts(nullable=False))
    alert_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    remind_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    paused_until: datetime | None = Field(default=None, sa_column=_ts(index=True))
    pause_remind_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    last_checkin_at: datetime | None = Field(default=None, sa_column=_ts())
    wrong_pins: int = Field(default=0)
    wrong_pin_window_start: datetime | None = Field(default=None, sa_column=_ts())


class Checkin(SQLModel, table=True):
    """One recorded check-in (the note, if any, is a sealed ``Note``)."""

    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    hrd_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    sent_at: datetime = Field(sa_column=_ts(nullable=False))
    received_at: datetime = Field(sa_column=_ts(nullable=False))
    on_time: bool = Field(default=True)


class Match(SQLModel, table=True):
    """An HRD paired with a partner; ``active`` matches receive the HRD's alerts.

    A match has a term (``ends_at``); both sides are asked at ``renew_ask_at`` whether to renew,
    and each one's answer is kept until the term is renewed or ends. ``last_contact_at`` is the
    pair's last explicit exchange (a ``/say`` relay, a logbook entry or an action), and
    ``nudge_at`` when both are nudged if none follows (c2p_bot.core.partnerships, migration 0009).
    """

    __table_args__ = (
        Index("ix_match_status_ends_at", "status", "ends_at"),
        Index("ix_match_status_renew_ask_at", "status", "renew_ask_at"),
        Index("ix_match_status_nudge_at", "status", "nudge_at"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    hrd_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    partner_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    status: str = Field(default="active", max_length=12)  # offered | active | ended | declined
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=_ts())
    mac: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # c2p_bot.core.integrity
    ends_at: datetime | None = Field(default=None, sa_column=_ts())  # the end of the term
    renew_ask_at: datetime | None = Field(default=None, sa_column=_ts())  # None once asked
    hrd_renews: bool | None = Field(default=None)  # the HRD's answer; None: not answered
    partner_renews: bool | None = Field(default=None)
    last_contact_at: datetime | None = Field(default=None, sa_column=_ts())
    nudge_at: datetime | None = Field(default=None, sa_column=_ts())  # None once nudged for this lapse


class Alert(SQLModel, table=True):
    """A raised alarm about an HRD and where it is on the escalation chain."""

    __table_args__ = (
        Index("ix_alert_status_next_step_at", "status", "next_step_at"),
        Index("ix_alert_kind_raised_at", "kind", "raised_at"),  # recent misses by kind (migration 0010)
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    hrd_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=12)  # missed | panic | duress | wrong_pin | session | drill
    status: str = Field(default="open", max_length=12)  # open | acked | resolved
    raised_at: datetime = Field(sa_column=_ts(nullable=False))
    due_at: datetime | None = Field(default=None, sa_column=_ts())
    last_checkin_at: datetime | None = Field(default=None, sa_column=_ts())
    step: int = Field(default=0)
    next_step_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    repeats: int = Field(default=0)
    acked_by: int | None = Field(default=None)
    acked_at: datetime | None = Field(default=None, sa_column=_ts())
    resolved_by: int | None = Field(default=None)
    resolved_at: datetime | None = Field(default=None, sa_column=_ts())
    outcome: str | None = Field(default=None, max_length=16)  # how it ended (c2p_bot.core.outcomes)
    raised_by: int | None = Field(default=None)  # who raised it for the HRD (a drill's coordinator)


class AlertRecipient(SQLModel, table=True):
    """Who has been alerted about an alert, and at which step."""

    __tablename__ = "alert_recipient"
    __table_args__ = (UniqueConstraint("alert_id", "person_id"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True, ondelete="CASCADE")
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    step: int = Field(default=0)
    notified_at: datetime = Field(sa_column=_ts(nullable=False))
    acked_at: datetime | None = Field(default=None, sa_column=_ts())  # when this recipient acknowledged


class Note(SQLModel, table=True):
    """A check-in note, panic note or logbook entry; its text exists only in ``NoteCopy`` rows."""

    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    subject_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")  # the HRD
    author_id: int | None = Field(default=None)
    kind: str = Field(max_length=12)  # checkin | panic | duress | log | resolve | done
    alert_id: int | None = Field(default=None, foreign_key="alert.id", index=True, ondelete="CASCADE")
    checkin_id: int | None = Field(default=None, foreign_key="checkin.id", ondelete="CASCADE")
    created_at: datetime = Field(sa_column=_ts(index=True, nullable=False))
    platform: str | None = Field(default=None, max_length=16)  # where it was written (migration 0006)


class NoteCopy(SQLModel, table=True):
    """A note sealed to one reader's public key, bound to (note, reader) by associated data."""

    __tablename__ = "note_copy"
    __table_args__ = (UniqueConstraint("note_id", "reader_id"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    note_id: int = Field(foreign_key="note.id", index=True, ondelete="CASCADE")
    reader_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Proposal(SQLModel, table=True):
    """A proposed pairing, then an offer to the partner once a coordinator approves it."""

    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    hrd_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    partner_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    kind: str = Field(max_length=16)
    score: float = Field(default=0.0)
    explanation: str = Field(default="", max_length=1000)
    origin: str = Field(default="engine", max_length=12)  # engine | manual
    # pending | offered | accepted | declined | rejected | expired | superseded
    status: str = Field(default="pending", max_length=12)
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    offered_at: datetime | None = Field(default=None, sa_column=_ts())
    offer_expires_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    decided_by: int | None = Field(default=None)
    decided_at: datetime | None = Field(default=None, sa_column=_ts())
    reason: str | None = Field(default=None, max_length=300)
    # A handover (origin "handover", migration 0009): the partner handing over, and whether the HRD
    # lets the successor read their past case logbook: asked | yes | no (None: not asked).
    from_partner_id: int | None = Field(default=None)
    consent: str | None = Field(default=None, max_length=8)


class PartnerAction(SQLModel, table=True):
    """Something a partner (or a coordinator) did for an HRD: a parliamentary question, a letter…
    The words said about it are a sealed ``Note`` (kind ``action``); the kind stays readable for
    the case log and reports. ``alert_id``: the alert open when it was recorded, if any."""

    __tablename__ = "partner_action"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    hrd_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    author_id: int | None = Field(default=None)
    kind: str = Field(max_length=32)
    note_id: int | None = Field(default=None, foreign_key="note.id", index=True, ondelete="SET NULL")
    alert_id: int | None = Field(default=None, foreign_key="alert.id", index=True, ondelete="SET NULL")
    created_at: datetime = Field(sa_column=_ts(index=True, nullable=False))


class Secret(SQLModel, table=True):
    """Secrets kept at rest wrapped by the key-encryption key (and the KEK's verifier)."""

    name: str = Field(primary_key=True, max_length=64)
    blob: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))


class Plan(SQLModel, table=True):
    """An HRD's emergency plan (c2p_bot.core.plans). Its text is never here in clear: ``sealed`` is
    the plan wrapped by the key-encryption key (so the bot can seal it to readers who join later),
    and ``PlanCopy`` rows hold it sealed to each reader; the proof-of-life answer exists only as
    an argon2id hash, itself wrapped by the key-encryption key (like the PINs)."""

    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    hrd_id: int = Field(foreign_key="person.id", unique=True, ondelete="CASCADE")
    version: int = Field(default=0)  # bumped at every change; bound into every sealed copy
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    proof_hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    progress: str = Field(default="", max_length=32)  # the guided /plan's next question; "" = done
    platform: str | None = Field(default=None, max_length=16)  # the most protected it was written on
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))
    reviewed_at: datetime = Field(sa_column=_ts(nullable=False))
    review_at: datetime | None = Field(default=None, sa_column=_ts(index=True))  # next review reminder


class PlanCopy(SQLModel, table=True):
    """A plan sealed to one reader's public key, bound to (plan, version, reader)."""

    __tablename__ = "plan_copy"
    __table_args__ = (UniqueConstraint("plan_id", "reader_id"), NEVER_REUSE_IDS)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="plan.id", index=True, ondelete="CASCADE")
    reader_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
