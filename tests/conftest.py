"""Shared fixtures: a fake clock, the default config and transcripts.

The database fixtures (``db_url``, ``second_url``, ``postgres``) live in tests/support/databases.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from c2p_bot.config import Config, parse_config
from c2p_bot.core.clock import FakeClock
from storage.engine import make_engine
from tests.support.transcript import Chat, memory_chat

pytest_plugins = ["tests.support.databases"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", help="run reliability scenarios at full counts")


@pytest.fixture
def full(request: pytest.FixtureRequest) -> bool:
    """Whether to run reliability scenarios at their full counts (pytest --full)."""
    return bool(request.config.getoption("--full"))


@pytest.fixture
def config() -> Config:
    return parse_config({}, env={})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def chat(db_url: str, config: Config, clock: FakeClock) -> AsyncIterator[Chat]:
    """A bot on the memory transport with a fake clock, on SQLite and PostgreSQL."""
    engine = make_engine(db_url)
    yield memory_chat(engine, config, clock)
    engine.dispose()
