"""Emergency plans (issue 14): /plan guided and resumable, /plan show, /plan edit, the plan carried
by every escalation message, /done, review reminders and /plans — through transcripts."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from c2p_bot.config import parse_config
from c2p_bot.core.plans import proof_matches
from storage.engine import make_engine
from storage.models import Note, Person, Plan, PlanCopy
from tests.core import test_note_channels as note_channels
from tests.core.test_note_channels import nets  # noqa: F401 - the Matrix-and-Telegram fixture
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import trio
from tests.support.transcript import Chat, memory_chat

CONTACTS = "Fatima, sister, +254 700 000 001, Swahili\nJohn, colleague, john@example.org"
ACTIONS = "1. Call my lawyer Grace\n2) Tell my sister Fatima\n- Ask the embassy to check the police stations"


async def write_plan(chat: Chat, user: str = "amina") -> None:
    """``user`` goes through the whole guided /plan (every question answered)."""
    await chat.say(user, "/plan")
    for answer in (CONTACTS, "Grace Otieno, +254 711 000 000", "Asthma: inhaler twice a day",
                   "blue = I am safe but cannot talk", "What was the name of our first office?",
                   "The Blue Door", "quiet", "email: Fatima changes the password", ACTIONS):
        await chat.say(user, answer)
    chat.expect(user, r"Your emergency plan is ready", skipping=True)


def plan_row(chat: Chat, alias: str = "Amina") -> Plan:
    with Session(chat.core.engine) as session:
        hrd = session.exec(select(Person).where(Person.alias == alias)).one()
        return session.exec(select(Plan).where(Plan.hrd_id == hrd.id)).one()


def copies_for(chat: Chat, alias: str) -> int:
    with Session(chat.core.engine) as session:
        reader = session.exec(select(Person).where(Person.alias == alias)).one()
        return len(session.exec(select(PlanCopy).where(PlanCopy.reader_id == reader.id)).all())


async def test_guided_plan_with_skips_and_several_lines_resumes_after_another_command(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/plan show")
    chat.expect("amina", r"You have no emergency plan yet\. Send /plan to write one")
    await chat.say("amina", "/plan")
    first = chat.expect("amina", r"Let's write your emergency plan.*question 1 of 9.*Who should be contacted")
    assert first.buttons == [[("Skip", "skip")]]
    await chat.say("amina", "Fatima\nJohn, colleague, john@example.org")
    chat.expect("amina", r"^Line 1 \(“Fatima”\) needs a name, a relation and how to reach them.*for example: "
                         r"Fatima, sister")
    await chat.say("amina", CONTACTS)
    chat.expect("amina", r"question 2 of 9.*Your lawyer")
    await chat.press("amina", "Skip")
    chat.expect("amina", r"question 3 of 9.*Medical needs")
    await chat.say("amina", "/status")  # another command: the questions stop here
    chat.expect("amina", r"Next check-in")
    await chat.say("amina", "/plan")
    chat.expect("amina", r"Let's go on with your emergency plan where you left off.*question 3 of 9.*Medical")
    await chat.say("amina", "Asthma: inhaler twice a day\nAllergic to penicillin")
    chat.expect("amina", r"question 4 of 9.*Code words")
    await chat.say("amina", "blue")
    chat.expect("amina", r"^Line 1 \(“blue”\) has no meaning: write the code word, then = and what it means")
    await chat.say("amina", "blue = I am safe but cannot talk\nthe market: I have been arrested")
    chat.expect("amina", r"question 5 of 9.*proof-of-life question")
    await chat.say("amina", "What was the name of our first office?")
    chat.expect("amina", r"question 6 of 9.*And its answer")
    chat.transport.deleted.clear()
    await chat.say("amina", "The Blue Door")
    assert len(chat.transport.deleted) == 1  # the answer's message is deleted
    statement = chat.expect("amina", r"question 7 of 9.*a public statement, or quiet diplomacy")
    assert statement.buttons == [[("Public statement", "public"), ("Quiet diplomacy", "quiet"), ("Skip", "skip")]]
    await chat.say("amina", "loud")
    chat.expect("amina", r"Please answer “Public statement” or “Quiet diplomacy”")
    await chat.press("amina", "Quiet diplomacy")
    chat.expect("amina", r"question 8 of 9.*Accounts and devices")
    await chat.press("amina", "Skip")
    chat.expect("amina", r"question 9 of 9.*what should whoever is alerted do")
    chat.transport.deleted.clear()
    await chat.say("amina", ACTIONS)
    assert len(chat.transport.deleted) == 1  # every answer is deleted from the chat, not only the proof's
    chat.expect("amina", r"Your emergency plan is ready\. Your partners and the coordinators will get it with "
                         r"any alert about you\..*every 90 days")
    await chat.say("amina", "/plan show")
    shown = chat.expect("amina", r"Your emergency plan \(reviewed ").text
    for part in ("1. Call my lawyer Grace", "2. Tell my sister Fatima", "3. Ask the embassy",
                 "1. Fatima (sister): +254 700 000 001 — speaks Swahili", "2. John (colleague): john@example.org",
                 "Lawyer: —", "Allergic to penicillin", "“the market” means: I have been arrested",
                 "Proof-of-life question: What was the name of our first office?", "its answer is set",
                 "If detained or disappeared: Quiet diplomacy", "Accounts and devices to lock: —",
                 "/plan edit PART"):
        assert part in shown, part
    assert "Blue Door" not in shown
    plan = plan_row(chat)
    assert plan.progress == "" and plan.proof_hash
    for answer, right in (("the blue door", True), (" THE BLUE-DOOR! ", True), ("the red door", False)):
        assert proof_matches(chat.core.keyring, plan, answer) is right
    assert copies_for(chat, "Paul") == 1 and copies_for(chat, "Cora") == 1


async def test_edit_a_part_asked_or_inline_with_kind_errors(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/plan edit lawyer")
    chat.expect("amina", r"You have no emergency plan yet")
    await write_plan(chat)
    await chat.say("amina", "/plan edit")
    which = chat.expect("amina", r"Which part of your plan\? Send /plan edit PART.*contacts, lawyer, medical, "
                                 r"codewords, proof, statement, lock, actions")
    assert ("Lawyer", "/plan edit lawyer") in which.buttons[0] + which.buttons[1]
    await chat.say("amina", "/plan edit passport")
    chat.expect("amina", r"There is no part of the plan called “passport”\..*/plan edit lawyer")
    await chat.say("amina", "/plan edit lawyer Peter Kamau, +254 722 000 000")
    chat.expect("amina", r"Saved: Lawyer\. Your partners and the coordinators will see the new version")
    await chat.say("amina", "/plan edit actions")
    asked = chat.expect("amina", r"what should whoever is alerted do")
    assert asked.buttons == [[("Keep as it is", "skip"), ("Remove this part", "remove")]]
    await chat.say("amina", "Call Peter\n3.")
    chat.expect("amina", r"^Line 2 has a number but no action")
    await chat.say("amina", "Call Peter\nCall Fatima")
    chat.expect("amina", r"Saved: What to do")
    await chat.say("amina", "/plan edit medical")
    chat.expect("amina", r"Medical needs")
    await chat.press("amina", "Remove this part")
    chat.expect("amina", r"Removed from your plan: Medical needs\.")
    await chat.say("amina", "/plan edit 2")  # parts by number too
    chat.expect("amina", r"Your lawyer")
    await chat.press("amina", "Keep as it is")
    chat.expect("amina", r"Nothing changed\.")
    await chat.say("amina", "/plan")  # a finished plan: /plan shows it
    shown = chat.expect("amina", r"Your emergency plan").text
    assert "1. Call Peter\n2. Call Fatima" in shown and "Lawyer: Peter Kamau" in shown
    assert "Medical needs: —" in shown


async def test_the_missed_checkin_alert_carries_the_plan_and_done_is_logged_and_told(chat: Chat) -> None:
    await trio(chat)
    await write_plan(chat)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()  # the sweeper's batch path
    alert = chat.expect("paul", r"ALERT #1: Amina missed a check-in").text
    for part in ("📋 Amina's emergency plan (reviewed", "What to do, in order — tick each one done with /done 1 N:",
                 "1. Call my lawyer Grace", "3. Ask the embassy to check the police stations",
                 "1. Fatima (sister): +254 700 000 001", "Lawyer: Grace Otieno", "Medical needs: Asthma",
                 "“blue” means: I am safe but cannot talk", "Proof-of-life question: What was the name",
                 "If detained or disappeared: Quiet diplomacy", "Accounts and devices to lock: email"):
        assert part in alert, part
    assert "Blue Door" not in alert and "answer" not in alert
    chat.skip("amina")
    await chat.say("paul", "/done")
    chat.expect("paul", r"Usage: /done ALERT N \[what you did\], for example /done 12 1 called the lawyer\.")
    await chat.say("paul", "/done 7 1")
    chat.expect("paul", r"There is no alert #7 that you can act on")
    await chat.say("paul", "/done 1")
    chat.expect("paul", r"Which action\? Send /done 1 N with N from 1 to 3, for example /done 1 1\.")
    await chat.say("paul", "/done 1 first")
    chat.expect("paul", r"“first” is not an action number\. Send /done 1 N with N from 1 to 3")
    await chat.say("paul", "/done 1 4")
    chat.expect("paul", r"Amina's plan has 3 actions, so there is no action 4\. Send /done 1 N with N from 1 to 3\.")
    await chat.say("paul", "/done 1 1 Grace is on her way to the station")
    chat.expect("paul", r"^Ticked action 1 of alert #1 \(Call my lawyer Grace\): it is in the case logbook\.$")
    chat.expect_nothing("cora")  # not alerted yet (step 1 is the partners): nobody else to tell
    chat.clock.advance(16 * MINUTE)
    await chat.tick()
    to_cora = chat.expect("cora", r"ALERT #1: Amina missed a check-in").text  # the ORM path (next step)
    assert "1. Call my lawyer Grace" in to_cora
    await chat.say("cora", "/done 1 2")
    chat.expect("cora", r"Ticked action 2 of alert #1 \(Tell my sister Fatima\): it is in the case logbook, and "
                        r"the others alerted have been told\.")
    chat.expect("paul", r"Cora ticked action 2 of alert #1 about Amina\.\n✔ 2\. Tell my sister Fatima")
    await chat.say("cora", "/log 1")
    log = chat.expect("cora", r"Logbook of alert #1:").text
    assert "Paul: ✔ 1. Call my lawyer Grace\nGrace is on her way to the station" in log
    assert "Cora: ✔ 2. Tell my sister Fatima" in log
    with Session(chat.core.engine) as session:
        assert [n.kind for n in session.exec(select(Note).where(Note.alert_id == 1))] == ["done", "done"]
    await chat.say("amina", "/panic")  # the ORM path, every step at once
    panic = chat.expect("paul", r"PANIC ALERT #2").text
    assert "tick each one done with /done 2 N" in panic and "2. Tell my sister Fatima" in panic
    chat.expect("cora", r"PANIC ALERT #2.*Call my lawyer Grace")


async def test_an_hrd_without_a_plan_has_nothing_to_tick(chat: Chat) -> None:
    await trio(chat)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    assert "emergency plan" not in chat.expect("paul", r"ALERT #1").text
    await chat.say("paul", "/done 1 1")
    chat.expect("paul", r"Amina has no emergency plan, so alert #1 has no actions to tick\. Add to the case "
                        r"logbook with /log 1 TEXT\.")


async def test_a_partner_matched_later_and_a_new_coordinator_can_read_the_plan(chat: Chat) -> None:
    await trio(chat, match=False)
    await write_plan(chat)
    assert copies_for(chat, "Paul") == 0 and copies_for(chat, "Cora") == 1
    await chat.say("cora", "/match Amina Paul")
    await chat.press("paul", "Accept")
    assert copies_for(chat, "Paul") == 1  # sealed to him as soon as he is matched
    await people.coordinator(chat, "dana", alias="Dana")
    assert copies_for(chat, "Dana") == 1
    for user in ("cora", "paul", "dana", "amina"):
        chat.skip(user)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    assert "1. Call my lawyer Grace" in chat.expect("paul", r"ALERT #1").text
    await chat.say("cora", "/unmatch Amina Paul")
    assert copies_for(chat, "Paul") == 0  # an ex-partner loses the plan at once


async def test_review_reminders_and_coordinators_see_missing_unfinished_and_outdated_plans(
        db_url: str, clock) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(db_url)
    chat = memory_chat(engine, parse_config({"plans": {"review_every": "3d"}}, env={}), clock)
    try:
        await trio(chat)
        await people.hrd(chat, "bibi", alias="Bibi")
        await people.hrd(chat, "chen", alias="Chen")
        await write_plan(chat)
        await chat.say("chen", "/plan")
        await chat.say("chen", "skip")
        chat.skip("chen")
        await chat.say("cora", "/plans")
        chat.expect("cora", r"Emergency plans \(to be reviewed every 3 days\):\nNo plan: Bibi\n"
                            r"Not finished: Chen\nNot reviewed within 3 days: —\nUp to date: 1", skipping=True)
        for _day in range(3):
            chat.clock.advance(DAY)
            for user in ("amina", "bibi", "chen"):
                await chat.say(user, "/checkin")
            await chat.tick()
        chat.clock.advance(MINUTE)
        await chat.tick()
        reminder = chat.expect("amina", r"It is 3 days since you last reviewed your emergency plan\. Is it still "
                                        r"right\? See it with /plan show", skipping=True)
        assert reminder.buttons == [[("Still right", "/plan ok")]]
        chat.expect("chen", r"Your emergency plan is not finished\. Send /plan to go on", skipping=True)
        assert "emergency plan" not in " ".join(m.text for m in chat.unread("bibi"))  # no plan, no reminder
        await chat.tick()
        chat.expect_nothing("amina")  # reminded once
        await chat.say("cora", "/plans")
        chat.expect("cora", r"No plan: Bibi\nNot finished: Chen\nNot reviewed within 3 days: Amina \(last ",
                    skipping=True)
        await chat.press("amina", "Still right")
        chat.expect("amina", r"Thank you: your emergency plan is marked as reviewed\. I will ask again in 3 days\.")
        await chat.say("cora", "/plans")
        chat.expect("cora", r"Not reviewed within 3 days: —\nUp to date: 1")
    finally:
        engine.dispose()


CANARY_ACTION = "CANARY-plan-action-7e21"
CANARY_CONTACT = "CANARY-plan-contact-4b9c"
CANARY_QUESTION = "CANARY-plan-question-a03f"
CANARY_ANSWER = "CANARYANSWER 5d8e"
CANARY_DONE = "CANARY-plan-done-61b2"


async def test_plan_canaries_reach_the_partner_but_never_the_database_or_logs(
        chat: Chat, db_url: str, caplog, request) -> None:  # type: ignore[no-untyped-def]
    import logging

    from tests.core.test_sealing import _database_bytes

    caplog.set_level(logging.DEBUG)
    await trio(chat)
    await chat.say("amina", "/plan")
    for answer in (f"{CANARY_CONTACT}, sister, +254 700 000 001", "skip", "skip", "skip", CANARY_QUESTION,
                   CANARY_ANSWER, "public", "skip", f"Call {CANARY_ACTION}\nTell my sister"):
        await chat.say("amina", answer)
    chat.expect("amina", r"Your emergency plan is ready", skipping=True)
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    alert = chat.expect("paul", r"ALERT #1").text
    assert CANARY_ACTION in alert and CANARY_CONTACT in alert and CANARY_QUESTION in alert
    await chat.say("paul", f"/done 1 1 {CANARY_DONE}")
    await chat.say("cora", "/done 1 2")
    chat.expect("paul", r"Cora ticked action 2 of alert #1 about Amina\.\n✔ 2\. Tell my sister", skipping=True)
    await chat.say("cora", "/log 1")
    assert CANARY_DONE in chat.expect("cora", r"Logbook of alert #1", skipping=True).text
    delivered = "\n".join(m.text for messages in chat.transport.inbox.values() for m in messages)
    assert CANARY_ANSWER.split()[0] not in delivered  # the answer goes nowhere
    postgres = request.getfixturevalue("postgres") if "postgres" in db_url else None
    chat.core.engine.dispose()
    data = _database_bytes(db_url, postgres)
    for canary in (CANARY_ACTION, CANARY_CONTACT, CANARY_QUESTION, "CANARYANSWER", "canaryanswer", CANARY_DONE):
        assert canary.encode() not in data, f"{canary} found in the database"
        assert canary not in caplog.text


async def test_a_partner_who_holds_their_own_key_gets_the_plan_sealed_to_it(chat: Chat) -> None:
    from c2p_bot.core.crypto import encode_public_key, generate_keypair, open_sealed
    from c2p_bot.core.crypto.armour import parse_armour

    await trio(chat)
    await write_plan(chat)
    pair = generate_keypair()
    await chat.say("paul", f"/key {encode_public_key(pair.public)}")  # after the plan: sealed again to it
    chat.expect("paul", r"Your key is registered")
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    alert = chat.expect("paul", r"ALERT #1.*Amina's emergency plan, sealed to your own key: open it with c2p-bot "
                                r"decrypt --key FILE\. Tick each action done with /done 1 N\.\n"
                                r"-----BEGIN C2P SEALED MESSAGE-----").text
    assert "Call my lawyer" not in alert
    opened = open_sealed(*(lambda a: (a.blob, pair.private, a.context))(parse_armour(alert))).decode()
    assert opened.startswith("Emergency plan of Amina, version ") and "1. Call my lawyer Grace" in opened
    assert "Blue Door" not in opened
    await chat.say("paul", "/done 1 3")
    chat.expect("paul", r"^Ticked action 3 of alert #1: it is in the case logbook\.$")  # nothing of the plan


async def test_a_plan_written_on_matrix_is_not_shown_over_telegram(nets) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    mx, tg = nets.matrix, nets.telegram
    await note_channels.setup(nets)  # Amina on Matrix only; Paul and Cora on Telegram
    await write_plan(mx)
    tg.clock.advance(DAY + HOUR + MINUTE)
    await nets.tick()
    alert = tg.expect("paul", r"ALERT #1").text
    assert "Amina has an emergency plan, written on an end-to-end encrypted channel and not shown here" in alert
    assert "Call my lawyer" not in alert and "Grace" not in alert
    await tg.say("paul", "/done 1 1")
    tg.expect("paul", r"^Ticked action 1 of alert #1: it is in the case logbook\.$")
    await tg.say("amina", "/plan show")  # nobody on Telegram is Amina: a stranger learns nothing
    tg.expect("amina", r"This is a private service")


async def test_the_coordinators_overview_shows_each_plans_state(chat: Chat) -> None:
    await trio(chat)
    await people.hrd(chat, "bibi", alias="Bibi")
    await write_plan(chat)
    await chat.say("cora", "/overview")
    text = chat.expect("cora", r"Programme overview", skipping=True).text
    assert re.search(r"• Amina.*; plan up to date\n• Bibi.*; no plan", text), text


async def test_a_french_speaking_defender_skips_and_chooses_in_french(chat: Chat) -> None:
    await people.coordinator(chat)
    await people.hrd(chat, language="fr")
    await chat.say("amina", "/plan")
    first = chat.expect("amina", r"Écrivons votre plan d'urgence.*Plan d'urgence, question 1 sur 9")
    assert first.buttons == [[("Passer", "skip")]]
    await chat.say("amina", "Passer")  # "skip" in French
    chat.expect("amina", r"question 2 sur 9")
    await chat.say("amina", "/plan edit statement")
    chat.expect("amina", r"Plan d'urgence — Déclaration publique ou diplomatie discrète")
    await chat.say("amina", "diplomatie")
    chat.expect("amina", r"Enregistré : Déclaration publique ou diplomatie discrète\.")
    await chat.say("amina", "/plan show")
    assert "En cas de détention ou de disparition : Diplomatie discrète" in chat.expect("amina", r"Votre plan").text
