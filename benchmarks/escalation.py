"""Benchmark (not a test): how long after a missed deadline is the alert committed to the outbox?

N HRDs have a check-in clock; 1,000 of them fall due within one second, each at its own
millisecond (``alert_at`` = T0 + a distinct offset in [0, 1 s), T0 a whole second a few seconds
after the worker is ready; ``--same-deadline`` gives them all T0 exactly, which hides lost
wake-ups); the others are spread over the next day. Half of the due HRDs checked in last with a
note, sealed to their readers by the core (``/checkin NOTE`` through ``Runtime.handle`` while
populating), so their alert messages open the reader's copy. We measure, for each of the 1,000
alerts, the wall time at which the transaction that wrote its first outbox row had committed,
minus that HRD's own deadline.

* ours: ``build_runtime`` with ``SystemClock``; ``runtime.start()`` (no transports, so no
  dispatcher drains the outbox) starts the AlarmClock: APScheduler wakes the Sweeper at the
  earliest ``alert_at``; the sweeper claims overdue clocks and raises the alerts, up to 500 per
  transaction.
* fair: the fair peer. A python-telegram-bot JobQueue bot (one APScheduler date job per HRD,
  ``JobQueue.run_once``, memory job store) whose job runs our fast production path for its one
  HRD: the sweeper's conditional claim (``UPDATE … RETURNING``) of that one clock, then
  ``Escalation.raise_missed_batch`` with that one HRD (the sweeper's batch path), then commit.
  The coordinators are loaded once and kept, as the sweeper does per sweep.
* baseline: today's baseline: the same JobQueue bot whose job claims the clock and raises the
  alert with the ORM path, ``Escalation.raise_alert``.

Both JobQueue bots create their jobs on start from the ``checkin_clock`` table, with
``misfire_grace_time=None`` so every job runs; the number of jobs that started more than 1 s after
their deadline (and would be silently skipped with APScheduler's default of 1 s) is reported.

How the commit time is taken: SQLAlchemy events in the worker. ``after_cursor_execute`` notes the
``alert_id`` of every outbox row inserted (ORM flush or the sweeper's bulk insert); the session's
``after_commit`` (called once the database has acknowledged COMMIT, i.e. the row is visible to other
connections) stamps ``time.time()`` on each such alert the first time it is seen. Latency = that
stamp − the HRD's deadline. Each implementation runs in its own subprocess on its own copy of the
same populated database, one after the other, so peak RSS (``VmHWM``) is per implementation.
Percentiles: nearest rank.

    .venv/bin/python benchmarks/escalation.py [--hrds 10000,100000] [--due 1000] [--same-deadline]
        [--postgres | --postgres-url URL] [--no-sqlite] [--only ours,fair,baseline] [--repeat N]
        [--noted 0.5] [--planned 0] [--profile DIR] [--seed N] [--lead S]

Results: benchmarks/README.md, "## Escalation latency".
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import math
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repo root first: `matching` is the package, not benchmarks/matching.py
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))

from _common import (  # noqa: E402
    ROOT,
    add_database_arguments,
    backends,
    checkin_through_core,
    clock_row,
    current_rss_mb,
    issue_reader_keys,
    load_key_file,
    ms,
    new_key_file,
    note_text,
    peak_rss_mb,
    percentile,
    populate_clocks,
    populate_people,
    ratio,
    settle,
    table,
    unique_name,
)
from sqlalchemy import bindparam, event  # noqa: E402
from sqlalchemy import update as sa_update  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session as OrmSession  # noqa: E402
from sqlmodel import Session, col, select, update  # noqa: E402

from storage.engine import make_engine  # noqa: E402
from storage.models import Alert, CheckinClock, OutboxMessage, Person  # noqa: E402

TARGET_P99 = 0.250
TARGET_RATIO = 50.0  # today's baseline / ours
TARGET_FAIR_RATIO = 20.0  # fair peer / ours
IMPLS = ("ours", "fair", "baseline")


# -- population (parent) ---------------------------------------------------------------------


def populate(url: str, hrds: int, due: int, seed: int, key_file: Path, noted_share: float,
             same_deadline: bool, planned_share: float = 0.0) -> dict[str, Any]:
    """People (partners and coordinators with custodial keys), matches and clocks; a share of the
    due HRDs check in with a note through the core; the ``due`` HRDs get their deadlines (T0 +
    their offset) from the worker (placeholder +1 h)."""
    engine = make_engine(url)
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    people = populate_people(engine, hrds=hrds, partners=max(20, hrds // 20), coordinators=2,
                             seed=seed, now=now)
    kek = new_key_file(key_file) if not key_file.exists() else load_key_file(key_file)
    issue_reader_keys(engine, kek, people.coordinators + people.partners)
    rng = random.Random(seed + 1)
    due_ids = sorted(rng.sample(people.hrds, min(due, hrds)))
    due_set = set(due_ids)
    noted = set(rng.sample(due_ids, round(len(due_ids) * noted_share)))
    grace, remind_before = timedelta(hours=1), timedelta(minutes=30)
    placeholder = now + timedelta(hours=1)
    rows, checkins = [], []
    for pid in people.hrds:
        if pid in due_set:
            row = clock_row(pid, placeholder, grace=grace, remind_before=remind_before, now=now)
            row["remind_at"] = None  # the reminder has gone out already
            # Each HRD's own last check-in (a message shows it; no two alike, as in life).
            last = now - timedelta(seconds=rng.randrange(3600, 7 * 24 * 3600), microseconds=rng.randrange(10**6))
            row["last_checkin_at"] = last
            if pid in noted:  # that last check-in happens below, through the core, with its note
                row["last_checkin_at"] = last - timedelta(days=1)
                checkins.append((pid, last, note_text(pid, rng)))
        else:
            at = now + timedelta(hours=2, seconds=rng.randrange(24 * 3600))
            row = clock_row(pid, at, grace=grace, remind_before=remind_before, now=now)
        rows.append(row)
    populate_clocks(engine, rows)
    engine.dispose()
    notes_s = checkin_through_core(url, kek, sorted(checkins, key=lambda c: c[1]))
    planned = sorted(random.Random(seed + 2).sample(due_ids, round(len(due_ids) * planned_share)))
    plans_s = plans_through_core(url, kek, planned, now) if planned else 0.0
    engine = make_engine(url)
    # Checking in (at an old moment) re-armed those clocks a day after it: back to the placeholder,
    # reminder sent, like the other due HRDs (else the warm-up sweep would raise them early).
    table = CheckinClock.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(sa_update(table).where(table.c.person_id.in_(due_ids)).values(
            alert_at=placeholder, next_due=placeholder - grace, remind_at=None))
    settle(engine)
    # Deadlines within one second, each HRD its own microsecond offset (whole milliseconds for
    # 1,000 HRDs), in random order; or all at T0.
    step = 1_000_000 // max(1, len(due_ids))
    offsets = [0 if same_deadline else i * step for i in range(len(due_ids))]
    rng.shuffle(offsets)
    with_partners = sum(1 for pid in due_ids if people.partners_of[pid])
    return {"hrds": hrds, "due_ids": due_ids, "offsets_us": dict(zip(map(str, due_ids), offsets, strict=True)),
            "grace_s": int(grace.total_seconds()), "noted": len(noted), "notes_s": notes_s,
            "planned": len(planned), "plans_s": plans_s,
            "partners": len(people.partners), "due_with_partners": with_partners,
            "key_file": str(key_file), "populate_s": time.perf_counter() - started}


def plans_through_core(url: str, kek: Any, hrd_ids: list[int], now: datetime) -> float:
    """Each HRD gets an emergency plan (two contacts, lawyer, medical needs, code words, a
    proof-of-life question, four actions) stored by the core's ``save_plan``, as ``/plan`` does:
    sealed to every reader, wrapped for the bot. Returns the seconds it took."""
    from c2p_bot.core.keyring import Keyring
    from c2p_bot.core.plans import save_plan

    engine = make_engine(url)
    keyring = Keyring(engine, kek)
    started = time.perf_counter()
    with Session(engine) as session:
        for hrd_id in hrd_ids:
            data = {"contacts": [{"name": f"Sister {hrd_id}", "relation": "sister", "reach": "+254 700 000 001",
                                  "language": "Swahili"},
                                 {"name": "John", "relation": "colleague", "reach": "john@example.org",
                                  "language": ""}],
                    "lawyer": "Grace Otieno, +254 711 000 000", "medical": "Asthma: inhaler twice a day",
                    "code_words": [["blue", "I am safe but cannot talk"]],
                    "proof_question": "What was the name of our first office?", "statement": "quiet",
                    "actions": ["Call my lawyer Grace", "Tell my sister", "Ask the embassy to check the police "
                                "stations", "Lock my email"]}
            save_plan(session, keyring, hrd_id, data, now=now, review_every=timedelta(days=90), platform="telegram")
        session.commit()
    engine.dispose()
    return time.perf_counter() - started


# -- worker (subprocess) ---------------------------------------------------------------------


class CommitProbe:
    """Stamps the wall time at which each alert's first outbox row was committed.

    Outbox rows reach the database as an ``INSERT INTO outbox`` on a cursor (ORM flush: an engine
    event notes their ``alert_id``) or through ``storage.bulk.insert_many`` (the sweeper's batch
    path, a COPY on PostgreSQL: wrapped here to note them). The session's ``after_commit`` (after
    the database acknowledged COMMIT) stamps them.
    """

    def __init__(self) -> None:
        self.committed: dict[int, float] = {}
        self._pending: dict[int, set[int]] = {}  # thread id -> alert ids inserted, not yet committed

    def install(self) -> None:
        import c2p_bot.core.alerts_batch as alerts  # where the batch path inserts

        bulk_insert = alerts.insert_many

        def noting_insert_many(connection: Any, table: Any, rows: Any) -> None:
            bulk_insert(connection, table, rows)
            if table.name == "outbox":
                self._note({row["alert_id"] for row in rows})

        alerts.insert_many = noting_insert_many  # type: ignore[assignment]
        event.listen(Engine, "after_cursor_execute", self._inserted)
        event.listen(OrmSession, "after_commit", self._committed)
        event.listen(OrmSession, "after_rollback", self._rolled_back)

    def _inserted(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                  executemany: bool) -> None:
        if not statement.startswith("INSERT INTO outbox ("):
            return
        columns = [c.strip().strip('"') for c in statement[statement.index("(") + 1:statement.index(")")].split(",")]
        at = columns.index("alert_id")
        rows = parameters if executemany else [parameters]
        self._note({row["alert_id"] if isinstance(row, dict) else row[at] for row in rows})

    def _note(self, ids: set[int | None]) -> None:
        ids.discard(None)
        if ids:
            self._pending.setdefault(threading.get_ident(), set()).update(ids)  # type: ignore[arg-type]

    def _committed(self, _session: OrmSession) -> None:
        ids = self._pending.pop(threading.get_ident(), None)
        if ids:
            stamp = time.time()
            for alert_id in ids:
                self.committed.setdefault(alert_id, stamp)

    def _rolled_back(self, _session: OrmSession) -> None:
        self._pending.pop(threading.get_ident(), None)


def arm_warm_up(engine: Any, meta: dict[str, Any]) -> int:
    """Make one HRD that is not in the measured set overdue now, so that each implementation runs
    its alert path once before T0 (a long-running bot has compiled its SQL and loaded its catalogs
    long before an alert; a freshly started process has not). ``--cold`` skips this."""
    due = set(meta["due_ids"])
    with Session(engine) as session:
        person_id = next(pid for pid in session.exec(select(CheckinClock.person_id)).all() if pid not in due)
        past = datetime.now(UTC) - timedelta(seconds=1)
        session.exec(update(CheckinClock).where(col(CheckinClock.person_id) == person_id).values(  # type: ignore[call-overload]
            alert_at=past, next_due=past))
        session.commit()
    return int(person_id)


def arm_due(engine: Any, meta: dict[str, Any], lead: float) -> tuple[datetime, dict[int, datetime]]:
    """Give each due HRD its deadline T0 + offset, T0 a whole second at least ``lead`` seconds from
    now; returns T0 and the deadlines."""
    t0 = datetime.fromtimestamp(math.ceil(time.time() + lead), UTC)
    grace = timedelta(seconds=meta["grace_s"])
    deadlines = {int(pid): t0 + timedelta(microseconds=off) for pid, off in meta["offsets_us"].items()}
    table = CheckinClock.__table__  # type: ignore[attr-defined]
    statement = sa_update(table).where(table.c.person_id == bindparam("pid")).values(
        alert_at=bindparam("at"), next_due=bindparam("due"), remind_at=None)
    with engine.begin() as conn:
        conn.execute(statement, [{"pid": pid, "at": at, "due": at - grace} for pid, at in deadlines.items()])
    return t0, deadlines


async def wait_for(probe: CommitProbe, count: int, deadline: float) -> None:
    while len(probe.committed) < count and time.time() < deadline:
        await asyncio.sleep(0.005)


def collect(engine: Any, probe: CommitProbe, deadlines: dict[int, datetime]) -> dict[str, Any]:
    with Session(engine) as session:
        alerts = session.exec(select(Alert.id, Alert.hrd_id, Alert.raised_at)).all()
        outbox = session.exec(select(OutboxMessage.id, OutboxMessage.sensitive).where(
            col(OutboxMessage.alert_id).is_not(None))).all()
    latencies = [probe.committed[a] - deadlines[h].timestamp() for a, h, _ in alerts
                 if h in deadlines and a in probe.committed]
    return {
        "latencies": latencies,
        "alerts": sum(1 for _, h, _ in alerts if h in deadlines),
        "alerts_not_due": sum(1 for _, h, _ in alerts if h not in deadlines),
        "alerts_early": sum(1 for _, h, raised in alerts if h in deadlines and _aware(raised) < deadlines[h]),
        "outbox_rows": len(outbox),
        "with_note": sum(1 for _, sensitive in outbox if sensitive),
        "without_outbox_row": sum(1 for a, h, _ in alerts if h in deadlines and a not in probe.committed),
    }


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def build(url: str, key_file: str) -> tuple[Any, Any]:
    from c2p_bot.app import build_runtime
    from c2p_bot.config import parse_config
    from c2p_bot.core.clock import SystemClock
    from c2p_bot.core.keyring import Keyring

    engine = make_engine(url)
    runtime = build_runtime(parse_config({}, env={}), engine, SystemClock(), Keyring(engine, load_key_file(key_file)))
    return engine, runtime


async def run_ours(args: argparse.Namespace, meta: dict[str, Any]) -> dict[str, Any]:
    engine, runtime = build(args.url, meta["key_file"])
    probe = CommitProbe()
    probe.install()
    sweeps: list[tuple[float, float]] = []
    sweeper = runtime.core.services["sweeper"]
    sweep = sweeper.sweep

    def timed_sweep() -> int:  # records when the alarm clock ran the sweeper (on whichever thread)
        started = time.time()
        try:
            return sweep()
        finally:
            sweeps.append((started, time.time()))

    sweeper.sweep = timed_sweep  # the alarm clock looks the method up on each pass
    setup = time.perf_counter()
    if not args.cold:
        arm_warm_up(engine, meta)
        sweep()  # the warm-up HRD's alert, through the same sweeper path
    rss_ready = current_rss_mb()
    t0, deadlines = arm_due(engine, meta, args.lead)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    await runtime.start()  # AlarmClock.start: a catch-up sweep now, then a wake-up at the earliest alert_at
    setup_s = time.perf_counter() - setup
    await wait_for(probe, len(deadlines), t0.timestamp() + 1.0 + args.timeout)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    alarm = runtime.on_start[0].__self__  # the AlarmClock whose start() is the hook
    jobs = len(alarm.scheduler.get_jobs())
    await runtime.stop()
    result = collect(engine, probe, deadlines)
    after = [s for s in sweeps if s[0] >= t0.timestamp() - 0.5]
    result.update(wake=(after[0][0] - t0.timestamp()) if after else math.nan, setup_s=setup_s,
                  rss_ready=rss_ready, late_1s=math.nan, jobs=jobs, sweeps=len(after))
    engine.dispose()
    return result


def fair_job(runtime: Any) -> Callable[[int], None]:
    """The fair peer's work for one HRD: our production path, given that one HRD — the sweeper's
    conditional claim (still ``ok`` and overdue) with ``UPDATE … RETURNING``, then
    ``Escalation.raise_missed_batch`` (the sweeper's batch path) with just this HRD, one commit.
    The coordinators are read once and kept (the sweeper reads them once per sweep)."""
    from c2p_bot.core.alerts import PersonView, coordinators

    core, escalation = runtime.core, runtime.core.escalation
    coordinating: list[Any] = []

    def job(person_id: int) -> None:
        now = core.clock.now()
        with core.session() as session:
            claimed = session.execute(
                update(CheckinClock).where(
                    col(CheckinClock.person_id) == person_id,
                    col(CheckinClock.state) == "ok",
                    col(CheckinClock.alert_at) <= now,
                ).values(state="alerting", remind_at=None)
                .returning(col(CheckinClock.person_id), col(CheckinClock.next_due),
                           col(CheckinClock.last_checkin_at))
                .execution_options(synchronize_session=False)
            ).all()
            if claimed:
                if not coordinating:
                    coordinating.extend(PersonView.of(person) for person in coordinators(session))
                escalation.raise_missed_batch(session, [(row[0], row[1], row[2]) for row in claimed], now,
                                              coordinating)
            core.commit(session)

    return job


def baseline_job(runtime: Any) -> Callable[[int], None]:
    """Today's baseline for one HRD: claim the clock, raise the alert with the ORM path
    (``Escalation.raise_alert``), commit (one transaction)."""
    core, escalation = runtime.core, runtime.core.escalation

    def job(person_id: int) -> None:
        now = core.clock.now()
        with core.session() as session:
            clock = session.get(CheckinClock, person_id)
            if clock is None or clock.state != "ok":
                return
            claimed = session.exec(update(CheckinClock).where(  # type: ignore[call-overload]
                col(CheckinClock.person_id) == person_id, col(CheckinClock.state) == "ok",
                col(CheckinClock.alert_at) == clock.alert_at).values(state="alerting", remind_at=None))
            if claimed.rowcount == 1:
                hrd = session.get(Person, person_id)
                if hrd is not None:
                    escalation.raise_alert(session, hrd, "missed", now, due_at=clock.next_due)
            core.commit(session)

    return job


async def run_jobqueue(args: argparse.Namespace, meta: dict[str, Any]) -> dict[str, Any]:
    """A python-telegram-bot JobQueue bot: one ``run_once`` date job per HRD, each running the
    fair or the baseline work for its HRD."""
    from telegram.ext import ApplicationBuilder, ContextTypes

    engine, runtime = build(args.url, meta["key_file"])
    work = fair_job(runtime) if args.worker == "fair" else baseline_job(runtime)
    probe = CommitProbe()
    probe.install()
    starts: list[tuple[float, int]] = []

    async def check_deadline(context: ContextTypes.DEFAULT_TYPE) -> None:
        person_id = context.job.data  # type: ignore[union-attr]
        starts.append((time.time(), person_id))
        work(person_id)

    rss_ready_imports = current_rss_mb()
    setup = time.perf_counter()
    if not args.cold:
        work(arm_warm_up(engine, meta))  # the same work, once, before T0
    application = ApplicationBuilder().token("123456:BENCHMARK-NOT-A-TOKEN").build()
    job_queue = application.job_queue
    assert job_queue is not None
    due = {int(pid) for pid in meta["offsets_us"]}
    kwargs = {"misfire_grace_time": None}
    with Session(engine) as session:  # on start, a JobQueue bot schedules every HRD's deadline
        rows = session.exec(select(CheckinClock.person_id, CheckinClock.alert_at).where(
            CheckinClock.state == "ok").order_by(col(CheckinClock.person_id))).all()
    for person_id, alert_at in rows:
        if person_id not in due and alert_at is not None:
            job_queue.run_once(check_deadline, when=_aware(alert_at), data=person_id, name=f"deadline:{person_id}",
                               job_kwargs=kwargs)
    await job_queue.start()
    await asyncio.sleep(0.05)
    t0, deadlines = arm_due(engine, meta, args.lead)
    for person_id, alert_at in sorted(deadlines.items()):
        job_queue.run_once(check_deadline, when=alert_at, data=person_id, name=f"deadline:{person_id}",
                           job_kwargs=kwargs)
    jobs = len(job_queue.scheduler.get_jobs())
    setup_s = time.perf_counter() - setup
    rss_ready = current_rss_mb()
    if time.time() > t0.timestamp() - 0.5:
        raise SystemExit(f"setup took {setup_s:.1f} s, longer than --lead; raise --lead")
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    await wait_for(probe, len(deadlines), t0.timestamp() + 1.0 + args.timeout)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    await job_queue.stop(wait=False)
    result = collect(engine, probe, deadlines)
    late = [start - deadlines[pid].timestamp() for start, pid in starts if pid in deadlines]
    result.update(wake=(min(s for s, _ in starts) - t0.timestamp()) if starts else math.nan, setup_s=setup_s,
                  rss_ready=rss_ready, rss_imports=rss_ready_imports, late_1s=sum(1 for x in late if x > 1.0),
                  jobs=jobs, sweeps=math.nan)
    engine.dispose()
    return result


def worker(args: argparse.Namespace) -> None:
    import telegram.ext  # noqa: F401  (both workers load the same modules: a Telegram bot has PTB loaded)

    meta = json.loads(Path(args.meta).read_text())
    run = run_ours if args.worker == "ours" else run_jobqueue
    result = asyncio.run(run(args, meta))
    result["peak_rss"] = peak_rss_mb()
    Path(args.out).write_text(json.dumps(result))


# -- orchestration (parent) ------------------------------------------------------------------


def run_worker(impl: str, url: str, meta_path: Path, out: Path, args: argparse.Namespace,
               profile: Path | None) -> dict[str, Any]:
    command = ["nice", "-n", str(args.nice), sys.executable, str(Path(__file__).resolve()),
               "--worker", impl, "--url", url, "--meta", str(meta_path), "--out", str(out), "--lead", str(args.lead),
               "--timeout", str(args.timeout)]
    if profile:
        command += ["--profile", str(profile)]
    if args.cold:
        command.append("--cold")
    done = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{impl} worker failed:\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


def summarise(result: dict[str, Any], due: int) -> dict[str, float]:
    # Alerts not committed by the timeout count as infinitely late (they are not left out).
    lat = result["latencies"] + [math.inf] * max(0, due - len(result["latencies"]))
    return {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": max(lat) if lat else math.nan,
            "first": min(lat) if lat else math.nan, "ok": len(result["latencies"]), "due": due}


def print_profile(path: Path, limit: int) -> None:
    import pstats

    print(f"\n-- profile {path.name} (cProfile; inflates times: hotspots only) --")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hrds", default="10000,100000", help="comma-separated HRD counts (default 10000,100000)")
    parser.add_argument("--due", type=int, default=1000, help="HRDs due within the same second (default 1000)")
    parser.add_argument("--same-deadline", action="store_true",
                        help="give every due HRD the identical deadline T0 (the old benchmark; hides lost wake-ups)")
    parser.add_argument("--noted", type=float, default=0.5,
                        help="share of the due HRDs whose last check-in carried a sealed note (default 0.5)")
    parser.add_argument("--planned", type=float, default=0.0,
                        help="share of the due HRDs with an emergency plan, which every alert carries (default 0)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="runs per implementation and size")
    parser.add_argument("--only", default=",".join(IMPLS),
                        help="comma-separated implementations to run (default ours,fair,baseline)")
    parser.add_argument("--nice", type=int, default=0, help="run the workers under nice -n N")
    parser.add_argument("--cold", action="store_true",
                        help="no warm-up alert before T0 (measure a freshly started process)")
    parser.add_argument("--lead", type=float, default=4.0,
                        help="seconds from the end of setup (the database ready, jobs scheduled) to T0")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds after T0 to wait for the alerts")
    parser.add_argument("--profile", metavar="DIR", help="run under cProfile and print hotspots (distorts times)")
    parser.add_argument("--profile-lines", type=int, default=30)
    add_database_arguments(parser)
    parser.add_argument("--worker", choices=IMPLS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--meta", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    sizes = [int(s.replace("_", "")) for s in args.hrds.split(",") if s.strip()]
    impls = [impl for impl in IMPLS if impl in args.only.split(",")]
    profile_dir = Path(args.profile) if args.profile else None
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    rows, summary_rows, summaries = [], [], {}
    with tempfile.TemporaryDirectory(prefix="c2p-bench-esc-") as tmp:
        work = Path(tmp)
        for backend in backends(args, work):
            try:
                for hrds in sizes:
                    template = unique_name(f"esc{hrds}")
                    url = backend.create(template)
                    meta = populate(url, hrds, args.due, args.seed, work / "kek.key", args.noted,
                                    args.same_deadline, args.planned)
                    meta_path = work / f"{template}.json"
                    meta_path.write_text(json.dumps(meta))
                    print(f"[{backend.name}] {hrds:,} HRDs, {meta['partners']:,} partners, 2 coordinators; "
                          f"{len(meta['due_ids'])} due "
                          f"{'at T0' if args.same_deadline else 'within one second, each its own deadline'} "
                          f"({meta['due_with_partners']} with partners, {meta['noted']} with a sealed note, "
                          f"checked in through the core in {meta['notes_s']:.1f} s; {meta['planned']} with an "
                          f"emergency plan, sealed in {meta['plans_s']:.1f} s); "
                          f"populated in {meta['populate_s']:.1f} s", flush=True)
                    for impl in impls:
                        for run in range(args.repeat):
                            db = unique_name("run")
                            run_url = backend.clone(template, db)
                            profile = profile_dir / f"{backend.name}-{hrds}-{impl}.prof" if profile_dir else None
                            result = run_worker(impl, run_url, meta_path, work / f"{db}.out", args, profile)
                            backend.drop(db)
                            s = summarise(result, len(meta["due_ids"]))
                            s.update(peak_rss=result["peak_rss"], rss_ready=result["rss_ready"])
                            summaries.setdefault((backend.name, hrds, impl), []).append(s)
                            rows.append([
                                backend.name, f"{hrds:,}", impl + (f" #{run + 1}" if args.repeat > 1 else ""),
                                ms(s["first"]), ms(s["p50"]), ms(s["p99"]), ms(s["max"]), ms(result["wake"]),
                                f"{s['ok']}/{s['due']}",
                                "—" if math.isnan(result["late_1s"]) else str(result["late_1s"]),
                                f"{result['jobs']:,}", f"{result['setup_s']:.1f}",
                                f"{result['rss_ready']:.0f}", f"{result['peak_rss']:.0f}",
                            ])
                            print(f"  {impl}: p50 {ms(s['p50'])} ms, p99 {ms(s['p99'])} ms, max {ms(s['max'])} ms, "
                                  f"peak RSS {result['peak_rss']:.0f} MiB (alerts {result['alerts']}, outbox rows "
                                  f"{result['outbox_rows']}, of which with a note {result['with_note']}, "
                                  f"without an outbox row {result['without_outbox_row']}, not due "
                                  f"{result['alerts_not_due']}, early {result['alerts_early']}, sweeps after T0 "
                                  f"{result['sweeps']}, wake {ms(result['wake'])} ms)", flush=True)
                            if profile:
                                print_profile(profile, args.profile_lines)
                    backend.drop(template)
            finally:
                backend.close()
    print("\nLatency from each HRD's own deadline to its alert's outbox row committed; ms")
    print(table(["DB", "HRDs", "scheduler", "first", "p50", "p99", "max", "wake", "alerts", ">1 s late",
                 "APS jobs", "setup s", "RSS ready MiB", "peak RSS MiB"], rows))
    for (db, hrds, impl), runs in summaries.items():
        if impl != "ours":
            continue
        ours = _median(runs)
        fair = _median(summaries[(db, hrds, "fair")]) if (db, hrds, "fair") in summaries else None
        base = _median(summaries[(db, hrds, "baseline")]) if (db, hrds, "baseline") in summaries else None
        summary_rows.append([
            db, f"{hrds:,}", ms(ours["p99"]),
            ratio(fair["p99"], ours["p99"]) if fair else "—", ratio(base["p99"], ours["p99"]) if base else "—",
            ratio(fair["max"], ours["max"]) if fair else "—", ratio(base["max"], ours["max"]) if base else "—",
            "met" if ours["p99"] <= TARGET_P99 else "NOT met",
            ("met" if fair["p99"] / ours["p99"] >= TARGET_FAIR_RATIO else "NOT met") if fair else "—",
            ("met" if base["p99"] / ours["p99"] >= TARGET_RATIO else "NOT met") if base else "—",
        ])
    if summary_rows:
        print("\nRatios to ours (medians over runs)")
        print(table(["DB", "HRDs", "ours p99 ms", "fair/ours p99", "baseline/ours p99", "fair/ours max",
                     "baseline/ours max", "p99 ≤ 250 ms", "≥ 20× fair", "≥ 50× baseline"], summary_rows))


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = runs[0].keys()
    return {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in keys}


if __name__ == "__main__":
    main()
