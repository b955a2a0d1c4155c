"""Benchmark (not a test): does every partner hear of a burst of missed check-ins as fast as the
Telegram send limit allows, while check-in replies still go out and the event loop stays free?

The production runtime (``build_runtime``) with a recording transport (``platform =
"telegram"``; each call takes a modelled HTTP round trip, 20–50 ms by default) behind the real
Telegram pacing (``TELEGRAM_PACING``: 30 msg/s overall, 1 msg/s per chat), on a real clock:

* N HRDs (100,000 by default), N/20 partners (60 % of HRDs have one partner, 20 % two, 20 % none:
  their alerts go to the coordinators), 3 coordinators, one Telegram identity each; partners and
  coordinators have custodial keys;
* 1,000 HRDs miss their deadline within one second (each its own millisecond, from T0 a few
  seconds after start); half of them checked in last with a sealed note (written through
  ``Runtime.handle`` while populating), so their alerts open notes;
* 2,000 reminders (sealed bodies, distinct HRD chats) are already queued in the outbox at start;
* check-ins arrive at 5/s from other HRDs (every other one with a note) through
  ``Runtime.handle`` with an ``Incoming`` as the Telegram transport makes it, from start to end;
* a ticker task wakes every 5 ms and records how late it woke (event-loop stalls).

The real AlarmClock, Sweeper and Dispatcher run. The run stops when every partner alert has been
sent (then lingers a few seconds) or ``--max-seconds`` after T0, whichever comes first.

It prints: partners' first-alert latency (each (alert, partner) pair: the first send to that
partner about that alert − the HRD's deadline; a message is about every alert it carries an
``/ack ID`` button for, so a digest counts for each alert in it) p50/p99, and when the last went out (− T0) against
the floor that 30 msg/s sets for that many partner messages (target: last ≤ 1.2 × floor); the
messages each coordinator got and when the last went out; check-in reply latency (send of the
reply − the moment the check-in was handed to the runtime) before and during the burst (target
p99 ≤ 2 s during it); the longest event-loop stall (target ≤ 50 ms); and what was left unsent.
The baseline is the floor itself: an ideal sender that sends nothing but partner alerts at
exactly 30 msg/s from T0.

    .venv/bin/python benchmarks/delivery.py [--hrds 100000] [--due 1000] [--reminders 2000]
        [--checkins-per-s 5] [--rtt-ms 20,50] [--coordinators 3] [--max-seconds 300]
        [--linger 5] [--lead 3] [--postgres | --postgres-url URL] [--no-sqlite] [--seed N]

Results: benchmarks/README.md, "## Delivery under a burst".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
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
    bulk,
    checkin_through_core,
    clock_row,
    issue_reader_keys,
    load_key_file,
    new_key_file,
    note_text,
    peak_rss_mb,
    percentile,
    populate_clocks,
    populate_people,
    sender_and_chat,
    settle,
    table,
    unique_name,
)
from sqlalchemy import bindparam, func, select, update  # noqa: E402

from storage.engine import make_engine  # noqa: E402
from storage.models import Alert, CheckinClock, OutboxMessage  # noqa: E402

PLATFORM = "telegram"
RATE = 30.0  # Telegram's overall limit, msg/s (TELEGRAM_PACING)
TARGET_FLOOR_RATIO = 1.2
TARGET_REPLY_P99 = 2.0
TARGET_STALL = 0.050


# -- population (parent) ---------------------------------------------------------------------


def populate(url: str, args: argparse.Namespace, key_file: Path) -> dict[str, Any]:
    from c2p_bot.core.events import Button, Priority
    from c2p_bot.core.keyring import Keyring
    from c2p_bot.core.outbox import encode_buttons

    started = time.perf_counter()
    engine = make_engine(url)
    now = datetime.now(UTC).replace(microsecond=0)
    people = populate_people(engine, hrds=args.hrds, partners=max(20, args.hrds // 20),
                             coordinators=args.coordinators, seed=args.seed, now=now, platform=PLATFORM)
    kek = new_key_file(key_file)
    issue_reader_keys(engine, kek, people.coordinators + people.partners)
    rng = random.Random(args.seed + 1)
    shuffled = list(people.hrds)
    rng.shuffle(shuffled)
    due_ids = sorted(shuffled[:args.due])
    reminded = shuffled[args.due:args.due + args.reminders]
    pool = shuffled[args.due + args.reminders:]  # they check in during the run
    noted = set(rng.sample(due_ids, len(due_ids) // 2))
    due_set = set(due_ids)
    grace, remind_before = timedelta(hours=1), timedelta(minutes=30)
    placeholder = now + timedelta(hours=1)
    rows, checkins = [], []
    for pid in people.hrds:
        if pid in due_set:
            row = clock_row(pid, placeholder, grace=grace, remind_before=remind_before, now=now)
            row["remind_at"] = None
            last = now - timedelta(seconds=rng.randrange(3600, 7 * 24 * 3600), microseconds=rng.randrange(10**6))
            row["last_checkin_at"] = last
            if pid in noted:
                row["last_checkin_at"] = last - timedelta(days=1)
                checkins.append((pid, last, note_text(pid, rng)))
        else:
            at = now + timedelta(hours=2, seconds=rng.randrange(24 * 3600))
            row = clock_row(pid, at, grace=grace, remind_before=remind_before, now=now)
            row["last_checkin_at"] = now - timedelta(hours=20, seconds=rng.randrange(3600))
        rows.append(row)
    populate_clocks(engine, rows)
    engine.dispose()
    notes_s = checkin_through_core(url, kek, sorted(checkins, key=lambda c: c[1]), platform=PLATFORM)
    engine = make_engine(url)
    clocks = CheckinClock.__table__  # type: ignore[attr-defined]
    outbox = OutboxMessage.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        # Those check-ins re-armed their clocks a day after them; back to the placeholder. Their
        # replies went out long ago.
        conn.execute(update(clocks).where(clocks.c.person_id.in_(due_ids)).values(
            alert_at=placeholder, next_due=placeholder - grace, remind_at=None))
        conn.execute(update(outbox).where(outbox.c.delivered_at.is_(None)).values(delivered_at=now, body=b""))
    # The queued reminders, sealed as the outbox seals every body (Keyring.seal, bound to the key).
    keyring = Keyring(engine, kek)
    buttons = encode_buttons([[Button("I'm safe", "/checkin")]])
    due_at = now + timedelta(minutes=30)
    reminders = []
    for pid in reminded:
        key = f"remind:{pid}:{due_at.isoformat()}"
        text = f"Reminder: your next check-in is due {due_at:%Y-%m-%d %H:%M} UTC. Send /checkin when you can."
        reminders.append({
            "idempotency_key": key, "platform": PLATFORM, "chat_id": sender_and_chat(pid, PLATFORM)[1],
            "person_id": pid, "identity_id": pid, "priority": int(Priority.REMINDER), "kind": "reminder",
            "body": keyring.seal(key, text), "buttons": buttons, "sensitive": False, "alert_id": None,
            "created_at": now, "next_attempt_at": now, "attempts": 0,
        })
    bulk(engine, outbox, reminders)
    settle(engine)
    step = 1_000_000 // max(1, len(due_ids))
    offsets = [i * step for i in range(len(due_ids))]
    rng.shuffle(offsets)
    return {
        "hrds": args.hrds, "due_ids": due_ids, "offsets_us": dict(zip(map(str, due_ids), offsets, strict=True)),
        "grace_s": int(grace.total_seconds()), "noted": len(noted), "notes_s": notes_s,
        "coordinators": people.coordinators, "partners": people.partners,
        "partners_of_due": {str(pid): people.partners_of[pid] for pid in due_ids},
        "pool": pool[:20_000], "reminders": len(reminders), "key_file": str(key_file),
        "populate_s": time.perf_counter() - started,
    }


# -- worker (subprocess) ---------------------------------------------------------------------


@dataclass
class Sent:
    at: float  # wall time the (modelled) HTTP call returned
    chat_id: str
    kind: str
    priority: int
    alert_id: int | None
    person_id: int | None
    alert_ids: tuple[int, ...]  # every alert the message is about (a digest lists several)
    began: float = 0.0  # wall time the send started (what a send limit counts)


@dataclass
class RecordingTransport:
    """A Telegram transport as the dispatcher sees it: ``deliver`` takes one modelled HTTP round
    trip (uniform in ``rtt``), records the send and returns a message id."""

    rtt: tuple[float, float] = (0.020, 0.050)
    platform: str = PLATFORM
    sent: list[Sent] = field(default_factory=list)
    in_flight_max: int = 0
    longest: dict[str, int] = field(default_factory=dict)  # kind -> longest text, UTF-16 units
    _in_flight: int = 0
    _rng: random.Random = field(default_factory=lambda: random.Random(3))

    async def deliver(self, message: Any) -> str:
        began = time.time()
        self._in_flight += 1
        self.in_flight_max = max(self.in_flight_max, self._in_flight)
        try:
            low, high = self.rtt
            if high > 0:
                await asyncio.sleep(self._rng.uniform(low, high))
        finally:
            self._in_flight -= 1
        self.sent.append(Sent(time.time(), message.chat_id, message.kind, int(message.priority), message.alert_id,
                              message.person_id, alerts_in(message), began))
        self.longest[message.kind] = max(self.longest.get(message.kind, 0), len(message.text.encode("utf-16-le")) // 2)
        return str(len(self.sent))


def alerts_in(message: Any) -> tuple[int, ...]:
    """The alerts a message is about: each alert carries its own ``/ack ID`` button (a digest of
    several alerts to one chat has one per alert, while ``alert_id`` names only the first)."""
    ids = [int(button.payload.split()[1]) for row in message.buttons for button in row
           if button.payload.startswith("/ack ") and button.payload.split()[1].isdigit()]
    if not ids and message.alert_id is not None:
        ids = [message.alert_id]
    return tuple(dict.fromkeys(ids))


class Ticker:
    """Wakes every 5 ms; lateness of each wake-up = how long the event loop was held."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.stalls: list[tuple[float, float]] = []  # (wall time, lateness) of wake-ups > 10 ms late
        self.count = 0
        self.worst = (0.0, 0.0)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self.period
            await asyncio.sleep(self.period)
            late = loop.time() - expected
            self.count += 1
            if late > 0.010:
                self.stalls.append((time.time(), late))
            if late > self.worst[1]:
                self.worst = (time.time(), late)


