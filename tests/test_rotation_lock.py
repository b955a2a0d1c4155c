"""`rotate-key` under a running bot (issue 13 M): it refuses while a bot runs on the database,
and a bot whose key was rotated anyway stops instead of writing under the old key."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from c2p_bot.cli import main
from c2p_bot.config import load_config
from c2p_bot.core.crypto import Kek, KekError
from c2p_bot.core.keyring import LEASE_PREFIX, open_keyring
from c2p_bot.rotation import LEASE_TTL, BotLease, rotate
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import Secret
from tests.support.cli import run


def _config(tmp_path: Path) -> Path:
    config_file = tmp_path / "bot.toml"
    config_file.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c2p.db"}"\n'
                           f'[crypto]\nkey_file = "{tmp_path / "kek.key"}"\n')
    return config_file


def _start_bot(tmp_path: Path, config_file: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("C2P_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / ".config")
    bot = subprocess.Popen([sys.executable, "-m", "c2p_bot", "run", "--config", str(config_file)],
                           cwd=tmp_path, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env)
    assert bot.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the console prints its banner once it runs
        line = bot.stdout.readline()
        if "Console chat" in line:
            return bot
        assert line, f"the bot stopped: {bot.stderr.read() if bot.stderr else ''}"
    raise AssertionError("the bot did not start")


def test_rotate_key_refuses_while_a_bot_runs(tmp_path: Path) -> None:
    config_file = _config(tmp_path)
    assert run(["invite", "--role", "coordinator", "--config", str(config_file)], tmp_path).returncode == 0
    bot = _start_bot(tmp_path, config_file)
    key_before = (tmp_path / "kek.key").read_bytes()
    try:
        refused = run(["rotate-key", "--config", str(config_file)], tmp_path)
        assert refused.returncode == 1, refused.stdout
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "a bot is running on this database" in refused.stderr
        assert f"pid {bot.pid}" in refused.stderr
        assert (tmp_path / "kek.key").read_bytes() == key_before
    finally:
        assert bot.stdin is not None
        bot.stdin.close()  # end of input: the console bot stops cleanly and releases its lease
        bot.wait(timeout=30)
    assert bot.returncode == 0, bot.stderr.read() if bot.stderr else ""
    rotated = run(["rotate-key", "--config", str(config_file)], tmp_path)
    assert rotated.returncode == 0, rotated.stderr
    assert (tmp_path / "kek.key").read_bytes() != key_before


def test_a_crashed_bots_lease_expires(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file = _config(tmp_path)
    assert run(["invite", "--role", "coordinator", "--config", str(config_file)], tmp_path).returncode == 0
    bot = _start_bot(tmp_path, config_file)
    bot.kill()  # no clean stop: the lease stays behind
    bot.wait(timeout=30)
    refused = run(["rotate-key", "--config", str(config_file)], tmp_path)
    assert refused.returncode == 1 and "a bot is running" in refused.stderr
    engine = make_engine(load_config(config_file, env={}).database.url)
    with Session(engine) as session:
        lease = session.exec(select(Secret).where(col(Secret.name).startswith(LEASE_PREFIX))).one()
        session.exec(update(Secret).where(col(Secret.name) == lease.name).values(  # type: ignore[call-overload]
            updated_at=lease.updated_at - LEASE_TTL - timedelta(seconds=1)))
        session.commit()
    engine.dispose()
    rotated = run(["rotate-key", "--config", str(config_file)], tmp_path)
    assert rotated.returncode == 0, rotated.stderr


def test_a_running_bot_stops_using_a_rotated_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("C2P_PASSPHRASE", raising=False)
    config = load_config(_config(tmp_path), env={})
    engine = make_engine(config.database.url)
    upgrade(engine)
    from c2p_bot.core.clock import SystemClock

    now = SystemClock().now()
    keyring = open_keyring(config, engine, now, env={})
    told: list[str] = []
    lease = BotLease(engine, keyring, told.append)
    lease.start(thread=False)
    assert keyring.seal("k", "hello")  # in use
    # Another process rotates anyway (its lease check raced our start, or we hung past the TTL).
    old = keyring.kek
    rotate(engine, old, Kek.generate(), now, None)
    assert lease.beat() is False
    assert told and "rotated" in told[0] and "stops" in told[0]
    assert any("rotated" in r.getMessage() for r in caplog.records)
    with pytest.raises(KekError):
        keyring.seal("k2", "written under the old key")
    with pytest.raises(KekError):
        keyring.kek.wrap(b"private key", b"person:1")
    with Session(engine) as session:  # the lease is released
        assert not session.exec(select(Secret).where(col(Secret.name).startswith(LEASE_PREFIX))).all()
    engine.dispose()


def test_the_cli_rotation_still_works_without_a_bot(tmp_path: Path) -> None:
    config_file = _config(tmp_path)
    assert main(["migrate", "--config", str(config_file)]) == 0
    assert run(["rotate-key", "--config", str(config_file)], tmp_path).returncode == 0
