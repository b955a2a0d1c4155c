"""Shutdown awareness: many defenders of one country missing at once may mean the network is down.

When at least ``[shutdown] min_hrds`` defenders of one country have missed a check-in or a session
within ``[shutdown] window``, every coordinator gets one "possible connectivity shutdown in COUNTRY"
notice naming them (the country in the reader's language); at most one per country within the
window (a ``shutdown_notice`` row). Each defender's own alert escalates as usual: this is only a
notice beside them.

Run after each sweep pass that raised misses, with the countries of those misses: one grouped query
over the recent alerts of those countries (index on alert kind and time); nothing at all when the
pass raised none. Flow diagram: docs/flows/session.md (the sweeper step).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import distinct, func
from sqlmodel import Session, col, select

from c2p_bot.core.audit import audit
from c2p_bot.core.durations_text import say_duration
from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import Translate
from c2p_bot.core.outbox import Outbox
from c2p_bot.core.places import country_label
from c2p_bot.core.recipients import coordinators
from c2p_bot.core.settings import CoreSettings
from storage.models import Alert, Person, ShutdownNotice

MISSES = ("missed", "session")  # what counts: a missed check-in or session (never a drill)


def notice_shutdowns(session: Session, outbox: Outbox, settings: CoreSettings, countries: Iterable[str | None],
                     now: datetime) -> int:
    """Tell the coordinators of each country among ``countries`` where enough defenders have missed
    within the window (once per country per window); returns how many notices were sent."""
    wanted = sorted({c for c in countries if c})
    if not wanted:
        return 0
    since = now - settings.shutdown.window
    hrds = func.count(distinct(col(Alert.hrd_id)))
    due = session.exec(select(Person.country, hrds).join(Person, col(Person.id) == col(Alert.hrd_id)).where(
        col(Alert.kind).in_(MISSES), col(Alert.raised_at) > since, col(Alert.raised_at) <= now,
        col(Person.country).in_(wanted)).group_by(col(Person.country))
        .having(hrds >= settings.shutdown.min_hrds)).all()
    sent = 0
    for country, count in due:
        if country is None or session.exec(select(ShutdownNotice.id).where(
                ShutdownNotice.country == country, col(ShutdownNotice.sent_at) > since)).first() is not None:
            continue
        names = sorted(set(session.exec(select(Person.alias).join(Alert, col(Alert.hrd_id) == col(Person.id)).where(
            col(Alert.kind).in_(MISSES), col(Alert.raised_at) > since, col(Alert.raised_at) <= now,
            Person.country == country)).all()), key=lambda a: (a or "").casefold())
        notice = ShutdownNotice(country=country, sent_at=now, hrds=count)
        session.add(notice)
        session.flush()
        audit(session, now, "shutdown_suspected", subject=f"country:{country}", detail=f"hrds={count}")
        shown = ", ".join(a or "?" for a in names)
        for person in coordinators(session):
            outbox.to_person(session, person, _render(country, count, shown, settings), now=now,
                             key=f"shutdown:{notice.id}:to:{person.id}", priority=Priority.ALERT_NOTICE,
                             kind="notice")
        sent += 1
    return sent


def _render(country: str, count: int, names: str, settings: CoreSettings) -> Callable[[Translate], str]:
    def render(_: Translate) -> str:
        place = country_label(country, _.language)
        return _.ngettext(
            "⚠ Possible connectivity shutdown in {country}: {n} defender there missed their check-in within "
            "{window}: {names}. Each one's alert escalates as usual; check the news and your other channels "
            "for {country}.",
            "⚠ Possible connectivity shutdown in {country}: {n} defenders there missed their check-ins within "
            "{window}: {names}. Each one's alert escalates as usual; check the news and your other channels "
            "for {country}.", count).format(
            country=place, n=_.number(count), window=say_duration(_, settings.shutdown.window), names=names)

    return render
