"""The bot as a separate process (``python -m c2p_bot run --config …``): started, killed, restarted.

One harness for every test that runs the real command (tests/reliability crash and outage
scenarios, tests/matrix/test_process.py). ``write_telegram_config`` and ``populate`` set up the
Telegram scenarios against the fake Bot API.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlmodel import Session

from c2p_bot.config import load_config
from c2p_bot.core.clock import SystemClock
from c2p_bot.core.keyring import open_keyring
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import CheckinClock, Identity, Match, Person
from tests.telegram_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]


class BotProcess:
    """``c2p-bot run --config CONFIG`` with its output in ``log``, without the caller's ``C2P_*``
    variables (``env`` adds some back, e.g. a password)."""

    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.log = log
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("C2P_")} | self.env
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "c2p_bot", "run", "--config", str(self.config)],
                                            cwd=ROOT, stdout=log, stderr=log, env=env)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL (no shutdown at all), if it is running."""
        if self.running:
            assert self.process is not None
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it has not stopped within 20 s."""
        if self.running:
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def terminate(self, within: float) -> tuple[int | None, float]:
        """SIGTERM; the exit code (None if still running after ``within`` s, then killed) and
        how long it took."""
        assert self.process is not None
        sent = time.monotonic()
        self.process.terminate()
        try:
            code: int | None = self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            code = None
            self.kill()
        return code, time.monotonic() - sent

    async def wait_for_log(self, pattern: str, timeout: float = 60.0) -> re.Match[str]:
        """The first match of ``pattern`` in the log; fails if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            match = re.search(pattern, self.log_text())
            if match:
                return match
            assert self.running, self.log_text()[-3000:]
            assert time.monotonic() < deadline, f"no {pattern!r} in the log: {self.log_text()[-3000:]}"
            await asyncio.sleep(0.2)


def write_telegram_config(tmp: Path, api: FakeBotApi, **checkins: str) -> Path:
    """A config for a bot on the fake Bot API ``api``, its database and key file under ``tmp``."""
    settings = {"sweep_interval": "1s", "ack_timeout": "1h", **checkins}
    lines = [
        "[database]", f'url = "sqlite:///{tmp / "c2p.db"}"',
        "[telegram]", f'token = "{api.token}"', f'base_url = "{api.base_url}"', "poll_timeout = 1",
        "[crypto]", f'key_file = "{tmp / "kek.key"}"',
        "[checkins]", *[f'{k} = "{v}"' for k, v in settings.items()],
        "[escalation]", 'steps = ["partners"]', 'repeat_every = "1h"',
    ]
    path = tmp / "bot.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def populate(config_path: Path, api: FakeBotApi, hrds: int) -> list[tuple[int, str]]:
    """One partner (a fake Telegram user) matched with ``hrds`` HRDs; returns (hrd id, partner chat)."""
    config = load_config(config_path, env={})
    engine = make_engine(config.database.url)
    upgrade(engine)
    now = SystemClock().now()
    open_keyring(config, engine, now, env={})
    partner_user = api.user("paul")
    out = []
    with Session(engine) as session:
        partner = Person(role="partner", kind="lawyer", status="active", alias="Paul", created_at=now)
        session.add(partner)
        session.flush()
        session.add(Identity(person_id=partner.id or 0, platform="telegram", platform_user_id=str(partner_user.id),
                             chat_id=str(partner_user.id), created_at=now))
        for index in range(hrds):
            hrd = Person(role="hrd", status="active", alias=f"H{index}", created_at=now, country="KE")
            session.add(hrd)
            session.flush()
            session.add(Match(hrd_id=hrd.id or 0, partner_id=partner.id or 0, status="active", created_at=now))
            far = now + timedelta(days=365)
            session.add(CheckinClock(person_id=hrd.id or 0, next_due=far, alert_at=far, grace_s=0))
            out.append((hrd.id or 0, str(partner_user.id)))
        session.commit()
    engine.dispose()
    partner_user.send_text("hello")  # Telegram bots may only write to users who wrote first
    return out