async def feed_checkins(runtime: Any, pool: list[int], per_second: float, arrivals: dict[str, float],
                        handle_times: list[float]) -> None:
    """Check-ins from other HRDs at a fixed rate, each through ``Runtime.handle`` as the Telegram
    transport hands them over (every other one with a note)."""
    from c2p_bot.core.events import Incoming

    rng = random.Random(11)
    started = time.monotonic()
    for n, pid in enumerate(pool):
        wait = started + n / per_second - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        user, chat = sender_and_chat(pid, PLATFORM)
        text = "/checkin" if n % 2 == 0 else f"/checkin {note_text(pid, rng)}"
        arrivals[chat] = time.time()
        began = time.perf_counter()
        await runtime.handle(Incoming(platform=PLATFORM, sender_id=user, chat_id=chat, text=text,
                                      sent_at=datetime.now(UTC), event_id=f"m:{chat}:{n + 1000}",
                                      message_id=str(n + 1000)))
        handle_times.append(time.perf_counter() - began)


async def run(args: argparse.Namespace, meta: dict[str, Any]) -> dict[str, Any]:
    from c2p_bot.app import build_runtime
    from c2p_bot.config import parse_config
    from c2p_bot.core.clock import SystemClock
    from c2p_bot.core.keyring import Keyring
    from c2p_bot.transports.telegram.transport import TELEGRAM_PACING

    engine = make_engine(args.url)
    config = parse_config({}, env={})
    runtime = build_runtime(config, engine, SystemClock(), Keyring(engine, load_key_file(meta["key_file"])))
    low, high = (float(x) / 1000 for x in args.rtt_ms.split(","))
    transport = RecordingTransport(rtt=(low, high))
    runtime.add_transport(transport, TELEGRAM_PACING, delete_after=config.telegram.delete_after)
    partners = set(meta["partners"])
    expected_pairs = {(int(h), p) for h, ps in meta["partners_of_due"].items() for p in ps}
    expected = len(expected_pairs)

    ticker = Ticker()
    ticker_task = asyncio.create_task(ticker.run())
    t0 = datetime.fromtimestamp(math.ceil(time.time() + args.lead), UTC)
    grace = timedelta(seconds=meta["grace_s"])
    deadlines = {int(pid): t0 + timedelta(microseconds=off) for pid, off in meta["offsets_us"].items()}
    clocks = CheckinClock.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        conn.execute(update(clocks).where(clocks.c.person_id == bindparam("pid")).values(
            alert_at=bindparam("at"), next_due=bindparam("due"), remind_at=None),
            [{"pid": pid, "at": at, "due": at - grace} for pid, at in deadlines.items()])
    started = time.time()
    await runtime.start()
    arrivals: dict[str, float] = {}
    handle_times: list[float] = []
    feeder = asyncio.create_task(feed_checkins(runtime, meta["pool"], args.checkins_per_s, arrivals, handle_times))
    base = t0.timestamp()
    done_at: float | None = None
    while True:
        await asyncio.sleep(0.05)
        now = time.time()
        if done_at is None:
            got = {(a, s.person_id) for s in transport.sent if s.person_id in partners for a in s.alert_ids}
            if len(got) >= expected:
                done_at = now
        if (done_at is not None and now >= done_at + args.linger) or now >= base + args.max_seconds:
            break
    stopped = time.time()
    feeder.cancel()
    await runtime.stop()
    ticker_task.cancel()
    for task in (feeder, ticker_task):
        with contextlib.suppress(asyncio.CancelledError):
            await task

    with engine.connect() as conn:
        alert_hrd = dict(conn.execute(select(Alert.__table__.c.id, Alert.__table__.c.hrd_id)).all())  # type: ignore[attr-defined]
        ob = OutboxMessage.__table__  # type: ignore[attr-defined]
        unsent = [list(r) for r in conn.execute(
            select(ob.c.kind, ob.c.priority, func.count()).where(
                ob.c.platform == PLATFORM, ob.c.delivered_at.is_(None), ob.c.failed_at.is_(None))
            .group_by(ob.c.kind, ob.c.priority).order_by(ob.c.priority)).all()]
        unsent_to = dict(conn.execute(
            select(ob.c.person_id, func.count()).where(
                ob.c.platform == PLATFORM, ob.c.delivered_at.is_(None), ob.c.failed_at.is_(None),
                ob.c.person_id.in_(meta["coordinators"])).group_by(ob.c.person_id)).all())
        alerts_raised = conn.execute(select(func.count()).select_from(Alert.__table__)).scalar()  # type: ignore[attr-defined]
    engine.dispose()

    # Partners: first send of each alert to each partner.
    first: dict[tuple[int, int], float] = {}
    for s in transport.sent:
        if s.person_id in partners:
            for alert_id in s.alert_ids:
                first.setdefault((alert_id, s.person_id), s.at)
    first = {pair: at for pair, at in first.items() if alert_hrd.get(pair[0]) in deadlines}
    partner_lat = [at - deadlines[alert_hrd[a]].timestamp() for (a, _p), at in first.items()]
    partner_last = max(first.values()) - base if first else math.nan
    # Coordinators.
    coordinators = {}
    for cid in meta["coordinators"]:
        mine = [s for s in transport.sent if s.person_id == cid and s.at >= started]
        coordinators[str(cid)] = {
            "messages": len(mine), "alerts": sum(1 for s in mine if s.alert_ids),
            "alert_ids": len({a for s in mine for a in s.alert_ids}),
            "last": (max(s.at for s in mine) - base) if mine else math.nan,
            "unsent": unsent_to.get(cid, 0),
        }
    # Check-in replies: the first reply sent to the chat after the check-in arrived.
    reply_at: dict[str, float] = {}
    for s in transport.sent:
        if s.kind == "reply" and s.chat_id in arrivals and s.at >= arrivals[s.chat_id]:
            reply_at.setdefault(s.chat_id, s.at)
    burst_end = (base + partner_last) if first and done_at is not None else stopped
    replies = []
    for chat, arrived in arrivals.items():
        phase = "before" if arrived < base else "during" if arrived <= burst_end else "after"
        replies.append((phase, arrived - base, reply_at[chat] - arrived if chat in reply_at else math.inf))
    reminders_before_t0 = sum(1 for s in transport.sent if s.kind == "reminder" and s.at < base)
    # What shared the send limit with the partners' alerts: every send from T0 to the last first alert.
    coordinator_ids, first_sends = set(meta["coordinators"]), set(first.values())
    shared: dict[str, int] = defaultdict(int)
    for s in transport.sent:
        if base <= s.at <= base + partner_last:
            who = ("partner" if s.person_id in partners else "coordinator" if s.person_id in coordinator_ids
                   else "HRD")
            what = "first alert" if who == "partner" and s.at in first_sends and s.alert_ids else s.kind
            shared[f"{who} {what} (priority {s.priority})"] += 1
    sends_by_second: dict[int, int] = defaultdict(int)
    for s in transport.sent:
        sends_by_second[int(s.at)] += 1
    starts, first_in_window, most_started = sorted(s.began for s in transport.sent), 0, 0
    for last, began in enumerate(starts):  # the most sends started within any one second
        while starts[first_in_window] <= began - 1.0:
            first_in_window += 1
        most_started = max(most_started, last - first_in_window + 1)
    return {
        "expected_partner_messages": expected, "partner_latencies": partner_lat, "partner_last": partner_last,
        "partner_sent": len(first), "alerts_raised": alerts_raised,
        "coordinators": coordinators, "replies": replies, "unsent": unsent,
        "stall_worst": ticker.worst[1], "stall_worst_at": ticker.worst[0] - base,
        "stalls": [(at - base, late) for at, late in ticker.stalls], "ticks": ticker.count,
        "handle_p99": percentile(handle_times, 99), "handle_max": max(handle_times) if handle_times else math.nan,
        "reminders_queued_at_t0": meta["reminders"] - reminders_before_t0, "shared": dict(shared),
        "per_second": [sum(1 for s in transport.sent if base + i <= s.at < base + i + 1)
                       for i in range(int(partner_last) + 1)] if first else [],
        "first_alert_committed": min((s.at for s in transport.sent if s.alert_ids), default=math.nan) - base,
        "sent_total": len(transport.sent), "max_per_second": max(sends_by_second.values(), default=0),
        "max_started_per_second": most_started,
        "in_flight_max": transport.in_flight_max, "ran_s": stopped - base, "finished": done_at is not None,
        "peak_rss": peak_rss_mb(), "longest": transport.longest,
    }


