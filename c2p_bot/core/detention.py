"""Detention (issue 14): the alert of kind ``detention``.

Raised by a partner matched with the defender or a coordinator (``/detained HRD [text]``) or by the
defender themself (``/panic detained [text]``). Like a panic it reaches every step at once, and its
message carries the emergency plan and the first-hours playbook (:mod:`c2p_bot.core.playbook`),
numbered for ``/done``. The words said with the report are a sealed note of kind ``detention``
(author: who reported it). A defender already reported detained is not alerted about twice: further
words go to the open detention alert's logbook. The defender's chat is not told of a report by
someone else (whoever holds their phone could read it). Flow diagram: docs/flows/detention.md.
"""

from __future__ import annotations

from sqlmodel import col, select

from c2p_bot.core.context import Context
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.notes import write_note
from c2p_bot.core.playbook import DETENTION
from storage.models import Alert, Person

NO_WORDS = "—"  # the note of a report made without words (so the alert still knows who reported it)


def open_detention(ctx: Context, hrd: Person) -> Alert | None:
    return ctx.session.exec(select(Alert).where(
        Alert.hrd_id == hrd.id, Alert.kind == DETENTION, col(Alert.status).in_(("open", "acked")))
        .order_by(col(Alert.id).desc())).first()


def raise_detention(ctx: Context, hrd: Person, words: str) -> tuple[Alert, bool]:
    """Raise a detention alert about ``hrd``, reported by the sender, unless one is open already
    (then ``words`` go to its logbook). Returns the alert and whether it is new."""
    reporter = ctx.person
    if reporter is None or reporter.id is None or hrd.id is None:
        raise InvariantError("a detention reported without a registered sender or defender")
    existing = open_detention(ctx, hrd)
    if existing is not None:
        if words:
            write_note(ctx.session, subject_id=hrd.id, author_id=reporter.id, kind="log", text=words,
                       now=ctx.now, alert_id=existing.id, outbox=ctx.core.outbox)
        ctx.audit("detention_reported_again", f"alert:{existing.id}", f"by=person:{reporter.id}")
        return existing, False
    note = write_note(ctx.session, subject_id=hrd.id, author_id=reporter.id, kind=DETENTION, text=words or NO_WORDS,
                      now=ctx.now, outbox=ctx.core.outbox)
    alert = ctx.core.escalation.raise_alert(ctx.session, hrd, DETENTION, ctx.now)
    note.alert_id = alert.id
    ctx.session.add(note)
    ctx.audit("detention_reported", f"alert:{alert.id}", f"by=person:{reporter.id}")
    return alert, True
