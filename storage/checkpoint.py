"""Moves SQLite's WAL checkpoints off the path of a commit.

By default SQLite checkpoints inside whichever commit grows the write-ahead log past 1,000 pages:
that commit then copies the log into the database file and syncs it. When a burst of alerts is
being committed, that commit is an alert's. While the bot runs, this thread checkpoints
(``PASSIVE``: it never blocks writers or readers) every ``interval`` on its own connection, and
the engine's ``wal_autocheckpoint`` (see :mod:`storage.engine`) stays only as a backstop.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


class WalCheckpointer:
    """A daemon thread running ``PRAGMA wal_checkpoint(PASSIVE)`` every ``interval`` seconds."""

    def __init__(self, engine: Engine, interval: float = 0.5) -> None:
        self.engine = engine
        self.interval = interval
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.engine.dialect.name != "sqlite" or self._thread is not None:
            return
        self._stop = threading.Event()  # each thread its own: a slow old one never restarts
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name="sqlite-checkpoint",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join(timeout=10)

    def _run(self, stop: threading.Event) -> None:
        try:
            connection: Any = self.engine.raw_connection()
        except Exception:  # the backstop still checkpoints; say why this thread is not running
            log.exception("WAL checkpoints: cannot open a connection; commits will checkpoint")
            return
        try:
            while not stop.wait(self.interval):
                self.checkpoint(connection)
        finally:
            connection.close()

    def checkpoint(self, connection: Any) -> None:
        try:
            cursor = connection.cursor()
            try:
                cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                cursor.fetchall()
            finally:
                cursor.close()
            self.checkpoints += 1
        except Exception:  # the backstop still checkpoints; never let this thread die silently
            log.exception("WAL checkpoint failed")
