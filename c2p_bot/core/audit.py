"""The append-only audit log. Entries hold ids and actions, never notes, PINs or keys."""

from __future__ import annotations

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
    session.add(
        AuditEntry(
            at=now,
            actor_id=actor_id,
            action=action,
            subject=subject,
            detail=detail[:500] if detail else None,
        )
    )
