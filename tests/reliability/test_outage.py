"""Scenario 3 — outage: the Telegram server answers 5xx for a long stretch (15 minutes with
--full; 20 seconds in the test command). Pass: nothing lost; escalations fail over to the
person's other identity (a memory transport stands in for Matrix here; the Matrix transport
itself is tested against Synapse in tests/matrix) or, with none, to the next step.
Telegram is paced and retried as in production (TELEGRAM_PACING: 30 msg/s, 1 msg/s per chat;
the dispatcher's backoff); the failover comes after ``[escalation] failover_after`` of errors,
not before (2 min with --full; 5 s in the test command, whose outage is 20 s)."""

from __future__ import annotations

import asyncio
import inspect
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from c2p_bot.core.crypto import Kek
from c2p_bot.core.dispatcher import Dispatcher
from c2p_bot.core.events import Priority
from c2p_bot.transports.telegram import TELEGRAM_PACING
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import CheckinClock, Identity, Match, OutboxMessage, Person
from tests.support.report import figure
from tests.telegram.support import TelegramBot
from tests.telegram_api import FakeBotApi


def alert_rows(engine: Engine) -> list[tuple[object, ...]]:
    """What the outbox knows about the alert messages (for a failure message)."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.alert_id).is_not(None))).all()
        return [(r.idempotency_key, r.platform, r.attempts, r.last_error, r.next_attempt_at, r.delivered_at,
                 r.failed_at, getattr(r, "failing_since", None)) for r in rows]


async def test_telegram_outage_fails_over_and_loses_nothing(tmp_path: Path, full: bool) -> None:
    outage = 900.0 if full else 20.0
    # Errors for longer than this make a recipient unreachable (production default 2 min; shorter
    # in the test command so the failover falls inside its shorter outage).
    failover_after = timedelta(minutes=2) if full else timedelta(seconds=5)
    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    upgrade(make_engine(url))
    engine = make_engine(url)
    async with FakeBotApi() as api:
        bot = TelegramBot(api, engine, Kek.generate())
        bot.config = bot.config.model_copy(update={
            "escalation": bot.config.escalation.model_copy(update={"failover_after": failover_after})})
        await bot.start(memory=True, pacing=TELEGRAM_PACING)  # production pacing, as `c2p-bot run`
        dispatcher = bot.runtime.dispatchers["telegram"]  # and production retry timings
        defaults = inspect.signature(Dispatcher).parameters
        dispatcher.backoff_base = defaults["backoff_base"].default
        dispatcher.backoff_max = defaults["backoff_max"].default
        paul_tg, quinn_tg = api.user("paul"), api.user("quinn")
        now = bot.clock.now()
        with Session(engine) as session:
            def person(role: str, alias: str) -> Person:
                row = Person(role=role, status="active", alias=alias, created_at=now, kind="lawyer"
                             if role == "partner" else None)
                session.add(row)
                session.flush()
                return row

            cora, paul, quinn = person("coordinator", "Cora"), person("partner", "Paul"), person("partner", "Quinn")
            h1, h2 = person("hrd", "H1"), person("hrd", "H2")
            session.add_all([
                Identity(person_id=cora.id or 0, platform="memory", platform_user_id="cora", chat_id="cora",
                         created_at=now),
                Identity(person_id=paul.id or 0, platform="memory", platform_user_id="paul-matrix",
                         chat_id="paul-matrix", created_at=now - timedelta(days=1)),
                Identity(person_id=paul.id or 0, platform="telegram", platform_user_id=str(paul_tg.id),
                         chat_id=str(paul_tg.id), created_at=now, last_seen_at=now),
                Identity(person_id=quinn.id or 0, platform="telegram", platform_user_id=str(quinn_tg.id),
                         chat_id=str(quinn_tg.id), created_at=now, last_seen_at=now),
                Match(hrd_id=h1.id or 0, partner_id=paul.id or 0, created_at=now),
                Match(hrd_id=h2.id or 0, partner_id=quinn.id or 0, created_at=now),
            ])
            far = now + timedelta(days=30)
            for hrd in (h1, h2):
                session.add(CheckinClock(person_id=hrd.id or 0, next_due=far, alert_at=far))
            session.commit()
        for user in (paul_tg, quinn_tg):
            user.send_text("hello")
            await api.wait_for_message(user, r"understand", timeout=10)
        api.fail(method=None, status=502, times=None, for_seconds=outage)
        for index in range(20):  # ordinary traffic queued during the outage
            bot.enqueue(paul_tg if index % 2 else quinn_tg, f"notice {index}", f"outage-notice-{index}",
                        priority=Priority.NOTICE)  # told to them, not a reply to something they wrote
        with Session(engine) as session:
            for clock in session.exec(select(CheckinClock)).all():
                clock.alert_at = bot.clock.now() + timedelta(seconds=1)
                clock.next_due = clock.alert_at
                session.add(clock)
            session.commit()
        started = time.monotonic()
        await bot.runtime.tick()
        bot.runtime.dispatchers["telegram"].wake()
        memory = bot.memory
        assert memory is not None

        def texts(chat: str) -> list[str]:
            return [m.text for m in memory.inbox[chat]]

        while not (any("ALERT" in t and "H1" in t for t in texts("paul-matrix"))
                   and any("ALERT" in t and "H2" in t for t in texts("cora"))):
            assert time.monotonic() - started < outage, f"no failover during the outage: {alert_rows(engine)}"
            await bot.runtime.tick()
            await asyncio.sleep(0.2)
        failover_s = time.monotonic() - started
        while True:  # after the outage everything queued on Telegram goes out
            with Session(engine) as session:
                pending = session.exec(select(OutboxMessage).where(col(OutboxMessage.delivered_at).is_(None),
                                                                   col(OutboxMessage.failed_at).is_(None))).all()
            if not pending:
                break
            assert time.monotonic() - started < outage + 60, f"{len(pending)} messages never delivered"
            await asyncio.sleep(0.5)
        await bot.stop()
        delivered_tg = [m.text for user in (paul_tg, quinn_tg) for m in api.sent_to(user)]
        lost = [i for i in range(20) if f"notice {i}" not in delivered_tg]
        figure("outage", outage_s=outage, failover_after_setting_s=failover_after.total_seconds(),
               failover_after_s=f"{failover_s:.1f}", lost=len(lost),
               total_s=f"{time.monotonic() - started:.1f}")
        with Session(engine) as session:
            given_up = [(r.idempotency_key, r.attempts, r.last_error) for r in session.exec(
                select(OutboxMessage).where(col(OutboxMessage.failed_at).is_not(None),
                                            col(OutboxMessage.idempotency_key).startswith("outage-notice-"))).all()]
        assert lost == [], f"{len(lost)} notices lost; given up: {given_up}"
        # Not early either: a few failed sends do not make a recipient unreachable.
        assert failover_s >= failover_after.total_seconds(), f"failed over after {failover_s:.1f} s of errors"
        engine.dispose()
