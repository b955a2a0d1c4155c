"""Every command for every role and for a stranger: outside your role it is an unknown command."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from c2p_bot.core.registry import registry
from c2p_bot.core.roles import Role
from storage.models import AuditEntry, Invite, Person
from tests.support import people
from tests.support.transcript import Chat

UNKNOWN = r"^Sorry, I don't know that command\. Send /help to see what you can do\.$"
STRANGER = r"^This is a private service"
COMMANDS = sorted(c.name for c in registry.all())


def _counts(chat: Chat) -> tuple[int, int]:
    with Session(chat.core.engine) as session:
        return (session.exec(select(func.count()).select_from(Person)).one(),
                session.exec(select(func.count()).select_from(Invite)).one())


async def _everyone(chat: Chat) -> dict[Role, str]:
    await people.coordinator(chat)
    await people.hrd(chat)
    await people.partner(chat)
    return {Role.COORDINATOR: "cora", Role.HRD: "amina", Role.PARTNER: "paul"}


@pytest.mark.parametrize("name", COMMANDS)
async def test_each_command_by_each_role(chat: Chat, name: str) -> None:
    users = await _everyone(chat)
    spec = registry.lookup(name)
    assert spec is not None
    for role, user in users.items():
        if role in spec.roles:
            continue
        before = _counts(chat)
        await chat.say(user, f"/{name} hrd")
        chat.expect(user, UNKNOWN)
        assert _counts(chat) == before
        with Session(chat.core.engine) as session:
            refusals = session.exec(select(AuditEntry).where(
                AuditEntry.action == "command_refused", AuditEntry.detail == f"/{name}")).all()
            assert refusals, "a refused command is audited"
    await chat.say("eve", f"/{name}")
    chat.expect("eve", STRANGER)


async def test_unknown_and_foreign_bot_commands(chat: Chat) -> None:
    await people.coordinator(chat)
    chat.core.bot_names.add("c2p_bot")
    await chat.say("cora", "/frobnicate")
    chat.expect("cora", UNKNOWN)
    await chat.say("cora", "/people@otherbot")
    chat.expect("cora", UNKNOWN)
    await chat.say("cora", "/people@C2P_bot")
    chat.expect("cora", r"People registered")


async def test_help_lists_only_the_roles_commands(chat: Chat) -> None:
    users = await _everyone(chat)
    for role, user in users.items():
        await chat.say(user, "/help")
        text = chat.expect(user, r"Commands you can use").text
        for spec in registry.all():
            shown = f"/{spec.name}" in text.split()  or f"\n/{spec.name} " in text
            assert shown == (role in spec.roles), (role, spec.name)
