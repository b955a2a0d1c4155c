"""Benchmark (not a test): how long does a new escalation wait behind a backlog of reminders?

10,000 reminders (each to a different chat) sit in the outbox; our Dispatcher drains it behind a
send limit, ``Pacing(per_second=30, per_chat_interval=1.0)``, into a fake transport that records
the wall time of every send. After a warm-up, an escalation is raised for real
(``Escalation.raise_alert`` for an HRD with one partner, then ``Core.commit``, which wakes the
dispatcher); its wait = time of the send of its outbox row − time its transaction committed.
This is repeated every few seconds while the backlog drains. Everything here runs in real time.

Baseline: a FIFO queue at the same rate; the escalation waits until every reminder queued ahead
of it has gone. By default its wait is computed with a virtual clock (strict FIFO, one send
per 1/30 s, the same per-chat gap) for the same backlog the real escalation saw — running it for
real takes backlog/30 s (5.5 min for 10,000). ``--real-fifo`` also runs it in real time: a
minimal FIFO sender (oldest row first, same pacing, same transport) over a second copy of the
outbox; use it with a smaller ``--reminders`` to check the simulation.

    .venv/bin/python benchmarks/priority.py [--reminders 10000] [--escalations 5] [--every 2]
        [--warmup 3] [--rate 30] [--chat-interval 1.0] [--send-ms 0] [--real-fifo]
        [--postgres | --postgres-url URL] [--no-sqlite]

Results: benchmarks/README.md, "## Priority under a send limit".
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repo root first: `matching` is the package, not benchmarks/matching.py
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))

from _common import (  # noqa: E402
    PLATFORM,
    Backend,
    add_database_arguments,
    backends,
    bulk,
    fix_sequences,
    ms,
    percentile,
    populate_people,
    ratio,
    settle,
    table,
    unique_name,
)
from sqlmodel import col, select, update  # noqa: E402

from c2p_bot.app import build_runtime  # noqa: E402
from c2p_bot.config import parse_config  # noqa: E402
from c2p_bot.core.clock import SystemClock  # noqa: E402
from c2p_bot.core.crypto import Kek  # noqa: E402
from c2p_bot.core.dispatcher import Pacing  # noqa: E402
from c2p_bot.core.events import Button, Outgoing, Priority  # noqa: E402
from c2p_bot.core.keyring import Keyring  # noqa: E402
from c2p_bot.core.outbox import decode_buttons, encode_buttons  # noqa: E402
from c2p_bot.core.runtime import Runtime  # noqa: E402
from storage.engine import make_engine  # noqa: E402
from storage.models import Match, OutboxMessage, Person  # noqa: E402

TARGET_WAIT = 1.0


@dataclass
class RecordingTransport:
    """A fake transport: records (wall time, idempotency key, priority, chat) of every send."""

    platform: str = PLATFORM
    send_seconds: float = 0.0
    sent: list[tuple[float, str, int, str]] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)

    async def deliver(self, message: Outgoing) -> str | None:
        now = time.time()
        self.sent.append((now, message.idempotency_key, message.priority, message.chat_id))
        self.sent_at[message.idempotency_key] = now
        if self.send_seconds:
            await asyncio.sleep(self.send_seconds)
        return str(len(self.sent))


@dataclass
class Setup:
    url: str
    kek: Kek
    reminder_hrds: list[int]
    escalation_hrds: list[int]
    partner_of: dict[int, int]


def populate(backend: Backend, db: str, reminders: int, escalations: int, seed: int, kek: Kek) -> Setup:
    """HRDs with one queued reminder each (distinct chats), and HRDs with one partner each to escalate."""
    url = backend.create(db)
    engine = make_engine(url)
    now = datetime.now(UTC).replace(microsecond=0)
    people = populate_people(engine, hrds=reminders + escalations, partners=escalations, coordinators=1,
                             seed=seed, now=now, unmatched=1.0, two_partners=0.0)
    reminder_hrds, escalation_hrds = people.hrds[:reminders], people.hrds[reminders:]
    partner_of = dict(zip(escalation_hrds, people.partners, strict=True))
    bulk(engine, Match.__table__, [
        {"id": i + 1, "hrd_id": h, "partner_id": p, "status": "active", "created_at": now - timedelta(days=30),
         "ended_at": None} for i, (h, p) in enumerate(partner_of.items())])
    fix_sequences(engine, ("match",))
    keyring = Keyring(engine, kek)
    buttons = encode_buttons([[Button("I'm safe", "/checkin")]])
    due = now + timedelta(minutes=30)
    rows: list[dict[str, Any]] = []
    for index, pid in enumerate(reminder_hrds):
        key = f"remind:{pid}:{due.isoformat()}"
        text = (f"Reminder: your next check-in is due {due:%Y-%m-%d %H:%M} UTC. Send /checkin when you can.")
        rows.append({
            "id": index + 1, "idempotency_key": key, "platform": PLATFORM, "chat_id": f"chat-{pid}",
            "person_id": pid, "identity_id": pid, "priority": int(Priority.REMINDER), "kind": "reminder",
            "body": keyring.seal(key, text), "buttons": buttons, "sensitive": False, "alert_id": None,
            "created_at": now, "next_attempt_at": now, "attempts": 0, "last_error": None, "delivered_at": None,
            "failed_at": None, "platform_message_id": None, "delete_at": None,
        })
    bulk(engine, OutboxMessage.__table__, rows)
    fix_sequences(engine, ("outbox",))
    settle(engine)
    return Setup(url, kek, reminder_hrds, escalation_hrds, partner_of)


def runtime_for(setup: Setup) -> Runtime:
    engine = make_engine(setup.url)
    return build_runtime(parse_config({}, env={}), engine, SystemClock(), Keyring(engine, setup.kek))


def raise_escalation(runtime: Runtime, hrd_id: int, partner_id: int) -> tuple[str, float]:
    """A missed check-in alert raised for real; returns its outbox key and the moment it was committed."""
    core = runtime.core
    now = core.clock.now()
    with core.session() as session:
        hrd = session.get(Person, hrd_id)
        assert hrd is not None
        alert = core.escalation.raise_alert(session, hrd, "missed", now, due_at=now - timedelta(hours=1))
        core.commit(session)  # wakes the dispatcher
    committed = time.time()
    return f"alert:{alert.id}:to:{partner_id}:r0", committed


@dataclass
class Escalated:
    ahead: int  # reminders queued and not yet sent when the escalation was committed
    wait: float  # seconds from commit to send (nan: not sent before the timeout)


async def drive(runtime: Runtime, transport: RecordingTransport, setup: Setup, args: argparse.Namespace,
                sender: Any) -> tuple[list[Escalated], float, asyncio.Task[None]]:
    """Start ``sender`` (a coroutine that sends until stopped), raise the escalations, measure."""
    task = asyncio.create_task(sender)
    started = time.time()
    raised: list[tuple[str, float, int]] = []
    await asyncio.sleep(args.warmup)
    for index in range(args.escalations):  # on a fixed schedule, whether or not the previous one was sent
        hrd_id = setup.escalation_hrds[index]
        key, committed = raise_escalation(runtime, hrd_id, setup.partner_of[hrd_id])
        ahead = len(setup.reminder_hrds) - sum(1 for s in transport.sent if s[2] == Priority.REMINDER)
        raised.append((key, committed, ahead))
        if index + 1 < args.escalations:
            await asyncio.sleep(max(0.0, started + args.warmup + (index + 1) * args.every - time.time()))
    deadline = time.time() + args.timeout
    while any(key not in transport.sent_at for key, _, _ in raised) and time.time() < deadline:
        await asyncio.sleep(0.001)
    results = [Escalated(ahead, transport.sent_at.get(key, float("nan")) - committed)
               for key, committed, ahead in raised]
    return results, started, task


async def run_ours(setup: Setup, args: argparse.Namespace) -> tuple[list[Escalated], RecordingTransport, float]:
    runtime = runtime_for(setup)
    transport = RecordingTransport(send_seconds=args.send_ms / 1000)
    dispatcher = runtime.add_transport(transport, Pacing(per_second=args.rate, per_chat_interval=args.chat_interval))
    results, started, task = await drive(runtime, transport, setup, args, dispatcher.run())
    dispatcher.stop()
    await task
    runtime.core.engine.dispose()
    return results, transport, time.time() - started


async def fifo_sender(runtime: Runtime, transport: RecordingTransport, pacing: Pacing,
                      stop: asyncio.Event) -> None:
    """The baseline: oldest row first, whatever its kind; same global rate and per-chat gap."""
    core = runtime.core
    next_global = 0.0
    ready: dict[str, float] = {}
    while not stop.is_set():
        with core.session() as session:
            row = session.exec(select(OutboxMessage).where(
                OutboxMessage.platform == transport.platform, col(OutboxMessage.delivered_at).is_(None),
                col(OutboxMessage.failed_at).is_(None)).order_by(col(OutboxMessage.id)).limit(1)).first()
        if row is None:
            await asyncio.sleep(0.01)
            continue
        wait = max(next_global, ready.get(row.chat_id, 0.0)) - time.monotonic()
        if wait > 0:  # strict FIFO: the head of the line waits for its slot and its chat
            await asyncio.sleep(wait)
        next_global = time.monotonic() + 1.0 / (pacing.per_second or 1e9)
        ready[row.chat_id] = time.monotonic() + pacing.per_chat_interval
        await transport.deliver(Outgoing(
            outbox_id=row.id or 0, platform=row.platform, chat_id=row.chat_id,
            text=core.outbox.protector.open(row.idempotency_key, row.body), buttons=decode_buttons(row.buttons),
            priority=row.priority, idempotency_key=row.idempotency_key, kind=row.kind))
        with core.session() as session:
            session.exec(update(OutboxMessage).where(col(OutboxMessage.id) == row.id).values(  # type: ignore[call-overload]
                delivered_at=core.clock.now(), body=b""))
            session.commit()


async def run_real_fifo(setup: Setup, args: argparse.Namespace) -> tuple[list[Escalated], RecordingTransport, float]:
    runtime = runtime_for(setup)
    transport = RecordingTransport(send_seconds=args.send_ms / 1000)
    stop = asyncio.Event()
    pacing = Pacing(per_second=args.rate, per_chat_interval=args.chat_interval)
    results, started, task = await drive(runtime, transport, setup, args,
                                         fifo_sender(runtime, transport, pacing, stop))
    stop.set()
    await task
    runtime.core.engine.dispose()
    return results, transport, time.time() - started


def simulate_fifo(ahead: int, rate: float, chat_interval: float) -> float:
    """Virtual clock: strict FIFO, one send per 1/rate s, ``ahead`` reminders to distinct chats, then the
    escalation (to a chat of its own). The escalation arrives at t=0 just after a send; returns its wait."""
    gap = 1.0 / rate
    t = gap  # the next send slot
    chat_ready: dict[str, float] = {}
    queue = [f"reminder-{i}" for i in range(ahead)] + ["escalation"]
    for chat in queue:
        t = max(t, chat_ready.get(chat, 0.0))
        if chat == "escalation":
            return t
        chat_ready[chat] = t + chat_interval
        t += gap
    return t


def pacing_check(transport: RecordingTransport) -> tuple[float, int]:
    """Mean send rate, and the most sends in any 1-second window."""
    times = [s[0] for s in transport.sent]
    if len(times) < 2:
        return 0.0, len(times)
    most, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        most = max(most, i - j + 1)
    return (len(times) - 1) / (times[-1] - times[0]), most


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=10_000, help="reminders queued (default 10000)")
    parser.add_argument("--escalations", type=int, default=10, help="escalations raised, one after another")
    parser.add_argument("--every", type=float, default=1.0, help="seconds between escalations")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of sending before the first escalation")
    parser.add_argument("--rate", type=float, default=30.0, help="messages per second overall (default 30)")
    parser.add_argument("--chat-interval", type=float, default=1.0, help="seconds between two sends to one chat")
    parser.add_argument("--send-ms", type=float, default=0.0, help="time the fake transport takes per send")
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds to wait, after the last escalation, for all of them to be sent")
    parser.add_argument("--real-fifo", action="store_true", help="also run the FIFO baseline in real time")
    parser.add_argument("--seed", type=int, default=11)
    add_database_arguments(parser)
    args = parser.parse_args()

    rows, ratio_rows = [], []
    waits: dict[str, list[float]] = {}
    fifo_waits: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="c2p-bench-prio-") as tmp:
        for backend in backends(args, Path(tmp)):
            try:
                kek = Kek.generate()
                started = time.perf_counter()
                setup = populate(backend, unique_name("prio"), args.reminders, args.escalations, args.seed, kek)
                print(f"[{backend.name}] {args.reminders:,} reminders queued to {args.reminders:,} chats in "
                      f"{time.perf_counter() - started:.1f} s; Pacing(per_second={args.rate:g}, "
                      f"per_chat_interval={args.chat_interval:g})", flush=True)
                runs = [("ours", run_ours)]
                if args.real_fifo:
                    fifo_db = unique_name("fifo")
                    fifo_setup = populate(backend, fifo_db, args.reminders, args.escalations, args.seed, kek)
                    runs.append(("FIFO (real time)", lambda _s, a, fs=fifo_setup: run_real_fifo(fs, a)))
                for name, run in runs:
                    results, transport, elapsed = asyncio.run(run(setup, args))
                    rate, most = pacing_check(transport)
                    print(f"  {name}: {len(transport.sent):,} sends in {elapsed:.1f} s, {rate:.1f}/s on average, "
                          f"at most {most} in any 1 s", flush=True)
                    for index, r in enumerate(results, 1):
                        fifo = simulate_fifo(r.ahead, args.rate, args.chat_interval)
                        waits.setdefault(f"{backend.name} {name}", []).append(r.wait)
                        fifo_waits.setdefault(f"{backend.name} {name}", []).append(fifo)
                        rows.append([backend.name, name, index, f"{r.ahead:,}", ms(r.wait), f"{fifo:,.1f}",
                                     ratio(fifo, r.wait), f"{rate:.1f}", most])
            finally:
                backend.close()
    print("\nEscalation wait (its outbox row committed → sent); FIFO = simulated strict FIFO at the same rate")
    print(table(["DB", "dispatcher", "#", "reminders ahead", "measured wait ms", "FIFO wait s (sim)",
                 "FIFO / measured", "sends/s", "max in 1 s"], rows))
    for name, values in waits.items():
        fifo = fifo_waits[name]
        ratio_rows.append([name, len(values), ms(percentile(values, 50)), ms(max(values)),
                           f"{percentile(fifo, 50):,.1f}", ratio(percentile(fifo, 50), percentile(values, 50)),
                           ratio(min(fifo), max(values)), "met" if max(values) <= TARGET_WAIT else "NOT met"])
    print("\n" + table(["run", "escalations", "median wait ms", "max wait ms", "FIFO median s (sim)",
                        "FIFO/measured (medians)", "FIFO min / measured max", "all ≤ 1 s"], ratio_rows))

if __name__ == "__main__":
    main()
