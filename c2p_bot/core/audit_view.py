"""The audit log as a coordinator reads it (``/audit``): people by alias, times on the reader's clock.

Entries name people as ``person:ID`` and, once forgotten, as ``anon:…`` (c2p_bot.core.forgetting);
both are shown as words here: the alias, or "a forgotten person" (never the pseudonym, which only
tells entries of one forgotten person apart). One query finds every alias a page of entries needs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlmodel import Session, col, select

from c2p_bot.core.i18n import Translate
from storage.models import AuditEntry, Person

PERSON = re.compile(r"\bperson:(\d{1,18})\b")
FORGOTTEN = re.compile(r"\banon:[0-9a-f]{6,64}\b")
FORGOTTEN_ACTOR = re.compile(r"^actor=(anon:[0-9a-f]{6,64})\s*")


def aliases(session: Session, ids: set[int]) -> dict[int, str]:
    """Aliases by person id, in one query."""
    if not ids:
        return {}
    rows = session.exec(select(Person.id, Person.alias).where(col(Person.id).in_(sorted(ids)))).all()
    return {int(pid): alias or f"#{pid}" for pid, alias in rows if pid is not None}


def audit_lines(_: Translate, session: Session, entries: Sequence[AuditEntry], zone: str) -> list[str]:
    """One line per entry, oldest first as given: when, who, what."""
    ids = {entry.actor_id for entry in entries if entry.actor_id}
    for entry in entries:
        for text in (entry.subject, entry.detail):
            ids.update(int(found) for found in PERSON.findall(text or ""))
    names = aliases(session, {i for i in ids if i is not None})
    forgotten = _("a forgotten person")

    def words(text: str | None) -> str:
        text = PERSON.sub(lambda m: names.get(int(m.group(1)), forgotten), text or "")
        return FORGOTTEN.sub(forgotten, text)

    lines = []
    for entry in entries:
        detail = entry.detail or ""
        if entry.actor_id:
            actor = names.get(entry.actor_id, forgotten)
        elif FORGOTTEN_ACTOR.match(detail):
            actor, detail = forgotten, FORGOTTEN_ACTOR.sub("", detail)
        else:
            actor = _("the bot")
        what = " ".join(part for part in (entry.action.replace("_", " "), words(entry.subject), words(detail))
                        if part)
        lines.append(_("{when} {who}: {what}").format(when=_.when(entry.at, zone), who=actor, what=what))
    return lines
