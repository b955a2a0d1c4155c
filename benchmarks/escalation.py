"""Benchmark (not a test): how long after a missed deadline is the alert committed to the outbox?

N HRDs have a check-in clock; 1,000 of them have the same deadline (``alert_at`` = T0, a few
seconds after the worker is ready); the others are spread over the next day. We measure, for
each of the 1,000 alerts, the wall time at which the transaction that wrote its first outbox row
had committed, minus T0.

* ours: ``build_runtime`` with ``SystemClock``; ``runtime.start()`` (no transports, so no
  dispatcher drains the outbox) starts the AlarmClock: APScheduler wakes the Sweeper at the
  earliest ``alert_at``; the sweeper claims overdue clocks and raises the alerts, up to 500 per
  transaction.
* baseline: what a python-telegram-bot JobQueue bot does: one APScheduler date job per HRD
  (``JobQueue.run_once``, i.e. an AsyncIOScheduler with a memory job store holding N jobs),
  created on start from the ``checkin_clock`` table; each job, when it fires, opens a session,
  claims the HRD's clock, raises the alert with ``Escalation.raise_alert`` and commits.
  ``misfire_grace_time=None`` so every job runs; the number of jobs that started more than 1 s
  late (and would be silently skipped with APScheduler's default of 1 s) is reported.

How the commit time is taken: SQLAlchemy events in the worker. ``after_cursor_execute`` notes the
``alert_id`` of every outbox row inserted (ORM flush or the sweeper's bulk insert); the session's
``after_commit`` (called once the database has acknowledged COMMIT, i.e. the row is visible to other
connections) stamps ``time.time()`` on each such alert the first time it is seen. Latency = that
stamp − T0 (the deadline, a whole second). Each implementation runs in its own subprocess on its own
copy of the same populated database, one after the other, so peak RSS (``VmHWM``) is per
implementation. Percentiles: nearest rank.

    .venv/bin/python benchmarks/escalation.py [--hrds 10000,100000] [--due 1000]
        [--postgres | --postgres-url URL] [--no-sqlite] [--only ours|baseline] [--repeat N]
        [--profile DIR] [--seed N] [--lead S]

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
    clock_row,
    current_rss_mb,
    ms,
    peak_rss_mb,
    percentile,
    populate_clocks,
    populate_people,
    ratio,
    settle,
    table,
    unique_name,
)
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session as OrmSession  # noqa: E402
from sqlmodel import Session, col, select, update  # noqa: E402

from storage.engine import make_engine  # noqa: E402
from storage.models import Alert, CheckinClock, OutboxMessage, Person  # noqa: E402

TARGET_P99 = 0.250
TARGET_RATIO = 50.0


# -- population (parent) ---------------------------------------------------------------------


def populate(url: str, hrds: int, due: int, seed: int) -> dict[str, Any]:
    """People, matches and clocks; the ``due`` HRDs get their T0 from the worker (placeholder +1 h)."""
    engine = make_engine(url)
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    people = populate_people(engine, hrds=hrds, partners=max(20, hrds // 20), coordinators=2,
                             seed=seed, now=now)
    rng = random.Random(seed + 1)
    due_ids = sorted(rng.sample(people.hrds, min(due, hrds)))
    due_set = set(due_ids)
    grace, remind_before = timedelta(hours=1), timedelta(minutes=30)
    placeholder = now + timedelta(hours=1)
    rows = []
    for pid in people.hrds:
        if pid in due_set:
            row = clock_row(pid, placeholder, grace=grace, remind_before=remind_before, now=now)
            row["remind_at"] = None  # the reminder has gone out already
            # Each HRD's own last check-in (a message shows it; no two alike, as in life).
            row["last_checkin_at"] = now - timedelta(seconds=rng.randrange(3600, 7 * 24 * 3600))
        else:
            at = now + timedelta(hours=2, seconds=rng.randrange(24 * 3600))
            row = clock_row(pid, at, grace=grace, remind_before=remind_before, now=now)
        rows.append(row)
    populate_clocks(engine, rows)
    settle(engine)
    with_partners = sum(1 for pid in due_ids if people.partners_of[pid])
    return {"hrds": hrds, "due_ids": due_ids, "grace_s": int(grace.total_seconds()),
            "partners": len(people.partners), "due_with_partners": with_partners,
            "populate_s": time.perf_counter() - started}


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
        import c2p_bot.core.alerts as alerts

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


def arm_due(engine: Any, due_ids: list[int], grace_s: int, lead: float) -> datetime:
    """Give the due HRDs the deadline T0: a whole second at least ``lead`` seconds from now."""
    t0 = datetime.fromtimestamp(math.ceil(time.time() + lead), UTC)
    with Session(engine) as session:
        session.exec(update(CheckinClock).where(col(CheckinClock.person_id).in_(due_ids)).values(  # type: ignore[call-overload]
            alert_at=t0, next_due=t0 - timedelta(seconds=grace_s)))
        session.commit()
    return t0


async def wait_for(probe: CommitProbe, count: int, deadline: float) -> None:
    while len(probe.committed) < count and time.time() < deadline:
        await asyncio.sleep(0.005)


def collect(engine: Any, probe: CommitProbe, due_ids: list[int], t0: datetime) -> dict[str, Any]:
    with Session(engine) as session:
        alerts = session.exec(select(Alert.id, Alert.hrd_id, Alert.raised_at)).all()
        outbox = session.exec(select(OutboxMessage.id).where(col(OutboxMessage.alert_id).is_not(None))).all()
    due = set(due_ids)
    base = t0.timestamp()
    latencies = [probe.committed[a] - base for a, h, _ in alerts if h in due and a in probe.committed]
    return {
        "latencies": latencies,
        "alerts": sum(1 for _, h, _ in alerts if h in due),
        "alerts_not_due": sum(1 for _, h, _ in alerts if h not in due),
        "alerts_early": sum(1 for _, _, raised in alerts if raised < t0),
        "outbox_rows": len(outbox),
        "without_outbox_row": sum(1 for a, h, _ in alerts if h in due and a not in probe.committed),
    }


def build(url: str) -> tuple[Any, Any]:
    from c2p_bot.app import build_runtime
    from c2p_bot.config import parse_config
    from c2p_bot.core.clock import SystemClock
    from c2p_bot.core.crypto import Kek
    from c2p_bot.core.keyring import Keyring

    engine = make_engine(url)
    runtime = build_runtime(parse_config({}, env={}), engine, SystemClock(), Keyring(engine, Kek.generate()))
    return engine, runtime


async def run_ours(args: argparse.Namespace, meta: dict[str, Any]) -> dict[str, Any]:
    engine, runtime = build(args.url)
    probe = CommitProbe()
    probe.install()
    sweeps: list[tuple[float, float]] = []
    sweep_job = runtime.jobs[0]

    async def timed_sweep() -> None:  # records when the alarm clock ran the sweeper
        started = time.time()
        await sweep_job()
        sweeps.append((started, time.time()))

    runtime.jobs[0] = timed_sweep
    setup = time.perf_counter()
    if not args.cold:
        arm_warm_up(engine, meta)
        await sweep_job()  # the warm-up HRD's alert, through the same sweeper path
    rss_ready = current_rss_mb()
    t0 = arm_due(engine, meta["due_ids"], meta["grace_s"], args.lead)
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    await runtime.start()  # AlarmClock.start: a catch-up sweep now, then a wake-up at the earliest alert_at
    setup_s = time.perf_counter() - setup
    await wait_for(probe, len(meta["due_ids"]), t0.timestamp() + args.timeout)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    alarm = runtime.on_start[0].__self__  # the AlarmClock whose start() is the hook
    jobs = len(alarm.scheduler.get_jobs())
    await runtime.stop()
    result = collect(engine, probe, meta["due_ids"], t0)
    after = [s for s in sweeps if s[0] >= t0.timestamp() - 0.5]
    result.update(wake=(after[0][0] - t0.timestamp()) if after else math.nan, setup_s=setup_s,
                  rss_ready=rss_ready, late_1s=math.nan, jobs=jobs)
    engine.dispose()
    return result


async def run_baseline(args: argparse.Namespace, meta: dict[str, Any]) -> dict[str, Any]:
    from telegram.ext import ApplicationBuilder, ContextTypes

    engine, runtime = build(args.url)
    core, escalation = runtime.core, runtime.core.escalation
    probe = CommitProbe()
    probe.install()
    starts: list[float] = []

    async def check_deadline(context: ContextTypes.DEFAULT_TYPE) -> None:
        """The job of one HRD: claim the clock, raise the alert, commit (one transaction)."""
        starts.append(time.time())
        person_id = context.job.data  # type: ignore[union-attr]
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

    rss_ready_imports = current_rss_mb()
    setup = time.perf_counter()
    if not args.cold:

        class _Warm:  # the shape of a JobQueue context for one job
            class job:  # noqa: N801
                data = arm_warm_up(engine, meta)

        await check_deadline(_Warm())  # type: ignore[arg-type]
        starts.clear()
    application = ApplicationBuilder().token("123456:BENCHMARK-NOT-A-TOKEN").build()
    job_queue = application.job_queue
    assert job_queue is not None
    due = set(meta["due_ids"])
    kwargs = {"misfire_grace_time": None}
    with Session(engine) as session:  # on start, a JobQueue bot schedules every HRD's deadline
        rows = session.exec(select(CheckinClock.person_id, CheckinClock.alert_at).where(
            CheckinClock.state == "ok").order_by(col(CheckinClock.person_id))).all()
    for person_id, alert_at in rows:
        if person_id not in due and alert_at is not None:
            job_queue.run_once(check_deadline, when=alert_at, data=person_id, name=f"deadline:{person_id}",
                               job_kwargs=kwargs)
    await job_queue.start()
    await asyncio.sleep(0.05)
    t0 = arm_due(engine, meta["due_ids"], meta["grace_s"], args.lead)
    for person_id in meta["due_ids"]:
        job_queue.run_once(check_deadline, when=t0, data=person_id, name=f"deadline:{person_id}",
                           job_kwargs=kwargs)
    jobs = len(job_queue.scheduler.get_jobs())
    setup_s = time.perf_counter() - setup
    rss_ready = current_rss_mb()
    if time.time() > t0.timestamp() - 0.5:
        raise SystemExit(f"setup took {setup_s:.1f} s, longer than --lead; raise --lead")
    profiler = cProfile.Profile() if args.profile else None
    if profiler:
        profiler.enable()
    await wait_for(probe, len(meta["due_ids"]), t0.timestamp() + args.timeout)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    await job_queue.stop(wait=False)
    result = collect(engine, probe, meta["due_ids"], t0)
    base = t0.timestamp()
    result.update(wake=(min(starts) - base) if starts else math.nan, setup_s=setup_s, rss_ready=rss_ready,
                  rss_imports=rss_ready_imports, late_1s=sum(1 for s in starts if s - base > 1.0), jobs=jobs)
    engine.dispose()
    return result


def worker(args: argparse.Namespace) -> None:
    import telegram.ext  # noqa: F401  (both workers load the same modules: a Telegram bot has PTB loaded)

    meta = json.loads(Path(args.meta).read_text())
    run = run_ours if args.worker == "ours" else run_baseline
    result = asyncio.run(run(args, meta))
    result["peak_rss"] = peak_rss_mb()
    Path(args.out).write_text(json.dumps(result))


# -- orchestration (parent) ------------------------------------------------------------------


def run_worker(impl: str, url: str, meta_path: Path, out: Path, args: argparse.Namespace,
               profile: Path | None) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", impl, "--url", url,
               "--meta", str(meta_path), "--out", str(out), "--lead", str(args.lead),
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
    lat = result["latencies"]
    return {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": max(lat) if lat else math.nan,
            "first": min(lat) if lat else math.nan, "ok": len(lat), "due": due}


def print_profile(path: Path, limit: int) -> None:
    import pstats

    print(f"\n-- profile {path.name} (cProfile; inflates times: hotspots only) --")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(limit)
    stats.sort_stats("cumulative").print_stats(limit)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hrds", default="10000,100000", help="comma-separated HRD counts (default 10000,100000)")
    parser.add_argument("--due", type=int, default=1000, help="HRDs due in the same second (default 1000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="runs per implementation and size")
    parser.add_argument("--only", choices=("ours", "baseline"), help="run one implementation")
    parser.add_argument("--cold", action="store_true",
                        help="no warm-up alert before T0 (measure a freshly started process)")
    parser.add_argument("--lead", type=float, default=4.0,
                        help="seconds from the end of setup (the database ready, jobs scheduled) to T0")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds after T0 to wait for the alerts")
    parser.add_argument("--profile", metavar="DIR", help="run under cProfile and print hotspots (distorts times)")
    parser.add_argument("--profile-lines", type=int, default=30)
    add_database_arguments(parser)
    parser.add_argument("--worker", choices=("ours", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--meta", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    sizes = [int(s.replace("_", "")) for s in args.hrds.split(",") if s.strip()]
    impls = [args.only] if args.only else ["ours", "baseline"]
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
                    meta = populate(url, hrds, args.due, args.seed)
                    meta_path = work / f"{template}.json"
                    meta_path.write_text(json.dumps(meta))
                    print(f"[{backend.name}] {hrds:,} HRDs, {meta['partners']:,} partners, 2 coordinators; "
                          f"{len(meta['due_ids'])} due at T0 ({meta['due_with_partners']} with partners); "
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
                                  f"{result['outbox_rows']}, not due {result['alerts_not_due']}, early "
                                  f"{result['alerts_early']})", flush=True)
                            if profile:
                                print_profile(profile, args.profile_lines)
                    backend.drop(template)
            finally:
                backend.close()
    print("\nLatency from the deadline (T0) to the alert's outbox row committed; ms")
    print(table(["DB", "HRDs", "scheduler", "first", "p50", "p99", "max", "wake", "alerts", ">1 s late",
                 "APS jobs", "setup s", "RSS ready MiB", "peak RSS MiB"], rows))
    for (db, hrds, impl), runs in summaries.items():
        if impl != "ours" or (db, hrds, "baseline") not in summaries:
            continue
        ours = _median(runs)
        base = _median(summaries[(db, hrds, "baseline")])
        summary_rows.append([db, f"{hrds:,}", ratio(base["p99"], ours["p99"]), ratio(base["max"], ours["max"]),
                             ratio(base["peak_rss"], ours["peak_rss"]),
                             "met" if ours["p99"] <= TARGET_P99 else "NOT met",
                             "met" if base["p99"] / ours["p99"] >= TARGET_RATIO else "NOT met"])
    if summary_rows:
        print("\nBaseline / ours (medians over runs)")
        print(table(["DB", "HRDs", "p99 ratio", "max ratio", "peak RSS ratio", "p99 ≤ 250 ms", "≥ 50× (p99)"],
                    summary_rows))


def _median(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = runs[0].keys()
    return {k: sorted(r[k] for r in runs)[len(runs) // 2] for k in keys}


if __name__ == "__main__":
    main()
