"""Telling every coordinator, once, of a row refused by its integrity check (:mod:`c2p_bot.core.integrity`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session as OrmSession

from c2p_bot.core.events import Priority
from c2p_bot.core.integrity import REPORT, WHAT
from c2p_bot.core.outbox import Outbox
from c2p_bot.core.recipients import coordinators


def tell_coordinators(outbox: Outbox, session: OrmSession, table: str, row_id: str, now: datetime) -> None:
    """Queue the refusal report (without secrets) to every coordinator, in the session that found it."""
    for person in coordinators(session):  # type: ignore[arg-type]
        outbox.to_person(
            session, person,  # type: ignore[arg-type]
            lambda _: _(REPORT).format(what=_(WHAT[table]), table=table, id=row_id),
            now=now, key=f"integrity:{table}:{row_id}:to:{person.id}", priority=Priority.NOTICE,
        )
