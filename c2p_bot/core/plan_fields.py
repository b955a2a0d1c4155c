"""Emergency plan fields: the questions of ``/plan``, how each answer is read, how a plan is shown.

A plan is a dict (sealed as JSON by :mod:`c2p_bot.core.plans`) whose keys are absent until
answered: ``contacts`` (a list of ``{name, relation, reach, language}``, in priority order),
``lawyer``, ``medical``, ``code_words`` (a list of ``[word, meaning]``), ``proof_question``,
``statement`` (``public`` or ``quiet``), ``lock`` and ``actions`` (a list, numbered from 1 for
``/done``). The proof-of-life answer is never part of it: only its hash is kept.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from c2p_bot.core.i18n import N_, Translate

PlanData = dict[str, Any]

STEPS = ("contacts", "lawyer", "medical", "code_words", "proof_question", "proof_answer", "statement",
         "lock", "actions")
# /plan edit PART → the steps it asks again; the names are keywords, like commands (never translated).
PARTS: dict[str, tuple[str, ...]] = {
    "contacts": ("contacts",), "lawyer": ("lawyer",), "medical": ("medical",), "codewords": ("code_words",),
    "proof": ("proof_question", "proof_answer"), "statement": ("statement",), "lock": ("lock",),
    "actions": ("actions",),
}
ALIASES = {"contact": "contacts", "code_words": "codewords", "code-words": "codewords", "codes": "codewords",
           "code": "codewords", "proof-of-life": "proof", "question": "proof", "medicine": "medical",
           "health": "medical", "accounts": "lock", "devices": "lock", "action": "actions",
           "diplomacy": "statement", "public": "statement"}
MAX_TEXT = 1000  # characters in one free-text answer
MAX_LINES = 15  # contacts, code words or actions
MAX_LINE = 300  # characters in one of them
SKIP, REMOVE = N_("skip"), N_("remove")  # words and button payloads (in any bot language: see is_word)
STATEMENTS = {"public": N_("Public statement"), "quiet": N_("Quiet diplomacy")}

PART_LABELS = {
    "contacts": N_("Emergency contacts"), "lawyer": N_("Lawyer"), "medical": N_("Medical needs"),
    "codewords": N_("Code words"), "proof": N_("Proof-of-life question"),
    "statement": N_("Public statement or quiet diplomacy"), "lock": N_("Accounts and devices to lock"),
    "actions": N_("What to do"),
}

QUESTIONS = {
    "contacts": N_("Who should be contacted if something happens to you, in order of priority? One person "
                   "per line: name, relation, how to reach them, language. For example:\n"
                   "Fatima, sister, +254 700 000 000, Swahili\nJohn, colleague, john@example.org, English"),
    "lawyer": N_("Your lawyer: their name and how to reach them. For example: Grace Otieno, +254 711 000 000"),
    "medical": N_("Medical needs someone should know about if you are held: conditions, medicines, allergies."),
    "code_words": N_("Code words you may use, and what each means, one per line. For example:\n"
                     "blue = I am safe but cannot talk\nthe market = I have been arrested"),
    "proof_question": N_("A proof-of-life question: something only you can answer, which your partners can "
                         "ask to check that it is really you. For example: What was the name of our first "
                         "office?"),
    "proof_answer": N_("And its answer. I keep only a scrambled form of it, like a PIN, never the answer "
                       "itself, and I delete your message where the platform allows. Case, accents and "
                       "punctuation will not matter."),
    "statement": N_("If you are detained or disappear, what do you want: a public statement, or quiet "
                    "diplomacy?"),
    "lock": N_("Accounts and devices to lock or wipe, and how. For example: email: ask Fatima to change the "
               "password; phone: wipe it at google.com/android/find"),
    "actions": N_("Last: what should whoever is alerted do, in order? One action per line. For example:\n"
                  "Call my lawyer Grace\nTell my sister Fatima\nAsk the embassy to check the police stations"),
}


class AnswerError(ValueError):
    """An answer that cannot be used; ``message`` is translated, names what is wrong and gives an example."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def period(_: Translate, every: timedelta) -> str:
    """A review period as people say it: "90 days" (not "12 weeks 6 days")."""
    if every >= timedelta(days=1) and every % timedelta(days=1) == timedelta(0):
        days = every // timedelta(days=1)
        return _.ngettext("{n} day", "{n} days", days).format(n=_.number(days))
    return _.duration(every)


def part_named(word: str) -> str | None:
    """The part of the plan ``word`` names (``lawyer``, ``codewords``, ``3``), or None."""
    name = word.strip().lower().strip(".:")
    if name.isdigit() and 1 <= int(name) <= len(PARTS):
        return list(PARTS)[int(name) - 1]
    return name if name in PARTS else ALIASES.get(name)


def is_word(_: Translate, text: str, word: str) -> bool:
    """Whether ``text`` is ``word`` (``skip``, ``remove``), in English or the reader's language."""
    said = text.strip().strip(".!").casefold()
    return said in (word, _(word).casefold())


def parse(step: str, text: str, _: Translate) -> Any:
    """The value an answer gives ``step``; :class:`AnswerError` when it cannot be used."""
    text = text.strip()
    if step == "contacts":
        return _contacts(text, _)
    if step == "code_words":
        return _code_words(text, _)
    if step == "actions":
        return _actions(text, _)
    if step == "statement":
        return _statement(text, _)
    if not text:
        raise AnswerError(_("That answer is empty. Write it as a message, or send skip to leave it out."))
    if len(text) > MAX_TEXT:
        raise AnswerError(_("That answer is {n} characters long; the most I keep is {max}. Please shorten "
                            "it.").format(n=_.number(len(text)), max=_.number(MAX_TEXT)))
    return text


