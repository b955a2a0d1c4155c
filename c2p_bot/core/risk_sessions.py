"""Risky-event sessions: a one-off deadline an HRD sets on top of their schedule (issue 14).

``/session 3h court hearing, district court`` opens a :class:`~storage.models.RiskSession` due in
three hours; its note is sealed like a check-in note (a ``Note`` of kind ``session``, never stored
in clear). The regular schedule keeps running, and a check-in does not end a session. Missed, the
session raises an alert of kind ``session`` that carries the session note through the usual
escalation chain (c2p_bot.core.session_watch); ``/session end`` closes it (with the PIN when one is
set) and, if its alert is open, resolves it with an all-clear. Flow diagram: docs/flows/session.md.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from c2p_bot.core.i18n import Translate
from storage.models import Alert, Note, RiskSession

SESSION_KIND = "session"
CURRENT = ("open", "missed")  # not ended yet: a missed session stays until /session end
OWN_NOTE = ("session", "drill")  # alert kinds whose note is not the HRD's latest check-in note


def current_session(session: Session, hrd_id: int) -> RiskSession | None:
    """The HRD's session not ended yet (open, or missed and not closed), if any."""
    return session.exec(select(RiskSession).where(
        RiskSession.hrd_id == hrd_id, col(RiskSession.state).in_(CURRENT))
        .order_by(col(RiskSession.id).desc())).first()


def own_note(session: Session, alert: Alert) -> Note | None:
    """The note an alert of an :data:`OWN_NOTE` kind shows: a session alert its session's note
    (found by HRD and deadline, so it is there from the first message on); a drill none."""
    if alert.kind != SESSION_KIND:
        return None
    return session.exec(select(Note).join(RiskSession, col(RiskSession.note_id) == col(Note.id)).where(
        RiskSession.hrd_id == alert.hrd_id, RiskSession.due_at == alert.due_at)).first()


def checkin_line(_: Translate, session: Session, hrd_id: int, zone: str) -> str | None:
    """What a check-in's reply adds while a session is not ended (the same whichever PIN was used)."""
    current = current_session(session, hrd_id)
    if current is None:
        return None
    return _("Your session is still open until {due}: a check-in does not end it. Send /session end when "
             "you are safe.").format(due=_.when(current.due_at, zone))
