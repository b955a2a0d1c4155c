"""The real command (``python -m c2p_bot run``) on the fake Telegram Bot API, as systemd and an
operator's monitoring see it: READY=1, WATCHDOG=1 and heartbeats while it runs, its metrics over
HTTP with Telegram up, and STOPPING=1 then exit 0 on SIGTERM."""

from __future__ import annotations

import asyncio
import socket
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.ops.receivers import HeartbeatReceiver, NotifySocket
from tests.support.botprocess import BotProcess, write_telegram_config
from tests.telegram_api import FakeBotApi


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _telegram_up(port: int) -> float | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "c2p_transport_up" and sample.labels.get("platform") == "telegram":
                return sample.value
    return None


async def _until(check, timeout: float, what: str, bot: BotProcess):  # type: ignore[no-untyped-def]
    give_up = time.monotonic() + timeout
    while True:
        found = await asyncio.to_thread(check)
        if found:
            return found
        assert bot.running, f"the bot exited while waiting for {what}:\n{bot.log_text()[-3000:]}"
        assert time.monotonic() < give_up, f"no {what} within {timeout:.0f} s:\n{bot.log_text()[-3000:]}"
        await asyncio.sleep(0.1)


async def test_the_running_command_under_systemd_and_a_monitor(tmp_path: Path) -> None:
    notify, receiver, port = NotifySocket(), HeartbeatReceiver(), _free_port()
    try:
        async with FakeBotApi() as api:
            config = write_telegram_config(tmp_path, api)
            with config.open("a") as file:
                file.write(f'[monitoring]\nheartbeat_url = "{receiver.url}"\nheartbeat_every = "1s"\n'
                           f'metrics_listen = "127.0.0.1:{port}"\n')
            bot = BotProcess(config, tmp_path / "bot.log",
                             env={"NOTIFY_SOCKET": notify.address, "WATCHDOG_USEC": "1000000"})
            bot.start()
            try:
                await _until(lambda: "READY=1" in notify.lines(), 30, "READY=1", bot)
                ready = time.monotonic()
                await _until(lambda: notify.lines("WATCHDOG=1") and receiver.pings, 5, "WATCHDOG=1 and a ping", bot)
                assert await _until(lambda: _telegram_up(port) == 1, 15, "c2p_transport_up 1", bot)
                await _until(lambda: len(receiver.since(ready)) >= 2, 3.5, "a heartbeat every second", bot)
                assert len(notify.lines("WATCHDOG=1")) >= 2  # every half WATCHDOG_USEC
                code, _took = await asyncio.to_thread(bot.terminate, 10.0)
            finally:
                bot.kill()
        lines = [line for line in notify.lines() if not line.startswith("STATUS=")]
        assert code == 0, bot.log_text()[-3000:]
        assert lines[0] == "READY=1" and lines[-1] == "STOPPING=1", lines
        assert receiver.url.rsplit("/", 1)[1] not in bot.log_text(), "the heartbeat URL's secret part was logged"
    finally:
        notify.close()
        receiver.close()
