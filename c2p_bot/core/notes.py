"""Sealed notes: check-in notes, panic notes and logbook entries exist only as ciphertext.

Each note is sealed, when written, to the public key of every person entitled to read it (the
HRD's active partners and the active coordinators), bound to (note id, reader id) so a copy
moved to another row or person fails to open. Custodial private keys are wrapped by the KEK;
people who hold their own key get armoured ciphertext the bot cannot open.

A reader whose public key is unusable (a low-order point from an old row, or none at all) is
skipped: the note is sealed to everyone else and the caller's alert goes out regardless; the
coordinators are told, once per bad key, whose key it is (see :func:`report_unusable_keys`).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Protocol

from sqlmodel import Session, col, select

from c2p_bot.core.crypto import (
    CryptoError,
    armour,
    new_person_keys,
    open_sealed,
    seal,
    unwrap_private,
)
from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import Translate
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.outbox import Outbox
from storage.models import Match, Note, NoteCopy, Person

log = logging.getLogger(__name__)

MAX_NOTE = 2000


class PersonLike(Protocol):
    """What opening a note needs to know about its reader."""

    @property
    def id(self) -> int | None: ...
    @property
    def key_mode(self) -> str: ...
    @property
    def wrapped_private_key(self) -> bytes | None: ...


def person_context(person_id: int) -> bytes:
    return f"person:{person_id}".encode()


def note_context(note_id: int, reader_id: int) -> bytes:
    return f"note:{note_id}:reader:{reader_id}".encode()


def issue_keys(keyring: Keyring, person: Person) -> None:
    """Give a person a custodial X25519 key pair (private half wrapped by the KEK)."""
    assert person.id is not None
    pair = new_person_keys(keyring.kek, person_context(person.id))
    person.public_key, person.wrapped_private_key, person.key_mode = (
        pair.public, pair.wrapped_private, "custodial")


def readers_of(session: Session, hrd_id: int) -> list[Person]:
    """Who may read notes about an HRD: their active partners and the active coordinators
    (with or without a usable key: :func:`write_note` skips and reports those without)."""
    partner_ids = select(Match.partner_id).where(Match.hrd_id == hrd_id, Match.status == "active")
    return list(session.exec(
        select(Person).where(
            Person.status == "active",
            (col(Person.id).in_(partner_ids)) | (Person.role == "coordinator"),
        ).order_by(col(Person.id))
    ).all())


def _seal_for(data: bytes, reader: Person, context: bytes) -> bytes | None:
    """The note sealed to ``reader``, or None when their key is missing or unusable."""
    public = reader.public_key
    if not public:
        return None
    try:
        return seal(data, bytes(public), context)
    except (CryptoError, ValueError, TypeError) as error:
        log.warning("person:%s has an unusable public key (%s); notes are not sealed to it",
                    reader.id, getattr(error, "code", type(error).__name__))
        return None


def key_mark(public: bytes | None) -> str:
    """A short, non-secret tag of a public key (or "none"), to report each bad key once."""
    if not public:
        return "none"
    return hashlib.blake2b(bytes(public), digest_size=6, person=b"c2p-key-mark").hexdigest()


def report_unusable_keys(session: Session, outbox: Outbox, skipped: list[Person], now: datetime) -> None:
    """Tell every active coordinator whose key cannot be sealed to (once per person and key)."""
    if not skipped:
        return
    coordinating = session.exec(select(Person).where(
        Person.role == "coordinator", Person.status == "active").order_by(col(Person.id))).all()
    for reader in skipped:
        alias, missing = reader.alias or "?", not reader.public_key

        def render(_: Translate, alias: str = alias, missing: bool = missing) -> str:
            if missing:
                return _("⚠ Notes cannot be sealed for {alias}: no key is registered for them, so "
                         "they get alerts without the notes. Ask them to run c2p-bot keygen and send "
                         "/key with the public key it prints.").format(alias=alias)
            return _("⚠ Notes cannot be sealed for {alias}: the key registered for them is unusable, "
                     "so they get alerts without the notes. Ask them to run c2p-bot keygen and send "
                     "/key with the public key it prints.").format(alias=alias)

        for coordinator in coordinating:
            outbox.to_person(session, coordinator, render, now=now,
                             key=f"unusable-key:{reader.id}:{key_mark(reader.public_key)}:{coordinator.id}",
                             priority=Priority.ESCALATION, kind="notice")


def write_note(
    session: Session,
    *,
    subject_id: int,
    author_id: int | None,
    kind: str,
    text: str,
    now: datetime,
    alert_id: int | None = None,
    checkin_id: int | None = None,
    outbox: Outbox | None = None,
) -> Note:
    """Store a note sealed to every current reader; the plaintext is not kept.

    A reader whose key is missing or unusable is skipped (never an exception: the caller's alert
    must go out); with ``outbox`` the coordinators are told about them.
    """
    note = Note(subject_id=subject_id, author_id=author_id, kind=kind, alert_id=alert_id,
                checkin_id=checkin_id, created_at=now)
    session.add(note)
    session.flush()
    assert note.id is not None
    data = text[:MAX_NOTE].encode("utf-8")
    skipped: list[Person] = []
    for reader in readers_of(session, subject_id):
        assert reader.id is not None
        ciphertext = _seal_for(data, reader, note_context(note.id, reader.id))
        if ciphertext is None:
            skipped.append(reader)
            continue
        session.add(NoteCopy(note_id=note.id, reader_id=reader.id, ciphertext=ciphertext))
    if skipped and outbox is not None:
        report_unusable_keys(session, outbox, skipped, now)
    return note


def read_note(session: Session, keyring: Keyring, note: Note, reader: Person) -> str | None:
    """The note as the reader should see it: plaintext (custodial), armour (own key), or None.

    A copy that fails to open (moved, altered) is reported in the log and shown as unreadable.
    """
    assert note.id is not None and reader.id is not None
    copy = session.exec(
        select(NoteCopy).where(NoteCopy.note_id == note.id, NoteCopy.reader_id == reader.id)
    ).first()
    if copy is None:
        return None
    context = note_context(note.id, reader.id)
    if reader.key_mode == "own":
        return armour(copy.ciphertext, context)
    if reader.wrapped_private_key is None:
        return None
    try:
        private = unwrap_private(keyring.kek, reader.wrapped_private_key, person_context(reader.id))
        return open_sealed(copy.ciphertext, private, context).decode("utf-8")
    except CryptoError:
        log.error("note %s for reader %s failed its integrity check (tampered or moved)",
                  note.id, reader.id)
        raise


def open_copy(keyring: Keyring, note: Note, reader: Person | PersonLike, ciphertext: bytes,
              private_keys: dict[int, bytes] | None = None) -> str | None:
    """Like :func:`read_note` for a copy already loaded (batch paths); caches unwrapped keys."""
    assert note.id is not None and reader.id is not None
    context = note_context(note.id, reader.id)
    if reader.key_mode == "own":
        return armour(ciphertext, context)
    if reader.wrapped_private_key is None:
        return None
    cache = private_keys if private_keys is not None else {}
    if reader.id not in cache:
        cache[reader.id] = unwrap_private(keyring.kek, reader.wrapped_private_key, person_context(reader.id))
    try:
        return open_sealed(ciphertext, cache[reader.id], context).decode("utf-8")
    except CryptoError:
        log.error("note %s for reader %s failed its integrity check (tampered or moved)", note.id, reader.id)
        raise


def latest_note(session: Session, hrd_id: int, kinds: tuple[str, ...]) -> Note | None:
    return session.exec(
        select(Note).where(Note.subject_id == hrd_id, col(Note.kind).in_(kinds))
        .order_by(col(Note.created_at).desc(), col(Note.id).desc())
    ).first()
