"""How an alert ended: the outcome ``/resolve ID OUTCOME [text]`` records (issue 14).

Acknowledging an alert says "I am on it"; resolving it closes the case with one of
:data:`OUTCOMES`, kept in ``alert.outcome`` (read by the reports, c2p_bot.core.report_data, and
case exports). Outcomes are read forgivingly: any case, spaces, hyphens or underscores, and words in
any of the bot's languages ("false alarm", "FALSE_ALARM", "fausse alerte", "задержан"). Shown to
people by their label in the reader's language, never as the stored value.
"""

from __future__ import annotations

import re

from c2p_bot.core.i18n import N_, Translate
from c2p_bot.core.lenient_lists import phrase_key

OUTCOMES = ("safe", "false-alarm", "incident", "detained", "drill")
LABELS = {"safe": N_("Safe"), "false-alarm": N_("False alarm"), "incident": N_("Incident"),
          "detained": N_("Detained"), "drill": N_("Drill")}

_WORDS = {
    "safe": "safe|is safe|fine|all fine|ok|okay|unharmed|all clear|sain et sauf|saine et sauve|sains et saufs|"
            "en securite|sauf|sauve|indemne|a salvo|sano y salvo|sana y salva|seguro|segura|a salvo|"
            "в безопасности|цел|цела|невредим|невредима|в порядке|بأمان|آمن|آمنة|سالم|سالمة|بخير",
    "false-alarm": "false alarm|false alarms|falsealarm|false|mistake|fausse alerte|fausse alarme|erreur|"
                   "falsa alarma|falsa alerta|error|ложная тревога|ложный вызов|ошибка|إنذار كاذب|انذار كاذب|"
                   "إنذار خاطئ|انذار خاطئ|خطأ",
    "incident": "incident|incidents|attack|attacked|incidente|инцидент|происшествие|нападение|حادث|حادثة|هجوم",
    "detained": "detained|detention|arrested|arrest|detenu|detenue|detention|arrete|arretee|detenido|"
                "detenida|detencion|arrestado|arrestada|задержан|задержана|задержание|арестован|арестована|"
                "арест|محتجز|محتجزة|احتجاز|معتقل|معتقلة|اعتقال",
    "drill": "drill|test|exercise|exercice|simulacro|ejercicio|prueba|учения|учение|тренировка|تمرين|تدريب",
}
_KEYS = {phrase_key(word): outcome for outcome, words in _WORDS.items() for word in words.split("|")}
_LONGEST = max(len(key.split()) for key in _KEYS)
_TOKEN = re.compile(r"\S+")
_EDGES = ",.;:!?()\"'«»“”—–-"


def outcome_label(_: Translate, outcome: str | None) -> str:
    """The outcome as the reader says it ("False alarm", "Fausse alerte")."""
    return _(LABELS[outcome]) if outcome in LABELS else "—"


def read_outcome(text: str) -> tuple[str | None, str]:
    """The outcome ``text`` starts with, and the rest of it (the words said about it); the
    longest phrase wins ("false alarm, phone in a pocket" → false-alarm). ``(None, text)``
    when it starts with none."""
    words = list(_TOKEN.finditer(text))
    for length in range(min(_LONGEST, len(words)), 0, -1):
        said = phrase_key(" ".join(w.group().strip(_EDGES) for w in words[:length]))
        if said in _KEYS:
            rest = text[words[length - 1].end():] if length < len(words) else ""
            return _KEYS[said], rest.strip().lstrip(_EDGES).strip()
    return None, text.strip()


def detained_word(text: str) -> tuple[bool, str]:
    """Whether ``text`` (``/panic``'s arguments) starts by saying "detained", and the rest."""
    outcome, rest = read_outcome(text)
    return (True, rest) if outcome == "detained" else (False, text)
