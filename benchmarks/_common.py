"""Shared helpers for the benchmarks (not tests).

Databases (a migrated SQLite temp file, or a database on a PostgreSQL server: a throwaway one
from tests/support/postgres.py with ``--postgres``, or ``--postgres-url``), fast bulk
population with SQLAlchemy Core, readers' keys and sealed check-in notes written through the
real check-in path, percentiles, peak RSS and table printing.
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import secrets
import shutil
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if sys.path[0] != str(ROOT):  # before benchmarks/ (its matching.py would shadow the package)
    sys.path.insert(0, str(ROOT))

from sqlalchemy import bindparam, insert, text, update  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from c2p_bot.core.crypto import Kek, load_or_create_key_file, new_person_keys  # noqa: E402
from c2p_bot.core.notes import person_context  # noqa: E402
from c2p_bot.core.settings import CoreSettings  # noqa: E402
from storage.engine import make_engine, normalise_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import CheckinClock, Identity, Match, Person  # noqa: E402

PLATFORM = "memory"
ZONES = ("Africa/Nairobi", "America/Bogota", "Asia/Manila", "Europe/Istanbul", "UTC", "Asia/Kolkata")
COUNTRIES = ("KE", "CO", "PH", "TR", "UG", "IN", "MX", "BY", "NI", "ZW")
CHUNK = 5_000


# -- statistics and output -------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 values is the 990th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _status_mb(field_name: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return math.nan


def peak_rss_mb() -> float:
    """Peak resident set size of this process image in MiB.

    VmHWM, not ``getrusage().ru_maxrss``: Linux carries ru_maxrss across fork+exec, so a worker
    started by a parent holding a big database population would report the parent's peak.
    """
    value = _status_mb("VmHWM")
    return value if not math.isnan(value) else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    return _status_mb("VmRSS")


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "—"
    return f"{seconds * 1000:,.0f}" if seconds >= 0.0995 else f"{seconds * 1000:,.1f}"


def ratio(a: float, b: float) -> str:
    if not b or math.isnan(a) or math.isnan(b):
        return "—"
    value = a / b
    return f"{value:,.1f}×" if value < 100 else f"{value:,.0f}×"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table (also readable in a terminal)."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows]
    return "\n".join([line, rule, *body])


# -- databases -------------------------------------------------------------------------------


def add_database_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--postgres", action="store_true",
                        help="also run on a throwaway PostgreSQL server (tests/support/postgres.py)")
    parser.add_argument("--postgres-url", metavar="URL",
                        help="also run on this PostgreSQL server (databases are created and dropped on it)")
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")


@dataclass
class Backend:
    """Where benchmark databases live: SQLite files in a temp dir, or databases on a PG server."""

    name: str  # sqlite | postgresql
    workdir: Path
    admin_url: str | None = None  # PostgreSQL: a URL to the server's maintenance database
    _server: Any = None
    _created: list[str] = field(default_factory=list)

    def url(self, db: str) -> str:
        if self.name == "sqlite":
            return f"sqlite:///{self.workdir / (db + '.db')}"
        assert self.admin_url is not None
        return self.admin_url.rsplit("/", 1)[0] + "/" + db

    def create(self, db: str) -> str:
        """A new, migrated, empty database; returns its URL."""
        if self.name == "postgresql":
            self._admin(f"CREATE DATABASE {db}")
            self._created.append(db)
        url = self.url(db)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        return url

    def clone(self, template: str, db: str) -> str:
        """A copy of a populated database (file copy, or CREATE DATABASE ... TEMPLATE)."""
        if self.name == "sqlite":
            shutil.copyfile(self.workdir / (template + ".db"), self.workdir / (db + ".db"))
        else:
            self._admin(f"CREATE DATABASE {db} TEMPLATE {template}")
            self._created.append(db)
        return self.url(db)

    def drop(self, db: str) -> None:
        if self.name == "sqlite":
            for suffix in (".db", ".db-wal", ".db-shm"):
                (self.workdir / (db + suffix)).unlink(missing_ok=True)
        else:
            self._admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
            if db in self._created:
                self._created.remove(db)

    def close(self) -> None:
        if self.name == "postgresql":
            for db in list(self._created):
                self.drop(db)
            if self._server is not None:
                self._server.stop()

    def _admin(self, sql: str) -> None:
        assert self.admin_url is not None
        engine = make_engine(self.admin_url)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(sql))
        engine.dispose()


def backends(args: argparse.Namespace, workdir: Path) -> list[Backend]:
    found: list[Backend] = []
    if not args.no_sqlite:
        found.append(Backend("sqlite", workdir))
    if args.postgres_url:
        found.append(Backend("postgresql", workdir, admin_url=normalise_url(args.postgres_url)))
    elif args.postgres:
        from tests.support.postgres import start_postgres

        server = start_postgres()
        found.append(Backend("postgresql", workdir, admin_url=server.url, _server=server))
    return found


def unique_name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def settle(engine: Engine) -> None:
    """Make a populated database ready to copy and fast to query (checkpoint, statistics)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
            conn.commit()
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            conn.commit()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()


