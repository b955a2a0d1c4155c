"""Command menus: the "/" list Telegram shows, per private chat, from the core's command registry.

``setMyCommands`` with the default scope lists ``start`` and ``help``; a registered person's
private chat gets ``BotCommandScopeChat`` with their role's commands in their UI language,
refreshed after onboarding, a role change or ``/forget``.
"""

from __future__ import annotations

import logging
import re

from telegram import BotCommand, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import RetryAfter, TelegramError

from c2p_bot.core.events import DeliveryError
from c2p_bot.core.i18n import DEFAULT_LANGUAGE, N_, SUPPORTED_LANGUAGES, gettext_for
from c2p_bot.core.registry import CommandRegistry
from c2p_bot.core.roles import Role
from c2p_bot.transports.telegram.errors import retry_after_seconds
from c2p_bot.transports.telegram.session import PLATFORM, Session

log = logging.getLogger(__name__)

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


class MenuRefresher:
    """Sets the menus through the session's bot. Failures are one log line: a menu is a
    convenience, never worth retrying for long."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def set_default_menu(self) -> None:
        """The menu of people the bot does not know: in English, and in each bot language for
        clients set to it (Telegram picks by the user's language_code)."""
        try:
            for language in SUPPORTED_LANGUAGES:
                await self.session.app.bot.set_my_commands(
                    stranger_commands(self.session.core.commands, language), scope=BotCommandScopeDefault(),
                    language_code=None if language == DEFAULT_LANGUAGE else language)
        except TelegramError as error:
            log.warning("telegram: could not set the default command menu (%s)", type(error).__name__)

    async def refresh_menu(self, person_id: int) -> None:
        """Set the command menu of each of a person's Telegram chats to what their role may use."""
        for platform, user_id, chat_id in self.session.core.identities_of(person_id):
            if platform == PLATFORM:
                await self.refresh_chat_menu(user_id, chat_id)

    async def refresh_chat_menu(self, user_id: str, chat_id: str) -> None:
        """Registered and active: their role's commands; otherwise the default (stranger) menu."""
        try:
            await self.session.wait_ready()
        except DeliveryError:
            return  # not connected: the menu is set again on the person's next role change
        core, bot = self.session.core, self.session.app.bot
        scope = BotCommandScopeChat(int(chat_id))
        found = core.person_role(PLATFORM, user_id)
        for attempt in range(2):
            try:
                if found is None:
                    await bot.delete_my_commands(scope=scope)
                else:
                    _person_id, role, language = found
                    await bot.set_my_commands(commands_for_role(core.commands, Role(role), language), scope=scope)
                return
            except RetryAfter as error:
                if attempt == 0 and await self.session.sleep(retry_after_seconds(error)):
                    return
            except TelegramError as error:
                log.warning("telegram: could not set a command menu (%s)", type(error).__name__)
                return
