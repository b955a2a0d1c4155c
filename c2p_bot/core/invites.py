"""One-time invite codes: random, typed by people, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlmodel import Session, select

from c2p_bot.core.audit import audit
from c2p_bot.core.roles import PARTNER_KINDS, Role
from storage.models import Invite

_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U
_GROUPS = 3
_GROUP_LEN = 4


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_code(code: str) -> str:
    return hashlib.sha256(b"c2p-invite:" + normalise_code(code).encode()).hexdigest()


def new_code() -> str:
    """About 59 bits of randomness, e.g. ``K7QM-2XPA-9DTR``."""
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LEN)) for _ in range(_GROUPS))
    return "-".join(groups)


def create_invite(
    session: Session,
    *,
    role: Role,
    kind: str | None,
    now: datetime,
    ttl: timedelta,
    issued_by: int | None,
    needs_approval: bool = False,
) -> str:
    """Store a new invite and return its code (the only time the code exists in clear).

    ``needs_approval``: the code works only once :func:`approve_invite` was called on it (a
    coordinator invite under ``[security] coordinator_invites = "two-person"``).
    """
    if role is Role.PARTNER and kind is not None and kind not in PARTNER_KINDS:
        raise ValueError(f"unknown partner kind {kind!r}")
    if role is not Role.PARTNER:
        kind = None
    code = new_code()
    invite = Invite(
        code_hash=hash_code(code),
        role=role.value,
        kind=kind,
        issued_by=issued_by,
        created_at=now,
        expires_at=now + ttl,
        needs_approval=needs_approval,
    )
    session.add(invite)
    session.flush()
    audit(
        session,
        now,
        "invite_created",
        actor_id=issued_by,
        subject=f"invite:{invite.id}",
        detail=f"role={role.value}" + (f" kind={kind}" if kind else "")
        + (" needs_approval" if needs_approval else ""),
    )
    return code


def last_invite_id(session: Session, code: str) -> int:
    """The id of the invite a code was just made for (its number in announcements)."""
    invite = session.exec(select(Invite).where(Invite.code_hash == hash_code(code))).one()
    return invite.id or 0


def approve_invite(session: Session, invite: Invite, by: int, now: datetime) -> None:
    """A second coordinator approves a waiting invite (never the one who asked for it)."""
    if invite.issued_by == by:
        raise ValueError("the requester cannot approve their own invite")
    invite.approved_by, invite.approved_at = by, now
    session.add(invite)
    audit(session, now, "invite_approved", actor_id=by, subject=f"invite:{invite.id}",
          detail=f"requested_by=person:{invite.issued_by}")


def redeem_invite(session: Session, code: str, now: datetime) -> Invite | None:
    """Mark a valid invite used and return it; ``None`` for wrong, used or expired codes."""
    if not code or len(code) > 64:
        return None
    invite = session.exec(select(Invite).where(Invite.code_hash == hash_code(code))).first()
    if invite is None or invite.used_at is not None or invite.expires_at <= now:
        return None
    if invite.needs_approval and invite.approved_at is None:
        return None  # looks like any wrong code: the holder learns nothing
    invite.used_at = now
    session.add(invite)
    return invite
