"""Shutdown awareness (issue 14): when ``[shutdown] min_hrds`` defenders of one country miss within
``[shutdown] window``, the coordinators get one "possible connectivity shutdown" notice naming them
(the country in each reader's language); each defender's own escalation still runs."""

from __future__ import annotations

from sqlalchemy import event
from sqlmodel import Session, select

from storage.models import ShutdownNotice
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.queries import alerts
from tests.support.transcript import Chat

UGANDANS = (("bwire", "Bwire"), ("achen", "Achen"), ("okello", "Okello"), ("nakato", "Nakato"))


async def test_three_misses_in_one_country_give_one_notice_and_every_alert_still_runs(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.coordinator(chat, "claire", alias="Claire", language="fr")
    for user, alias in UGANDANS:
        await people.hrd(chat, user, alias=alias, country="UG", timezone="Africa/Kampala")
    await people.hrd(chat, "amina", alias="Amina", country="KE")
    for user in ("cora", "claire"):
        chat.skip(user)
    start = chat.clock.now()
    chat.clock.advance(10 * MINUTE)
    await chat.say("achen", "/checkin")  # her deadline is 10 minutes after the others'
    chat.clock.advance(10 * MINUTE)
    await chat.say("okello", "/checkin")
    chat.clock.advance(5 * MINUTE)
    await chat.say("nakato", "/checkin")  # 25 minutes after
    chat.clock.set(start + DAY + HOUR + MINUTE)
    await chat.tick()  # Bwire (Uganda) and Amina (Kenya) miss: nothing but their alerts
    chat.expect("cora", r"^🚨 ALERT #\d: Bwire missed", skipping=True)
    chat.skip("cora")
    chat.clock.advance(10 * MINUTE)
    await chat.tick()  # Achen: two in Uganda
    chat.expect("cora", r"^🚨 ALERT #3: Achen missed")
    chat.expect_nothing("cora")
    chat.clock.advance(10 * MINUTE)
    await chat.tick()  # Okello: three within 30 minutes
    chat.expect("cora", r"^🚨 ALERT #4: Okello missed")
    chat.expect("cora", r"^⚠ Possible connectivity shutdown in Uganda: 3 defenders there missed their check-ins "
                        r"within 30 minutes: Achen, Bwire, Okello\. Each one's alert escalates as usual; check "
                        r"the news and your other channels for Uganda\.$")
    chat.expect("claire", r"Ouganda.*3 défenseurs.*Achen, Bwire, Okello", skipping=True)
    chat.clock.advance(5 * MINUTE)
    await chat.tick()  # Nakato: the fourth, within the same window: no second notice
    chat.expect("cora", r"^🚨 ALERT #5: Nakato missed")
    chat.expect_nothing("cora")
    assert [a.kind for a in alerts(chat)] == ["missed"] * 5
    with Session(chat.core.engine) as session:
        assert [(n.country, n.hrds) for n in session.exec(select(ShutdownNotice)).all()] == [("UG", 3)]


async def test_the_check_is_one_grouped_query_per_sweep_and_none_without_misses(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat, "amina", alias="Amina", country="KE")
    await people.hrd(chat, "bwire", alias="Bwire", country="UG", timezone="Africa/Kampala")
    statements: list[str] = []
    event.listen(chat.core.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    await chat.tick()  # nothing missed: no query at all
    assert not [s for s in statements if "count(DISTINCT alert.hrd_id)" in s or "shutdown_notice" in s]
    chat.clock.advance(DAY + HOUR + MINUTE)
    statements.clear()
    await chat.tick()  # two misses, in two countries: one grouped query, below the threshold
    assert len([s for s in statements if "count(DISTINCT alert.hrd_id)" in s]) == 1
    assert not [s for s in statements if "shutdown_notice" in s]
    chat.expect("cora", r"ALERT #1", skipping=True)
