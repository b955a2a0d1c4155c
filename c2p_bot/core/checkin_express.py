"""The express path of a check-in: ``/checkin [note]`` from an active HRD without a PIN, in a
dozen SQL statements instead of the ORM's units of work, and several check-ins in one transaction
when they arrive together (issue 12: check-ins per second).

It writes exactly the rows the general path writes for such a message (``Core.handle`` →
``checkin_command`` → ``do_checkin``): the seen event, the identity seen now (and its MAC), the
clock moved on, the check-in, the note sealed to every reader, the audit entry and the one reply
every check-in gets, at the priority of every check-in reply; then it commits and wakes the
dispatcher. tests/core/test_checkin_express.py compares both paths row by row.

Anything else goes the general way: a message that is not ``/checkin``/``/ok`` in a private
chat, a sender who is not an active HRD, a PIN holder (so a free and a coerced PIN check-in take
the same path), a guided conversation waiting, an open missed alert to resolve, a risky-event
session not ended, a stale or replayed message, a reader without a usable key, any row whose MAC
fails (the general path reports it), any error. The express path reads before it writes
anything for a message, so such a message leaves nothing behind.

It holds the write lock before it reads (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the clock row is
read ``FOR UPDATE``), so nothing it decided on changes before it commits: a sweep cannot raise a
missed alert between the check that there is none and the clock moving on.

:meth:`ExpressCheckins.run` takes the express check-ins at the head of a list of messages (those a
transport handed over together) into one transaction, committed once before any reply is sent
and before the caller acknowledges any of them: at most :data:`GROUP` messages or
:data:`GROUP_TIME`, since the transaction holds the write lock that sweeps wait for.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import bindparam, exists, func, insert, null, or_, select, update
from sqlalchemy import cast as cast_as
from sqlalchemy.engine import Connection, CursorResult
from sqlmodel import Session

from c2p_bot.core.checkin_record import CHECKIN_REPLY_PRIORITY, checkin_reply
from c2p_bot.core.checkins import arm, next_due_after_checkin
from c2p_bot.core.contention import WriterGate
from c2p_bot.core.crypto import CryptoError, check_public_key, seal
from c2p_bot.core.events import Incoming
from c2p_bot.core.i18n import gettext_for
from c2p_bot.core.integrity import Integrity, for_session, outbox_mac
from c2p_bot.core.notes import MAX_NOTE, note_context
from c2p_bot.core.outbox import Envelope, Outbox
from c2p_bot.core.parsing import clean_text, parse_command
from c2p_bot.core.registry import CommandRegistry
from c2p_bot.core.risk_sessions import CURRENT
from c2p_bot.core.roles import Role
from c2p_bot.core.settings import CoreSettings
from storage.bulk import insert_many, table_of
from storage.models import (
    Alert,
    AuditEntry,
    Checkin,
    CheckinClock,
    Conversation,
    Identity,
    Match,
    Note,
    NoteCopy,
    OutboxMessage,
    Person,
    RiskSession,
    SeenEvent,
)

log = logging.getLogger(__name__)

GROUP = 64  # check-ins in one transaction at most
GROUP_TIME = 0.05  # seconds: no more check-ins join a transaction open this long (their replies wait for it)

SEEN, IDENTITY, PERSON, CLOCK = table_of(SeenEvent), table_of(Identity), table_of(Person), table_of(CheckinClock)
ALERT, RISK, CONVERSATION = table_of(Alert), table_of(RiskSession), table_of(Conversation)
OUTBOX = table_of(OutboxMessage)
CHECKIN, NOTE, COPY, MATCH, AUDIT = (table_of(Checkin), table_of(Note), table_of(NoteCopy), table_of(Match),
                                     table_of(AuditEntry))
OTHER_IDENTITY = IDENTITY.alias("other_identity")

# The sender, their person, their clock (locked on PostgreSQL) and what would send the message the
# general way (a replay, a conversation, a missed alert, a session, a reply already queued), in one
# statement.
SENDER = (
    select(
        IDENTITY.c.id, IDENTITY.c.person_id, IDENTITY.c.chat_id, IDENTITY.c.mac,
        PERSON.c.role, PERSON.c.status, PERSON.c.public_key, PERSON.c.key_mode, PERSON.c.mac,
        PERSON.c.pin_hash.is_not(None), PERSON.c.ui_language,
        CLOCK.c.schedule_kind, CLOCK.c.interval_s, CLOCK.c.daily_times, CLOCK.c.timezone, CLOCK.c.grace_s,
        CLOCK.c.state, CLOCK.c.next_due, CLOCK.c.alert_at, CLOCK.c.last_checkin_at,
        exists().where(SEEN.c.platform == bindparam("platform"), SEEN.c.event_key == bindparam("event")),
        exists().where(CONVERSATION.c.person_id == PERSON.c.id),
        # (= … OR = …, not IN: a literal IN list is re-rendered at every execution)
        exists().where(ALERT.c.hrd_id == PERSON.c.id, or_(*(ALERT.c.status == s for s in ("open", "acked"))),
                       ALERT.c.kind == "missed"),
        exists().where(RISK.c.hrd_id == PERSON.c.id, or_(*(RISK.c.state == s for s in CURRENT))),
        exists().where(OUTBOX.c.idempotency_key == bindparam("reply_key")),
        select(func.count()).where(OTHER_IDENTITY.c.person_id == PERSON.c.id).scalar_subquery(),
    )
    .select_from(IDENTITY.join(PERSON, PERSON.c.id == IDENTITY.c.person_id)
                 .join(CLOCK, CLOCK.c.person_id == PERSON.c.id))
    .where(IDENTITY.c.platform == bindparam("platform"), IDENTITY.c.platform_user_id == bindparam("user"))
    .with_for_update(of=CLOCK)
)
# The HRD's reachable identities (and the sender's, reachable from now on): where a note is written.
IDENTITIES = select(IDENTITY.c.id, IDENTITY.c.person_id, IDENTITY.c.platform, IDENTITY.c.platform_user_id,
                    IDENTITY.c.chat_id, IDENTITY.c.mac, IDENTITY.c.last_seen_at, IDENTITY.c.created_at).where(
    IDENTITY.c.person_id == bindparam("person"),
    IDENTITY.c.unreachable_at.is_(None) | (IDENTITY.c.id == bindparam("sender")))
READER = (PERSON.c.id, PERSON.c.role, PERSON.c.status, PERSON.c.public_key, PERSON.c.key_mode, PERSON.c.mac)
# c2p_bot.core.notes.readers_of: every active match (each MAC checked) with its partner if active,
# then every active coordinator (no match: NULL match columns), in one statement.
READERS = (
    select(MATCH.c.id, MATCH.c.partner_id, MATCH.c.status, MATCH.c.mac, *READER)
    .select_from(MATCH.outerjoin(PERSON, (PERSON.c.id == MATCH.c.partner_id) & (PERSON.c.status == "active")))
    .where(MATCH.c.hrd_id == bindparam("hrd"), MATCH.c.status == "active")
    .union_all(select(*(cast_as(null(), column.type) for column in (MATCH.c.id, MATCH.c.partner_id, MATCH.c.status,
                                                                      MATCH.c.mac)), *READER)
               .where(PERSON.c.role == "coordinator", PERSON.c.status == "active"))
)
TOUCH_IDENTITY = update(IDENTITY).where(IDENTITY.c.id == bindparam("identity")).values(
    last_seen_at=bindparam("now"), unreachable_at=None, chat_id=bindparam("chat"))
TOUCH_IDENTITY_MAC = TOUCH_IDENTITY.values(mac=bindparam("new_mac"))
MOVE_CLOCK = update(CLOCK).where(CLOCK.c.person_id == bindparam("person")).values(
    last_checkin_at=bindparam("sent"), state="ok", paused_until=None, pause_remind_at=None,
    next_due=bindparam("due"), alert_at=bindparam("alarm"), remind_at=bindparam("reminder"))
NEW_CHECKINS = insert(CHECKIN).returning(CHECKIN.c.id, sort_by_parameter_order=True)
NEW_NOTES = insert(NOTE).returning(NOTE.c.id, sort_by_parameter_order=True)


class ExpressCore(Protocol):
    """What the express path uses of the core (:class:`c2p_bot.core.service.Core`)."""

    @property
    def config(self) -> CoreSettings: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def commands(self) -> CommandRegistry: ...
    @property
    def bot_names(self) -> set[str]: ...
    @property
    def gate(self) -> WriterGate: ...

    def session(self) -> Session: ...
    def commit(self, session: Session) -> None: ...


class NotExpress(Exception):  # noqa: N818 - a decision, not an error
    """This message goes the general way (nothing is written for it)."""


@dataclass
class _Clock:
    """The clock's columns :func:`~c2p_bot.core.checkins.arm` and ``schedule_of`` use."""

    schedule_kind: str
    interval_s: int
    daily_times: str
    timezone: str
    grace_s: int
    next_due: datetime
    alert_at: datetime | None
    remind_at: datetime | None = None