def worker(args: argparse.Namespace) -> None:
    meta = json.loads(Path(args.meta).read_text())
    result = asyncio.run(run(args, meta))
    Path(args.out).write_text(json.dumps(result))


# -- orchestration (parent) ------------------------------------------------------------------


def s_(seconds: float) -> str:
    if math.isnan(seconds):
        return "—"
    if math.isinf(seconds):
        return "never"
    return f"{seconds:,.2f}" if seconds < 10 else f"{seconds:,.1f}"


def sec(seconds: float) -> str:
    text = s_(seconds)
    return text if text in ("—", "never") else text + " s"


def report(db: str, meta: dict[str, Any], r: dict[str, Any], args: argparse.Namespace) -> list[list[str]]:
    expected = r["expected_partner_messages"]
    floor = expected / RATE
    lat = r["partner_latencies"] + [math.inf] * (expected - len(r["partner_latencies"]))
    print(f"\n[{db}] {meta['hrds']:,} HRDs, {len(meta['partners']):,} partners, {len(meta['coordinators'])} "
          f"coordinators; {len(meta['due_ids'])} miss within 1 s ({meta['noted']} with a sealed note); "
          f"{meta['reminders']:,} reminders queued at start ({r['reminders_queued_at_t0']:,} still queued at T0); "
          f"check-ins at {args.checkins_per_s}/s; modelled round trip {args.rtt_ms} ms; "
          f"ran {r['ran_s']:.1f} s after T0 ({'all partner alerts sent' if r['finished'] else 'time limit'})")
    print(f"  partners: {r['partner_sent']:,} of {expected:,} first alerts sent; latency from each deadline "
          f"p50 {sec(percentile(lat, 50))}, p99 {sec(percentile(lat, 99))}; last at T0+"
          f"{sec(r['partner_last'])}; floor {expected:,}/30 = {floor:.1f} s; last/floor "
          f"{r['partner_last'] / floor:.2f} (target ≤ {TARGET_FLOOR_RATIO})")
    for cid, c in r["coordinators"].items():
        print(f"  coordinator {cid}: got {c['messages']} messages ({c['alerts']} of them about alerts, in all "
              f"{c['alert_ids']} alerts), last at T0+{sec(c['last'])}; {c['unsent']} still queued for them")
    phases = {}
    for phase in ("before", "during", "after"):
        values = [lat_ for ph, _arr, lat_ in r["replies"] if ph == phase]
        phases[phase] = values
        if values:
            unanswered = sum(1 for v in values if math.isinf(v))
            print(f"  check-in replies {phase} the burst: {len(values)} check-ins, p50 {sec(percentile(values, 50))}, "
                  f"p99 {sec(percentile(values, 99))}, max {sec(max(values))}, {unanswered} never answered")
    print(f"  event loop: longest stall {r['stall_worst'] * 1000:,.0f} ms at T0{r['stall_worst_at']:+.1f} s; "
          f"{sum(1 for _a, late in r['stalls'] if late > TARGET_STALL)} wake-ups more than 50 ms late "
          f"of {r['ticks']:,}; Runtime.handle p99 {r['handle_p99'] * 1000:.1f} ms, max {r['handle_max'] * 1000:.0f} ms")
    worst = sorted(r["stalls"], key=lambda s: -s[1])[:5]
    if worst:
        print("  worst stalls (T0+s: ms): " + ", ".join(f"{at:+.1f}: {late * 1000:.0f}" for at, late in worst))
    print(f"  sent {r['sent_total']:,} messages, at most {r.get('max_started_per_second', '?')} started within "
          f"any one second ({r['max_per_second']} finished in one wall-clock second), "
          f"at most {r['in_flight_max']} in flight at once; alerts raised {r['alerts_raised']}; "
          f"peak RSS {r['peak_rss']:.0f} MiB")
    print("  sent from T0 to the last partner alert: " + ", ".join(
        f"{what}: {n}" for what, n in sorted(r.get("shared", {}).items(), key=lambda kv: -kv[1])))
    print(f"  sends in each second from T0 to the last partner alert (first alert sent at T0+"
          f"{r.get('first_alert_committed', math.nan):.2f} s): " + " ".join(map(str, r.get("per_second", []))))
    print("  longest text of each kind (UTF-16 units; Telegram splits above 4,096): " + ", ".join(
        f"{kind}: {n:,}" for kind, n in sorted(r.get("longest", {}).items())))
    print("  unsent at the end (kind, priority, count): " + (", ".join(f"{k}/{p}: {n}" for k, p, n in r["unsent"])
                                                              or "nothing"))
    during = phases["during"]
    coord_last = max((c["last"] for c in r["coordinators"].values() if not math.isnan(c["last"])), default=math.nan)
    return [[
        db, f"{meta['hrds']:,}", f"{expected:,}", s_(percentile(lat, 50)), s_(percentile(lat, 99)),
        s_(r["partner_last"]), f"{floor:.1f}", f"{r['partner_last'] / floor:.2f}",
        "/".join(str(c["messages"]) for c in r["coordinators"].values()), s_(coord_last),
        s_(percentile(during, 99)) if during else "—",
        f"{r['stall_worst'] * 1000:,.0f}",
        "met" if r["partner_last"] <= TARGET_FLOOR_RATIO * floor else "NOT met",
        ("met" if percentile(during, 99) <= TARGET_REPLY_P99 else "NOT met") if during else "—",
        "met" if r["stall_worst"] <= TARGET_STALL else "NOT met",
    ]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hrds", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000, help="HRDs that miss within one second (default 1000)")
    parser.add_argument("--reminders", type=int, default=2000, help="reminders queued at start (default 2000)")
    parser.add_argument("--coordinators", type=int, default=3)
    parser.add_argument("--checkins-per-s", type=float, default=5.0)
    parser.add_argument("--rtt-ms", default="20,50", help="modelled HTTP round trip per send, uniform LOW,HIGH ms")
    parser.add_argument("--lead", type=float, default=3.0, help="seconds from start to T0")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop this long after T0 at the latest")
    parser.add_argument("--linger", type=float, default=5.0, help="keep running this long after the last partner alert")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--nice", type=int, default=0, help="run the worker under nice -n N")
    add_database_arguments(parser)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--meta", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    rows = []
    with tempfile.TemporaryDirectory(prefix="c2p-bench-del-") as tmp:
        work = Path(tmp)
        for backend in backends(args, work):
            try:
                db = unique_name("deliv")
                url = backend.create(db)
                meta = populate(url, args, work / f"{db}.key")
                meta_path, out = work / f"{db}.json", work / f"{db}.out"
                meta_path.write_text(json.dumps(meta))
                print(f"[{backend.name}] populated in {meta['populate_s']:.1f} s "
                      f"({meta['noted']} notes through the core in {meta['notes_s']:.1f} s)", flush=True)
                command = ["nice", "-n", str(args.nice), sys.executable, str(Path(__file__).resolve()), "--worker",
                           "--url", url, "--meta", str(meta_path), "--out", str(out)]
                for name in ("checkins_per_s", "rtt_ms", "lead", "max_seconds", "linger"):
                    command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
                done = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, text=True)
                if done.returncode != 0:
                    raise RuntimeError(f"worker failed:\n{done.stderr[-3000:]}")
                rows += report(backend.name, meta, json.loads(out.read_text()), args)
                backend.drop(db)
            finally:
                backend.close()
    print("\nSeconds; partner latency from each HRD's deadline, 'last' from T0 (the first deadline)")
    print(table(["DB", "HRDs", "partner msgs", "p50", "p99", "last", "floor", "last/floor", "msgs per coordinator",
                 "coord. last", "reply p99 (burst)", "worst stall ms", "last ≤ 1.2 floor", "reply p99 ≤ 2 s",
                 "stall ≤ 50 ms"], rows))


if __name__ == "__main__":
    main()
