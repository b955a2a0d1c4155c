"""Pure parts of the Matrix transport: content, replies, transaction ids, error mapping, device watch."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from nio import RoomSendError
from nio.exceptions import OlmUnverifiedDeviceError

from c2p_bot.app import build_runtime
from c2p_bot.config import parse_config
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.crypto import Kek
from c2p_bot.core.events import Button, DeliveryError, Outgoing, Priority
from c2p_bot.core.keyring import Keyring
from c2p_bot.transports.matrix import attach_matrix, errors
from c2p_bot.transports.matrix.formatting import (
    ack_command_in,
    in_reply_to,
    is_edit,
    quoted_fallback,
    render_content,
    strip_reply_fallback,
    transaction_id,
)
from c2p_bot.transports.matrix.trust import DeviceWatch
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.synapse.homeserver import free_port

BOT = "@bot:localhost"


def test_plain_reply_is_escaped_with_line_breaks() -> None:
    content = render_content("a <b> & c\nsecond line")
    assert content == {
        "msgtype": "m.text",
        "body": "a <b> & c\nsecond line",
        "format": "org.matrix.custom.html",
        "formatted_body": "a &lt;b&gt; &amp; c<br>second line",
    }


def test_escalation_stands_out_and_buttons_become_a_hint() -> None:
    buttons = ((Button("Acknowledge", "/ack 12"),), (Button("<Log>", "/log 12"),))
    content = render_content("ALERT #12: Amina missed a check-in.\nAcknowledge with /ack 12.", buttons,
                             Priority.ESCALATION)
    assert content["body"].startswith("🚨 ALERT #12")
    assert content["body"].endswith("\n\n↪ Acknowledge: /ack 12 · <Log>: /log 12")
    html = content["formatted_body"]
    assert html.startswith('<strong><font color="#d00000" data-mx-color="#d00000">🚨 ALERT #12')
    assert "<code>/ack 12</code>" in html and "&lt;Log&gt;" in html and "<Log>" not in html
    already = render_content("🚨 PANIC ALERT #3", priority=Priority.PANIC)
    assert already["body"] == "🚨 PANIC ALERT #3"
    reminder = render_content("Reminder", priority=Priority.REMINDER)
    assert "🚨" not in reminder["body"] and "<strong>" not in reminder["formatted_body"]


def test_transaction_id_is_stable_and_url_safe() -> None:
    key = "in:matrix:$abc/def:1"
    assert transaction_id(key) == transaction_id(key)
    assert transaction_id(key) != transaction_id(key + "~via2")
    assert transaction_id(key).replace("-", "").isalnum()


def test_reply_fallback_and_ack_extraction() -> None:
    body = f"> <{BOT}> 🚨 ALERT #7: Amina missed a check-in.\n> Acknowledge with /ack 7.\n\non it"
    assert strip_reply_fallback(body) == "on it"
    assert strip_reply_fallback("no quote") == "no quote"
    sender, quoted = quoted_fallback(body)
    assert sender == BOT and ack_command_in(quoted) == "/ack 7"
    assert ack_command_in("Acknowledge with /ack 7. Add to the case logbook with /log 7 TEXT.") == "/ack 7"
    assert ack_command_in("alerts /ack 1 and /ack 2") is None  # ambiguous: no guessing
    assert ack_command_in("nothing to acknowledge") is None
    assert ack_command_in("see x/ack 3") is None
    content = {"m.relates_to": {"m.in_reply_to": {"event_id": "$e"}}}
    assert in_reply_to(content) == "$e" and in_reply_to({}) is None
    assert is_edit({"m.relates_to": {"rel_type": "m.replace", "event_id": "$e"}})


def test_error_mapping() -> None:
    limited = RoomSendError("slow down", "M_LIMIT_EXCEEDED", retry_after_ms=2500)
    error = errors.from_response("send", limited)
    assert not error.permanent and error.retry_after == 2.5
    assert errors.from_response("send", RoomSendError("no", "M_FORBIDDEN")).permanent
    assert errors.from_response("send", RoomSendError("gone", "M_NOT_FOUND")).permanent
    assert not errors.from_response("send", RoomSendError("oops", "M_UNKNOWN")).permanent
    for exc in (aiohttp.ClientConnectionError(), TimeoutError(), ConnectionResetError()):
        assert not errors.from_exception("send", exc).permanent
    assert "unverified" in errors.from_exception("send", OlmUnverifiedDeviceError(None, "x")).reason


def test_device_watch_reports_devices_added_after_first_sight() -> None:
    seen: list[tuple[str, str]] = []
    watch = DeviceWatch(lambda user, device: seen.append((user, device)))
    watch.baseline({"@a:x": ["A1"]})
    assert watch.update({"@a:x": ["A1"], "@b:x": ["B1", "B2"]}) == []  # @b first seen: trusted
    assert watch.update({"@a:x": ["A1", "A2"], "@b:x": ["B1"]}) == [("@a:x", "A2")]
    assert watch.update({"@a:x": ["A2"], "@b:x": ["B1", "B2"]}) == []  # B2 known from before
    assert seen == [("@a:x", "A2")]


async def test_unreachable_homeserver_does_not_hold_up_the_bot(tmp_path: Path) -> None:
    """Start returns after start_timeout and keeps trying; deliveries wait (transient errors)."""
    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    engine = make_engine(url)
    upgrade(engine)
    matrix = {"homeserver": f"http://127.0.0.1:{free_port()}", "user_id": "@bot:localhost",
              "password": "pw", "store_path": str(tmp_path / "store")}
    config = parse_config({"matrix": matrix}, env={})
    runtime = build_runtime(config, engine, FakeClock(), Keyring(engine, Kek.generate()))
    transport = attach_matrix(runtime, config.matrix, runtime.core.keyring, start_timeout=0.5)
    try:
        await asyncio.wait_for(transport.start(), timeout=5)
        outgoing = Outgoing(outbox_id=1, platform="matrix", chat_id="!r:localhost", text="hi",
                            idempotency_key="k")
        with pytest.raises(DeliveryError) as raised:
            await asyncio.wait_for(transport.deliver(outgoing), timeout=15)
        assert not raised.value.permanent and raised.value.retry_after
        assert transport.logins == 0
    finally:
        await transport.stop()
        engine.dispose()
