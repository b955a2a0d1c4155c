"""Row integrity: rows that decide where an alert goes or who may read carry a MAC (issue 13 M).

Someone with write access to the database but not the key-encryption key could otherwise
redirect alerts (``identity.chat_id``, ``outbox.chat_id``), read future notes (``public_key``,
``role``, a forged ``match``) or hijack an account (``identity.platform_user_id``). Each such row
carries ``mac`` = HMAC-SHA256 over its deciding columns, keyed with a subkey derived from the KEK:

==========  ==============================================================
person      id, role, status, public_key, key_mode
identity    id, person_id, platform, platform_user_id, chat_id
match       id, hrd_id, partner_id, status
outbox      idempotency_key, platform, chat_id, person_id, identity_id
email       id, person_id, address, confirmed  (``email_address``)
==========  ==============================================================

* **Writes** through the ORM set the MAC (mapper events: ``before_update``; ``after_insert`` once
  the id exists; outbox rows ``before_insert``). Bulk inserts call :func:`outbox_mac`.
* **Reads** through the ORM are verified as each row loads. A row that fails is *refused*: its
  deciding columns are replaced, in memory only, by harmless values (a person gets the role and
  status ``refused`` and no public key, so no command and no sealed copy; an identity belongs to
  nobody, so its chat gets nothing and its sender is a stranger; a match is not ``active``; a
  queued message cannot be leased and is marked failed). A refused row is never re-MAC'd.
  Code that reads columns without the ORM (the sweeper's batch path) calls :meth:`Integrity.ok`.
* **Reports**: each refused row is logged, audited and told to every coordinator once (without
  secrets), when the session that found it commits.
* **Existing rows** (before migration 0005) have no MAC: until :func:`seal_existing` has run once
  with the key (``c2p-bot run`` does, at start), a missing MAC is trusted; afterwards (the
  ``integrity-sealed`` marker) a missing MAC is refused like a wrong one.

Limits (see SECURITY.md): a MAC binds a row's columns, not its history, so an attacker can put
back an older version of the same row (an ended match's earlier ``active`` state with its MAC);
deleting rows (a match, an identity) is not detected; and deleting the marker together with
every MAC makes the next start trust the rows as they are (it says so in the log and the audit).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, inspect, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from c2p_bot.core.crypto import Kek
from c2p_bot.core.i18n import N_
from storage.models import AuditEntry, EmailAddress, Identity, Match, OutboxMessage, Person, Secret

log = logging.getLogger(__name__)

SEALED = "integrity-sealed"
REFUSED = "refused"
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)  # a refused outbox row's lease time: never leased
FIELDS: dict[str, tuple[str, ...]] = {
    "person": ("id", "role", "status", "public_key", "key_mode"),
    "identity": ("id", "person_id", "platform", "platform_user_id", "chat_id"),
    "match": ("id", "hrd_id", "partner_id", "status"),
    "outbox": ("idempotency_key", "platform", "chat_id", "person_id", "identity_id"),
    "email": ("id", "person_id", "address", "confirmed"),
}
MODELS: dict[type, str] = {Person: "person", Identity: "identity", Match: "match", OutboxMessage: "outbox",
                           EmailAddress: "email"}
WHAT = {
    "person": N_("a person's role, status or key"),
    "identity": N_("a chat account"),
    "match": N_("a match"),
    "outbox": N_("a queued message's destination"),
    "email": N_("an email address"),
}
REPORT = N_("⚠ Integrity check failed: {what} (record {table} #{id}) was changed outside the bot, "
            "without its key. The bot does not use it: nothing is sent to it and it grants no "
            "access. Check who can write to the database; /audit has the entry.")


def _encode(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    return value


class Integrity:
    """The MAC key of one database (derived from its KEK) and what it has refused."""

    def __init__(self, kek: Kek, sealed: bool) -> None:
        # A subkey: the KEK itself never keys anything but its AEAD.
        self._key = hmac.new(kek._key, b"c2p-bot row integrity v1", hashlib.sha256).digest()  # noqa: SLF001
        self.sealed = sealed
        self.reported: set[tuple[str, str]] = set()
        # Set by the keyring: tells every coordinator of a refused row (c2p_bot.core.refusals).
        self.tell: Callable[[OrmSession, str, str, datetime], None] | None = None
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # the core's clock in tests

    def mac(self, table: str, values: Sequence[object]) -> bytes:
        message = json.dumps([table, *(_encode(v) for v in values)], separators=(",", ":")).encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def mac_of(self, table: str, row: object) -> bytes:
        return self.mac(table, [getattr(row, name) for name in FIELDS[table]])

    def ok(self, table: str, values: Sequence[object], mac: bytes | None) -> bool:
        """Whether ``values`` (in ``FIELDS[table]`` order) match ``mac``; cheap (one HMAC)."""
        if mac is None:
            return not self.sealed
        return hmac.compare_digest(mac, self.mac(table, values))


_BY_ENGINE: weakref.WeakKeyDictionary[Engine, Integrity] = weakref.WeakKeyDictionary()


def install(engine: Engine, kek: Kek) -> Integrity:
    """Check and set MACs on every session bound to ``engine`` from now on."""
    sealed = False
    try:
        with Session(engine) as session:
            sealed = session.get(Secret, SEALED) is not None
    except Exception:  # noqa: BLE001 - a database without the table yet: nothing is sealed
        sealed = False
    integrity = Integrity(kek, sealed)
    _BY_ENGINE[engine] = integrity
    return integrity


def for_session(session: OrmSession) -> Integrity | None:
    bind = session.bind
    engine = getattr(bind, "engine", bind)
    return _BY_ENGINE.get(engine) if isinstance(engine, Engine) else None


def refused(row: object) -> bool:
    """Whether an ORM row failed its integrity check when it was loaded."""
    try:
        return bool(inspect(row).info.get(REFUSED))
    except Exception:  # noqa: BLE001 - not an ORM object
        return False


def outbox_mac(session: Session, values: dict[str, object]) -> dict[str, object]:
    """Add the MAC to an outbox row's column values (bulk inserts); returns ``values``."""
    integrity = for_session(session)
    if integrity is not None:
        values["mac"] = integrity.mac("outbox", [values.get(name) for name in FIELDS["outbox"]])
    return values


