"""One engine factory from a URL: SQLite (WAL, foreign keys, secure_delete) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import create_engine, text


class StorageError(Exception):
    """The database cannot be used; the message is one clear line for the operator."""


def normalise_url(url: str) -> str:
    """Map plain ``postgresql://`` URLs to the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


WAL_AUTOCHECKPOINT_PAGES = 8192  # 32 MiB of 4 KiB pages


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoints normally run inside the commit that grows the log past 1,000 pages; the running
    # bot checkpoints in the background instead (storage/checkpoint.py). This is the backstop.
    cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
    cursor.close()


def make_engine(url: str, *, check: bool = True) -> Engine:
    """Create an engine; with ``check`` it connects once so a bad URL fails here, clearly."""
    try:
        parsed = make_url(normalise_url(url))
    except ArgumentError:
        raise StorageError(f"database.url is not a valid database URL: {url!r}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    elif backend == "postgresql":
        engine = create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    else:
        raise StorageError(f"database.url: unsupported database {backend!r} (use sqlite or postgresql)")
    if check:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as error:
            reason = str(error.orig).strip().splitlines()[0] if error.orig else "cannot connect"
            raise StorageError(
                f"database.url: cannot open the database ({reason})"
            ) from None
    return engine
