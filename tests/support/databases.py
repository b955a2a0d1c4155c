"""Database fixtures (a pytest plugin, registered in tests/conftest.py) and their helpers.

``db_url`` is a migrated, empty database on SQLite and on PostgreSQL (every test using it runs
on both); ``second_url`` is another one on the same backend; ``postgres`` is the session's
PostgreSQL server (``C2P_TEST_POSTGRES_URL``, or one provisioned for the run).
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.engine import make_engine
from storage.migrate import upgrade
from tests.support.ci import need_server
from tests.support.postgres import PostgresServer, PostgresUnavailable, start_postgres

Postgres = PostgresServer | str  # a provisioned server, or the URL of an external one


def fresh_postgres_url(postgres: Postgres) -> tuple[str, str]:
    """A new database on ``postgres`` (from the migrated template when we own the server).

    Returns its URL and name; an external server's database still needs ``upgrade``.
    """
    name = "t_" + secrets.token_hex(6)
    base = postgres if isinstance(postgres, str) else postgres.url
    admin = make_engine(base)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if isinstance(postgres, str):
            conn.execute(text(f"CREATE DATABASE {name}"))
        else:
            # FILE_COPY (PostgreSQL 15+) copies the template's files: ~40 ms here, where the default
            # WAL_LOG strategy writes every page of it to the WAL, ~450 ms a test.
            version = int(conn.execute(text("SHOW server_version_num")).scalar_one())
            strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE c2p_template{strategy}"))
    admin.dispose()
    url = base.rsplit("/", 1)[0] + "/" + name
    return url, name


def drop_postgres_database(postgres: Postgres, name: str) -> None:
    admin = make_engine(postgres if isinstance(postgres, str) else postgres.url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file, made once: each test gets a copy (a copy takes well under a
    millisecond, running every migration ~100 ms)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "c2p.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    engine.dispose()
    return path


def _migrated(request: pytest.FixtureRequest, backend: str, sqlite_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        shutil.copyfile(request.getfixturevalue("sqlite_template"), sqlite_path)
        yield f"sqlite:///{sqlite_path}"
        return
    server = request.getfixturevalue("postgres")
    url, name = fresh_postgres_url(server)
    if isinstance(server, str):
        upgrade(make_engine(url))
    yield url
    drop_postgres_database(server, name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: every test using it runs on SQLite and on PostgreSQL."""
    yield from _migrated(request, request.param, tmp_path / "c2p.db")


@pytest.fixture
def second_url(request: pytest.FixtureRequest, db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second migrated, empty database on the same backend as ``db_url``."""
    backend = "sqlite" if db_url.startswith("sqlite") else "postgres"
    yield from _migrated(request, backend, tmp_path / "second.db")
