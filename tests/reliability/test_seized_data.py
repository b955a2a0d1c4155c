"""Scenario 7 — seized data: canaries in notes, PINs and logbook entries; afterwards search every
file the bot wrote (database with WAL/SHM, key files, logs) and a PostgreSQL dump.
Pass: zero hits. (The Matrix store is searched in tests/matrix.)"""

from __future__ import annotations

import logging
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from c2p_bot.app import build_runtime
from c2p_bot.config import parse_config
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.crypto import INTERACTIVE_PIN_PARAMS
from c2p_bot.core.keyring import open_keyring
from c2p_bot.core.throttle import Throttle
from c2p_bot.transports.memory import MemoryTransport
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.support.databases import fresh_postgres_url
from tests.support.people import trio
from tests.support.report import figure
from tests.support.transcript import Chat

CANARIES = ["CANARY-note-51d2", "CANARY-panic-0b7e", "CANARY-log-99fa", "CANARY-resolve-c3d1", "583920", "604172",
            "CANARY-plan-b4e0", "CANARYPROOF-77c1", "canaryproof 77c1"]  # an emergency plan and its proof answer


async def _exercise(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/plan")
    for answer in (f"{CANARIES[6]}, sister, +254 700 000 001", "skip", "skip", "skip", "Our first office?",
                   CANARIES[7], "quiet", "skip", f"Call {CANARIES[6]}"):
        await chat.say("amina", answer)
    await chat.say("amina", f"/checkin {CANARIES[0]}")
    await chat.say("amina", "/pin")
    await chat.say("amina", CANARIES[4])
    await chat.say("amina", CANARIES[5])
    await chat.say("amina", f"/checkin {CANARIES[4]} again {CANARIES[0]}")
    await chat.say("amina", f"/checkin {CANARIES[5]} duress {CANARIES[0]}")
    await chat.say("amina", f"/panic {CANARIES[1]}")
    await chat.say("paul", f"/log 1 {CANARIES[2]}")
    await chat.say("cora", f"/resolve 2 incident {CANARIES[3]}")
    chat.clock.advance(timedelta(days=2))
    await chat.tick()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_no_canary_in_any_file_or_dump(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    log_file = tmp_path / "bot.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    postgres = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'c2p.db'}"
    else:
        postgres = request.getfixturevalue("postgres")
        url, _ = fresh_postgres_url(postgres)
    config = parse_config({"database": {"url": url}, "crypto": {"key_file": str(tmp_path / "keys" / "kek")}},
                          env={})
    engine = make_engine(url)
    upgrade(engine)
    clock = FakeClock()
    runtime = build_runtime(config, engine, clock, open_keyring(config, engine, clock.now(), env={}))
    runtime.core.services["pin_params"] = INTERACTIVE_PIN_PARAMS
    runtime.throttle = Throttle(rate=1e9, burst=10**9)
    transport = MemoryTransport()
    runtime.add_transport(transport)
    chat = Chat(runtime, transport)
    try:
        await _exercise(chat)
        live = {f"{p} (while running)": p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
        engine.dispose()
    delivered = "\n".join(m.text for msgs in transport.inbox.values() for m in msgs)
    assert CANARIES[0] in delivered and CANARIES[1] in delivered  # recipients did get them
    assert CANARIES[6] in delivered and "CANARYPROOF" not in delivered.upper()  # the plan; never its answer
    blobs = {str(p): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} | live
    if postgres is not None:
        dump = subprocess.run([str(postgres.bindir / "pg_dump"), url], capture_output=True, check=True).stdout
        blobs["pg_dump"] = dump
    hits = [(name, canary) for name, data in blobs.items() for canary in CANARIES if canary.encode() in data]
    figure("seized-data", backend=backend, files=len(blobs), bytes=sum(len(b) for b in blobs.values()), hits=len(hits))
    assert any(name.endswith("-wal (while running)") for name in blobs) or backend == "postgres"
    assert hits == []
