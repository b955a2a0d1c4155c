"""Telegram: the client's language is the bot's first guess, and menus speak each language."""

from __future__ import annotations

import re

from c2p_bot.core.i18n import gettext_for
from c2p_bot.core.onboarding import WELCOME
from c2p_bot.core.roles import Role
from tests.telegram.support import TelegramBot


def _in(language: str, msgid: str) -> str:
    translated = gettext_for(language)(msgid)
    assert translated != msgid, f"{msgid!r} is not translated into {language}"
    return re.escape(max(re.split(r"\{[^}]*\}", translated), key=len).strip())


async def test_a_french_client_is_welcomed_in_french_and_can_switch(bot: TelegramBot) -> None:
    api = bot.api
    cora = await bot.onboard_coordinator()
    code = await bot.invite_via(cora, "hrd")
    amina = bot.user("amina")
    amina.language_code = "fr-FR"
    welcome = await bot.say(amina, f"/start {code}", _in("fr", WELCOME[Role.HRD]))
    assert welcome is not None
    await api.wait_for_message(amina, _in("fr", "What should we call you? Choose an alias."))
    await bot.press(amina, welcome, "English", r"From now on I will write to you in English")
    await api.wait_for_message(amina, r"What should we call you")
    french_menu = {c["command"]: c["description"] for c in api.commands_for("default", "fr")}
    assert french_menu["help"] == gettext_for("fr")("Show what you can do.") != "Show what you can do."
