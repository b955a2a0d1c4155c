"""Scenario 5, Matrix part: room events with unexpected content (missing or non-string bodies,
odd msgtypes, bogus relations and reply fallbacks, huge and hostile text) go through nio's event
parser into the Matrix transport's receive path. Pass: no exception escapes, and whatever is a
text message reaches the core, which answers it clearly."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nio import Event, MatrixRoom

from c2p_bot.app import build_runtime
from c2p_bot.config import parse_config
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.crypto import Kek
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.service import INTERNAL_ERROR
from c2p_bot.core.throttle import Throttle
from c2p_bot.transports.matrix import attach_matrix
from c2p_bot.transports.memory import MemoryTransport
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.support.report import figure

BOT = "@c2p-bot:localhost"
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=8)
bodies = st.one_of(st.text(max_size=300), st.just("x" * 70_000), st.sampled_from(
    ["/start", "/ack 1", "> <@c2p-bot:localhost> /ack 9\n\nok", "\u202e/help\u0000", "/checkin@otherbot"]),
    json_values)
text_bodies = st.one_of(st.text(max_size=300), st.just("x" * 70_000), st.sampled_from(
    ["/start", "/ack 1", "> <@c2p-bot:localhost> /ack 9\n\nok", "\u202e/help\u0000", "/checkin@otherbot"]))
relations = st.one_of(json_values, st.fixed_dictionaries(
    {"m.in_reply_to": st.one_of(json_values, st.fixed_dictionaries({"event_id": json_values}))}))
text_contents = st.fixed_dictionaries({"msgtype": st.just("m.text"), "body": text_bodies}, optional={
    "format": st.sampled_from(["org.matrix.custom.html", None, 3]), "formatted_body": st.text(max_size=50),
    "m.relates_to": relations, "m.new_content": json_values})
weird_contents = st.fixed_dictionaries({}, optional={
    "msgtype": st.sampled_from(["m.text", "m.notice", "m.emote", "m.image", "m.bogus", 7]),
    "body": bodies,
    "format": st.sampled_from(["org.matrix.custom.html", None, 3]),
    "formatted_body": st.text(max_size=50),
    "m.relates_to": st.one_of(json_values, st.fixed_dictionaries(
        {"m.in_reply_to": st.one_of(json_values, st.fixed_dictionaries({"event_id": json_values}))})),
    "m.new_content": json_values,
})
contents = st.one_of(text_contents, weird_contents)


class NoClient:
    """Stands in for the nio client: any call fails like a network error would."""

    def __getattr__(self, name: str) -> Any:
        async def fail(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionError(name)

        return fail


def test_unexpected_matrix_event_content(tmp_path: Path, full: bool, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    loop = asyncio.new_event_loop()
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    config = parse_config({"matrix": {"homeserver": "http://127.0.0.1:1", "user_id": BOT,
                                      "store_path": str(tmp_path / "store")}}, env={})
    runtime = build_runtime(config, engine, FakeClock(), Keyring(engine, Kek.generate()))
    runtime.throttle = Throttle(rate=1e9, burst=10**9)
    transport = attach_matrix(runtime, config.matrix, Keyring(engine, Kek.generate()))
    transport.client = NoClient()  # type: ignore[assignment]
    sent = MemoryTransport(platform="matrix")
    runtime.dispatchers.pop("matrix")
    runtime.add_transport(sent)
    room = MatrixRoom("!dm:localhost", BOT)
    room.add_member("@eve:localhost", "eve", None)
    room.add_member(BOT, "bot", None)
    stats = {"events": 0, "text_events": 0, "other_events": 0, "exceptions": 0}
    counter = iter(range(10**9))

    @settings(max_examples=10_000 if full else 300, deadline=None, derandomize=not full,
              suppress_health_check=list(HealthCheck))
    @given(content=contents)
    def one(content: dict[str, Any]) -> None:
        source = {"type": "m.room.message", "event_id": f"$e{next(counter)}", "sender": "@eve:localhost",
                  "origin_server_ts": 1_772_355_600_000, "content": content}
        event = Event.parse_event(source)
        before = len(sent.inbox["!dm:localhost"])
        try:
            loop.run_until_complete(transport._on_timeline_event(room, event, False))
            loop.run_until_complete(runtime.drain())
        except Exception:
            stats["exceptions"] += 1
            raise
        stats["events"] += 1
        replies = sent.inbox["!dm:localhost"][before:]
        if type(event).__name__ == "RoomMessageText":
            stats["text_events"] += 1
            assert replies and all(INTERNAL_ERROR not in r.text for r in replies)
        else:
            stats["other_events"] += 1

    try:
        one()
    finally:
        figure("hostile-matrix-events", **stats, errors_logged=len(caplog.records))
        loop.close()
        engine.dispose()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
