"""Command menus: the "/" list Telegram shows, per private chat, from the core's command registry."""

from __future__ import annotations

import re

from telegram import BotCommand

from c2p_bot.core.i18n import N_, gettext_for
from c2p_bot.core.registry import CommandRegistry
from c2p_bot.core.roles import Role

_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
MAX_DESCRIPTION = 256
MAX_COMMANDS = 100

START_HELP = N_("Join with the invite code you were given.")
HELP_FALLBACK = N_("Show what you can do.")


def _command(name: str, description: str) -> BotCommand | None:
    description = " ".join(description.split())
    if not _NAME.match(name) or not description:
        return None
    if len(description) > MAX_DESCRIPTION:
        description = description[: MAX_DESCRIPTION - 1] + "…"
    return BotCommand(name, description)


def commands_for_role(registry: CommandRegistry, role: Role, language: str | None) -> list[BotCommand]:
    """The menu of a registered person: their role's ``menu=True`` commands, translated."""
    _ = gettext_for(language)
    out: list[BotCommand] = []
    for spec in registry.for_role(role):
        if not spec.menu:
            continue
        command = _command(spec.name, _(spec.help))
        if command is not None:
            out.append(command)
    return out[:MAX_COMMANDS]


def stranger_commands(registry: CommandRegistry, language: str | None = None) -> list[BotCommand]:
    """The default menu (anyone not registered): just ``start`` and ``help``."""
    _ = gettext_for(language)
    spec = registry.lookup("help")
    help_text = _(spec.help) if spec is not None else _(HELP_FALLBACK)
    return [c for c in (_command("start", _(START_HELP)), _command("help", help_text)) if c is not None]
