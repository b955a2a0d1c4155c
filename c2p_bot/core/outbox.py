"""The outbox: every message the bot sends is first a row here, written in the caller's transaction."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Protocol

from sqlmodel import Session, col, select

from c2p_bot.core.events import Button, Priority
from c2p_bot.core.i18n import Translate, gettext_for
from c2p_bot.core.integrity import refused
from storage.models import Identity, OutboxMessage, Person

Buttons = Sequence[Sequence[Button]]


class BodyProtector(Protocol):
    """Protects message bodies at rest in the outbox (bound to the row's idempotency key)."""

    def seal(self, key: str, text: str) -> bytes: ...

    def open(self, key: str, body: bytes) -> str: ...


def encode_buttons(buttons: Buttons) -> str:
    """The JSON of ``[[[label, payload], …], …]``, byte for byte what ``json.dumps(…,
    ensure_ascii=False)`` writes, with json's own C string escaper (3x faster on the hot path)."""
    return "[" + ", ".join(
        "[" + ", ".join(f"[{encode_basestring(b.label)}, {encode_basestring(b.payload)}]" for b in row) + "]"
        for row in buttons) + "]"


def decode_buttons(raw: str) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(Button(label, payload) for label, payload in row) for row in json.loads(raw))


def new_key(prefix: str) -> str:
    return f"{prefix}:{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class Envelope:
    """Where a queued message goes and how it is sent: one outbox row's addressing, priority and kind."""

    platform: str
    chat_id: str
    priority: int = Priority.REPLY
    kind: str = "reply"
    person_id: int | None = None
    identity_id: int | None = None
    alert_id: int | None = None
    sensitive: bool = False


class Outbox:
    """Writes outbox rows; ``after_commit`` callbacks wake the dispatchers."""

    def __init__(self, protector: BodyProtector, wake: Callable[[str], None] | None = None) -> None:
        self.protector = protector
        self.wake = wake or (lambda platform: None)

    def to_chat(
        self,
        session: Session,
        *,
        platform: str,
        chat_id: str,
        text: str,
        now: datetime,
        key: str,
        buttons: Buttons = (),
        priority: int = Priority.REPLY,
        kind: str = "reply",
        person_id: int | None = None,
        identity_id: int | None = None,
        alert_id: int | None = None,
        sensitive: bool = False,
    ) -> OutboxMessage | None:
        """Queue a message to one chat; a second call with the same key does nothing."""
        envelope = Envelope(platform, chat_id, priority, kind, person_id, identity_id, alert_id, sensitive)
        return self.send(session, envelope, text=text, now=now, key=key, buttons=buttons)

    def send(self, session: Session, envelope: Envelope, *, text: str, now: datetime, key: str,
             buttons: Buttons = ()) -> OutboxMessage | None:
        """Queue a message as ``envelope`` says; a second call with the same key does nothing."""
        existing = session.exec(
            select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)
        ).first()
        if existing is not None:
            return None
        row = OutboxMessage.model_validate(self.row_values(session, envelope, text=text, now=now, key=key,
                                                           buttons=buttons))
        session.add(row)
        return row

    def row_values(self, session: Session, envelope: Envelope, *, text: str, now: datetime, key: str,
                   buttons: Buttons = ()) -> dict[str, object]:
        """Column values of a new outbox row, for bulk inserts (the key must be unused)."""
        session.info.setdefault("wake_platforms", set()).add(envelope.platform)
        return {
            "idempotency_key": key, "platform": envelope.platform, "chat_id": envelope.chat_id,
            "person_id": envelope.person_id, "identity_id": envelope.identity_id,
            "priority": int(envelope.priority), "kind": envelope.kind,
            "body": self.protector.seal(key, text), "buttons": encode_buttons(buttons),
            "sensitive": envelope.sensitive, "alert_id": envelope.alert_id, "created_at": now,
            "next_attempt_at": now, "attempts": 0,
        }

    def to_person(
        self,
        session: Session,
        person: Person,
        render: Callable[[Translate], str],
        *,
        now: datetime,
        key: str,
        buttons: Callable[[Translate], Buttons] | None = None,
        priority: int = Priority.REPLY,
        kind: str = "notice",
        alert_id: int | None = None,
        sensitive: bool = False,
        exclude_identity: int | None = None,
    ) -> OutboxMessage | None:
        """Queue a message to a person on their best reachable identity, in their language.

        Returns ``None`` when the person has no reachable identity (the caller fails over).
        """
        identity = best_identity(session, person.id, exclude=exclude_identity)
        if identity is None:
            return None
        _ = gettext_for(person.ui_language)
        envelope = Envelope(identity.platform, identity.chat_id, priority, kind, person.id, identity.id, alert_id,
                            sensitive)
        return self.send(session, envelope, text=render(_), now=now, key=key, buttons=buttons(_) if buttons else ())


def best_identity(session: Session, person_id: int | None, exclude: int | None = None) -> Identity | None:
    """The person's reachable identity they used most recently.

    Rows that failed their integrity check (:mod:`c2p_bot.core.integrity`) are never used, and
    a person whose own row failed it gets nothing.
    """
    if person_id is not None and refused(session.get(Person, person_id)):
        return None
    query = select(Identity).where(
        Identity.person_id == person_id, col(Identity.unreachable_at).is_(None)
    )
    if exclude is not None:
        query = query.where(Identity.id != exclude)
    identities = [i for i in session.exec(query) if not refused(i)]
    if not identities:
        return None
    return max(identities, key=lambda i: (i.last_seen_at or i.created_at, i.id or 0))
