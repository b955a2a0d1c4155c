"""What ``/forget`` must not leave behind: chat ids in the outbox and de-duplication keys, and the
person's id in the audit log (issue 13 L, "less metadata").

``/forget`` deletes the person row; the database cascades to their identities, clocks, notes and
the outbox rows addressed to them. Their email address and every email to it are deleted here
explicitly. This module also removes what the cascade cannot see:

* outbox rows sent to one of their chats without naming them (replies before they registered,
  deletions of messages that held a PIN) — messages of theirs that were still to be deleted from
  the chat are deleted now instead; the goodbye itself must be sent, so :func:`scrub_sent` removes
  sent rows whose chat belongs to nobody (it runs with the sweeper);
* ``seen_event`` keys that embed their chat id (Telegram's ``m:CHAT:MESSAGE``). A platform that
  re-delivers the ``/forget`` message after a crash then finds a stranger, who learns nothing;
* the audit log, append-only by database triggers. Their entries are **pseudonymised** in place
  (``person:17`` becomes ``anon:3f9a…``, a random pseudonym per forgotten person; an entry they
  acted in loses its ``actor_id`` and says ``actor=anon:…``), through the one sanctioned rewrite
  path of migration 0006: inside this transaction an ``audit_rewrite`` row naming the pseudonym
  opens the triggers for updates that keep each entry's id, time and action and carry the
  pseudonym, and the row is gone again before commit. The log keeps its shape (what happened,
  when, and that it was the same person) without saying who; DELETE stays impossible.

Why not pseudonyms from the start: audit subjects and details are written by every part of the
core as ``person:ID`` (and coordinators read them with ``/audit``); a mapping table would have to
be consulted by every reader and would itself link the pseudonym to the person until erased —
the same erasure this rewrite does, with a far larger change. Backups taken before ``/forget``
still hold the old entries: that is a retention matter for the operator (SECURITY.md).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, exists, or_
from sqlmodel import Session, col, delete, select

from c2p_bot.core.email_addresses import forget_address
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import DELETE_MESSAGE, Priority
from storage.models import AuditEntry, AuditRewrite, EmailAddress, Identity, OutboxMessage, Person, SeenEvent

if TYPE_CHECKING:
    from c2p_bot.core.context import Context
    from c2p_bot.core.service import Core

FORGOTTEN = "forgotten_people"  # session.info key: person id -> pseudonym, for later audit entries
SCRUB_CHUNK = 500


def pseudonymise_text(text: str | None, person_id: int, pseudonym: str) -> str | None:
    if text is None:
        return None
    return re.sub(rf"\bperson:{person_id}\b", pseudonym, text)


def forget_traces(ctx: Context, person: Person) -> None:
    """A forget hook: runs in the ``/forget`` transaction, before the person row is deleted."""
    if person.id is None:
        raise InvariantError("person.id is missing (a row not flushed yet?)")
    session = ctx.session
    session.flush()
    chats = {(i.platform, i.chat_id) for i in session.exec(
        select(Identity).where(Identity.person_id == person.id)).all()}
    if ctx.incoming.is_private:
        chats.add((ctx.incoming.platform, ctx.incoming.chat_id))
    for platform, chat_id in chats:
        _clear_chat(ctx, platform, chat_id)
    for address in session.exec(select(EmailAddress).where(EmailAddress.person_id == person.id)).all():
        forget_address(session, address)  # and every email to it (c2p_bot.core.email_addresses)
    pseudonymise(session, person.id)


def _clear_chat(ctx: Context, platform: str, chat_id: str) -> None:
    session = ctx.session
    in_chat = and_(col(OutboxMessage.platform) == platform, col(OutboxMessage.chat_id) == chat_id)
    # Messages that carried notes and wait to be deleted from the chat: delete them now.
    pending = session.exec(select(OutboxMessage).where(
        in_chat, col(OutboxMessage.delete_at).is_not(None),
        col(OutboxMessage.platform_message_id).is_not(None))).all()
    wanted = [row.platform_message_id for row in pending if row.platform_message_id]
    session.execute(delete(OutboxMessage).where(in_chat))
    session.execute(delete(SeenEvent).where(
        col(SeenEvent.platform) == platform,
        col(SeenEvent.event_key).contains(f":{chat_id}:", autoescape=True)))
    for message_id in wanted:
        ctx.core.outbox.to_chat(
            session, platform=platform, chat_id=chat_id, text=message_id, now=ctx.now,
            key=f"forget-delete:{secrets.token_hex(8)}", priority=Priority.REPLY, kind=DELETE_MESSAGE)


def pseudonymise(session: Session, person_id: int) -> str:
    """Rewrite the person's audit entries under a new random pseudonym (the sanctioned path)."""
    pseudonym = f"anon:{secrets.token_hex(6)}"
    session.info.setdefault(FORGOTTEN, {})[person_id] = pseudonym
    reference = f"person:{person_id}"
    entries = session.exec(select(AuditEntry).where(or_(
        col(AuditEntry.actor_id) == person_id,
        col(AuditEntry.subject).contains(reference, autoescape=True),
        col(AuditEntry.detail).contains(reference, autoescape=True)))).all()
    gate = AuditRewrite(pseudonym=pseudonym)
    session.add(gate)
    session.flush()
    for entry in entries:
        subject = pseudonymise_text(entry.subject, person_id, pseudonym)
        detail = pseudonymise_text(entry.detail, person_id, pseudonym)
        actor = entry.actor_id
        if actor == person_id:
            actor, detail = None, f"actor={pseudonym}" + (f" {detail}" if detail else "")
        if (subject, detail, actor) == (entry.subject, entry.detail, entry.actor_id):
            continue  # "person:170" matched the LIKE, not the person
        entry.subject, entry.detail, entry.actor_id = subject, detail[:500] if detail else None, actor
        session.add(entry)
    session.flush()
    session.delete(gate)
    session.flush()
    return pseudonym


def scrub_sent(core: Core) -> Callable[[datetime], int]:
    """A sweeper job: delete sent (or given up) outbox rows whose chat belongs to nobody — the
    goodbye after ``/forget``, replies to strangers — so no chat id outlives its message."""

    def job(now: datetime) -> int:
        with core.session() as session:
            ids = session.exec(select(OutboxMessage.id).where(
                col(OutboxMessage.person_id).is_(None),
                or_(col(OutboxMessage.delivered_at).is_not(None), col(OutboxMessage.failed_at).is_not(None)),
                col(OutboxMessage.delete_at).is_(None),
                ~exists().where(col(Identity.platform) == col(OutboxMessage.platform),
                                col(Identity.chat_id) == col(OutboxMessage.chat_id)),
            ).limit(SCRUB_CHUNK)).all()
            if ids:
                session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_(ids)))
                session.commit()
            return 0  # bookkeeping, not alarm work

    return job
