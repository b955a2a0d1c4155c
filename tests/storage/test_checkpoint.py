"""SQLite: the running bot copies the write-ahead log into the database file in the background."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from storage.bulk import insert_many, table_of
from storage.checkpoint import WalCheckpointer
from storage.engine import WAL_AUTOCHECKPOINT_PAGES, make_engine
from storage.migrate import upgrade
from storage.models import AuditEntry


def write_rows(engine: object, count: int) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:  # type: ignore[call-overload]
        insert_many(session.connection(), table_of(AuditEntry),
                    [{"at": now, "action": "load", "subject": f"row:{i}", "detail": "x" * 200} for i in range(count)])
        session.commit()


def test_commits_leave_checkpointing_to_the_background_thread(tmp_path: Path) -> None:
    path = tmp_path / "c2p.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == WAL_AUTOCHECKPOINT_PAGES
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    size_before = path.stat().st_size

    write_rows(engine, 20_000)  # ≈ 6 MB: past SQLite's default autocheckpoint (1,000 pages)
    assert path.stat().st_size == size_before, "a commit checkpointed the log itself"

    checkpointer = WalCheckpointer(engine, interval=0.05)
    checkpointer.start()
    try:
        deadline = time.monotonic() + 10
        while (path.stat().st_size == size_before or not checkpointer.checkpoints) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert path.stat().st_size > size_before + 4_000_000
        assert checkpointer.checkpoints >= 1
    finally:
        checkpointer.stop()
    assert checkpointer._thread is None
    engine.dispose()


def test_runs_only_where_there_is_a_log_to_checkpoint(db_url: str) -> None:
    engine = make_engine(db_url)
    checkpointer = WalCheckpointer(engine, interval=0.01)
    checkpointer.start()
    try:
        time.sleep(0.2)
        if engine.dialect.name == "sqlite":
            assert checkpointer.checkpoints >= 1
            checkpointer.stop()  # and it starts again (a runtime stopped and started)
            before = checkpointer.checkpoints
            checkpointer.start()
            time.sleep(0.2)
            assert checkpointer.checkpoints > before
        else:  # PostgreSQL checkpoints on its own
            assert checkpointer._thread is None and checkpointer.checkpoints == 0
    finally:
        checkpointer.stop()
    engine.dispose()
