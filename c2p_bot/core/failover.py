"""When a message cannot reach one identity: try the person's other identities, then the hooks.

Escalation code registers an ``unreachable`` hook so an alert that reaches nobody moves on
to the next step of its chain.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session

from c2p_bot.core.mail import EMAIL
from c2p_bot.core.notes import protection
from c2p_bot.core.outbox import Outbox, best_identity, decode_buttons
from storage.models import Identity, OutboxMessage

UnreachableHook = Callable[[Session, OutboxMessage], None]


def fail_over(
    session: Session,
    outbox: Outbox,
    row: OutboxMessage,
    hooks: list[UnreachableHook],
    *,
    now_identity_unreachable: bool,
) -> bool:
    """Re-queue ``row`` on the person's next reachable identity; returns whether one was found."""
    if now_identity_unreachable and row.identity_id is not None:
        identity = session.get(Identity, row.identity_id)
        if identity is not None and identity.unreachable_at is None:
            identity.unreachable_at = row.next_attempt_at
            session.add(identity)
    if row.person_id is None:
        return False
    # An email only follows up a chat message already sent (c2p_bot.core.mail): it never moves to a chat.
    target = None if row.platform == EMAIL else best_identity(session, row.person_id, exclude=row.identity_id)
    if target is not None and row.sensitive and protection(target.platform) < protection(row.platform):
        target = None  # a note never moves to a less protected channel: the chain moves on instead
    if target is not None and target.platform_user_id:
        text = outbox.protector.open(row.idempotency_key, row.body)
        outbox.to_chat(
            session,
            platform=target.platform,
            chat_id=target.chat_id,
            text=text,
            buttons=[list(r) for r in decode_buttons(row.buttons)],
            now=row.created_at,
            key=f"{row.idempotency_key}~via{target.id}",
            priority=row.priority,
            kind=row.kind,
            person_id=row.person_id,
            identity_id=target.id,
            alert_id=row.alert_id,
            sensitive=row.sensitive,
        )
        return True
    for hook in hooks:
        hook(session, row)
    return False
