"""L — storage hygiene: private files, no SQL parameters and no passwords in logs or errors."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from storage.engine import StorageError, make_engine, redact_url

SECRET = "ALIAS-CANARY-5d1e"
PASSWORD = "pw-CANARY-93ab"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> object:
    old = os.umask(0o022)  # the usual umask: files 0644, folders 0755
    yield
    os.umask(old)


def test_sqlite_database_wal_and_shm_are_private(tmp_path: Path, loose_umask: object) -> None:
    db = tmp_path / "new" / "deeper" / "c2p.db"
    tmp_path.chmod(0o755)
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x TEXT)"))
        connection.execute(text("INSERT INTO t VALUES ('x')"))
        wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
        assert wal.exists() and shm.exists()
        assert (_mode(db), _mode(wal), _mode(shm)) == (0o600, 0o600, 0o600)
    assert _mode(db.parent) == 0o700 and _mode(db.parent.parent) == 0o700  # folders the bot made
    assert _mode(tmp_path) == 0o755  # a folder that existed is left as it was
    engine.dispose()


def test_an_existing_world_readable_database_is_made_private(tmp_path: Path, loose_umask: object) -> None:
    db = tmp_path / "old.db"
    first = make_engine(f"sqlite:///{db}")
    with first.begin() as connection:
        connection.execute(text("CREATE TABLE t (x TEXT)"))
    first.dispose()
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        if path.exists():
            path.chmod(0o644)
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO t VALUES ('x')"))
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            assert _mode(path) == 0o600, path
    engine.dispose()


def test_sql_parameters_never_reach_errors_or_logs(db_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    engine = make_engine(db_url)
    engine.echo = True  # the SQL log an operator turns on when debugging
    with pytest.raises(SQLAlchemyError) as failed, engine.begin() as connection:
        connection.execute(text("SELECT * FROM no_such_table WHERE alias = :alias"), {"alias": SECRET})
    assert SECRET not in str(failed.value)
    assert SECRET not in caplog.text
    with engine.begin() as connection:
        connection.execute(text("SELECT :alias"), {"alias": SECRET})
    assert SECRET not in caplog.text
    engine.dispose()


@pytest.mark.parametrize("url", [
    f"postgresql://c2p:{PASSWORD}@127.0.0.1:1/c2p",
    f"postgresql://c2p:{PASSWORD}@127.0.0.1:notaport/c2p",
    f"postgresql+nosuchdriver://c2p:{PASSWORD}@127.0.0.1/c2p",
    f"mysql://c2p:{PASSWORD}@127.0.0.1/c2p",
    f"not a url c2p:{PASSWORD}@host",
    f"postgresql://c2p:{PASSWORD}@[bad/c2p",
])
def test_a_database_url_password_never_appears_in_errors(url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(StorageError) as refused:
        make_engine(url)
    assert PASSWORD not in str(refused.value)
    assert PASSWORD not in caplog.text
    assert str(refused.value).startswith("database.url")


def test_redact_url() -> None:
    assert redact_url(f"postgresql://c2p:{PASSWORD}@db/c2p") == "postgresql://c2p:***@db/c2p"
    assert PASSWORD not in redact_url(f"weird://c2p:{PASSWORD}@[host/x")
    assert redact_url("sqlite:///c2p.db") == "sqlite:///c2p.db"
    engine = make_engine(f"postgresql://c2p:{PASSWORD}@127.0.0.1:1/c2p", check=False)
    assert PASSWORD not in repr(engine) and PASSWORD not in str(engine.url)
