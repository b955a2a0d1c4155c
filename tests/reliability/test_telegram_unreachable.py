"""Scenario 11 — Telegram unreachable from the start, Matrix working: the real command
(``python -m c2p_bot run``) with both platforms configured, the Bot API's base_url pointing at a
closed port, Matrix on the test Synapse. Pass: an HRD on Matrix misses a check-in and the partner
gets the escalation on Matrix on time (not before the deadline, at most a few seconds after it);
the HRD is answered on Matrix throughout; Telegram stays unreachable for 5 minutes (pytest --full;
45 s in the test command); then SIGTERM stops the bot within 10 s with exit 0.

And, without Matrix: SIGTERM while Telegram cannot be reached at start (closed port, every call
answered 502, every call hanging) stops the process within 10 s, exit 0, no traceback."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlmodel import Session, col, update

from c2p_bot.config import load_config
from c2p_bot.core.clock import SystemClock
from c2p_bot.core.keyring import open_keyring
from storage.engine import make_engine
from storage.models import CheckinClock, Identity, Match, Person
from tests.support.botprocess import BotProcess, write_telegram_config
from tests.support.matrix import Human, HumanFactory, local_name, make_human  # noqa: F401  (fixture)
from tests.support.report import figure
from tests.support.synapse import matrix_client, synapse  # noqa: F401  (fixtures)
from tests.synapse.helpers import DEFAULT_PASSWORD
from tests.synapse.homeserver import SynapseServer
from tests.telegram_api import FakeBotApi

TOKEN = "7000000001:AAFakeTelegramBotApiForTests_012345"
STOP_WITHIN = 10.0  # seconds: the bot always stops on SIGTERM (DESIGN, alarm invariant 2)
ON_TIME = 5.0  # seconds after the deadline the partner must have the alert by


def closed_port() -> int:
    """A loopback port nothing listens on: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unreachable_telegram() -> SimpleNamespace:
    return SimpleNamespace(token=TOKEN, base_url=f"http://127.0.0.1:{closed_port()}/bot")


async def wait_for_start_attempt(bot: BotProcess, api: FakeBotApi | None, timeout: float = 30.0) -> None:
    """Until the process is up and trying Telegram (a getMe call, or the start-up output)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert bot.process is not None and bot.process.poll() is None, bot.log_text()
        if api is not None and api.calls_for("getMe"):
            return
        if api is None and "/start " in bot.log_text():  # the first coordinator invite, printed at start
            await asyncio.sleep(2)  # and a moment for the first connection attempts
            return
        await asyncio.sleep(0.1)
    if api is None:
        return
    raise AssertionError("the bot never called getMe: " + bot.log_text()[-2000:])


@pytest.mark.parametrize("failure", ["closed-port", "502", "timeout"])
async def test_sigterm_while_telegram_is_unreachable_at_start(tmp_path: Path, failure: str) -> None:
    async with FakeBotApi() as api:
        if failure == "502":
            api.fail(method=None, status=502, times=None)
        elif failure == "timeout":
            api.fail(method=None, status="timeout", times=None, delay=120, process=False)
        telegram = unreachable_telegram() if failure == "closed-port" else api
        config = write_telegram_config(tmp_path, telegram)  # type: ignore[arg-type]
        bot = BotProcess(config, tmp_path / "bot.log")
        bot.start()
        try:
            await wait_for_start_attempt(bot, None if failure == "closed-port" else api)
            code, took = await asyncio.to_thread(bot.terminate, STOP_WITHIN)
        finally:
            bot.kill()
    log = bot.log_text()
    figure("sigterm-telegram-unreachable-at-start", failure=failure, exit_code=code, stop_s=f"{took:.1f}")
    assert code is not None, f"still running {STOP_WITHIN:.0f} s after SIGTERM (Telegram: {failure}):\n{log[-3000:]}"
    assert code == 0, f"exit code {code} after SIGTERM:\n{log[-3000:]}"
    assert "Traceback" not in log, f"a raw traceback instead of one clear line:\n{log[-3000:]}"


def matrix_config(tmp: Path, server: SynapseServer, bot_id: str, telegram: SimpleNamespace | None) -> Path:
    lines = [
        "[database]", f'url = "sqlite:///{tmp / "c2p.db"}"',
        "[crypto]", f'key_file = "{tmp / "kek.key"}"',
        "[matrix]", f'homeserver = "{server.base_url}"', f'user_id = "{bot_id}"',
        f'store_path = "{tmp / "matrix-store"}"', 'stranger_timeout = "1h"',
        "[checkins]", 'ack_timeout = "1h"',
        "[escalation]", 'steps = ["partners"]', 'repeat_every = "1h"',
    ]
    if telegram is not None:
        lines += ["[telegram]", f'token = "{telegram.token}"', f'base_url = "{telegram.base_url}"', "poll_timeout = 1"]
    path = tmp / "bot.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def register(config: Path, hrd: Human, partner: Human) -> int:
    """Amina (HRD) and Paul (partner) on Matrix, matched; returns Amina's person id."""
    settings = load_config(config, env={})
    engine = make_engine(settings.database.url)
    now = SystemClock().now()
    open_keyring(settings, engine, now, env={})  # rows written here carry the bot's integrity MACs
    with Session(engine) as session:
        amina = Person(role="hrd", status="active", alias="Amina", created_at=now, country="KE")
        paul = Person(role="partner", kind="lawyer", status="active", alias="Paul", created_at=now)
        session.add_all([amina, paul])
        session.flush()
        for person, human in ((amina, hrd), (paul, partner)):
            assert human.room_id is not None
            session.add(Identity(person_id=person.id or 0, platform="matrix", platform_user_id=human.user_id,
                                 chat_id=human.room_id, created_at=now, last_seen_at=now))
        session.add(Match(hrd_id=amina.id or 0, partner_id=paul.id or 0, status="active", created_at=now))
        far = now + timedelta(days=365)
        session.add(CheckinClock(person_id=amina.id or 0, next_due=far, alert_at=far, grace_s=0))
        session.commit()
        amina_id = amina.id or 0
    engine.dispose()
    return amina_id


