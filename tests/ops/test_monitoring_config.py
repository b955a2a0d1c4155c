"""``[monitoring]``: off by default; a bad value stops the bot with one line naming the key."""

from __future__ import annotations

from datetime import timedelta

import pytest

from c2p_bot.config import ConfigError, parse_config


def test_everything_is_off_by_default() -> None:
    monitoring = parse_config({}, env={}).monitoring
    assert monitoring.heartbeat_url is None and monitoring.metrics_address is None
    assert monitoring.heartbeat_every == timedelta(minutes=1)
    assert monitoring.sweep_stale_after is None  # twice [checkins] sweep_interval
    assert monitoring.outbox_stuck_after == timedelta(minutes=15)


@pytest.mark.parametrize(("listen", "address"), [
    ("127.0.0.1:9464", ("127.0.0.1", 9464)), ("[::1]:9464", ("::1", 9464)), ("localhost:0", ("localhost", 0)),
])
def test_metrics_listen_is_an_address_and_port(listen: str, address: tuple[str, int]) -> None:
    assert parse_config({"monitoring": {"metrics_listen": listen}}, env={}).monitoring.metrics_address == address


@pytest.mark.parametrize(("raw", "message"), [
    ({"heartbeat_url": "hc-ping.com/abc"}, r"^monitoring\.heartbeat_url: must be an http:// or https:// URL, e\.g\."),
    ({"heartbeat_url": "file:///etc/passwd"}, r"^monitoring\.heartbeat_url: must be an http"),
    ({"metrics_listen": "9464"}, r'^monitoring\.metrics_listen: must be an address and port, e\.g\. "127\.0\.0\.1:'),
    ({"metrics_listen": "127.0.0.1:99999"}, r"^monitoring\.metrics_listen: must be an address and port"),
    ({"heartbeat_every": "often"}, r"^monitoring\.heartbeat_every: invalid duration 'often'"),
    ({"outbox_stuck_after": "0s"}, r"^monitoring\.outbox_stuck_after: invalid duration"),
    ({"heartbeat": "1m"}, r"^unknown key monitoring\.heartbeat$"),
])
def test_a_bad_monitoring_value_names_the_key(raw: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message):
        parse_config({"monitoring": raw}, env={})
