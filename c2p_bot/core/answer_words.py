"""Partner kinds and yes/no in words: read in any of the bot's languages, shown in the reader's.

Stored values stay ``mp``, ``lawyer``, ``journalist``, ``yes``/``no``; people never see them raw.
"""

from __future__ import annotations

from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.lenient_lists import phrase_key, resolve
from c2p_bot.core.roles import PARTNER_KINDS

_KIND_WORDS = {
    "mp": "mp|mps|m.p.|member of parliament|members of parliament|parliamentarian|parliamentarians|deputy|"
          "député|députée|députés|parlementaire|parlementaires|membre du parlement|diputado|diputada|"
          "diputados|diputadas|parlamentario|parlamentaria|parlamentarios|congresista|miembro del parlamento|"
          "депутат|депутатка|депутаты|парламентарий|парламентарии|член парламента|"
          "نائب|نائبة|نواب|برلماني|برلمانية|برلمانيون|برلمانيين|عضو البرلمان|عضو برلمان|عضو في البرلمان",
    "lawyer": "lawyer|lawyers|attorney|attorneys|advocate|advocates|solicitor|barrister|avocat|avocate|"
              "avocats|avocates|abogado|abogada|abogados|abogadas|юрист|юристы|адвокат|адвокаты|"
              "محامي|محامية|محام|محامون|محامين",
    "journalist": "journalist|journalists|reporter|reporters|journaliste|journalistes|periodista|periodistas|"
                  "reportero|reportera|журналист|журналистка|журналисты|репортёр|"
                  "صحفي|صحفية|صحافي|صحافية|صحفيون|صحفيين|إعلامي|إعلامية",
}
_KINDS = {phrase_key(word): kind for kind, words in _KIND_WORDS.items() for word in words.split("|")}

_NOUN = {"mp": N_("MP"), "lawyer": N_("lawyer"), "journalist": N_("journalist")}
_WITH_ARTICLE = {"mp": N_("an MP"), "lawyer": N_("a lawyer"), "journalist": N_("a journalist")}


def parse_kinds(raw: str) -> list[str]:
    """The partner kinds ``raw`` names (``a lawyer and an MP`` → lawyer, mp); raises
    :class:`~c2p_bot.core.lenient_lists.UnknownItems` naming the rest."""
    return resolve(raw, _KINDS)


def kind_noun(_: Translate, kind: str) -> str:
    """``MP``, ``lawyer``, ``journalist`` in the reader's language (for labels and lists)."""
    return _(_NOUN[kind]) if kind in _NOUN else kind


def a_kind(_: Translate, kind: str) -> str:
    """``an MP``, ``a lawyer``, ``a journalist`` in the reader's language."""
    return _(_WITH_ARTICLE[kind]) if kind in _WITH_ARTICLE else kind


def kinds_choice(_: Translate) -> str:
    """Every kind, for "choose one of": ``an MP, a lawyer, a journalist``."""
    return ", ".join(a_kind(_, kind) for kind in PARTNER_KINDS)


def yes_no_word(_: Translate, value: bool) -> str:
    return _("yes") if value else _("no")


def choice_label(_: Translate, field: str, choice: str) -> str:
    """A button's label for one of a profile field's choices."""
    if field in ("kind", "wants"):
        return kind_noun(_, choice)
    if choice in ("yes", "no"):
        return yes_no_word(_, choice == "yes")
    return choice

