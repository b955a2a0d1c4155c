"""Seized data over Matrix (reliability scenario 7, Matrix part): canaries in a check-in note, a
panic note, a logbook entry and PINs travel end to end in encrypted rooms; afterwards the bot's
database files and its whole Matrix store directory hold none of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.matrix import BotFactory, HumanFactory, trio
from tests.support.report import figure

pytestmark = pytest.mark.synapse

CANARIES = ["CANARY-mx-note-41c9", "CANARY-mx-panic-7d02", "CANARY-mx-log-a6e3", "830147", "592604"]


async def test_no_canary_in_the_matrix_store_or_database(
        make_bot: BotFactory, make_human: HumanFactory, tmp_path: Path) -> None:
    bot = await make_bot()
    cora, amina, paul = await trio(bot, make_human)
    await amina.ask(f"/checkin {CANARIES[0]}", r"Checked in")
    await amina.ask("/pin", r"Choose a check-in PIN")
    await amina.ask(CANARIES[3], r"duress PIN")
    await amina.ask(CANARIES[4], r"PINs are set")
    bot.clock.advance(DAY + HOUR + MINUTE)
    await bot.tick()
    alert = await paul.expect(r"ALERT #1: Amina missed")
    assert CANARIES[0] in alert.body
    await paul.ask(f"/log 1 {CANARIES[2]}", r"Added to the logbook")
    await amina.ask(f"/panic {CANARIES[1]}", r"Alarm raised")
    assert CANARIES[1] in (await paul.expect(r"PANIC ALERT")).body
    await bot.stop()
    bot.engine.dispose()
    written = [p for p in tmp_path.rglob("*") if p.is_file() and "c2pbot" in str(p)]
    store_files = [p for p in written if "-store" in str(p)]
    assert store_files, "the bot's Matrix store was not found"
    hits = [(str(p), c) for p in written for c in CANARIES if c.encode() in p.read_bytes()]
    figure("seized-data-matrix", files=len(written), store_files=len(store_files),
           bytes=sum(p.stat().st_size for p in written), hits=len(hits))
    assert hits == []