@dataclass(frozen=True)
class _Plan:
    """One express check-in, decided: what it writes."""

    incoming: Incoming
    now: datetime
    sent_at: datetime
    late: bool
    identity_id: int
    person_id: int
    ui_language: str
    clock: _Clock  # moved on
    note: str
    readers: list[tuple[int, bytes]]  # (id, public key) by id
    written_on: str | None
    reply_key: str


class ExpressCheckins:
    """The express path; the core calls :meth:`run` before its general path."""

    def __init__(self, core: ExpressCore, handlers: set[Callable[..., None]]) -> None:
        self.core = core
        self.handlers = handlers  # the command handlers this path stands in for (checkin_command)

    def wanted(self, incoming: Incoming) -> str | None:
        """The note of a message that may be an express check-in ("" for none), else None."""
        if not (incoming.is_private and incoming.event_id):
            return None
        command = parse_command(clean_text(incoming.text))
        if command is None:
            return None
        spec = self.core.commands.lookup(command.name) if command.name else None
        if spec is None or spec.handler not in self.handlers or Role.HRD not in spec.roles:
            return None
        if command.addressed_to:
            names = {name.lower() for name in self.core.bot_names}
            if names and command.addressed_to.lower() not in names:
                return None
        return command.args

    def run(self, incomings: Sequence[Incoming], now: Callable[[], datetime]) -> list[datetime | None]:
        """Handle the express check-ins at the head of ``incomings`` (in order) in one transaction
        and commit it; returns, for each one handled, the earliest deadline its clock now has (the
        only thing it changed that the sweeper watches). Empty: the first goes the general way."""
        if not incomings or self.wanted(incomings[0]) is None:
            return []
        plans: list[_Plan] = []
        began = time.monotonic()
        try:
            with self.core.session() as session:
                connection = session.connection()
                if connection.dialect.name == "sqlite":
                    connection.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock before any read
                integrity = for_session(session)
                events: set[tuple[str, str | None]] = set()
                for incoming in incomings[:GROUP]:
                    note = self.wanted(incoming)
                    if note is None or (incoming.platform, incoming.event_id) in events:
                        break  # after the commit, the general path (a replay in the batch: dropped)
                    if plans and (time.monotonic() - began > GROUP_TIME or self.core.gate.busy):
                        break  # the sweeps and dispatchers wait for this transaction's write lock
                    try:
                        plan = self._plan(connection, integrity, incoming, note, now())
                    except NotExpress:
                        break
                    if any(p.person_id == plan.person_id for p in plans):
                        break  # read before the first one's writes: the next run reads it again
                    plans.append(plan)
                    events.add((incoming.platform, incoming.event_id))
                if plans:
                    self._write(session, connection, integrity, plans)
                    self.core.commit(session)
                else:
                    session.rollback()
            # the clock's deadlines the sweeper wakes for (None, never expected: the alarm re-reads)
            return [min((m for m in (p.clock.alert_at, p.clock.remind_at) if m is not None), default=None)
                    for p in plans]
        except Exception:  # nothing was kept: the general path handles the first one from scratch
            log.warning("express check-ins on %s fell back to the general path", incomings[0].platform,
                        exc_info=True)
            return []

    # -- one check-in ----------------------------------------------------------------------

    def _plan(self, connection: Connection, integrity: Integrity | None, incoming: Incoming, note: str,
              now: datetime) -> _Plan:
        """Read what decides the check-in (no write); :class:`NotExpress` if it goes the general way."""
        reply_key = f"in:{incoming.platform}:{incoming.event_id}:1"  # Context.reply's first key
        row = connection.execute(SENDER, {"platform": incoming.platform, "user": incoming.sender_id,
                                          "event": incoming.event_id, "reply_key": reply_key}).first()
        if row is None:
            raise NotExpress  # a stranger, or no clock yet
        (identity_id, person_id, chat_id, identity_mac, role, status, public_key, key_mode, person_mac,
         has_pin, ui_language, schedule_kind, interval_s, daily_times, timezone, grace_s, state, next_due,
         alert_at, last_checkin_at, replayed, talking, missed, in_session, replied, identities) = row
        if (role != "hrd" or status != "active" or has_pin or replayed or talking or missed or in_session
                or replied or state not in ("ok", "paused")):
            raise NotExpress
        if integrity is not None and not (
                integrity.ok("identity", (identity_id, person_id, incoming.platform, incoming.sender_id, chat_id),
                             identity_mac)
                and integrity.ok("person", (person_id, role, status, public_key, key_mode), person_mac)):
            raise NotExpress  # the general path refuses and reports it
        sent_at = min(incoming.sent_at or now, now)
        if last_checkin_at is not None and sent_at <= last_checkin_at:
            raise NotExpress  # stale: the general path answers without recording
        readers = self._readers(connection, integrity, person_id) if note else []
        written_on = (self._written_on(connection, integrity, incoming, person_id, identity_id, identities, now)
                      if note else None)
        # c2p_bot.core.checkins.record_checkin
        clock = _Clock(schedule_kind, interval_s, daily_times, timezone, grace_s, next_due, alert_at)
        config = self.core.config
        due = next_due_after_checkin(cast(CheckinClock, clock), sent_at, config)
        while due <= now:  # an old message read late: the next deadline is still in the future
            due = next_due_after_checkin(cast(CheckinClock, clock), due, config)
        arm(cast(CheckinClock, clock), due, config, now)
        return _Plan(incoming, now, sent_at, alert_at is not None and sent_at > alert_at, identity_id, person_id,
                     ui_language, clock, note, readers, written_on, reply_key)

    def _write(self, session: Session, connection: Connection, integrity: Integrity | None,
               plans: list[_Plan]) -> None:
        """The general path's rows for ``plans`` (one HRD each): a statement per table, in their order."""
        connection.execute(MOVE_CLOCK, [{"person": p.person_id, "sent": p.sent_at, "due": p.clock.next_due,
                                         "alarm": p.clock.alert_at, "reminder": p.clock.remind_at} for p in plans])
        checkins = _new_ids(connection.execute(NEW_CHECKINS, [
            {"hrd_id": p.person_id, "sent_at": p.sent_at, "received_at": p.now, "on_time": not p.late} for p in plans]))
        noted = [(p, checkin) for p, checkin in zip(plans, checkins, strict=True) if p.note]
        notes = _new_ids(connection.execute(NEW_NOTES, [
            {"subject_id": p.person_id, "author_id": p.person_id, "kind": "checkin", "alert_id": None,
             "checkin_id": checkin, "created_at": p.now, "platform": p.written_on} for p, checkin in noted])) \
            if noted else []
        copies = [{"note_id": note_id, "reader_id": reader_id,
                   "ciphertext": seal(p.note[:MAX_NOTE].encode("utf-8"), public, note_context(note_id, reader_id))}
                  for (p, _checkin), note_id in zip(noted, notes, strict=True) for reader_id, public in p.readers]
        touched: list[dict[str, object]] = [
            {"identity": p.identity_id, "now": p.now, "chat": p.incoming.chat_id} for p in plans]
        if integrity is not None:  # the ORM's before_update: the MAC over the new chat id
            for p, touch in zip(plans, touched, strict=True):
                touch["new_mac"] = integrity.mac("identity", (p.identity_id, p.person_id, p.incoming.platform,
                                                              p.incoming.sender_id, p.incoming.chat_id))
        connection.execute(TOUCH_IDENTITY_MAC if integrity is not None else TOUCH_IDENTITY, touched)
        insert_many(connection, SEEN, [{"platform": p.incoming.platform, "event_key": p.incoming.event_id,
                                        "seen_at": p.now} for p in plans])
        insert_many(connection, COPY, copies)
        insert_many(connection, AUDIT, [{"at": p.now, "actor_id": p.person_id, "action": "checkin",
                                         "subject": f"person:{p.person_id}", "detail": "late" if p.late else "on time"}
                                        for p in plans])
        insert_many(connection, OUTBOX, [outbox_mac(session, self.core.outbox.row_values(
            session, Envelope(p.incoming.platform, p.incoming.chat_id, CHECKIN_REPLY_PRIORITY, "reply", p.person_id,
                              p.identity_id),
            text=_reply(p), now=p.now, key=p.reply_key)) for p in plans])

    def _readers(self, connection: Connection, integrity: Integrity | None, hrd_id: int) -> list[tuple[int, bytes]]:
        """(id, public key) of everyone the note is sealed to (c2p_bot.core.notes.readers_of), by id."""
        found: dict[int, bytes] = {}
        for match_id, partner_id, match_status, match_mac, *reader in connection.execute(
                READERS, {"hrd": hrd_id}).all():
            if match_id is not None and integrity is not None and not integrity.ok(
                    "match", (match_id, hrd_id, partner_id, match_status), match_mac):
                raise NotExpress
            reader_id, role, status, public_key, key_mode, mac = reader
            if reader_id is None:
                continue  # a match whose partner is not active
            if integrity is not None and not integrity.ok("person", (reader_id, role, status, public_key, key_mode),
                                                          mac):
                raise NotExpress
            if not public_key:
                raise NotExpress  # the general path skips them and tells the coordinators
            public = bytes(public_key)
            try:
                check_public_key(public)
            except (CryptoError, ValueError, TypeError):
                raise NotExpress from None
            found[reader_id] = public
        return sorted(found.items())

    def _written_on(self, connection: Connection, integrity: Integrity | None, incoming: Incoming, person_id: int,
                    sender_id: int, identities: int, now: datetime) -> str:
        """The platform of the HRD's best identity once the sender's is seen now (outbox.best_identity)."""
        if identities == 1:
            return incoming.platform
        best: tuple[datetime, int] | None = None
        platform = incoming.platform
        for identity_id, owner, on, user, chat, mac, last_seen, created in connection.execute(
                IDENTITIES, {"person": person_id, "sender": sender_id}).all():
            if identity_id == sender_id:
                last_seen = now
            elif integrity is not None and not integrity.ok("identity", (identity_id, owner, on, user, chat), mac):
                raise NotExpress
            rank = (last_seen or created, identity_id)
            if best is None or rank > best:
                best, platform = rank, on
        return platform


def _new_ids(result: CursorResult[Any]) -> list[int]:
    return [int(row[0]) for row in result.all()]


def _reply(plan: _Plan) -> str:
    _ = gettext_for(plan.ui_language)
    return checkin_reply(_, _.when(plan.clock.next_due, plan.clock.timezone))
