"""Benchmark (not a test): how many check-ins per second does the runtime take, with and without a
sealed note?

N registered HRDs (100,000 by default; N/20 partners, 60 % of HRDs with one partner, 20 % two,
20 % none; 3 coordinators; partners and coordinators have custodial keys), each with a check-in
clock whose next deadline is hours away. The production runtime (``build_runtime``, started:
AlarmClock, WAL checkpointer; no transport, so the replies stay in the outbox) takes check-ins
through ``Runtime.handle``, each an ``Incoming`` as the Telegram transport makes it (platform,
sender, chat, ``sent_at``, ``event_id``, ``message_id``), each from a different HRD: one after the
other (``--batch 1``, the default: each waits for the one before), or ``--batch N`` at once and
the next N when those are all handled, as long polling hands over a getUpdates batch (up to 100)
— the core then takes a run of check-ins in one transaction (c2p_bot.core.checkin_express):

* plain: ``/checkin``;
* note: ``/checkin <60–140 characters>``: the core seals the note to each reader (the HRD's
  partners and the coordinators: X25519 sealed boxes, ``notes.write_note``).

Each mode runs in its own subprocess on its own copy of the populated database, after a
warm-up of 200 check-ins. Rate = check-ins / wall time of the measured loop; also the process's
CPU time (all its threads) per check-in, and check-ins per CPU-second — less sensitive than the
wall rate to other load on the machine; latency of one ``Runtime.handle`` call p50/p99/max (in
batches: from the moment the batch is handed over). The plain rate is the baseline the note rate
is compared with.

    .venv/bin/python benchmarks/checkins.py [--hrds 100000] [--checkins 5000] [--warmup 200] [--batch 1]
        [--coordinators 3] [--postgres | --postgres-url URL] [--no-sqlite] [--seed N] [--nice N]

Results: benchmarks/README.md, "## Check-ins per second".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
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
    issue_reader_keys,
    load_key_file,
    new_key_file,
    note_text,
    peak_rss_mb,
    percentile,
    populate_clocks,
    populate_people,
    ratio,
    sender_and_chat,
    settle,
    table,
    unique_name,
)
from sqlalchemy import func, select  # noqa: E402

from storage.engine import make_engine  # noqa: E402
from storage.models import Checkin, Note, NoteCopy  # noqa: E402

PLATFORM = "telegram"
TARGET_NOTE_RATE = 1000.0
MODES = ("plain", "note")


def populate(url: str, args: argparse.Namespace, key_file: Path) -> dict[str, Any]:
    started = time.perf_counter()
    engine = make_engine(url)
    now = datetime.now(UTC).replace(microsecond=0)
    people = populate_people(engine, hrds=args.hrds, partners=max(20, args.hrds // 20),
                             coordinators=args.coordinators, seed=args.seed, now=now, platform=PLATFORM)
    kek = new_key_file(key_file)
    issue_reader_keys(engine, kek, people.coordinators + people.partners)
    rng = random.Random(args.seed + 1)
    grace, remind_before = timedelta(hours=1), timedelta(minutes=30)
    rows = []
    for pid in people.hrds:
        row = clock_row(pid, now + timedelta(hours=2, seconds=rng.randrange(20 * 3600)), grace=grace,
                        remind_before=remind_before, now=now)
        row["last_checkin_at"] = now - timedelta(hours=20, seconds=rng.randrange(3600))
        rows.append(row)
    populate_clocks(engine, rows)
    settle(engine)
    order = list(people.hrds)
    rng.shuffle(order)
    per_mode = args.warmup + args.checkins
    senders = {mode: order[i * per_mode:(i + 1) * per_mode] for i, mode in enumerate(MODES)}
    with_partners = {mode: sum(1 for pid in ids if people.partners_of[pid]) for mode, ids in senders.items()}
    return {"hrds": args.hrds, "partners": len(people.partners), "coordinators": len(people.coordinators),
            "senders": senders, "with_partners": with_partners, "key_file": str(key_file),
            "populate_s": time.perf_counter() - started}


# -- worker (subprocess) ---------------------------------------------------------------------


async def run(args: argparse.Namespace, meta: dict[str, Any]) -> dict[str, Any]:
    from c2p_bot.app import build_runtime
    from c2p_bot.config import parse_config
    from c2p_bot.core.clock import SystemClock
    from c2p_bot.core.events import Incoming
    from c2p_bot.core.keyring import Keyring

    engine = make_engine(args.url)
    keyring = Keyring(engine, load_key_file(meta["key_file"]))
    runtime = build_runtime(parse_config({}, env={}), engine, SystemClock(), keyring)
    senders = meta["senders"][args.mode]
    rng = random.Random(5)
    incoming = []
    for n, pid in enumerate(senders):
        user, chat = sender_and_chat(pid, PLATFORM)
        text = "/checkin" if args.mode == "plain" else f"/checkin {note_text(pid, rng)}"
        incoming.append((user, chat, text, n))
    await runtime.start()
    latencies: list[float] = []

    def message(user: str, chat: str, text: str, n: int) -> Incoming:
        return Incoming(platform=PLATFORM, sender_id=user, chat_id=chat, text=text, sent_at=datetime.now(UTC),
                        event_id=f"m:{chat}:{n + 1}", message_id=str(n + 1))

    async def timed(incoming: Incoming, since: float, record: bool) -> None:
        await runtime.handle(incoming)
        if record:
            latencies.append(time.perf_counter() - since)

    async def check_in(batch: list[tuple[str, str, str, int]], record: bool) -> tuple[float, float]:
        began, cpu = time.perf_counter(), time.process_time()
        if args.batch == 1:  # one after the other: each waits for the one before
            for user, chat, text, n in batch:
                await timed(message(user, chat, text, n), time.perf_counter(), record)
        else:  # as Telegram's getUpdates hands them over: BATCH at once, the next batch after those
            for start in range(0, len(batch), args.batch):
                since = time.perf_counter()
                await asyncio.gather(*(timed(message(*one), since, record) for one in batch[start:start + args.batch]))
        return time.perf_counter() - began, time.process_time() - cpu

    await check_in(incoming[:args.warmup], record=False)
    elapsed, cpu = await check_in(incoming[args.warmup:], record=True)
    await runtime.stop()
    measured = [pid for pid in senders[args.warmup:]]
    with engine.connect() as conn:
        checkins = conn.execute(select(func.count()).select_from(Checkin.__table__).where(  # type: ignore[attr-defined]
            Checkin.__table__.c.hrd_id.in_(measured))).scalar()  # type: ignore[attr-defined]
        notes = conn.execute(select(func.count()).select_from(Note.__table__).where(  # type: ignore[attr-defined]
            Note.__table__.c.subject_id.in_(measured))).scalar()  # type: ignore[attr-defined]
        copies = conn.execute(select(func.count()).select_from(NoteCopy.__table__).join(  # type: ignore[attr-defined]
            Note.__table__, Note.__table__.c.id == NoteCopy.__table__.c.note_id).where(  # type: ignore[attr-defined]
            Note.__table__.c.subject_id.in_(measured))).scalar()  # type: ignore[attr-defined]
    engine.dispose()
    return {"count": len(latencies), "elapsed": elapsed, "cpu": cpu, "latencies": latencies, "checkins": checkins,
            "notes": notes, "copies": copies, "peak_rss": peak_rss_mb()}


def worker(args: argparse.Namespace) -> None:
    meta = json.loads(Path(args.meta).read_text())
    result = asyncio.run(run(args, meta))
    Path(args.out).write_text(json.dumps(result))


# -- orchestration (parent) ------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hrds", type=int, default=100_000)
    parser.add_argument("--checkins", type=int, default=5000, help="measured check-ins per mode (default 5000)")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--coordinators", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--nice", type=int, default=0, help="run the workers under nice -n N")
    parser.add_argument("--batch", type=int, default=1,
                        help="check-ins handed over at once, as getUpdates delivers them (default 1: one after "
                             "the other; Telegram hands over up to 100)")
    add_database_arguments(parser)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--meta", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if 2 * (args.warmup + args.checkins) > args.hrds:
        raise SystemExit("need at least 2 × (warmup + checkins) HRDs: each check-in comes from a different HRD")
    rows = []
    with tempfile.TemporaryDirectory(prefix="c2p-bench-chk-") as tmp:
        work = Path(tmp)
        for backend in backends(args, work):
            try:
                template = unique_name("chk")
                url = backend.create(template)
                meta = populate(url, args, work / f"{template}.key")
                meta_path = work / f"{template}.json"
                meta_path.write_text(json.dumps(meta))
                print(f"[{backend.name}] {meta['hrds']:,} HRDs, {meta['partners']:,} partners, "
                      f"{meta['coordinators']} coordinators; populated in {meta['populate_s']:.1f} s", flush=True)
                results = {}
                for mode in MODES:
                    db = unique_name("run")
                    run_url = backend.clone(template, db)
                    out = work / f"{db}.out"
                    command = ["nice", "-n", str(args.nice), sys.executable, str(Path(__file__).resolve()),
                               "--worker", "--mode", mode, "--url", run_url, "--meta", str(meta_path),
                               "--out", str(out), "--warmup", str(args.warmup), "--batch", str(args.batch)]
                    done = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, text=True)
                    if done.returncode != 0:
                        raise RuntimeError(f"{mode} worker failed:\n{done.stderr[-3000:]}")
                    r = json.loads(out.read_text())
                    backend.drop(db)
                    r["rate"] = r["count"] / r["elapsed"]
                    r["cpu_rate"] = r["count"] / r["cpu"]
                    results[mode] = r
                    lat = r["latencies"]
                    p50, p99 = percentile(lat, 50) * 1000, percentile(lat, 99) * 1000
                    print(f"  {mode}: {r['count']:,} check-ins in {r['elapsed']:.2f} s = {r['rate']:,.0f}/s "
                          f"(CPU {r['cpu']:.2f} s: {r['cpu'] / r['count'] * 1000:.2f} ms each, "
                          f"{r['cpu_rate']:,.0f}/s per busy core); "
                          f"Runtime.handle p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(lat) * 1000:.1f} ms; "
                          f"recorded {r['checkins']:,} check-ins, {r['notes']:,} "
                          f"notes, {r['copies']:,} sealed copies; peak RSS {r['peak_rss']:.0f} MiB", flush=True)
                    rows.append([backend.name, f"{meta['hrds']:,}", mode, f"{r['count']:,}", f"{r['rate']:,.0f}",
                                 f"{r['cpu'] / r['count'] * 1000:.2f}", f"{r['cpu_rate']:,.0f}",
                                 f"{p50:.2f}", f"{p99:.2f}", f"{max(lat) * 1000:.1f}",
                                 f"{r['copies'] / r['notes']:.2f}" if r["notes"] else "—",
                                 ("met" if r["rate"] >= TARGET_NOTE_RATE else "NOT met") if mode == "note" else "—"])
                plain, note = results["plain"]["rate"], results["note"]["rate"]
                print(f"  note / plain rate: {ratio(note, plain)} (plain is the baseline)")
                backend.drop(template)
            finally:
                backend.close()
    print("\nCheck-ins per second through Runtime.handle, " + (
        "one after the other" if args.batch == 1 else f"{args.batch} handed over at once"))
    print(table(["DB", "HRDs", "mode", "check-ins", "per s", "CPU ms each", "per CPU-s", "p50 ms", "p99 ms",
                 "max ms", "copies per note",
                 "≥ 1,000/s with a note"], rows))


if __name__ == "__main__":
    main()
