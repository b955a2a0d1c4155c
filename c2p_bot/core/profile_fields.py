"""Profile fields: how each is asked, validated, stored and shown (shared by onboarding and /profile)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from c2p_bot.core import email_field, language_names, places, zones
from c2p_bot.core.answer_words import kind_noun, kinds_choice, parse_kinds, yes_no_word
from c2p_bot.core.field_error import FieldError
from c2p_bot.core.i18n import N_, SUPPORTED_LANGUAGES, Translate, bot_language_named, language_name
from c2p_bot.core.lenient_lists import UnknownItems, resolve, tag_vocabulary, yes_or_no
from c2p_bot.core.number_words import parse_count
from c2p_bot.core.roles import PARTNER_KINDS, Role
from c2p_bot.core.settings import CoreSettings
from storage.models import Person

MAX_LIST = 20


@dataclass(frozen=True)
class ProfileField:
    name: str
    roles: frozenset[Role]
    question: str  # msgid
    accepted: Callable[[Translate, CoreSettings], str]
    parse: Callable[[str, CoreSettings, Translate], object]
    store: Callable[[Person, object], None]
    show: Callable[[Person, Translate], str]  # the value as the reader reads it
    choices: Callable[[CoreSettings], tuple[str, ...]] = lambda config: ()
    multi: bool = False


def _list_of(resolve: Callable[[str], list[str]], raw: str, accepted: str, _: Translate) -> list[str]:
    """The known items of a typed list (any separator, items with spaces); an error names the rest."""
    try:
        values = resolve(raw)
    except UnknownItems as error:
        named = [_("“{item}”").format(item=item) for item in error.items]
        problem = (_("I don't know “{item}”.").format(item=error.items[0]) if len(named) == 1
                   else _("I don't know these: {items}.").format(items=", ".join(named)))
        raise FieldError(problem + " " + accepted) from None
    if not values:
        raise FieldError(accepted)
    return values


# --- validators ---------------------------------------------------------------------------

_ALIAS = re.compile(r"^[\w][\w .\-']{1,31}$")


def _parse_alias(raw: str, config: CoreSettings, _: Translate) -> str:
    value = " ".join(raw.split())
    if not _ALIAS.match(value) or value.startswith("/"):
        raise FieldError(_accepted_alias(_, config))
    return value


def _accepted_alias(_: Translate, config: CoreSettings) -> str:
    return _("An alias is 2 to 32 letters, digits, spaces, dots or dashes. Use a name that "
             "does not identify you to strangers.")


def _parse_expertise(raw: str, config: CoreSettings, _: Translate) -> list[str]:
    vocabulary = tag_vocabulary(config.matching.expertise)
    return _list_of(lambda text: resolve(text, vocabulary), raw, _accepted_expertise(_, config), _)


def _accepted_expertise(_: Translate, config: CoreSettings) -> str:
    return _("Choose one or more of: {tags}.").format(tags=", ".join(config.matching.expertise))


def _parse_kinds(raw: str, config: CoreSettings, _: Translate) -> list[str]:
    return _list_of(parse_kinds, raw, _accepted_kinds(_, config), _)


def _accepted_kinds(_: Translate, config: CoreSettings) -> str:
    return _("Choose one or more: {kinds}.").format(kinds=kinds_choice(_))


def _parse_kind(raw: str, config: CoreSettings, _: Translate) -> str:
    kinds = _list_of(parse_kinds, raw, _accepted_kind(_, config), _)
    if len(kinds) > 1:
        raise FieldError(_accepted_kind(_, config))
    return kinds[0]


def _accepted_kind(_: Translate, config: CoreSettings) -> str:
    return _("Choose one: {kinds}.").format(kinds=kinds_choice(_))


def _show_kinds(name: str) -> Callable[[Person, Translate], str]:
    def show(person: Person, _: Translate) -> str:
        return ", ".join(kind_noun(_, kind) for kind in (getattr(person, name) or "").split(",") if kind)

    return show


def _parse_ui_language(raw: str, config: CoreSettings, _: Translate) -> str:
    value = bot_language_named(raw)
    if value is None:
        raise FieldError(_accepted_ui_language(_, config))
    return value


def _accepted_ui_language(_: Translate, config: CoreSettings) -> str:
    return _("The bot speaks: {languages}.").format(languages=", ".join(map(language_name, SUPPORTED_LANGUAGES)))


def _parse_capacity(raw: str, config: CoreSettings, _: Translate) -> int:
    value = parse_count(raw)
    if value is None or not 0 <= value <= 50:
        raise FieldError(_("“{item}” is not a number from 0 to 50.").format(item=raw.strip()) + " "
                         + _accepted_capacity(_, config))
    return value


def _accepted_capacity(_: Translate, config: CoreSettings) -> str:
    return _("Capacity is how many defenders you can support at once: a number from 0 to 50.")


def _parse_yes_no(raw: str, config: CoreSettings, _: Translate) -> bool:
    value = yes_or_no(raw)
    if value is None:
        raise FieldError(_("“{item}” is not yes or no.").format(item=raw.strip()) + " "
                         + _accepted_notes_over_telegram(_, config))
    return value


def _accepted_notes_over_telegram(_: Translate, config: CoreSettings) -> str:
    return _("Answer yes or no. With yes, notes you write on Matrix (end-to-end encrypted) are also "
             "shown to partners and coordinators who read on Telegram, where Telegram can read them. "
             "With no (the default) they get a line saying a sealed note is waiting on Matrix.")


def _show_yes_no(name: str) -> Callable[[Person, Translate], str]:
    def show(person: Person, _: Translate) -> str:
        return yes_no_word(_, bool(getattr(person, name)))

    return show


def _csv(values: object) -> str:
    if not isinstance(values, list):
        raise TypeError("values is not a list")
    return ",".join(values)


def _set_attr(
    name: str, transform: Callable[[object], object] = lambda v: v
) -> Callable[[Person, object], None]:
    def store(person: Person, value: object) -> None:
        setattr(person, name, transform(value))

    return store


def _show_attr(name: str) -> Callable[[Person, Translate], str]:
    def show(person: Person, _: Translate) -> str:
        value = getattr(person, name)
        return ", ".join(value.split(",")) if isinstance(value, str) else str(value)

    return show


_ALL = frozenset(Role)
_HRD = frozenset({Role.HRD})
_PARTNER = frozenset({Role.PARTNER})
_HRD_PARTNER = frozenset({Role.HRD, Role.PARTNER})
_PARTNER_COORDINATOR = frozenset({Role.PARTNER, Role.COORDINATOR})

FIELDS: dict[str, ProfileField] = {
    f.name: f
    for f in (
        ProfileField("alias", _ALL, N_("What should we call you? Choose an alias."),
                     _accepted_alias, _parse_alias, _set_attr("alias"), _show_attr("alias")),
        ProfileField("kind", _PARTNER, N_("Are you an MP, a lawyer or a journalist?"),
                     _accepted_kind, _parse_kind, _set_attr("kind"), _show_kinds("kind"),
                     choices=lambda c: PARTNER_KINDS),
        ProfileField("country", _HRD, N_("Which country do you work in?"),
                     places.accepted_country, places.parse_country, _set_attr("country"), places.show_country),
        ProfileField("regions", _PARTNER, N_("Which countries or regions do you cover?"),
                     places.accepted_regions, places.parse_regions, _set_attr("regions", _csv),
                     places.show_regions),
        ProfileField("languages", _HRD_PARTNER, N_("Which languages do you speak?"),
                     language_names.accepted_languages, language_names.parse_languages,
                     _set_attr("languages", _csv), language_names.show_languages),
        ProfileField("wants", _HRD, N_("Who would you like to be matched with?"),
                     _accepted_kinds, _parse_kinds, _set_attr("wants", _csv), _show_kinds("wants"),
                     choices=lambda c: PARTNER_KINDS, multi=True),
        ProfileField("expertise", _HRD_PARTNER, N_("Which areas of work fit you?"),
                     _accepted_expertise, _parse_expertise, _set_attr("expertise", _csv),
                     _show_attr("expertise"), multi=True),
        ProfileField("capacity", _PARTNER, N_("How many defenders can you support at once?"),
                     _accepted_capacity, _parse_capacity, _set_attr("capacity"),
                     _show_attr("capacity")),
        ProfileField("timezone", _ALL, N_("Which time zone are you in?"),
                     zones.accepted_timezone, zones.parse_timezone, _set_attr("timezone"),
                     _show_attr("timezone")),
        ProfileField("language", _ALL, N_("Which language should the bot use?"),
                     _accepted_ui_language, _parse_ui_language, _set_attr("ui_language"),
                     _show_attr("ui_language"), choices=lambda c: SUPPORTED_LANGUAGES),
        ProfileField("notes_over_telegram", _HRD,
                     N_("May notes you write on Matrix be shown to readers on Telegram?"),
                     _accepted_notes_over_telegram, _parse_yes_no, _set_attr("notes_over_telegram"),
                     _show_yes_no("notes_over_telegram"), choices=lambda c: ("yes", "no")),
        # Kept in its own table and confirmed by a code: c2p_bot.core.email_addresses (via /profile).
        ProfileField("email", _PARTNER_COORDINATOR, N_("Which email address may alerts also reach you at?"),
                     email_field.accepted_email, email_field.parse_email, email_field.keep_elsewhere,
                     email_field.show_email),
    )
}

ONBOARDING_FIELDS: dict[Role, tuple[str, ...]] = {
    Role.COORDINATOR: ("alias", "timezone"),
    Role.HRD: ("alias", "country", "languages", "wants", "expertise", "timezone"),
    Role.PARTNER: ("alias", "kind", "regions", "languages", "expertise", "capacity", "timezone"),
}


def fields_for(role: Role) -> list[ProfileField]:
    return [f for f in FIELDS.values() if role in f.roles]
