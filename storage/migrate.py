"""Apply Alembic migrations programmatically (``c2p-bot migrate``, and ``run`` on start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).with_name("migrations")


class MigrationError(RuntimeError):
    """A migration left the database inconsistent; it was rolled back."""


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to ``revision`` in one transaction."""
    if engine.dialect.name == "sqlite":
        _upgrade_sqlite(engine, revision)
        return
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def _upgrade_sqlite(engine: Engine, revision: str) -> None:
    """SQLite: one real transaction, with foreign keys off while tables are rebuilt.

    Rebuilding a table (SQLite cannot alter most of a table in place) drops it, which with
    ``foreign_keys=ON`` deletes or refuses its children's rows. The pragma is a no-op inside
    a transaction, so it is switched on the bare connection first; the migrations then run
    inside an explicit BEGIN (the sqlite3 module would otherwise run DDL outside any
    transaction), ``PRAGMA foreign_key_check`` must come back empty before COMMIT, and
    foreign keys are switched back on whatever happens.
    """
    cfg = alembic_config()
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        if raw is None:
            raise RuntimeError("the database connection has no driver connection")
        if raw.in_transaction:  # a fresh pool connection never is
            raise MigrationError("cannot migrate: the connection is inside a transaction")
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            if raw.execute("PRAGMA foreign_keys").fetchone()[0]:
                raise MigrationError("cannot migrate: SQLite foreign keys could not be switched off")
            with connection.begin():
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, revision)
                _check_foreign_keys(connection)
        finally:
            raw.execute("PRAGMA foreign_keys=ON")


def _check_foreign_keys(connection: Connection) -> None:
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        tables = sorted({str(row[0]) for row in problems})
        raise MigrationError(
            f"migration rolled back: {len(problems)} rows break foreign keys in {', '.join(tables)}"
        )


def head_revision() -> str | None:
    """The newest schema revision this code knows."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def known_revisions() -> set[str]:
    """Every schema revision this code knows."""
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision (None: no schema yet). Reads only."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
