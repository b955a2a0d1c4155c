"""``[monitoring] metrics_listen``: Prometheus metrics over HTTP, parsed with prometheus-client's
own parser: alerts raised by kind, deadline-to-sent latency, outbox depth by priority, each
transport up or down, seconds since the last sweep. No label names anyone."""

from __future__ import annotations

import asyncio
import urllib.request
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from c2p_bot.config import parse_config
from c2p_bot.core.events import DeliveryError
from c2p_bot.ops.watchman import Watchman
from tests.support.people import trio
from tests.support.transcript import Chat

DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)
PRIVATE = ("amina", "paul", "cora", "police", "door")  # names, aliases, chat ids, the note


def _scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    """Every sample by name: (labels, value)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        text = response.read().decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return samples


def _value(samples: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    matching = [value for found, value in samples.get(name, []) if all(found.get(k) == v for k, v in labels.items())]
    assert len(matching) == 1, f"{name}{labels}: {samples.get(name)}"
    return matching[0]


@pytest.fixture
def metered(chat: Chat) -> Watchman:
    monitoring = parse_config({"monitoring": {"metrics_listen": "127.0.0.1:0"}}, env={}).monitoring
    watchman = Watchman(chat.runtime, monitoring, env={})
    watchman.start()
    yield watchman  # type: ignore[misc]
    watchman.stop()


async def test_metrics_after_a_missed_check_in_and_a_panic(chat: Chat, metered: Watchman) -> None:
    await trio(chat)
    port = metered.metrics_port
    assert port
    before = await asyncio.to_thread(_scrape, port)
    for kind in ("missed", "panic", "duress", "wrong_pin"):
        assert _value(before, "c2p_alerts_raised_total", kind=kind) == 0
    assert _value(before, "c2p_transport_up", platform="memory") == 1
    assert _value(before, "c2p_alert_delivery_latency_seconds_count") == 0

    chat.clock.advance(DAY + HOUR + MINUTE)  # one minute past Amina's deadline
    await chat.tick()
    chat.expect("paul", r"ALERT #1: Amina missed a check-in")
    chat.transport.failures["cora"] = DeliveryError("network down")  # cora's copy waits in the outbox
    await chat.say("amina", "/panic police at the door")
    chat.expect("paul", r"PANIC ALERT #2")
    chat.transport.connected = False

    after = await asyncio.to_thread(_scrape, port)
    assert _value(after, "c2p_alerts_raised_total", kind="missed") == 1
    assert _value(after, "c2p_alerts_raised_total", kind="panic") == 1
    assert _value(after, "c2p_alerts_raised_total", kind="duress") == 0
    # Paul's two alerts were sent: the missed one 60 s after its deadline, the panic at once.
    assert _value(after, "c2p_alert_delivery_latency_seconds_count") == 2
    assert _value(after, "c2p_alert_delivery_latency_seconds_sum") == pytest.approx(60, abs=1)
    assert _value(after, "c2p_alert_delivery_latency_seconds_bucket", le="30.0") == 1
    assert _value(after, "c2p_alert_delivery_latency_seconds_bucket", le="60.0") == 2
    assert _value(after, "c2p_outbox_depth", priority="panic") == 1
    assert _value(after, "c2p_outbox_depth", priority="reminder") == 0
    assert _value(after, "c2p_transport_up", platform="memory") == 0
    assert 0 <= _value(after, "c2p_seconds_since_last_sweep") < 60
    assert _value(after, "c2p_healthy") in (0, 1)

    labels = [value.lower() for samples in after.values() for found, _v in samples for value in found.values()]
    assert not [value for value in labels if any(word in value for word in PRIVATE)], labels
    assert set(after) >= {"c2p_outbox_oldest_due_seconds", "c2p_sweep_failures_total"}


async def test_metrics_listen_is_off_by_default(chat: Chat) -> None:
    watchman = Watchman(chat.runtime, parse_config({}, env={}).monitoring, env={})
    watchman.start()
    try:
        assert watchman.metrics_port is None
    finally:
        watchman.stop()
