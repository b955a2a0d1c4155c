"""Shared fixtures: databases (SQLite and a provisioned PostgreSQL), a fake clock, transcripts."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from c2p_bot.app import build_runtime
from c2p_bot.config import Config, parse_config
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.crypto import INTERACTIVE_PIN_PARAMS, Kek
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.throttle import Throttle
from c2p_bot.transports.memory import MemoryTransport
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.support.ci import need_server
from tests.support.postgres import PostgresServer, PostgresUnavailable, start_postgres
from tests.support.transcript import Chat


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--full", action="store_true", help="run reliability scenarios at full counts")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | str]:
    external = os.environ.get("C2P_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    try:
        server = start_postgres()
    except PostgresUnavailable as error:
        need_server(str(error))
    template = make_engine(server.url)
    with template.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("CREATE DATABASE c2p_template"))
    template.dispose()
    engine = make_engine(server.url_for("c2p_template"))
    upgrade(engine)
    engine.dispose()
    yield server
    server.stop()


def _fresh_postgres_url(postgres: PostgresServer | str) -> tuple[str, str]:
    name = "t_" + secrets.token_hex(6)
    base = postgres if isinstance(postgres, str) else postgres.url
    admin = make_engine(base)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if isinstance(postgres, str):
            conn.execute(text(f"CREATE DATABASE {name}"))
        else:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE c2p_template"))
    admin.dispose()
    url = base.rsplit("/", 1)[0] + "/" + name
    return url, name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: every test using it runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'c2p.db'}"
        upgrade(make_engine(url))
        yield url
        return
    server = request.getfixturevalue("postgres")
    url, name = _fresh_postgres_url(server)
    if isinstance(server, str):
        upgrade(make_engine(url))
    yield url
    base = server if isinstance(server, str) else server.url
    admin = make_engine(base)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


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
    runtime = build_runtime(config, engine, clock, Keyring(engine, Kek.generate()))
    runtime.core.services["pin_params"] = INTERACTIVE_PIN_PARAMS
    runtime.throttle = Throttle(rate=1e9, burst=10**9)  # transcripts type fast; tests/reliability floods
    transport = MemoryTransport()
    runtime.add_transport(transport)
    yield Chat(runtime, transport)
    engine.dispose()
