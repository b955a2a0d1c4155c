"""Sealed notes: check-in notes, panic notes and logbook entries exist only as ciphertext.

Each note is sealed, when written, to the public key of every person entitled to read it (the
HRD's active partners and the active coordinators), bound to (note id, reader id) so a copy
moved to another row or person fails to open. Custodial private keys are wrapped by the KEK;
people who hold their own key get armoured ciphertext the bot cannot open.

A reader whose public key is unusable (a low-order point from an old row, or none at all) is
skipped: the note is sealed to everyone else and the caller's alert goes out regardless; the
coordinators are told, once per bad key, whose key it is (see :func:`report_unusable_keys`).

A note never travels over a less protected channel than the one it was written on (issue 13 H4):
each note records its platform; a note written on Matrix (end-to-end encrypted) is not decrypted
into a Telegram message unless the HRD allowed it (``/profile notes_over_telegram=yes``). A reader
who holds their own key gets the armoured ciphertext anywhere (the bot cannot read it either); a
custodial reader gets :data:`NOTE_ELSEWHERE` ("read it on Matrix", the note goes to their Matrix
identity) or :data:`NOTE_WITHHELD` (they have no channel safe enough) — see :func:`fit_to_channel`.
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
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import Translate
from c2p_bot.core.integrity import refused
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.outbox import Outbox, best_identity
from storage.models import Identity, Match, Note, NoteCopy, Person

log = logging.getLogger(__name__)

MAX_NOTE = 2000

# How well a platform protects what travels over it: Matrix rooms are end-to-end encrypted,
# Telegram chats are readable by Telegram. Console and memory are local (tests, a terminal).
# Email is readable by every mail server on the way: it never carries a note (c2p_bot.core.mail).
PROTECTION = {"email": 0, "telegram": 1, "matrix": 2, "console": 2, "memory": 2}
# Stand-ins for a note's text (like alert_texts.TAMPERED): never sent as such, rendered by alert_text.
NOTE_ELSEWHERE = "\x00note-elsewhere"  # a sealed note waits for the reader on a safer channel
NOTE_WITHHELD = "\x00note-withheld"  # a note exists; this channel is not safe enough for it


def protection(platform: str | None) -> int:
    """0 for email, 1 for channels the platform's operator can read (and unknown ones), 2 for end-to-end."""
    return PROTECTION.get(platform or "", 1)


class Written(Protocol):
    """What the channel rules need to know of a sealed text: whose it is and where it was written
    (a :class:`~storage.models.Note`, or an emergency plan's origin)."""

    @property
    def subject_id(self) -> int: ...
    @property
    def platform(self) -> str | None: ...


class PersonLike(Protocol):
    """What opening a note needs to know about its reader."""

    @property
    def id(self) -> int | None: ...
    @property
    def key_mode(self) -> str: ...
    @property
    def wrapped_private_key(self) -> bytes | None: ...


def armour_headers(note: Note, reader_public: bytes | None) -> list[tuple[str, str]]:
    """What ``c2p-bot decrypt`` shows above a note, and the reader's key mark it checks."""
    headers = [("note", str(note.id)), ("kind", note.kind),
               ("written", note.created_at.strftime("%Y-%m-%dT%H:%MZ"))]
    if note.alert_id is not None:
        headers.append(("alert", str(note.alert_id)))
    if reader_public:
        headers.append(("reader-key", key_mark(reader_public)))
    return headers


def person_context(person_id: int) -> bytes:
    return f"person:{person_id}".encode()


def note_context(note_id: int, reader_id: int) -> bytes:
    return f"note:{note_id}:reader:{reader_id}".encode()


def issue_keys(keyring: Keyring, person: Person) -> None:
    """Give a person a custodial X25519 key pair (private half wrapped by the KEK)."""
    if person.id is None:
        raise InvariantError("person.id is missing (a row not flushed yet?)")
    pair = new_person_keys(keyring.kek, person_context(person.id))
    person.public_key, person.wrapped_private_key, person.key_mode = (
        pair.public, pair.wrapped_private, "custodial")


def readers_of(session: Session, hrd_id: int) -> list[Person]:
    """Who may read notes about an HRD: their active partners and the active coordinators
    (with or without a usable key: :func:`write_note` skips and reports those without)."""
    # Whole match rows, so each one's integrity MAC is checked as it loads (a forged match gets
    # no sealed copy); likewise whole person rows.
    matches = session.exec(select(Match).where(Match.hrd_id == hrd_id, Match.status == "active")).all()
    partner_ids = [m.partner_id for m in matches if not refused(m)]
    # Two indexed reads (by id; by role and status), not one OR that scans every person.
    partners = session.exec(select(Person).where(
        col(Person.id).in_(partner_ids), Person.status == "active")).all() if partner_ids else []
    coordinating = session.exec(select(Person).where(
        Person.role == "coordinator", Person.status == "active")).all()
    readers = {person.id: person for person in [*partners, *coordinating] if not refused(person)}
    return [readers[key] for key in sorted(readers, key=lambda k: k or 0)]