def fix_sequences(engine: Engine, tables: Iterable[str]) -> None:
    """Rows were inserted with explicit ids: move PostgreSQL's sequences past them."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table_name in tables:
            conn.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table_name}), 1))"))


def chunks(rows: list[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def bulk(engine: Engine, table: Any, rows: list[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        for part in chunks(rows):
            conn.execute(insert(table), part)


# -- people ----------------------------------------------------------------------------------


def person_row(pid: int, role: str, now: datetime, rng: random.Random, kind: str | None = None) -> dict[str, Any]:
    return {
        "id": pid, "role": role, "kind": kind, "status": "active", "alias": f"{role}-{pid:06d}",
        "ui_language": "en", "timezone": rng.choice(ZONES), "country": rng.choice(COUNTRIES),
        "languages": "en", "expertise": "", "wants": "", "regions": "", "capacity": 20, "available": True,
        "created_at": now, "public_key": None, "wrapped_private_key": None, "key_mode": "custodial",
        "pin_hash": None, "duress_hash": None,
    }


def sender_and_chat(pid: int, platform: str = PLATFORM) -> tuple[str, str]:
    """The (platform user id, chat id) of a person's one identity: Telegram's are numbers (a
    private chat's id is the user's id), the memory transport's are names."""
    if platform == "telegram":
        return str(700_000_000 + pid), str(700_000_000 + pid)
    return f"u{pid}", f"chat-{pid}"


def identity_row(iid: int, pid: int, now: datetime, platform: str = PLATFORM) -> dict[str, Any]:
    user, chat = sender_and_chat(pid, platform)
    return {"id": iid, "person_id": pid, "platform": platform, "platform_user_id": user,
            "chat_id": chat, "created_at": now, "last_seen_at": now, "unreachable_at": None}


@dataclass
class People:
    coordinators: list[int]
    partners: list[int]
    hrds: list[int]
    partners_of: dict[int, list[int]]


def populate_people(engine: Engine, *, hrds: int, partners: int, coordinators: int, seed: int,
                    now: datetime, unmatched: float = 0.2, two_partners: float = 0.2,
                    platform: str = PLATFORM) -> People:
    """Coordinators, partners and HRDs (active, one identity each on ``platform``) and active
    matches: a share of HRDs has no partner (their alerts go to the coordinators), some have two."""
    rng = random.Random(seed)
    people: list[dict[str, Any]] = []
    coordinator_ids = list(range(1, coordinators + 1))
    partner_ids = list(range(coordinators + 1, coordinators + partners + 1))
    hrd_ids = list(range(coordinators + partners + 1, coordinators + partners + hrds + 1))
    people += [person_row(pid, "coordinator", now, rng) for pid in coordinator_ids]
    kinds = ("mp", "lawyer", "journalist")
    people += [person_row(pid, "partner", now, rng, kind=rng.choice(kinds)) for pid in partner_ids]
    people += [person_row(pid, "hrd", now, rng) for pid in hrd_ids]
    bulk(engine, Person.__table__, people)
    bulk(engine, Identity.__table__, [identity_row(p["id"], p["id"], now, platform) for p in people])
    partners_of: dict[int, list[int]] = {}
    matches: list[dict[str, Any]] = []
    # A database the bot already runs on: each match has its term and contact clock (what the
    # partnership sweep gives a match made before them, c2p_bot.core.partnerships), else the first
    # sweep adopts every match (~1 ms of CPU each) while the benchmark measures.
    terms = CoreSettings().matching
    created = now - timedelta(days=30)
    ends = max(created + terms.term, now + terms.renew_before)
    term = {"ends_at": ends, "renew_ask_at": ends - terms.renew_before, "last_contact_at": now,
            "nudge_at": now + terms.contact_nudge}
    for hid in hrd_ids:
        draw = rng.random()
        count = 0 if draw < unmatched else 2 if draw < unmatched + two_partners else 1
        chosen = rng.sample(partner_ids, min(count, len(partner_ids)))
        partners_of[hid] = chosen
        for pid in chosen:
            matches.append({"id": len(matches) + 1, "hrd_id": hid, "partner_id": pid, "status": "active",
                            "created_at": created, "ended_at": None, **term})
    bulk(engine, Match.__table__, matches)
    fix_sequences(engine, ("person", "identity", "match"))
    return People(coordinator_ids, partner_ids, hrd_ids, partners_of)


