"""A bot on the Telegram transport talking to the fake Bot API (tests/telegram_api) on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from c2p_bot.core.crypto import Kek
from storage.engine import make_engine
from tests.telegram.support import TelegramBot
from tests.telegram_api import FakeBotApi


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # type: ignore[no-untyped-def]
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    upgrade(make_engine(url))
    return url


async def _bot(api: FakeBotApi, url: str) -> AsyncIterator[TelegramBot]:
    engine = make_engine(url)
    bot = TelegramBot(api, engine, Kek.generate())
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()
        engine.dispose()


@pytest.fixture
async def bot(api: FakeBotApi, sqlite_url: str) -> AsyncIterator[TelegramBot]:
    """The bot on SQLite (most tests here exercise the transport, not the database)."""
    async for running in _bot(api, sqlite_url):
        yield running


@pytest.fixture
async def any_db_bot(api: FakeBotApi, db_url: str) -> AsyncIterator[TelegramBot]:
    """The bot on SQLite and on PostgreSQL (the ``db_url`` fixture of tests/conftest.py)."""
    async for running in _bot(api, db_url):
        yield running
