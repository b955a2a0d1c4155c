"""Kinds of partner actions (``/action``), read in any of the bot's languages, shown in the reader's.

Stored values stay ``parliamentary-question``, ``letter``… (reports count them); people never see them
raw. Words are compared without case, accents, hyphens or underscores (``Parliamentary Question``,
``parliamentary_question``, ``question parlementaire``).
"""

from __future__ import annotations

from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.lenient_lists import phrase_key

ACTION_KINDS = ("parliamentary-question", "letter", "embassy-contact", "visit", "trial-observation", "statement",
                "other")
_WORDS = {
    "parliamentary-question": "parliamentary question|parliamentary questions|question in parliament|pq|"
                              "question parlementaire|question écrite|question orale|pregunta parlamentaria|"
                              "pregunta en el parlamento|парламентский запрос|депутатский запрос|"
                              "вопрос в парламенте|سؤال برلماني|سؤال في البرلمان",
    "letter": "letter|letters|lettre|courrier|carta|письмо|رسالة|خطاب",
    "embassy-contact": "embassy contact|embassy|contact with the embassy|ambassade|contact avec l'ambassade|"
                       "embajada|contacto con la embajada|посольство|контакт с посольством|سفارة|السفارة|"
                       "اتصال بالسفارة",
    "visit": "visit|visits|visite|visita|визит|посещение|زيارة",
    "trial-observation": "trial observation|trial monitoring|observation de procès|observation du procès|"
                         "observación de juicio|observación del juicio|наблюдение за судом|"
                         "наблюдение за процессом|مراقبة المحاكمة|مراقبة محاكمة",
    "statement": "statement|public statement|déclaration|communiqué|declaración|comunicado|заявление|بيان",
    "other": "other|autre|otro|otra|другое|أخرى|آخر",
}
_KINDS = {phrase_key(word): kind for kind, words in _WORDS.items() for word in words.split("|")}
_LONGEST = max(len(k.split()) for k in _KINDS)
_LABELS = {
    "parliamentary-question": N_("parliamentary question"),
    "letter": N_("letter"),
    "embassy-contact": N_("embassy contact"),
    "visit": N_("visit"),
    "trial-observation": N_("trial observation"),
    "statement": N_("statement"),
    "other": N_("other"),
}


def action_label(_: Translate, kind: str) -> str:
    """``parliamentary question``, ``lettre``…: a kind in the reader's language."""
    return _(_LABELS[kind]) if kind in _LABELS else kind


def action_choices(_: Translate) -> str:
    """Every kind, for "choose one of"."""
    return ", ".join(action_label(_, kind) for kind in ACTION_KINDS)


def read_action(words: list[str]) -> tuple[str, int] | None:
    """The kind the first words name, and how many words name it (the longest phrase wins)."""
    for count in range(min(_LONGEST, len(words)), 0, -1):
        kind = _KINDS.get(phrase_key(" ".join(words[:count])))
        if kind is not None:
            return kind, count
    return None
