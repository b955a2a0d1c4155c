"""Scenario 5 — hostile input: every command and free text with hostile Unicode, NUL, over-long
text, /cmd@otherbot and malformed arguments. Pass: no unhandled exception, every message gets
a clear reply, no state change from a rejected command."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from c2p_bot.app import build_runtime
from c2p_bot.config import parse_config
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.crypto import INTERACTIVE_PIN_PARAMS, Kek
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.registry import registry
from c2p_bot.core.service import INTERNAL_ERROR
from c2p_bot.core.throttle import Throttle
from c2p_bot.transports.memory import MemoryTransport
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.support.people import trio
from tests.support.report import figure
from tests.support.transcript import Chat

NASTY = ["\u202e", "\u200b", "\u200d", "\ufeff", "\u0301", "\u0000", "\u2066", "\u061c", "\U0001f6a8",
         "\ud7ff", "ا", "𝕏", "\n", "\t", "/", "@", "=", '"', ",", "#", "-1", "99999999999999999999"]
COMMANDS = sorted({f"/{c.name}" for c in registry.all()} | {"/start", "/ok", "/unknown"})
USERS = ["cora", "amina", "paul", "eve"]
# Tables a rejected command may touch: bookkeeping, not state.
BOOKKEEPING = {"seen_event", "outbox", "audit_log", "alembic_version", "sqlite_sequence"}  # ids handed out, not state
REJECTION = (r"Usage|not valid|doesn't look right|don't know that command|private service|no alert|can't change"
             r"|not a public key|need an active|must be|is not right|need your PIN|not paused|already")

fragments = st.one_of(st.sampled_from(NASTY), st.text(max_size=12), st.from_regex(r"[0-9]{1,6}", fullmatch=True),
                      st.sampled_from(["key=value", "country=KE", "every", "daily", "grace", "tz", "confirm",
                                       "hrd", "partner", "mp", "1d", "25:61", "Amina", "Paul"]))
messages = st.one_of(
    st.tuples(st.sampled_from(COMMANDS), st.sampled_from(["", "@otherbot", "@C2P_BOT"]),
              st.lists(fragments, max_size=6)).map(lambda t: t[0] + t[1] + " " + " ".join(t[2])),
    st.text(max_size=200),
    st.just("x" * 20_000),
    st.lists(st.sampled_from(NASTY), min_size=1, max_size=30).map("".join),
)


def snapshot(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """A hash of every row of every state table."""
    with engine.connect() as conn:
        tables = [r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type='table'"))]
        return {t: hash(tuple(tuple(row) for row in conn.execute(text(f"SELECT * FROM {t} ORDER BY rowid"))))
                for t in tables if t not in BOOKKEEPING}


def test_hostile_input_never_crashes_and_rejections_change_nothing(
        tmp_path: Path, full: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    loop = asyncio.new_event_loop()
    url = f"sqlite:///{tmp_path / 'h.db'}"
    engine = make_engine(url)
    upgrade(engine)
    runtime = build_runtime(parse_config({}, env={}), engine, FakeClock(), Keyring(engine, Kek.generate()))
    runtime.core.services["pin_params"] = INTERACTIVE_PIN_PARAMS
    runtime.throttle = Throttle(rate=1e9, burst=10**9)
    transport = MemoryTransport()
    runtime.add_transport(transport)
    chat = Chat(runtime, transport)
    loop.run_until_complete(trio(chat))
    stats = {"examples": 0, "rejected": 0, "unhandled": 0, "silent": 0}

    @settings(max_examples=10_000 if full else 300, deadline=None, derandomize=not full,
              suppress_health_check=list(HealthCheck))
    @given(user=st.sampled_from(USERS), message=messages)
    def one(user: str, message: str) -> None:
        if message.strip().lower().startswith(("/forget", "/pin")) or "/forget" in message[:10]:
            message = "/help"  # keep the cast alive and out of PIN conversations
        before = snapshot(engine)
        count = len(transport.inbox[user])
        loop.run_until_complete(chat.say(user, message))
        stats["examples"] += 1
        replies = transport.inbox[user][count:]
        if not replies:
            stats["silent"] += 1
        assert replies, f"no reply to {message[:80]!r} from {user}"
        joined = "\n".join(r.text for r in replies)
        assert INTERNAL_ERROR not in joined, f"unhandled error for {message[:80]!r}"
        if re.search(REJECTION, joined) and not re.search(r"Saved|Checked in|Alarm raised|Matched", joined):
            stats["rejected"] += 1
            assert snapshot(engine) == before, f"rejected {message[:80]!r} changed state"

    try:
        one()
    finally:
        figure("hostile-input", **stats, errors_logged=len(caplog.records))
        loop.close()
        engine.dispose()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
