"""The whole programme over Telegram: onboarding by deep link and buttons, menus, a missed
check-in escalated to the partner and the coordinator, acknowledged by button.

Runs on SQLite and PostgreSQL (``db_url``).
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from storage.models import Alert
from tests.telegram.support import Press, TelegramBot
from tests.telegram_api import FakeBotApi, FakeUser

DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
NOT_E2E = r"not end-to-end encrypted"


def menu(api: FakeBotApi, user: FakeUser) -> set[str]:
    return {c["command"] for c in api.commands_for(user)}


async def wait_for_menu(api: FakeBotApi, user: FakeUser, command: str) -> set[str]:
    await api.wait_for(lambda: command in menu(api, user), what=f"/{command} in {user!r}'s menu")
    return menu(api, user)


async def test_onboarding_menus_escalation_and_ack_over_telegram(any_db_bot: TelegramBot) -> None:
    bot, api = any_db_bot, any_db_bot.api
    assert [c["command"] for c in api.commands_for("default")] == ["start", "help"]
    assert bot.runtime.core.bot_names == {api.bot_username}

    # The first coordinator, from a `c2p-bot invite` code; a chat menu once onboarding is done.
    cora = await bot.onboard_coordinator()
    coordinator_menu = await wait_for_menu(api, cora, "invite")
    assert {"invite", "match", "people", "help"} <= coordinator_menu
    assert "checkin" not in coordinator_menu

    # The HRD: deep link from the coordinator's /invite, a button for a choice, the warning once.
    code = await bot.invite_via(cora, "hrd")
    assert "-" not in code
    amina = bot.user("amina")
    await bot.say(amina, f"/start {code}", NOT_E2E)
    await api.wait_for_message(amina, r"Choose an alias")
    assert api.commands_for(amina) == []  # still onboarding: the default menu applies
    amina.send_text("Amina", date=bot.clock.now())
    await bot.answer_questions(amina, [
        ("Which country", "KE"),
        ("Which languages", "en, sw"),
        ("Who would you like to be matched with", Press("lawyer")),
        ("Which areas of work", "land-rights"),
        ("Which time zone", "Africa/Nairobi"),
    ])
    hrd_menu = await wait_for_menu(api, amina, "checkin")
    assert {"checkin", "status", "panic", "help"} <= hrd_menu
    assert "invite" not in hrd_menu
    assert bot.person("Amina").wants == "lawyer"
    assert len([m for m in api.sent_to(amina) if m.text and "end-to-end" in m.text]) == 1

    # The partner (no warning: it is for HRDs), then the match.
    paul = await bot.onboard_partner(cora)
    assert {"ack", "alerts"} <= await wait_for_menu(api, paul, "ack")
    assert not [m for m in api.sent_to(paul) if m.text and "end-to-end" in m.text]
    # The match goes through the partner's consent: Paul accepts with the offer's button.
    await bot.say(cora, "/match Amina Paul", r"I asked Paul whether they will support Amina")
    offer = await api.wait_for_message(paul, r"would you support Amina")
    assert offer.button_texts == ["Accept", "Decline"]
    await bot.press(paul, offer, "Accept", r"matched with Amina")
    await api.wait_for_message(cora, r"Matched Amina with Paul")
    await api.wait_for_message(amina, r"matched with Paul")

    # Amina writes a short emergency plan: her lawyer and what to do; the rest skipped by button.
    asked = await bot.say(amina, "/plan", r"question 1 of 9")
    asked = await bot.press(amina, asked, "Skip", r"question 2 of 9")
    asked = await bot.say(amina, "Grace Otieno, +254 711 000 000", r"question 3 of 9")
    for after in (4, 5, 7):  # medical needs, code words, the proof-of-life question (and so its answer)
        asked = await bot.press(amina, asked, "Skip", rf"question {after} of 9")
    asked = await bot.press(amina, asked, "Quiet diplomacy", r"question 8 of 9")
    asked = await bot.press(amina, asked, "Skip", r"question 9 of 9")
    await bot.say(amina, "Call my lawyer Grace\nTell my sister Fatima", r"Your emergency plan is ready")

    # A reminder before the check-in is due, answered with its button.
    bot.clock.advance(DAY - 29 * MINUTE)
    await bot.tick()
    reminder = await api.wait_for_message(amina, r"Reminder: your next check-in is due")
    await bot.press(amina, reminder, "I'm safe", r"Checked in")

    # The next one is missed: the partner is alerted, then (ack timeout) the coordinator.
    bot.clock.advance(DAY + HOUR + MINUTE)
    await bot.tick()
    alert = await api.wait_for_message(paul, r"ALERT #1: Amina missed a check-in")
    assert alert.button_texts == ["Acknowledge"]
    # The alert carries the plan: what to do, numbered for /done, and the lawyer.
    assert "tick each one done with /done 1 N:\n1. Call my lawyer Grace\n2. Tell my sister Fatima" in alert.text
    assert "Lawyer: Grace Otieno, +254 711 000 000" in alert.text
    assert alert.callback_data == ["/ack 1"]
    bot.clock.advance(16 * MINUTE)
    await bot.tick()
    await api.wait_for_message(cora, r"ALERT #1: Amina missed a check-in")

    # The partner acknowledges by button; the coordinator is told.
    await bot.press(paul, alert, "Acknowledge", r"You acknowledged alert #1 about Amina")
    await api.wait_for_message(cora, r"Paul acknowledged alert #1 about Amina")
    with bot.session() as session:
        assert [(a.kind, a.status) for a in session.exec(select(Alert))] == [("missed", "acked")]
    assert len(_pressed(api)) == 10  # partner choice, Accept, 6 in the plan, I'm safe, Acknowledge
    assert all(query_id in api.callback_answers for query_id in _pressed(api))


def _pressed(api: FakeBotApi) -> list[str]:
    """Callback query ids of every button press fetched so far (each must have been answered)."""
    ids: list[str] = []
    for call in api.calls_for("getUpdates"):
        if call.ok:
            ids += [u["callback_query"]["id"] for u in call.result if "callback_query" in u]
    return ids
