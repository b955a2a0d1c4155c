"""One engine factory from a URL: SQLite (WAL, foreign keys, secure_delete) or PostgreSQL (psycopg 3).

Hygiene: a SQLite database, its WAL and SHM files are owner-only (0600) and folders created for
it 0700; SQL parameters (aliases, chat ids) never reach logs or error messages
(``hide_parameters``); a URL is only ever shown with its password masked (:func:`redact_url`).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import create_engine, text


class StorageError(Exception):
    """The database cannot be used; the message is one clear line for the operator."""


_USERINFO = re.compile(r"(//[^/@\s]*?:)[^@\s]*@")
_ANY_USERINFO = re.compile(r"([^\s/@:]*:)[^@\s]*@")


def redact_url(url: str | URL) -> str:
    """The URL as it may be shown (logs, errors): its password, if any, is ``***``."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not parseable: mask whatever sits between "user:" and "@"
        return _ANY_USERINFO.sub(r"\1***@", _USERINFO.sub(r"\1***@", url))


def _scrub(message: str, parsed: URL) -> str:
    """A driver's message with the URL's password masked, should it ever quote it."""
    if parsed.password:
        message = message.replace(str(parsed.password), "***")
    return message


def private_sqlite_file(database: str) -> None:
    """Make a SQLite database file owner-only before SQLite opens it.

    Missing folders are created 0700 (each one, not only the last); the file is created empty
    with 0600, or tightened to 0600 with its WAL and SHM if it exists with looser permissions.
    SQLite creates the WAL and SHM files with the database file's permissions.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database).expanduser()
    missing = []
    for parent in path.absolute().parents:
        if parent.exists():
            break
        missing.append(parent)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(FileNotFoundError, IsADirectoryError):
        os.close(os.open(path, flags, 0o600))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(file.stat().st_mode) & 0o077:
                os.chmod(file, 0o600)


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
    except (ArgumentError, ValueError):
        raise StorageError(f"database.url is not a valid database URL: {redact_url(url)!r}") from None
    backend = parsed.get_backend_name()
    try:
        if backend == "sqlite":
            private_sqlite_file(parsed.database or "")
            engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 10},
                                   hide_parameters=True)
            event.listen(engine, "connect", _sqlite_pragmas)
        elif backend == "postgresql":
            engine = create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": 10},
                                   hide_parameters=True)
        else:
            raise StorageError(f"database.url: unsupported database {backend!r} (use sqlite or postgresql)")
    except (ArgumentError, ImportError, OSError) as error:  # e.g. an unknown driver, a folder it cannot make
        reason = _scrub(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__,
                        parsed)
        raise StorageError(f"database.url: cannot use {redact_url(parsed)} ({reason})") from None
    if check:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as error:
            reason = str(error.orig).strip().splitlines()[0] if error.orig else "cannot connect"
            raise StorageError(
                f"database.url: cannot open the database ({_scrub(reason, parsed)})"
            ) from None
    return engine
