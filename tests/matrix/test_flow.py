"""The whole programme over Matrix with real encryption: onboarding, matching, check-ins, a missed
check-in escalated to the partner and acknowledged by replying to the alert, a panic, and the bot
restarted mid-escalation without a new login."""

from __future__ import annotations

import pytest
from nio import DevicesResponse

from c2p_bot.transports.matrix.cross_signing import CrossSigningSeeds, query_keys
from tests.support.cross_signing import assert_cross_signed
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.matrix import (
    BotFactory,
    BotHarness,
    HumanFactory,
    trio,
)

pytestmark = pytest.mark.synapse


async def bot_devices(bot: BotHarness) -> list[str]:
    assert bot.transport is not None and bot.transport.client is not None
    response = await bot.transport.client.devices()
    assert isinstance(response, DevicesResponse), response
    return sorted(device.id for device in response.devices)


async def restart_in_process(bot: BotHarness) -> None:
    """Stop (no logout) and start a new runtime and transport over the same database, KEK and store."""
    assert bot.transport is not None
    device = bot.transport.device_id
    devices = await bot_devices(bot)  # the bot's device (and the one registering the account made)
    assert device in devices
    await bot.restart()
    assert bot.transport is not None
    assert bot.transport.logins == 0, "a restart must restore the login, not log in again"
    assert bot.transport.device_id == device
    assert await bot_devices(bot) == devices, "no new device on the server"


async def test_escalation_flow_with_restart_mid_escalation(
    make_bot: BotFactory, make_human: HumanFactory
) -> None:
    bot = await make_bot()
    assert bot.transport is not None and bot.transport.logins == 1
    first_device = bot.transport.device_id
    cora, amina, paul = await trio(bot, make_human)

    # Others see the bot's cross-signing identity, and its device signed by it.
    seeds = CrossSigningSeeds.from_bytes(bot.keyring.get_secret("matrix-cross-signing") or b"")
    assert bot.transport.client is not None
    assert_cross_signed(await query_keys(paul.client, bot.user_id), bot.transport.client, seeds)

    await amina.ask("/checkin all fine", r"Checked in\. Thank you")

    # Amina writes an emergency plan over Matrix: her lawyer and what to do; the rest skipped.
    await amina.ask("/plan", r"question 1 of 9")
    for answer, then in (("skip", r"question 2 of 9"), ("Grace Otieno, +254 711 000 000", r"question 3 of 9"),
                         ("skip", r"question 4 of 9"), ("skip", r"question 5 of 9"), ("skip", r"question 7 of 9"),
                         ("quiet", r"question 8 of 9"), ("skip", r"question 9 of 9"),
                         ("Call my lawyer Grace\nTell my sister Fatima", r"Your emergency plan is ready")):
        await amina.ask(answer, then)

    # The check-in is missed: the partner gets the alert, in red, with the acknowledgement hint.
    bot.clock.advance(DAY + HOUR + MINUTE)
    await bot.tick()
    alert = await paul.expect(r"ALERT #1: Amina missed a check-in")
    assert "Acknowledge with /ack 1" in alert.body
    # It carries Amina's plan (written on Matrix, read on Matrix): what to do, numbered for /done.
    assert "/done 1 N:\n1. Call my lawyer Grace\n2. Tell my sister Fatima" in alert.body
    assert "Lawyer: Grace Otieno, +254 711 000 000" in alert.body
    assert alert.body.rstrip().endswith("↪ Acknowledge: /ack 1")
    assert alert.formatted and 'data-mx-color="#d00000"' in alert.formatted
    assert "<code>/ack 1</code>" in alert.formatted

    # Nobody acknowledges within ack_timeout: the coordinators are alerted too.
    bot.clock.advance(16 * MINUTE)
    await bot.tick()
    await cora.expect(r"ALERT #1: Amina missed")

    # The bot restarts in the middle of the escalation: same device, no new login.
    await restart_in_process(bot)
    assert bot.transport is not None and bot.transport.device_id == first_device
    assert_cross_signed(await query_keys(paul.client, bot.user_id), bot.transport.client, seeds)  # type: ignore[arg-type]

    # Paul acknowledges by replying to the alert (no quote fallback, so the bot fetches the alert).
    await paul.reply_to(alert, "I'm on it, calling her lawyer now")
    await paul.expect(r"You acknowledged alert #1 about Amina")
    await cora.expect(r"Paul acknowledged alert #1 about Amina")

    # Both directions still decrypt after the restart.
    await amina.ask("/status", r"Your check-in is overdue: it was due")  # the missed one, still not made

    # A panic reaches everyone at once; the coordinator acknowledges by command.
    await amina.ask("/panic police at the door", r"Alarm raised\.")
    panic = await paul.expect(r"PANIC ALERT #2: Amina raised the alarm")
    assert "police at the door" in panic.body
    await cora.expect(r"PANIC ALERT #2")
    await cora.ask("/ack 2", r"You acknowledged alert #2")
    await paul.expect(r"Cora acknowledged alert #2")

    # A reply with the legacy quote fallback to an alert already acknowledged still reads as /ack.
    await paul.reply_to(panic, "on my way", fallback=True)
    await paul.expect(r"already acknowledged by Cora")

    assert not (cora.undecryptable or amina.undecryptable or paul.undecryptable)
    assert bot.transport.undecryptable_count == 0