@pytest.mark.synapse
async def test_escalation_on_matrix_while_telegram_is_unreachable(
    synapse: SynapseServer, make_human: HumanFactory, tmp_path: Path, full: bool  # noqa: F811
) -> None:
    outage = 300.0 if full else 45.0
    deadline_after_start = 30.0  # room for the start itself (and a capped wait for Telegram's backlog)
    bot_id = await asyncio.to_thread(synapse.register_user, local_name("c2pbot"), DEFAULT_PASSWORD)
    env = {"C2P_MATRIX_PASSWORD": DEFAULT_PASSWORD}

    # Before: the bot on Matrix alone logs in and joins the people's direct chats.
    config = matrix_config(tmp_path, synapse, bot_id, None)
    bot = BotProcess(config, tmp_path / "bot-matrix-only.log", env)
    bot.start()
    try:
        await bot.wait_for_log(r"matrix: running as|c2p-bot is running")  # its device keys are up
        amina = await make_human("amina", bot_id)
        paul = await make_human("paul", bot_id)
        for human in (amina, paul):
            await human.pump()  # key chores: they know the bot's device
    finally:
        await asyncio.to_thread(bot.terminate, 20)
    amina_id = register(config, amina, paul)

    # Now: Telegram configured too, and unreachable from the start; Amina's deadline comes up.
    config = matrix_config(tmp_path, synapse, bot_id, unreachable_telegram())
    engine = make_engine(load_config(config, env={}).database.url)
    alert_at = SystemClock().now() + timedelta(seconds=deadline_after_start)
    with Session(engine) as session:
        session.execute(update(CheckinClock).where(col(CheckinClock.person_id) == amina_id)
                        .values(next_due=alert_at, alert_at=alert_at, remind_at=None))
        session.commit()
    engine.dispose()
    bot = BotProcess(config, tmp_path / "bot.log", env)
    bot.start()
    started = time.monotonic()
    answers: list[float] = []
    code: int | None = None
    took = 0.0
    try:
        wait = alert_at.timestamp() - time.time() + ON_TIME + 25  # beyond that it is not "on time" anyway
        try:
            alert = await paul.expect(r"ALERT #\d+", timeout=wait)
        except AssertionError as error:
            raise AssertionError(f"no escalation on Matrix while Telegram is unreachable: {error}\n"
                                 f"bot log:\n{bot.log_text()[-3000:]}") from None
        late = alert.source["origin_server_ts"] / 1000 - alert_at.timestamp()
        # The clock and Matrix keep working for as long as Telegram stays unreachable.
        while time.monotonic() - started < outage:
            assert bot.process is not None and bot.process.poll() is None, bot.log_text()[-3000:]
            asked = time.monotonic()
            try:
                await amina.ask("/status", r"\S", timeout=10)
            except AssertionError as error:
                raise AssertionError(f"Matrix stopped answering {asked - started:.0f} s into the Telegram "
                                     f"outage: {error}") from None
            answers.append(time.monotonic() - asked)
            await asyncio.sleep(min(10.0, max(0.0, outage - (time.monotonic() - started))))
        code, took = await asyncio.to_thread(bot.terminate, STOP_WITHIN)
    finally:
        bot.kill()
    figure("telegram-unreachable-matrix-escalates", outage_s=outage, alert_late_s=f"{late:.2f}",
           status_answers=len(answers), worst_answer_s=f"{max(answers, default=0.0):.1f}",
           exit_code=code, stop_s=f"{took:.1f}")
    assert late >= -0.05, f"the alert went out {-late:.2f} s before the deadline"
    assert late <= ON_TIME, f"the alert reached the partner {late:.1f} s after the deadline"
    assert code is not None, f"still running {STOP_WITHIN:.0f} s after SIGTERM:\n{bot.log_text()[-3000:]}"
    assert code == 0, f"exit code {code} after SIGTERM:\n{bot.log_text()[-3000:]}"
