"""Drills (issue 14): ``/drill HRD`` runs the full escalation with every message marked DRILL, records
each recipient's time to acknowledge, and ``/drills`` lists the results per person. A drill is never
part of the HRD's real alert state, and a real miss during a drill still raises a real alert."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session, select

from c2p_bot.config import parse_config
from c2p_bot.core.alert_texts import AlertView, PersonView, alert_text
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.drills import DRILL, drill_over_text
from c2p_bot.core.i18n import gettext_for
from storage.engine import make_engine
from storage.models import AlertRecipient
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import trio
from tests.support.queries import alerts, clock_of
from tests.support.transcript import Chat, memory_chat


async def test_a_drill_runs_the_chain_marked_drill_and_records_each_time_to_acknowledge(chat: Chat) -> None:
    await trio(chat)
    await chat.say("cora", "/drills")
    chat.expect("cora", r"^No drills yet\. Start one with /drill followed by a defender's name, like /drill "
                        r"Amina\.$")
    await chat.say("cora", "/drill Amina")
    chat.expect("cora", r"^🧪 DRILL #1 started for Amina: their alert chain is being tested; every message is "
                        r"marked 🧪 DRILL\. It ends by itself at 2026-03-01 11:00 UTC, or once everyone alerted "
                        r"has acknowledged\. Results: /drills$")
    alert = chat.expect("paul", r"^🧪 DRILL #1 — this is a drill, not a real alert: Amina's alert chain is being "
                                r"tested\. Please answer it as you would a real alert\.\n.*Acknowledge with /ack 1")
    assert alert.buttons == [[("Acknowledge", "/ack 1")]]
    assert "🚨" not in alert.text
    chat.expect_nothing("amina")  # [drills] announce = false: the defender is not told
    chat.expect_nothing("cora")
    chat.clock.advance(16 * MINUTE)  # ack_timeout: the coordinators, as in a real escalation
    await chat.tick()
    chat.expect("cora", r"^🧪 DRILL #1 — this is a drill")
    chat.clock.advance(4 * MINUTE)
    await chat.say("paul", "/ack 1")
    chat.expect("paul", r"^🧪 DRILL #1: you acknowledged after 20 minutes\. Thank you — this was a drill: nothing "
                        r"has happened to Amina\.$")
    chat.expect("cora", r"^🧪 DRILL #1: Paul acknowledged after 20 minutes\.$")
    await chat.say("paul", "/ack 1")
    chat.expect("paul", r"^🧪 DRILL #1: you already acknowledged it\.$")
    chat.clock.advance(MINUTE)
    await chat.press("cora", "Acknowledge")  # every recipient's time counts, not only the first
    chat.expect("cora", r"^🧪 DRILL #1: you acknowledged after 5 minutes\. Thank you")
    chat.expect("cora", r"^🧪 DRILL #1 about Amina is over\.\nPaul: acknowledged after 20 minutes\.\n"
                        r"Cora: acknowledged after 5 minutes\.\nAll results: /drills$")
    chat.expect("paul", r"^🧪 DRILL #1 about Amina is over\. It was a drill: nothing has happened to Amina\.$")
    chat.expect_nothing("amina")
    assert [(a.kind, a.status) for a in alerts(chat)] == [("drill", "resolved")]
    await chat.say("cora", "/drills")
    chat.expect("cora", r"^🧪 DRILL results, time to acknowledge:\nCora — 1 drill: acknowledged 1, median 5 "
                        r"minutes \(5 minutes\)\nPaul — 1 drill: acknowledged 1, median 20 minutes \(20 minutes\)$")
    chat.clock.advance(3 * HOUR)
    await chat.tick()
    chat.expect_nothing("paul")
    chat.expect_nothing("cora")


async def test_an_announced_drill_a_missed_recipient_and_a_real_miss_during_it(db_url: str) -> None:
    engine = make_engine(db_url)
    chat = memory_chat(engine, parse_config({"drills": {"announce": True}}, env={}), FakeClock())
    try:
        await trio(chat)
        chat.clock.advance(DAY + 30 * MINUTE)  # Amina's check-in is due; she has not sent it
        chat.skip("amina")
        await chat.say("cora", "/drill Amina")
        told = chat.expect("amina", r"^🧪 DRILL: Cora is testing your alert chain now\. Your partners and the "
                                    r"coordinators will get messages marked 🧪 DRILL\. You don't need to do "
                                    r"anything\.$")
        drill = chat.expect("paul", r"^🧪 DRILL #1")
        assert int(told.message_id) < int(drill.message_id)  # the defender is told first
        chat.expect("cora", r"^🧪 DRILL #1 started for Amina.*Amina was told first\.")
        chat.clock.advance(31 * MINUTE)  # her real deadline passes during the drill
        await chat.tick()
        real = chat.expect("paul", r"^🚨 ALERT #2: Amina missed a check-in")
        assert "DRILL" not in real.text
        chat.skip("amina")  # told to check in now
        await chat.say("amina", "/status")
        chat.expect("amina", r"Open alerts: missed check-in \(raised [^,]+\)\.$")  # the drill is not hers to see
        chat.clock.advance(MINUTE)
        await chat.tick()
        chat.expect("cora", r"^🧪 DRILL #1 — this is a drill")  # step 2 of the drill, from the last sweep
        await chat.say("cora", "/ack 1")
        chat.expect("cora", r"^🧪 DRILL #1: you acknowledged after 1 minute\.")
        chat.expect("paul", r"^🧪 DRILL #1: Cora acknowledged after 1 minute\.$")
        await chat.say("cora", "/resolve 2 safe she called")  # the real alert closes; the drill does not hold it
        chat.expect("cora", r"Alert #2 about Amina is resolved")
        assert clock_of(chat).state == "ok"
        chat.skip("paul")
        chat.clock.advance(2 * HOUR)  # [drills] ends_after: Paul never acknowledged the drill
        await chat.tick()
        chat.expect("cora", r"^🧪 DRILL #1 about Amina is over\.\nPaul: did not acknowledge\.\nCora: acknowledged "
                            r"after 1 minute\.\nAll results: /drills$", skipping=True)
        chat.expect("paul", r"^🧪 DRILL #1 about Amina is over\. It was a drill", skipping=True)
        chat.expect("amina", r"^🧪 DRILL: the test of your alert chain is over\. Thank you\.$", skipping=True)
        await chat.say("cora", "/drills")
        chat.expect("cora", r"Paul — 1 drill: acknowledged 0, missed 1$")
        with Session(engine) as session:
            rows = session.exec(select(AlertRecipient).where(AlertRecipient.alert_id == 1)).all()
        assert sorted((r.person_id, r.acked_at is not None) for r in rows) == [(1, True), (3, False)]
    finally:
        engine.dispose()


async def test_drill_names_a_defender_like_match_does(chat: Chat) -> None:
    await trio(chat)
    await chat.say("paul", "/drill Amina")
    chat.expect("paul", r"^Sorry, I don't know that command")
    await chat.say("cora", "/drill Amnia")
    chat.expect("cora", r"^I don't know an active defender called “Amnia”\.\nFor example: /drill Amina$")
    await chat.say("cora", "/drill")
    choice = chat.expect("cora", r"^Whose alert chain should be tested\? Choose a defender:$")
    assert choice.buttons == [[("Amina (Kenya)", "/drill #2")]]
    await chat.press("cora", "Amina")
    chat.expect("cora", r"^🧪 DRILL #1 started for Amina")
    await chat.say("cora", "/resolve 1")  # a coordinator may end it early
    chat.expect("cora", r"^🧪 DRILL #1 about Amina is over\.\nPaul: did not acknowledge\.\nAll results: /drills$")
    chat.expect("paul", r"^🧪 DRILL #1 — this is a drill")
    chat.expect("paul", r"^🧪 DRILL #1 about Amina is over")


def test_every_drill_message_says_drill_in_every_language() -> None:
    moment = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    person = PersonView(2, "Amina", "KE", "UTC", "en", "custodial", None)
    for language in ("en", "fr", "es", "ar", "ru"):
        _ = gettext_for(language)
        mark = _(DRILL)
        assert mark.startswith("🧪 ") and (language == "en" or mark != DRILL), language
        view = AlertView(7, "drill", moment, None, None, 1, 0)
        for text in (alert_text(_, view, person, person, None, None), drill_over_text(_, 7, "Amina")):
            assert mark in text, (language, text)
