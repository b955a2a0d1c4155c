"""Scenario 2 — down across a deadline: the bot (a separate process) is stopped before a
deadline and started well after it. Pass: the alert is sent within 30 s of the start, and not
at all for an HRD whose check-in was sent before the deadline and waited in Telegram's queue."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, col, select, update

from c2p_bot.config import load_config
from c2p_bot.core.clock import SystemClock
from storage.engine import make_engine
from storage.models import Alert, CheckinClock, Identity
from tests.support.botprocess import BotProcess, populate, write_telegram_config
from tests.support.report import figure
from tests.telegram_api import FakeBotApi


async def test_deadline_passes_while_the_bot_is_down(tmp_path: Path) -> None:
    async with FakeBotApi() as api:
        config_path = write_telegram_config(tmp_path, api)
        (silent, _), (queued, _) = populate(config_path, api, 2)
        engine = make_engine(load_config(config_path, env={}).database.url)
        amina = api.user("amina")
        with Session(engine) as session:
            session.add(Identity(person_id=queued, platform="telegram", platform_user_id=str(amina.id),
                                 chat_id=str(amina.id), created_at=SystemClock().now()))
            session.commit()
        partner = api.user("paul")
        bot = BotProcess(config_path, tmp_path / "bot.log")
        bot.start()
        await api.wait_for_message(partner, r"understand", timeout=60)
        bot.stop()  # an orderly stop, before the deadline
        deadline = SystemClock().now() + timedelta(seconds=2)
        with Session(engine) as session:
            session.execute(update(CheckinClock).where(col(CheckinClock.person_id).in_([silent, queued]))
                            .values(next_due=deadline, alert_at=deadline, remind_at=None))
            session.commit()
        amina.send_text("/checkin on my way")  # sent before the deadline; waits in Telegram's queue
        await asyncio.sleep(6)  # the deadline passes while the bot is down
        bot.start()
        started = time.monotonic()
        try:
            await api.wait_for_message(partner, r"ALERT #\d+: H0 missed", timeout=30)
            late = time.monotonic() - started
            await api.wait_for_message(amina, r"Checked in", timeout=30)
            await asyncio.sleep(2)
        finally:
            bot.stop()
        with Session(engine) as session:
            alerts = session.exec(select(Alert)).all()
        engine.dispose()
        figure("down-across-deadline", alert_after_start_s=f"{late:.1f}",
               alerts_for_queued_checkin=sum(1 for a in alerts if a.hrd_id == queued))
        assert [a.hrd_id for a in alerts] == [silent]
        assert late <= 30