def note_refusal(session: OrmSession, table: str, row_id: object) -> None:
    """Remember a refused row so the session reports it when it commits."""
    session.info.setdefault("integrity_refused", []).append((table, str(row_id)))


# -- ORM events ----------------------------------------------------------------------------


def _on_load(target: Any, context: Any, *_attrs: Any) -> None:
    session = getattr(context, "session", None)
    if session is None:
        return
    integrity = for_session(session)
    if integrity is None:
        return
    table = MODELS[type(target)]
    state = inspect(target)
    if any(name not in state.dict for name in (*FIELDS[table], "mac")):
        return  # a partial load: the full one checks
    values = [state.dict[name] for name in FIELDS[table]]
    if table == "outbox" and (state.dict.get("delivered_at") is not None
                              or state.dict.get("failed_at") is not None):
        return  # only what is still to be sent decides anything
    if integrity.ok(table, values, state.dict["mac"]):
        return
    state.info[REFUSED] = True
    if table == "person":
        set_committed_value(target, "role", REFUSED)
        set_committed_value(target, "status", REFUSED)
        set_committed_value(target, "public_key", None)
    elif table == "identity":
        set_committed_value(target, "person_id", -1)
    elif table == "match":
        set_committed_value(target, "status", REFUSED)
    elif table == "email":  # never written to: not confirmed, and nobody's
        set_committed_value(target, "confirmed", False)
        set_committed_value(target, "person_id", -1)
    else:
        set_committed_value(target, "next_attempt_at", _NEVER)
    note_refusal(session, table, state.dict.get("id"))


def _before_update(_mapper: Any, _connection: Any, target: Any) -> None:
    session = OrmSession.object_session(target)
    integrity = for_session(session) if session is not None else None
    if integrity is None or refused(target):
        return  # a refused row stays refused: never launder it with a fresh MAC
    target.mac = integrity.mac_of(MODELS[type(target)], target)


def _after_insert(mapper: Any, connection: Any, target: Any) -> None:
    session = OrmSession.object_session(target)
    integrity = for_session(session) if session is not None else None
    if integrity is None:
        return
    mac = integrity.mac_of(MODELS[type(target)], target)
    table = mapper.local_table
    connection.execute(update(table).where(table.c.id == target.id).values(mac=mac))
    set_committed_value(target, "mac", mac)


