"""Detention (issue 14): /detained HRD [text] and /panic detained raise a detention alert that reaches every
step at once with the plan and the first-hours playbook, numbered for /done — through transcripts."""

from __future__ import annotations

from c2p_bot.config import parse_config
from storage.engine import make_engine
from tests.core.test_plans import write_plan
from tests.support import people
from tests.support.people import trio
from tests.support.queries import alerts
from tests.support.transcript import Chat, memory_chat

PLAYBOOK = ["4. Find out where they are held and by whom.", "5. Get a lawyer to them.",
            "6. Alert the embassy or the EU mission.", "7. Tell their family.", "8. Prepare an urgent appeal.",
            "9. Lock their accounts and devices."]


async def test_a_partner_reports_detention_and_everyone_gets_the_plan_and_the_playbook_at_once(chat: Chat) -> None:
    await trio(chat)
    await write_plan(chat)
    await chat.say("paul", "/detained Amina held at Central police station since 9am")
    chat.expect("paul", r"^Detention alert #1 about Amina is raised: every partner and coordinator is being alerted "
                        r"now, with Amina's emergency plan and the first steps to take\. Tick each step done with "
                        r"/done 1 N\.$")
    for user in ("paul", "cora"):  # every step at once: no waiting for the partners to acknowledge
        alert = chat.expect(user, r"^🚨 DETAINED — ALERT #1: Paul reports that Amina has been detained \(").text
        for part in ("What was reported (", "held at Central police station since 9am",
                     "What to do, in order — tick each one done with /done 1 N:\n1. Call my lawyer Grace",
                     "3. Ask the embassy to check the police stations", "Lawyer: Grace Otieno",
                     "⏱ The first hours of a detention decide a lot. Do these now — tick each one done with /done 1 N:",
                     "\n".join(PLAYBOOK), "If detained or disappeared: Quiet diplomacy"):
            assert part in alert, part
    chat.expect_nothing("amina")  # whoever holds her phone is not told
    assert [(a.kind, a.status) for a in alerts(chat)] == [("detention", "open")]
    await chat.say("paul", "/done 1 5 Grace is on her way")
    chat.expect("paul", r"^Ticked action 5 of alert #1 \(Get a lawyer to them\.\): it is in the case logbook, and the "
                        r"others alerted have been told\.$")
    chat.expect("cora", r"^Paul ticked action 5 of alert #1 about Amina\.\n✔ 5\. Get a lawyer to them\.\n"
                        r"Grace is on her way$")
    await chat.say("cora", "/done 1 2")
    chat.expect("cora", r"Ticked action 2 of alert #1 \(Tell my sister Fatima\)")
    chat.expect("paul", r"^Cora ticked action 2 of alert #1 about Amina\.")
    await chat.say("cora", "/done 1 10")
    chat.expect("cora", r"^Alert #1 lists 9 actions, so there is no action 10\. Send /done 1 N with N from 1 to 9")
    await chat.say("cora", "/detained Amina they moved her to the airport")  # not a second alarm
    chat.expect("cora", r"^Amina was already reported detained: alert #1, raised .*What you wrote is in its logbook "
                        r"\(/log 1\)\.$")
    chat.expect_nothing("paul")
    await chat.say("cora", "/resolve 1 detained released on bail, case goes on")
    chat.expect("amina", r"An alert about you \(detention, raised .+\) is closed by Cora\. Outcome: Detained\.",
                skipping=True)
    assert alerts(chat)[0].outcome == "detained"


async def test_an_hrd_says_panic_detained_and_without_a_plan_the_playbook_starts_at_one(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/panic detained at the airport")
    chat.expect("amina", r"^Alarm raised: everyone who protects you is being told now that you are being "
                         r"detained, with your emergency plan\.$")
    alert = chat.expect("paul", r"^🚨 DETAINED — ALERT #1: Amina says they are being detained \(").text
    assert "What was reported (" in alert and "at the airport" in alert
    assert "1. Find out where they are held and by whom." in alert and "emergency plan" not in alert
    chat.expect("cora", r"DETAINED — ALERT #1")
    await chat.say("paul", "/done 1 6")
    chat.expect("paul", r"Ticked action 6 of alert #1 \(Lock their accounts and devices\.\)")
    await chat.say("amina", "/panic détenue")  # in her words; one detention alert at a time
    chat.expect("amina", r"Alarm raised: everyone")


async def test_who_may_report_and_names_found_forgivingly(chat: Chat) -> None:
    await trio(chat)
    await people.hrd(chat, "bibi", alias="Bibi Ochieng")
    for user in ("cora", "bibi"):
        chat.skip(user)
    await chat.say("paul", "/detained")
    asked = chat.expect("paul", r"^Who has been detained\? Choose a defender:$")
    assert [row[0][1] for row in asked.buttons] == ["/detained #2"]  # only his own defender
    await chat.say("paul", "/detained Bibi Ochieng taken at night")  # not his: as if unknown
    chat.expect("paul", r"^I don't know an active defender of yours called “Bibi”\.")
    await chat.say("cora", "/detained bibi ochieng")  # a coordinator reports anyone, any case
    chat.expect("cora", r"^Detention alert #1 about Bibi Ochieng is raised", skipping=True)
    chat.skip("cora")  # and the alert itself: she is a recipient too
    await chat.say("cora", "/detained Ami")
    starts = chat.expect("cora", r"Nobody is called exactly “Ami”\. Which did you mean\?")
    assert [row[0][1] for row in starts.buttons] == ["/detained #2"]
    await chat.say("amina", "/detained Amina")
    chat.expect("amina", r"Sorry, I don't know that command")  # not a defender's command
    assert [a.hrd_id for a in alerts(chat)] == [alerts(chat)[0].hrd_id]


async def test_the_playbook_comes_from_the_config_and_reads_detained_in_french(
        db_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    config = parse_config({"detention": {"steps": ["Call the Nairobi desk", "Call Amnesty"]}}, env={})
    chat = memory_chat(engine, config, clock)
    try:
        await people.coordinator(chat)
        await people.hrd(chat)
        await people.partner(chat, language="fr")
        await chat.say("cora", "/match Amina Paul")
        await chat.press("paul", "Accept")
        for user in ("cora", "paul", "amina"):
            chat.skip(user)
        await chat.say("cora", "/detained Amina")
        alert = chat.expect("paul", r"^🚨 DÉTENTION — ALERTE #1 : Cora signale que Amina a été arrêté·e ").text
        assert "1. Call the Nairobi desk\n2. Call Amnesty" in alert and "What was reported" not in alert
        assert "Find out where" not in alert
    finally:
        engine.dispose()