def seal_for(data: bytes, reader: Person, context: bytes) -> bytes | None:
    """``data`` (a note, a plan) sealed to ``reader``, or None when their key is missing or unusable."""
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
    platform: str | None = None,
) -> Note:
    """Store a note sealed to every current reader; the plaintext is not kept.

    A reader whose key is missing or unusable is skipped (never an exception: the caller's alert
    must go out); with ``outbox`` the coordinators are told about them. ``platform`` is where the
    note was written; by default the author's identity that wrote just now (the core marks the
    sender's identity seen before any command runs, so it is their best identity).
    """
    if platform is None and author_id is not None:
        written_on = best_identity(session, author_id)
        platform = written_on.platform if written_on is not None else None
    note = Note(subject_id=subject_id, author_id=author_id, kind=kind, alert_id=alert_id,
                checkin_id=checkin_id, created_at=now, platform=platform)
    session.add(note)
    session.flush()
    if note.id is None:
        raise InvariantError("note.id is missing (a row not flushed yet?)")
    data = text[:MAX_NOTE].encode("utf-8")
    skipped: list[Person] = []
    for reader in readers_of(session, subject_id):
        if reader.id is None:
            raise InvariantError("reader.id is missing (a row not flushed yet?)")
        ciphertext = seal_for(data, reader, note_context(note.id, reader.id))
        if ciphertext is None:
            skipped.append(reader)
            continue
        session.add(NoteCopy(note_id=note.id, reader_id=reader.id, ciphertext=ciphertext))
    if skipped and outbox is not None:
        report_unusable_keys(session, outbox, skipped, now)
    return note


def origin_level(session: Session, note: Written, cache: dict[int, int] | None = None) -> int:
    """How protected the channel a note was written on is. Notes from before migration 0006 have
    no platform: they count as end-to-end when the HRD has a Matrix identity."""
    if note.platform is not None:
        return protection(note.platform)
    cache = cache if cache is not None else {}
    if note.subject_id not in cache:
        platforms = session.exec(select(Identity.platform).where(Identity.person_id == note.subject_id)).all()
        cache[note.subject_id] = max((protection(p) for p in platforms), default=1)
    return cache[note.subject_id]


def shown_over(session: Session, note: Written, platform: str | None) -> bool:
    """Whether the note's text may travel over ``platform`` (as safe as where it was written,
    or the HRD allowed notes over Telegram)."""
    if protection(platform) >= origin_level(session, note):
        return True
    hrd = session.get(Person, note.subject_id)
    return bool(hrd is not None and hrd.notes_over_telegram)


def safer_identity(session: Session, note: Written, reader_id: int) -> Identity | None:
    """The reader's reachable identity on a channel as protected as the note's, if any."""
    needed = origin_level(session, note)
    found = [i for i in session.exec(select(Identity).where(
        Identity.person_id == reader_id, col(Identity.unreachable_at).is_(None))).all()
        if protection(i.platform) >= needed]
    return max(found, key=lambda i: (i.last_seen_at or i.created_at, i.id or 0)) if found else None


def fit_to_channel(session: Session, note: Note | None, reader_id: int, key_mode: str,
                   platform: str | None, shown: str | None) -> tuple[str | None, Identity | None]:
    """What of ``shown`` (the note as :func:`read_note` gives it) may go to the reader over
    ``platform``: itself, or :data:`NOTE_ELSEWHERE` with the safer identity to send it to, or
    :data:`NOTE_WITHHELD`. Armour (own key) and nothing at all travel anywhere."""
    if note is None or shown is None or key_mode == "own" or shown.startswith("\x00"):
        return shown, None
    if shown_over(session, note, platform):
        return shown, None
    safer = safer_identity(session, note, reader_id)
    return (NOTE_ELSEWHERE, safer) if safer is not None else (NOTE_WITHHELD, None)


def read_note(session: Session, keyring: Keyring, note: Note, reader: Person,
              platform: str | None = None) -> str | None:
    """The note as the reader should see it over ``platform``: plaintext (custodial), armour
    (own key), :data:`NOTE_ELSEWHERE`/:data:`NOTE_WITHHELD` (written on a safer channel), or None.

    Without ``platform``, the reader's best identity (for a command, the chat it came from) and
    None in place of the stand-ins, which the caller may not know how to show.
    A copy that fails to open (moved, altered) is reported in the log and shown as unreadable.
    """
    if note.id is None or reader.id is None:
        raise InvariantError("note.id or reader.id are missing (a row not flushed yet?)")
    if platform is None:
        best = best_identity(session, reader.id)
        shown = open_note(session, keyring, note, reader)
        fitted, _safer = fit_to_channel(session, note, reader.id, reader.key_mode,
                                        best.platform if best else None, shown)
        return None if fitted in (NOTE_ELSEWHERE, NOTE_WITHHELD) else fitted
    shown = open_note(session, keyring, note, reader)
    return fit_to_channel(session, note, reader.id, reader.key_mode, platform, shown)[0]


def open_note(session: Session, keyring: Keyring, note: Note, reader: Person) -> str | None:
    """The note for its reader whatever the channel: plaintext (custodial), armour (own key),
    or None (no copy for them)."""
    if note.id is None or reader.id is None:
        raise InvariantError("note.id or reader.id are missing (a row not flushed yet?)")
    copy = session.exec(
        select(NoteCopy).where(NoteCopy.note_id == note.id, NoteCopy.reader_id == reader.id)
    ).first()
    if copy is None:
        return None
    context = note_context(note.id, reader.id)
    if reader.key_mode == "own":
        return armour(copy.ciphertext, context, headers=armour_headers(note, reader.public_key))
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
    if note.id is None or reader.id is None:
        raise InvariantError("note.id or reader.id are missing (a row not flushed yet?)")
    context = note_context(note.id, reader.id)
    if reader.key_mode == "own":
        return armour(ciphertext, context, headers=armour_headers(note, getattr(reader, "public_key", None)))
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
