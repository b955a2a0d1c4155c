"""The append-only audit log. Entries hold ids and actions, never notes, PINs or keys.

Once a person is forgotten in a transaction (:mod:`c2p_bot.core.forgetting`), entries written
later in it name them by their pseudonym, as the rewritten older ones do."""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session

from storage.models import AuditEntry


def audit(
    session: Session,
    now: datetime,
    action: str,
    *,
    actor_id: int | None = None,
    subject: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one entry in the caller's transaction."""
    forgotten: dict[int, str] = session.info.get("forgotten_people", {})
    for person_id, pseudonym in forgotten.items():
        pattern = re.compile(rf"\bperson:{person_id}\b")
        subject = pattern.sub(pseudonym, subject) if subject else subject
        detail = pattern.sub(pseudonym, detail) if detail else detail
        if actor_id == person_id:
            actor_id, detail = None, f"actor={pseudonym}" + (f" {detail}" if detail else "")
    session.add(
        AuditEntry(
            at=now,
            actor_id=actor_id,
            action=action,
            subject=subject,
            detail=detail[:500] if detail else None,
        )
    )
