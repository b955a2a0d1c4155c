"""Scenario 1 — crash during escalation: the bot runs as a separate process against the test
Telegram server and is killed with SIGKILL at random moments around escalations (deadline
passed; alert written; message sent but not marked delivered; during commit), then restarted.
Pass: every alert delivered, at most one duplicate per alert message, none raised twice.
Test command: 20 trials; pytest --full: 200."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, col, select, update

from c2p_bot.config import load_config
from c2p_bot.core.clock import SystemClock
from storage.engine import make_engine
from storage.models import Alert, CheckinClock
from tests.reliability.botprocess import BotProcess, populate, write_config
from tests.reliability.report import figure
from tests.telegram_api import FakeBotApi

ALERTS_PER_TRIAL = 3


async def test_sigkill_around_escalations(tmp_path: Path, full: bool) -> None:
    trials = 200 if full else 20
    rng = random.Random(20261128)
    async with FakeBotApi() as api:
        config_path = write_config(tmp_path, api)
        hrds = populate(config_path, api, trials * ALERTS_PER_TRIAL)
        engine = make_engine(load_config(config_path, env={}).database.url)
        bot = BotProcess(config_path, tmp_path / "bot.log")
        partner = api.user("paul")
        worst = 0.0
        try:
            bot.start()
            await api.wait_for_message(partner, r"understand", timeout=60)  # the bot is up
            for trial in range(trials):
                batch = hrds[trial * ALERTS_PER_TRIAL:(trial + 1) * ALERTS_PER_TRIAL]
                now = SystemClock().now()
                with Session(engine) as session:
                    for offset, (hrd_id, _chat) in enumerate(batch):
                        due = now + timedelta(seconds=0.3 + 0.4 * offset + rng.random() * 0.3)
                        session.execute(update(CheckinClock).where(col(CheckinClock.person_id) == hrd_id)
                                        .values(next_due=due, alert_at=due, remind_at=None))
                    session.commit()
                await asyncio.sleep(rng.uniform(0.0, 2.0))  # somewhere around the deadlines
                bot.kill()
                bot.start()
                started = time.monotonic()
                ids = {hrd_id for hrd_id, _ in batch}

                def delivered(ids: set[int] = ids) -> bool:
                    with Session(engine) as session:
                        alert_ids = [a.id for a in session.exec(select(Alert).where(col(Alert.hrd_id).in_(ids)))]
                    texts = [m.text for m in api.sent_to(partner)]
                    return len(alert_ids) == len(ids) and all(
                        any(t.startswith(f"🚨 ALERT #{a}:") for t in texts) for a in alert_ids)

                while not delivered():
                    if time.monotonic() - started > 60:
                        raise AssertionError(f"trial {trial}: alerts not delivered within 60 s of restart")
                    await asyncio.sleep(0.1)
                worst = max(worst, time.monotonic() - started)
        finally:
            bot.stop()
        with Session(engine) as session:
            raised = Counter(a.hrd_id for a in session.exec(select(Alert)))
        engine.dispose()
        texts = [m.text for m in api.sent_to(partner)]
        per_alert = Counter(re.match(r"🚨 ALERT #(\d+):", t).group(1) for t in texts if t.startswith("🚨 ALERT #"))
        duplicates = sum(count - 1 for count in per_alert.values())
        figure("crash-during-escalation", trials=trials, alerts=len(per_alert), lost=0,
               duplicates=duplicates, worst_extra_duplicates=max(per_alert.values()) - 1,
               raised_twice=sum(1 for c in raised.values() if c > 1), worst_recovery_s=f"{worst:.1f}")
        assert all(count == 1 for count in raised.values())
        assert len(per_alert) == trials * ALERTS_PER_TRIAL
        assert max(per_alert.values()) <= 2
