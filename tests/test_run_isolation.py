"""`c2p-bot run` with one platform unreachable: the clock and the other transports carry on, and
SIGTERM stops the bot within 10 s (issue 12, item 3)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import Session, update

from c2p_bot.cli import _run_networks
from c2p_bot.config import Config, parse_config
from c2p_bot.core.clock import SystemClock
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import CheckinClock
from tests.support.people import trio
from tests.support.transcript import Chat, memory_chat


@pytest.fixture
async def live(sqlite_url: str, config: Config) -> AsyncIterator[Chat]:
    engine = make_engine(sqlite_url)
    chat = memory_chat(engine, config, SystemClock())
    await trio(chat)
    yield chat
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(make_engine(url))
    return url


def unreachable_telegram() -> Config:
    """Telegram at a closed port on loopback: every Bot API call fails to connect."""
    return parse_config({"telegram": {"token": "123:unreachable", "base_url": "http://127.0.0.1:9/bot"}}, env={})


async def test_an_unreachable_telegram_stops_neither_the_clock_nor_sigterm(live: Chat) -> None:
    with Session(live.core.engine) as session:
        session.exec(update(CheckinClock).values(  # type: ignore[call-overload]
            alert_at=live.clock.now() + timedelta(seconds=1.5), remind_at=None))
        session.commit()
    running = asyncio.create_task(_run_networks(live.runtime, unreachable_telegram(), live.core.keyring))
    give_up = time.monotonic() + 10
    while not [m for m in live.transport.inbox["paul"] if "ALERT #1" in m.text]:
        assert not running.done(), running
        assert time.monotonic() < give_up, "no alert while Telegram was unreachable"
        await asyncio.sleep(0.05)
    assert not running.done()
    stopped_at = time.monotonic()
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(running, 10) == 0
    assert time.monotonic() - stopped_at < 10
