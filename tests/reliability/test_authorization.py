"""Scenario 6 — authorization matrix, generated from the command registry: every command by every
role, by a stranger, by someone whose id mimics a coordinator's, and by a removed person.
Pass: no unauthorised state change; the reply is the unknown-command reply (registered people)
or the stranger reply (everyone else); an audit entry for each refusal by a registered person."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, select

from c2p_bot.core.registry import registry
from c2p_bot.core.roles import Role
from c2p_bot.core.service import STRANGER_REPLY, UNKNOWN_COMMAND
from storage.models import AuditEntry
from tests.support import people
from tests.support.people import trio
from tests.support.report import figure
from tests.support.transcript import Chat

STATE_TABLES = ("person", "identity", "invite", "checkin_clock", "checkin", "match", "alert", "note",
                "note_copy", "proposal", "conversation")
ARGS = ["", "hrd", "partner mp", "1", "Amina Paul", "confirm", "every 1h", "1 text", "country=KE"]


def state(chat: Chat) -> tuple:
    """Every state row (an identity's last_seen_at is bookkeeping, not state)."""
    with chat.core.engine.connect() as conn:
        return tuple(tuple(tuple(r) for r in conn.execute(text(
            'SELECT id, person_id, platform, platform_user_id, chat_id, unreachable_at FROM identity ORDER BY 1'
            if t == "identity" else f'SELECT * FROM "{t}" ORDER BY 1'))) for t in STATE_TABLES)


async def test_every_command_by_everyone_not_allowed(chat: Chat) -> None:
    await trio(chat)
    await people.hrd(chat, "gone", alias="Gone")
    await chat.say("gone", "/forget confirm")
    chat.clock.advance(__import__("datetime").timedelta(days=1, hours=2))
    await chat.tick()  # an open alert exists, so /ack 1 etc. have something to act on
    actors = {"cora": Role.COORDINATOR, "amina": Role.HRD, "paul": Role.PARTNER,
              "eve": None, "Cora": None, "cora\u200b": None, "gone": None}
    refused = checked = 0
    for spec in registry.all():
        for user, role in actors.items():
            if role is not None and role in spec.roles:
                continue
            for args in ARGS:
                before = state(chat)
                with Session(chat.core.engine) as session:
                    audits = len(session.exec(select(AuditEntry)).all())
                start = len(chat.transport.inbox[user])
                await chat.say(user, f"/{spec.name} {args}".strip())
                replies = [m.text for m in chat.transport.inbox[user][start:]]
                expected = UNKNOWN_COMMAND if role is not None else STRANGER_REPLY
                assert replies == [expected], (user, spec.name, args, replies)
                assert state(chat) == before, (user, spec.name, args)
                if role is not None:
                    with Session(chat.core.engine) as session:
                        entries = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
                    assert len(entries) == audits + 1 and entries[-1].action == "command_refused"
                    refused += 1
                checked += 1
    figure("authorization-matrix", attempts=checked, audited_refusals=refused, unauthorised_changes=0)