def _before_insert_outbox(_mapper: Any, _connection: Any, target: Any) -> None:
    session = OrmSession.object_session(target)
    integrity = for_session(session) if session is not None else None
    if integrity is not None:
        target.mac = integrity.mac_of("outbox", target)


def _before_commit(session: OrmSession) -> None:
    pending = session.info.pop("integrity_refused", None)
    if not pending:
        return
    integrity = for_session(session)
    if integrity is None:
        return
    for _round in range(3):  # telling coordinators loads them, which may refuse more rows
        for table, row_id in dict.fromkeys(pending):
            _report(session, integrity, table, row_id)
        pending = session.info.pop("integrity_refused", None)
        if not pending:
            return


def _report(session: OrmSession, integrity: Integrity, table: str, row_id: str) -> None:
    now = integrity.clock()
    if table == "outbox" and row_id != "None":
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == int(row_id)).values(
            failed_at=now, last_error="refused: its destination was changed outside the bot"))
    if (table, row_id) in integrity.reported:
        return
    integrity.reported.add((table, row_id))
    subject = f"{table}:{row_id}"
    done = session.execute(select(AuditEntry.id).where(
        AuditEntry.action == "integrity_refused", AuditEntry.subject == subject)).first()
    if done is not None:
        return
    log.warning("integrity: %s #%s was changed outside the bot; refused", table, row_id)
    session.add(AuditEntry(at=now, action="integrity_refused", subject=subject,
                           detail="MAC mismatch: changed without the key"))
    if integrity.tell is not None:
        integrity.tell(session, table, row_id, now)


for _model in (Person, Identity, Match, OutboxMessage, EmailAddress):
    event.listen(_model, "load", _on_load)
    event.listen(_model, "refresh", _on_load)
    event.listen(_model, "before_update", _before_update)
for _model in (Person, Identity, Match, EmailAddress):
    event.listen(_model, "after_insert", _after_insert)
event.listen(OutboxMessage, "before_insert", _before_insert_outbox)
event.listen(OrmSession, "before_commit", _before_commit)


# -- sealing existing rows, rotation ------------------------------------------------------


def seal_existing(engine: Engine, now: datetime) -> int:
    """Give every row without a MAC its MAC, once (``c2p-bot run`` at start, with the key).

    Rows from before migration 0005 are trusted as they are at that moment; once the marker is
    written, a missing MAC is refused. Returns how many rows were sealed now.
    """
    integrity = _BY_ENGINE.get(engine)
    if integrity is None or integrity.sealed:
        return 0
    count = 0
    with Session(engine) as session:
        if session.get(Secret, SEALED) is not None:
            integrity.sealed = True
            return 0
        for model, table in MODELS.items():
            query: Any = select(model).where(col(model.mac).is_(None))  # type: ignore[attr-defined]
            if model is OutboxMessage:
                query = query.where(col(OutboxMessage.delivered_at).is_(None))
            for row in session.exec(query).all():
                session.execute(update(model).where(col(model.id) == row.id).values(  # type: ignore[attr-defined]
                    mac=integrity.mac_of(table, row)))
                count += 1
        session.add(Secret(name=SEALED, blob=now.isoformat().encode(), updated_at=now))
        if count:
            session.add(AuditEntry(at=now, action="integrity_sealed", detail=f"rows={count}"))
        session.commit()
    integrity.sealed = True
    if count:
        log.warning("integrity: %d existing rows got their MAC now and are trusted as they are", count)
    return count


def remac(engine: Engine, session: Session, old: Kek, new: Kek) -> int:
    """Re-MAC every row under ``new`` (``rotate-key``), in the caller's transaction.

    Rows that fail under ``old`` keep a MAC that fails under ``new`` too.
    """
    sealed = session.get(Secret, SEALED) is not None
    before, after = Integrity(old, sealed), Integrity(new, sealed)
    count = 0
    for model, table in MODELS.items():
        columns = [getattr(model, name) for name in ("id", "mac", *FIELDS[table])]
        query: Any = select(*columns)
        if model is OutboxMessage:
            query = query.where(col(OutboxMessage.delivered_at).is_(None))
        for row_id, mac, *values in session.execute(query).all():
            if mac is None and not sealed:
                continue
            good = before.ok(table, values, mac)
            session.execute(update(model).where(col(model.id) == row_id).values(  # type: ignore[attr-defined]
                mac=after.mac(table, values) if good else b"\x00refused"))
            count += good
    return count