def clock_row(pid: int, alert_at: datetime, *, grace: timedelta, remind_before: timedelta, now: datetime,
              timezone: str = "UTC") -> dict[str, Any]:
    due = alert_at - grace
    remind = due - remind_before
    return {
        "person_id": pid, "schedule_kind": "every", "interval_s": 86400, "daily_times": "", "timezone": timezone,
        "grace_s": int(grace.total_seconds()), "state": "ok", "next_due": due, "alert_at": alert_at,
        "remind_at": remind if remind > now else None, "paused_until": None, "pause_remind_at": None,
        "last_checkin_at": due - timedelta(days=1), "wrong_pins": 0, "wrong_pin_window_start": None,
    }


def populate_clocks(engine: Engine, rows: list[dict[str, Any]]) -> None:
    bulk(engine, CheckinClock.__table__, rows)


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- keys and sealed notes -------------------------------------------------------------------


def new_key_file(path: Path) -> Kek:
    """A fresh KEK in a 0600 key file (the production custody): the parent populates with it, and
    each worker loads it with :func:`load_key_file`, so both seal and open with the same key."""
    return load_or_create_key_file(path, create=True)


def load_key_file(path: str | Path) -> Kek:
    return load_or_create_key_file(path, create=False)


def issue_reader_keys(engine: Engine, kek: Kek, person_ids: Sequence[int]) -> None:
    """Give people a custodial key pair the way the core does on registration
    (``notes.issue_keys``: X25519, private half wrapped by the KEK under ``person:<id>``)."""
    rows = []
    for pid in person_ids:
        pair = new_person_keys(kek, person_context(pid))
        rows.append({"pid": pid, "public": pair.public, "wrapped": pair.wrapped_private})
    table = Person.__table__
    statement = update(table).where(table.c.id == bindparam("pid")).values(
        public_key=bindparam("public"), wrapped_private_key=bindparam("wrapped"), key_mode="custodial")
    with engine.begin() as conn:
        for part in chunks(rows):
            conn.execute(statement, part)


NOTE_WORDS = ("left the office", "meeting the lawyer", "car outside again", "moved to the safe house",
              "phone battery low", "court hearing postponed", "travelling north", "all quiet today",
              "police at the checkpoint", "with family tonight")


def note_text(pid: int, rng: random.Random) -> str:
    """A check-in note of realistic length (60–140 characters), different for every HRD."""
    words = " ; ".join(rng.sample(NOTE_WORDS, 3))
    return f"{words} (#{pid}, ref {rng.randrange(10**6):06d})"


def checkin_through_core(url: str, kek: Kek, checkins: Sequence[tuple[int, datetime, str]],
                         platform: str = PLATFORM) -> float:
    """Each (HRD id, moment, note) checks in with ``/checkin NOTE`` at that moment, through the
    production path: ``build_runtime`` and ``Runtime.handle`` with an ``Incoming`` as a transport
    makes it (a FakeClock set to the moment), so the note is sealed by the core to every reader
    (``notes.write_note``). The HRD's clock must have a last check-in before the moment. Returns
    the seconds it took."""
    import asyncio

    from c2p_bot.app import build_runtime
    from c2p_bot.config import parse_config
    from c2p_bot.core.clock import FakeClock
    from c2p_bot.core.events import Incoming
    from c2p_bot.core.keyring import Keyring

    engine = make_engine(url)
    clock = FakeClock()
    runtime = build_runtime(parse_config({}, env={}), engine, clock, Keyring(engine, kek))
    started = time.perf_counter()

    async def run() -> None:
        for pid, moment, note in checkins:
            clock.set(moment)
            user, chat = sender_and_chat(pid, platform)
            await runtime.handle(Incoming(platform=platform, sender_id=user, chat_id=chat,
                                          text=f"/checkin {note}".rstrip(), sent_at=moment,
                                          event_id=f"m:{chat}:seed"))

    asyncio.run(run())
    took = time.perf_counter() - started
    with engine.connect() as conn:
        noted = conn.execute(text("SELECT count(DISTINCT subject_id) FROM note WHERE kind = 'checkin'")).scalar()
    engine.dispose()
    wanted = len({pid for pid, _m, note in checkins if note})
    if (noted or 0) < wanted:
        raise RuntimeError(f"only {noted} of {wanted} HRDs have a sealed note after checking in")
    return took