def _lines(text: str, _: Translate, example: str) -> list[str]:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise AnswerError(_("That answer is empty. Write one per line, for example:\n{example}").format(
            example=example))
    if len(lines) > MAX_LINES:
        raise AnswerError(_("That is {n} lines; the most I keep is {max}. Please keep the most important "
                            "ones.").format(n=_.number(len(lines)), max=_.number(MAX_LINES)))
    for number, line in enumerate(lines, 1):
        if len(line) > MAX_LINE:
            raise AnswerError(_("Line {n} is {length} characters long; the most is {max}. Please shorten "
                                "it.").format(n=number, length=_.number(len(line)), max=_.number(MAX_LINE)))
    return lines


def _contacts(text: str, _: Translate) -> list[dict[str, str]]:
    example = "Fatima, sister, +254 700 000 000, Swahili"
    contacts = []
    for number, line in enumerate(_lines(text, _, example), 1):
        parts = [part.strip() for part in line.split(",")]
        if len(parts) < 3 or not all(parts[:3]):
            raise AnswerError(_("Line {n} (“{line}”) needs a name, a relation and how to reach them, "
                                "separated by commas, for example: {example}").format(
                n=number, line=line, example=example))
        language = parts[-1] if len(parts) > 3 else ""
        reach = ", ".join(parts[2:-1] if len(parts) > 3 else parts[2:])
        contacts.append({"name": parts[0], "relation": parts[1], "reach": reach, "language": language})
    return contacts


_MEANS = re.compile(r"\s*(?:=|:|->|→|—|–|\s-\s)\s*")


def _code_words(text: str, _: Translate) -> list[list[str]]:
    example = "blue = I am safe but cannot talk"
    words = []
    for number, line in enumerate(_lines(text, _, example), 1):
        parts = _MEANS.split(line, maxsplit=1)
        if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
            raise AnswerError(_("Line {n} (“{line}”) has no meaning: write the code word, then = and what it "
                                "means, for example: {example}").format(n=number, line=line, example=example))
        words.append([parts[0].strip(), parts[1].strip()])
    return words


_NUMBERED = re.compile(r"^(?:\d{1,2}\s*[.)]|[-*•])\s*")


def _actions(text: str, _: Translate) -> list[str]:
    example = "Call my lawyer Grace"
    actions = [_NUMBERED.sub("", line, count=1).strip() for line in _lines(text, _, example)]
    for number, action in enumerate(actions, 1):
        if not action:
            raise AnswerError(_("Line {n} has a number but no action. Write what to do, for example: "
                                "{example}").format(n=number, example=example))
    return actions


def _statement(text: str, _: Translate) -> str:
    said = text.strip().strip(".!").casefold()
    for value, label in STATEMENTS.items():
        names = {value, _(label).casefold(), label.casefold(), _(label).split()[0].casefold()}
        if said in names:
            return value
    raise AnswerError(_("Please answer “{public}” or “{quiet}” (or press a button).").format(
        public=_(STATEMENTS["public"]), quiet=_(STATEMENTS["quiet"])))


# -- showing a plan ------------------------------------------------------------------------------


def actions_of(data: PlanData) -> list[str]:
    actions = data.get("actions") or []
    return [str(a) for a in actions]


def plan_body(_: Translate, data: PlanData, *, alert_id: int | None = None, proof_set: bool = False,
              everything: bool = False) -> list[str]:
    """The plan's lines in the reader's language: its actions first (with how to tick them when
    ``alert_id`` is given), then the details. ``everything``: show unanswered parts as "—" (the
    HRD's own view); otherwise leave them out."""
    lines: list[str] = []
    none = "—"
    actions = actions_of(data)
    if actions or everything:
        lines.append(_("What to do, in order — tick each one done with /done {id} N:").format(id=alert_id)
                     if alert_id is not None else _("What whoever is alerted should do:"))
        lines += [f"{n}. {action}" for n, action in enumerate(actions, 1)] or [none]
    contacts = data.get("contacts") or []
    if contacts or everything:
        lines.append(_("Emergency contacts, in order:"))
        for n, c in enumerate(contacts, 1):
            line = _("{name} ({relation}): {reach}").format(name=c["name"], relation=c["relation"], reach=c["reach"])
            if c.get("language"):
                line += " — " + _("speaks {language}").format(language=c["language"])
            lines.append(f"{n}. {line}")
        if not contacts:
            lines.append(none)
    for key, label in (("lawyer", N_("Lawyer: {text}")), ("medical", N_("Medical needs: {text}"))):
        if data.get(key) or everything:
            lines.append(_(label).format(text=data.get(key) or none))
    words = data.get("code_words") or []
    if words or everything:
        lines.append(_("Code words:"))
        lines += [_("• “{word}” means: {meaning}").format(word=w, meaning=m) for w, m in words] or [none]
    if data.get("proof_question") or everything:
        question = data.get("proof_question") or none
        lines.append(_("Proof-of-life question: {question}").format(question=question))
        if everything and data.get("proof_question"):
            lines.append(_("(its answer is set; I do not keep it, only a scrambled form)") if proof_set
                         else _("(no answer is set: send /plan edit proof)"))
    if data.get("statement") or everything:
        choice = data.get("statement")
        lines.append(_("If detained or disappeared: {choice}").format(
            choice=_(STATEMENTS[choice]) if choice in STATEMENTS else none))
    if data.get("lock") or everything:
        lines.append(_("Accounts and devices to lock: {text}").format(text=data.get("lock") or none))
    return lines
