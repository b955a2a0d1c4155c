"""Fixtures for the Matrix transport tests: a bot account on the test Synapse, and people."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from storage.engine import make_engine
from storage.migrate import upgrade
from tests.matrix.support import BotHarness, Human, fake_clock, local_name, matrix_config
from tests.synapse.conftest import MatrixClientFactory, matrix_client, synapse  # noqa: F401  (fixtures)
from tests.synapse.helpers import DEFAULT_PASSWORD
from tests.synapse.homeserver import SynapseServer

BotFactory = Callable[..., Awaitable[BotHarness]]
HumanFactory = Callable[..., Awaitable[Human]]


@pytest.fixture
async def make_bot(synapse: SynapseServer, tmp_path: Path) -> AsyncIterator[BotFactory]:  # noqa: F811
    """``await make_bot(database_url=None, start=True, **matrix_keys)`` -> a running bot."""
    bots: list[BotHarness] = []

    async def factory(database_url: str | None = None, start: bool = True,
                      options: dict[str, Any] | None = None, **matrix: Any) -> BotHarness:
        name = local_name("c2pbot")
        user_id = await asyncio.to_thread(synapse.register_user, name, DEFAULT_PASSWORD)
        url = database_url or f"sqlite:///{tmp_path / f'{name}.db'}"
        engine = make_engine(url)
        if database_url is None:
            upgrade(engine)
        config = matrix_config(synapse, user_id, tmp_path / f"{name}-store", url, **matrix)
        bot = BotHarness(synapse, engine, config, fake_clock(), options=options or {})
        bots.append(bot)
        if start:
            await bot.start()
        return bot

    yield factory
    for bot in bots:
        await bot.stop()
        bot.engine.dispose()


@pytest.fixture
async def make_human(matrix_client: MatrixClientFactory) -> AsyncIterator[HumanFactory]:  # noqa: F811
    """``await make_human("amina", bot)`` -> a person with their own client and a DM with the bot."""

    async def factory(name: str, bot: BotHarness | str, open_dm: bool = True) -> Human:
        human = Human(await matrix_client(name), bot if isinstance(bot, str) else bot.user_id)
        if open_dm:
            await human.open_dm()
        return human

    yield factory
