"""Under systemd (``Type=notify``, ``WatchdogSec``): ``READY=1`` once the clock and senders run,
``WATCHDOG=1`` every half ``WATCHDOG_USEC`` only while the bot is healthy (by the heartbeat's
rule), ``STOPPING=1`` on shutdown — read from a datagram socket the test gives as NOTIFY_SOCKET."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import timedelta
from pathlib import Path

from c2p_bot.ops.sdnotify import notify, watchdog_interval
from c2p_bot.ops.watchman import Watchman
from tests.ops.receivers import NotifySocket, live_bot, live_config

WATCHDOG_USEC = 400_000  # WatchdogSec=0.4s: a WATCHDOG=1 every 0.2 s


def test_notify_writes_one_datagram_to_an_abstract_or_path_socket(tmp_path: Path) -> None:
    for sock in (NotifySocket(), NotifySocket(tmp_path / "notify")):
        try:
            assert notify("READY=1\nSTATUS=running", env={"NOTIFY_SOCKET": sock.address})
            assert sock.lines() == ["READY=1", "STATUS=running"]
        finally:
            sock.close()


def test_notify_without_systemd_does_nothing(tmp_path: Path) -> None:
    assert not notify("READY=1", env={})
    assert not notify("READY=1", env={"NOTIFY_SOCKET": str(tmp_path / "gone")})  # never raises


def test_watchdog_interval_is_half_of_watchdog_usec_for_this_process_only() -> None:
    assert watchdog_interval({"WATCHDOG_USEC": "180000000"}) == 90.0
    assert watchdog_interval({"WATCHDOG_USEC": "180000000", "WATCHDOG_PID": str(os.getpid())}) == 90.0
    assert watchdog_interval({"WATCHDOG_USEC": "180000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None


async def test_ready_then_watchdog_only_while_healthy_then_stopping(tmp_path: Path) -> None:
    sock = NotifySocket()
    config = live_config(sweep_stale_after=timedelta(milliseconds=300))
    env = {"NOTIFY_SOCKET": sock.address, "WATCHDOG_USEC": str(WATCHDOG_USEC)}
    try:
        async with live_bot(tmp_path, config) as chat:
            watchman = Watchman(chat.runtime, config.monitoring, env=env)
            watchman.start()
            try:
                await asyncio.sleep(1.0)
                first = [line for _at, line in sock.read() if not line.startswith("STATUS=")]
                assert first[0] == "READY=1", first
                assert first.count("WATCHDOG=1") >= 3, first  # every 0.2 s while healthy

                sweeper = chat.core.services["sweeper"]
                release = threading.Event()
                original = sweeper.sweep

                def blocked() -> int:
                    release.wait(30)
                    return original()  # type: ignore[no-any-return]

                sweeper.sweep = blocked  # the clock thread hangs in its next sweep
                stalled = time.monotonic()
                await asyncio.sleep(1.2)
                late = [at - stalled for at, line in sock.read() if line == "WATCHDOG=1" and at > stalled + 0.7]
                assert late == [], f"WATCHDOG=1 sent {late} s after the sweeper stalled"

                sweeper.sweep = original
                release.set()
                resumed = time.monotonic()
                await asyncio.sleep(0.8)
                back = [at for at, line in sock.read() if line == "WATCHDOG=1" and at > resumed]
                assert back, "no WATCHDOG=1 after the sweeper recovered"
            finally:
                watchman.stop()
            assert sock.lines()[-1] == "STOPPING=1"
            assert sock.lines().count("READY=1") == 1
    finally:
        sock.close()


async def test_status_says_what_is_wrong_without_naming_anyone(tmp_path: Path) -> None:
    """``systemctl status`` shows why the watchdog is not fed (STATUS=…)."""
    sock = NotifySocket()
    config = live_config(sweep_stale_after=timedelta(milliseconds=300))
    try:
        async with live_bot(tmp_path, config) as chat:
            watchman = Watchman(chat.runtime, config.monitoring,
                                env={"NOTIFY_SOCKET": sock.address, "WATCHDOG_USEC": str(WATCHDOG_USEC)})
            watchman.start()
            release = threading.Event()
            sweeper = chat.core.services["sweeper"]
            original = sweeper.sweep
            sweeper.sweep = lambda: (release.wait(30), original())[1]
            try:
                await asyncio.sleep(1.0)
                statuses = sock.lines("STATUS=")
                assert any("sweeper" in status and "no sweep for" in status for status in statuses), statuses
            finally:
                sweeper.sweep = original
                release.set()
                watchman.stop()
    finally:
        sock.close()
