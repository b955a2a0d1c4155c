"""Acknowledging is not resolving: closing an alert records how it ended (issue 14).

``/resolve ID OUTCOME [text]`` (c2p_bot.core.commands.alerts) keeps the outcome in ``alert.outcome``
(:mod:`c2p_bot.core.outcomes`) and the words in a sealed note of kind ``resolve``. The outcome and
the words go to everyone alerted, each as their channel allows (the rules of notes), and to the
defender — except about alerts their own chat never showed (:data:`HRD_TOLD`): a duress alert, a
failed proof of life, repeated wrong PINs. Telling them would show whoever holds their phone that
the silent alarm went off. Flow diagram: docs/flows/alert-lifecycle.md.
"""

from __future__ import annotations

from c2p_bot.core.alert_kinds import kind_name
from c2p_bot.core.context import Context
from c2p_bot.core.crypto import CryptoError
from c2p_bot.core.events import Button, Priority
from c2p_bot.core.i18n import Translate
from c2p_bot.core.notes import read_note, shown_over, write_note
from c2p_bot.core.outbox import best_identity
from c2p_bot.core.outcomes import LABELS, OUTCOMES, outcome_label
from c2p_bot.core.playbook import DETENTION
from storage.models import Alert, Note, Person

# The kinds of alert a defender's own chat knows about (they raised it, or were told to check in).
HRD_TOLD = frozenset({"missed", "panic", "session", DETENTION})


def outcome_buttons(_: Translate, alert_id: int | None) -> list[list[Button]]:
    buttons = [Button(_(LABELS[outcome]), f"/resolve {alert_id} {outcome}") for outcome in OUTCOMES]
    return [buttons[:3], buttons[3:]]


def ask_outcome(ctx: Context, alert: Alert, me: Person, text: str) -> None:
    """``/resolve ID`` without an outcome (or with words that do not start with one): the words go
    to the logbook, nothing closes, and the outcomes come as buttons."""
    hrd = ctx.session.get(Person, alert.hrd_id)
    lines = []
    if text:
        write_note(ctx.session, subject_id=alert.hrd_id, author_id=me.id, kind="log", text=text,
                   now=ctx.now, alert_id=alert.id, outbox=ctx.core.outbox)
        lines.append(ctx._("“{word}” is not an outcome.").format(word=text.split()[0][:30]))
    lines.append(ctx._("How did alert #{id} about {hrd} end? Press one, or send /resolve {id} OUTCOME [what "
                       "happened], with OUTCOME one of: {outcomes}. For example: /resolve {id} safe she called "
                       "me.").format(id=alert.id, hrd=(hrd.alias if hrd else None) or "?",
                                     outcomes=", ".join(OUTCOMES)))
    if text:
        lines.append(ctx._("What you wrote is in the logbook."))
    ctx.reply("\n".join(lines), outcome_buttons(ctx._, alert.id))


def close_with(ctx: Context, alert: Alert, me: Person, outcome: str, text: str) -> tuple[list[Person], Note | None]:
    """Resolve ``alert`` with ``outcome`` (a coordinator's decision); returns who else was alerted
    and the sealed note of the words said, if any."""
    note = write_note(ctx.session, subject_id=alert.hrd_id, author_id=me.id, kind="resolve", text=text,
                      now=ctx.now, alert_id=alert.id, outbox=ctx.core.outbox) if text else None
    alert.outcome = outcome
    others = ctx.core.escalation.resolve(ctx.session, alert, me, ctx.now)
    ctx.audit("alert_outcome", f"alert:{alert.id}", f"outcome={outcome}")
    return others, note


def tell_outcome(ctx: Context, alert: Alert, me: Person, others: list[Person], outcome: str,
                 note: Note | None, text: str) -> None:
    """The outcome and the words to everyone else alerted, to the defender (when their chat knew
    of the alert), and the reply."""
    hrd = ctx.session.get(Person, alert.hrd_id)
    hrd_alias = (hrd.alias if hrd else None) or "?"
    who = me.alias or "?"
    for person in others:
        if person.id == alert.hrd_id:
            continue
        try:
            shown = read_note(ctx.session, ctx.core.keyring, note, person) if note is not None else None
        except CryptoError:
            shown = None

        def render(_: Translate, shown: str | None = shown) -> str:
            told = _("{who} resolved alert #{id} about {hrd}. Outcome: {outcome}.").format(
                who=who, id=alert.id, hrd=hrd_alias, outcome=outcome_label(_, outcome))
            return f"{told}\n{shown}" if shown else told

        ctx.tell(person, render, key=f"alert:{alert.id}:resolved:{person.id}", kind="alert-closed",
                 sensitive=shown is not None)
    if hrd is not None and hrd.status == "active" and alert.kind in HRD_TOLD:
        _tell_hrd(ctx, alert, hrd, who, outcome, note, text)
    ctx.reply(ctx._("Alert #{id} about {hrd} is resolved. Outcome: {outcome}. Thank you.").format(
        id=alert.id, hrd=hrd_alias, outcome=outcome_label(ctx._, outcome)))


def _tell_hrd(ctx: Context, alert: Alert, hrd: Person, who: str, outcome: str, note: Note | None,
              text: str) -> None:
    best = best_identity(ctx.session, hrd.id or 0)
    # The words keep to the channel rules of notes: never over a less protected channel than they came by.
    words = text if note is not None and shown_over(ctx.session, note, best.platform if best else None) else ""

    def render(_: Translate) -> str:
        # No number in the defender's chat (SECURITY.md, 4): the kind and when it was raised.
        told = _("An alert about you ({kind}, raised {when}) is closed by {who}. Outcome: {outcome}.").format(
            kind=kind_name(_, alert.kind), when=_.when(alert.raised_at, hrd.timezone), who=who,
            outcome=outcome_label(_, outcome))
        return f"{told}\n{words}" if words else told

    ctx.tell(hrd, render, key=f"alert:{alert.id}:resolved:{hrd.id}", kind="alert-closed",
             priority=Priority.NOTICE, sensitive=bool(words))
