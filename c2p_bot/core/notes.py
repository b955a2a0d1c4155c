"""Sealed notes: check-in notes, panic notes and logbook entries exist only as ciphertext.

Each note is sealed, when written, to the public key of every person entitled to read it (the
HRD's active partners and the active coordinators), bound to (note id, reader id) so a copy
moved to another row or person fails to open. Custodial private keys are wrapped by the KEK;
people who hold their own key get armoured ciphertext the bot cannot open.
"""

from __future__ import annotations

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
from c2p_bot.core.keyring import Keyring
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
    """Who may read notes about an HRD: their active partners and the active coordinators."""
    partner_ids = select(Match.partner_id).where(Match.hrd_id == hrd_id, Match.status == "active")
    people = session.exec(
        select(Person).where(
            Person.status == "active",
            (col(Person.id).in_(partner_ids)) | (Person.role == "coordinator"),
        )
    ).all()
    return [p for p in people if p.public_key]


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
) -> Note:
    """Store a note sealed to every current reader; the plaintext is not kept."""
    note = Note(subject_id=subject_id, author_id=author_id, kind=kind, alert_id=alert_id,
                checkin_id=checkin_id, created_at=now)
    session.add(note)
    session.flush()
    assert note.id is not None
    data = text[:MAX_NOTE].encode("utf-8")
    for reader in readers_of(session, subject_id):
        assert reader.id is not None and reader.public_key is not None
        session.add(NoteCopy(note_id=note.id, reader_id=reader.id,
                             ciphertext=seal(data, reader.public_key, note_context(note.id, reader.id))))
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
