"""/language: the language the bot speaks to you (also offered as buttons when you join)."""

from __future__ import annotations

from c2p_bot.core.context import Context
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.events import Button
from c2p_bot.core.i18n import N_, SUPPORTED_LANGUAGES, bot_language_named, language_name
from c2p_bot.core.onboarding import ask_again
from c2p_bot.core.registry import registry
from c2p_bot.core.roles import ALL_ROLES


def language_buttons(current: str | None) -> list[list[Button]]:
    """One button per bot language (each in its own name), the current one left out."""
    return [[Button(language_name(code), f"/language {code}")
             for code in SUPPORTED_LANGUAGES if code != current]]


@registry.command(
    "language", roles=ALL_ROLES, usage=N_("[LANGUAGE]"), during_onboarding=True,
    help=N_("Choose the language I write to you in."),
)
def language_command(ctx: Context, args: str) -> None:
    person = ctx.person
    if person is None:
        raise InvariantError("a command reached its handler without a registered sender")
    if not args.strip():
        ctx.reply(ctx._("I write to you in {language}. Choose another language:").format(
            language=language_name(person.ui_language or "en")), language_buttons(person.ui_language))
        return
    chosen = bot_language_named(args)
    if chosen is None:
        ctx.reply(ctx._("I don't speak “{language}” yet. Choose one of these:").format(language=args.strip()[:40]),
                  language_buttons(None))
        return
    person.ui_language = chosen
    ctx.session.add(person)
    ctx.set_language(chosen)
    ctx.audit("language_changed", f"person:{person.id}", f"language={chosen}")
    ctx.reply(ctx._("From now on I will write to you in {language}.").format(language=language_name(chosen)))
    if person.status == "onboarding":
        ask_again(ctx)
