"""A defender's case log: what partners (and coordinators) did for them, ``/action`` (issue 16).

Each action is a :class:`~storage.models.PartnerAction` row (its kind, readable by the case log and
the reports) and a sealed note of kind ``action`` with the words said about it (readable, like
every logbook entry, by the defender's partners and the coordinators at the time it was written).
When the defender has an open or acknowledged alert, the note belongs to that alert, so it shows in
``/log ID`` with the rest of that case; otherwise it stands in the defender's own case log, which
``/action HRD`` lists. A partner's action counts as contact with the defender.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from c2p_bot.core.action_kinds import action_label
from c2p_bot.core.context import Context
from c2p_bot.core.crypto import CryptoError
from c2p_bot.core.i18n import Translate
from c2p_bot.core.notes import read_note, write_note
from c2p_bot.core.partnerships import touch_contact
from c2p_bot.core.recipients import coordinators
from storage.models import Alert, Note, PartnerAction, Person

SHOWN = 20


def open_alert(session: Session, hrd_id: int) -> Alert | None:
    """The defender's latest alert that is not resolved, if any."""
    return session.exec(select(Alert).where(Alert.hrd_id == hrd_id, col(Alert.status).in_(("open", "acked")),
                                            col(Alert.kind) != "drill")  # never a drill
                        .order_by(col(Alert.id).desc())).first()


def record_action(ctx: Context, hrd: Person, kind: str, text: str) -> PartnerAction:
    """Log an action for ``hrd`` by the sender; the coordinators (but the sender) are told."""
    me, session = ctx.person, ctx.session
    author = ctx.person_id
    alert = open_alert(session, hrd.id or 0)
    alert_id = alert.id if alert is not None else None
    note = write_note(session, subject_id=hrd.id or 0, author_id=author, kind="action", text=text, now=ctx.now,
                      alert_id=alert_id, outbox=ctx.core.outbox)
    action = PartnerAction(hrd_id=hrd.id or 0, author_id=author, kind=kind, note_id=note.id, alert_id=alert_id,
                           created_at=ctx.now)
    session.add(action)
    session.flush()
    # What the reports and case exports count (c2p_bot.core.report_data, case_file).
    ctx.audit("partner_action", f"person:{hrd.id}", f"kind={kind} action:{action.id}")
    if me is not None and me.role == "partner":
        touch_contact(session, hrd.id or 0, author, ctx.config, ctx.now)
    who, h_alias = me.alias if me else "?", hrd.alias

    def render(_: Translate) -> str:
        text = _("{who} recorded an action for {hrd}: {kind}.").format(who=who, hrd=h_alias, kind=action_label(_, kind))
        if alert_id is not None:
            return text + " " + _("Read it with /log {id}.").format(id=alert_id)
        return text + " " + _("Read it with /action {hrd}.").format(hrd=h_alias)

    for coordinator in coordinators(session):
        if coordinator.id != author:
            ctx.tell(coordinator, render, key=f"action:{action.id}:{coordinator.id}")
    return action


def note_kind_label(_: Translate, session: Session, note: Note) -> str:
    """``[letter] `` before an action's words in a logbook; nothing for other entries."""
    if note.kind != "action":
        return ""
    kind = session.exec(select(PartnerAction.kind).where(PartnerAction.note_id == note.id)).first()
    return f"[{action_label(_, kind)}] " if kind else ""


def case_lines(ctx: Context, hrd: Person, reader: Person) -> list[str]:
    """The newest actions recorded for ``hrd``, as ``reader`` may read them (newest last)."""
    actions = list(ctx.session.exec(select(PartnerAction).where(PartnerAction.hrd_id == hrd.id)
                                    .order_by(col(PartnerAction.id).desc()).limit(SHOWN)).all())
    lines = []
    for action in reversed(actions):
        note = ctx.session.get(Note, action.note_id) if action.note_id is not None else None
        words: str | None = None
        if note is not None:
            try:
                words = read_note(ctx.session, ctx.core.keyring, note, reader)
            except CryptoError:
                words = ctx._("[this entry failed its integrity check and is not shown]")
            if words is None:
                words = ctx._("[written before you could read this case]")
        author = ctx.session.get(Person, action.author_id) if action.author_id is not None else None
        who = (author.alias or "?") if author is not None else ctx._("someone who has left")
        line = f"{ctx._.when(action.created_at, reader.timezone)} {who}: [{action_label(ctx._, action.kind)}]"
        if words:
            line += f" {words}"
        if action.alert_id is not None:
            line += " " + ctx._("(alert #{id})").format(id=action.alert_id)
        lines.append(line)
    return lines
