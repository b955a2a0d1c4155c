"""``c2p-bot rotate-key``: re-wrap everything kept under the key-encryption key, in one transaction.

Rotating under a running bot would leave it wrapping new secrets under the old key (unreadable
after its restart), so:

* every running bot holds a **lease**: a ``bot-lease:<token>`` row in the ``secret`` table whose
  ``updated_at`` it refreshes every ``HEARTBEAT`` (a thread of its own, so a busy event loop or
  core thread does not matter) and deletes when it stops. ``rotate-key`` refuses while any lease
  is younger than ``LEASE_TTL``; a crashed bot's lease goes stale by itself. This works the same
  across processes and hosts on SQLite and PostgreSQL (hosts' clocks must roughly agree).
* each heartbeat also checks the database's KEK verifier: once another process rotated the key
  (a stale lease, or a race with start-up), the bot retires its key at once (every wrap and
  unwrap then refuses) and stops with one clear line.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from c2p_bot.core.clock import Clock, SystemClock
from c2p_bot.core.crypto import KdfParams, Kek, rewrap
from c2p_bot.core.errors import InvariantError
from c2p_bot.core.integrity import remac
from c2p_bot.core.keyring import INTERNAL_NAMES, KDF_PARAMS, LEASE_PREFIX, VERIFIER, Keyring
from c2p_bot.core.notes import person_context
from c2p_bot.core.plans import bot_context, proof_context
from storage.models import OutboxMessage, Person, Plan, Secret

log = logging.getLogger(__name__)

HEARTBEAT = 15.0  # seconds between a running bot's lease refreshes and key checks
LEASE_TTL = timedelta(seconds=60)  # a lease older than this belongs to a bot that is gone
ROTATED = ("the key-encryption key was rotated (c2p-bot rotate-key) while this bot was running: "
           "it stops rather than write under the old key; start it again with the new key")


class BotRunning(Exception):
    """``rotate-key`` refused: a bot holds a fresh lease on the database."""


def running_bots(engine: Engine, now: datetime) -> list[tuple[float, str]]:
    """(seconds since the last heartbeat, "pid P on HOST") of every fresh lease."""
    found = []
    with Session(engine) as session:
        for row in session.exec(select(Secret).where(col(Secret.name).startswith(LEASE_PREFIX))).all():
            age = (now - row.updated_at).total_seconds()
            if age < LEASE_TTL.total_seconds():
                try:
                    owner = json.loads(row.blob)
                    who = f"pid {int(owner['pid'])} on {str(owner['host'])[:64]}"
                except (ValueError, KeyError, TypeError):
                    who = "unknown process"
                found.append((max(age, 0.0), who))
    return found


def refuse_if_running(engine: Engine, now: datetime) -> None:
    bots = running_bots(engine, now)
    if bots:
        age, who = min(bots)
        raise BotRunning(
            f"a bot is running on this database ({who}, last heartbeat {age:.0f}s ago): stop it, then "
            f"rotate the key (a bot that crashed is forgotten {LEASE_TTL.total_seconds():.0f}s after "
            "its last heartbeat)")


class BotLease:
    """A running bot's lease on its database, and its watch for a rotated key."""

    def __init__(self, engine: Engine, keyring: Keyring, on_retired: Callable[[str], None],
                 clock: Clock | None = None, interval: float = HEARTBEAT) -> None:
        self.engine, self.keyring, self.on_retired = engine, keyring, on_retired
        self.clock = clock or SystemClock()
        self.interval = interval
        self.name = LEASE_PREFIX + secrets.token_hex(8)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, thread: bool = True) -> None:
        self.beat()
        if thread:
            self._thread = threading.Thread(target=self._run, name="c2p-lease", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception as error:  # a database hiccup: try again next beat
                log.warning("lease heartbeat failed (%s)", type(error).__name__)
            if self.keyring.retired:
                return

    def beat(self) -> bool:
        """Refresh the lease; retire the key if the database's verifier no longer matches it."""
        if self.keyring.retired:
            return False
        now = self.clock.now()
        with Session(self.engine) as session:
            verifier = session.get(Secret, VERIFIER)
            if verifier is None or not self.keyring.kek.verify(verifier.blob):
                session.exec(delete(Secret).where(col(Secret.name) == self.name))  # type: ignore[call-overload]
                session.commit()
                self.keyring.retire(ROTATED)
                log.error("%s", ROTATED)
                self.on_retired(ROTATED)
                return False
            row = session.get(Secret, self.name) or Secret(name=self.name, blob=b"", updated_at=now)
            row.blob = json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode()
            row.updated_at = now
            session.add(row)
            session.commit()
        return True

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            with Session(self.engine) as session:
                session.exec(delete(Secret).where(col(Secret.name) == self.name))  # type: ignore[call-overload]
                session.commit()
        except Exception as error:  # the lease then expires by itself
            log.warning("could not release the lease (%s)", type(error).__name__)


def rotate(engine: Engine, old: Kek, new: Kek, now: datetime, kdf: KdfParams | None) -> dict[str, int]:
    """Re-wrap private keys, PIN hashes, emergency plans, vault secrets and queued message bodies under ``new``."""
    counts = {"keys": 0, "pins": 0, "plans": 0, "secrets": 0, "queued": 0}
    with Session(engine) as session:
        for person in session.exec(select(Person)).all():
            if person.id is None:
                raise InvariantError("person.id is missing (a row not flushed yet?)")
            if person.wrapped_private_key:
                person.wrapped_private_key = rewrap(old, new, person.wrapped_private_key, person_context(person.id))
                counts["keys"] += 1
            for attr, which in (("pin_hash", "checkin"), ("duress_hash", "duress")):
                blob = getattr(person, attr)
                if blob:
                    context = f"pin:{which}:{person.id}".encode()
                    setattr(person, attr, new.wrap(old.unwrap(blob, context), context))
                    counts["pins"] += 1
            session.add(person)
        for plan in session.exec(select(Plan)).all():  # emergency plans: the bot's copy, the proof hash
            plan_id = plan.id or 0
            context = bot_context(plan_id, plan.hrd_id, plan.version)
            plan.sealed = new.wrap(old.unwrap(plan.sealed, context), context)
            if plan.proof_hash:
                plan.proof_hash = new.wrap(old.unwrap(plan.proof_hash, proof_context(plan.hrd_id)),
                                           proof_context(plan.hrd_id))
            session.add(plan)
            counts["plans"] += 1
        for secret in session.exec(select(Secret)).all():
            if secret.name in INTERNAL_NAMES or secret.name.startswith(LEASE_PREFIX):
                continue
            context = b"vault:" + secret.name.encode()
            secret.blob, secret.updated_at = new.wrap(old.unwrap(secret.blob, context), context), now
            session.add(secret)
            counts["secrets"] += 1
        for row in session.exec(select(OutboxMessage).where(col(OutboxMessage.delivered_at).is_(None))).all():
            if row.body:
                context = b"outbox:" + row.idempotency_key.encode()
                row.body = new.wrap(old.unwrap(row.body, context), context)
                session.add(row)
                counts["queued"] += 1
        counts["macs"] = remac(engine, session, old, new)  # row MACs are keyed from the KEK too
        verifier = session.get(Secret, VERIFIER)
        if verifier is None:
            raise InvariantError("the database has no key verifier")
        verifier.blob, verifier.updated_at = new.make_verifier(), now
        session.add(verifier)
        stored = session.get(Secret, KDF_PARAMS)
        if kdf is not None:
            stored = stored or Secret(name=KDF_PARAMS, blob=b"", updated_at=now)
            stored.blob, stored.updated_at = json.dumps(kdf.to_dict()).encode(), now
            session.add(stored)
        elif stored is not None:
            session.delete(stored)
        session.commit()
    return counts
