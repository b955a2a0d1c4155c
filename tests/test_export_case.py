"""`c2p-bot export-case`: an alert's case (alert, timeline, logbook, actions, outcome) sealed to an outside
organisation's public key; `c2p-bot decrypt` opens it with that organisation's key and refuses any other.
On SQLite and PostgreSQL, with the bot's real key file (the logbook is opened with it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine

from c2p_bot.app import build_runtime
from c2p_bot.cli import main
from c2p_bot.config import Config, parse_config
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.crypto import INTERACTIVE_PIN_PARAMS, encode_public_key, generate_keypair, write_private_key
from c2p_bot.core.keyring import open_keyring
from c2p_bot.core.throttle import Throttle
from c2p_bot.transports.memory import MemoryTransport
from storage.engine import make_engine
from tests.support import activity, people
from tests.support.transcript import Chat

SEALED = "[sealed only to readers who hold their own keys"


@pytest.fixture
def setup(db_url: str, tmp_path: Path) -> Iterator[tuple[Chat, Path]]:
    """A bot whose key-encryption key is a key file named in a config file the command line reads."""
    config_path = tmp_path / "bot.toml"
    config_path.write_text(f'[database]\nurl = "{db_url}"\n[crypto]\nkey_file = "{tmp_path / "bot.key"}"\n',
                           encoding="utf-8")
    config: Config = parse_config({"database": {"url": db_url}, "crypto": {"key_file": str(tmp_path / "bot.key")}},
                                  env={})
    engine, clock = make_engine(db_url), FakeClock()
    runtime = build_runtime(config, engine, clock, open_keyring(config, engine, clock.now(), env={}))
    runtime.core.services["pin_params"] = INTERACTIVE_PIN_PARAMS
    runtime.throttle = Throttle(rate=1e9, burst=10**9)
    transport = MemoryTransport()
    runtime.add_transport(transport)
    yield Chat(runtime, transport), config_path
    engine.dispose()


def keypair(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A private key file (as `c2p-bot keygen` writes it) and a file with its public key line."""
    pair = generate_keypair()
    private, public = tmp_path / f"{name}.key", tmp_path / f"{name}.pub"
    write_private_key(private, pair)
    public.write_text(f"/key {encode_public_key(pair.public)}\n", encoding="utf-8")
    return private, public


async def test_the_case_opens_with_the_organisations_key_only(setup: tuple[Chat, Path], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    chat, config = setup
    await activity.history(chat)
    org_private, org_public = keypair(tmp_path, "org")
    other_private, _other_public = keypair(tmp_path, "other")
    out = tmp_path / "case-1.txt"
    with time_machine.travel(chat.clock.now(), tick=False):
        code = main(["export-case", "1", "--to-key", str(org_public), "--out", str(out), "--config", str(config)])
    said = capsys.readouterr()
    assert code == 0, said.err
    assert "alert #1" in said.out and "c2p-bot decrypt" in said.out
    sealed = out.read_text(encoding="utf-8")
    assert "BEGIN C2P SEALED MESSAGE" in sealed
    assert activity.LOG not in sealed and "Amina" not in sealed  # nothing in clear

    assert main(["decrypt", "--key", str(org_private), str(out)]) == 0
    case = capsys.readouterr().out
    assert "Case file: alert #1 (missed check-in)" in case
    assert "Defender: Amina (country KE)" in case
    assert "Acknowledged: 2026-03-02 10:11 UTC by Paul" in case
    assert "Resolved: 2026-03-02 10:11 UTC by Amina" in case
    assert "Outcome: not recorded" in case
    timeline = case.split("Timeline:")[1].split("Logbook:")[0]
    assert "alert raised" in timeline and "Paul (lawyer) alerted (step 1)" in timeline
    assert "Paul: alert acknowledged" in timeline
    assert f"Paul (log): {activity.LOG}" in case.split("Logbook:")[1]
    assert "Partner actions:\nnone recorded" in case

    assert main(["decrypt", "--key", str(other_private), str(out)]) == 1
    refused = capsys.readouterr()
    assert "not the key in" in refused.err and activity.LOG not in refused.out + refused.err


async def test_entries_sealed_only_to_own_keys_are_marked_not_opened(setup: tuple[Chat, Path], tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    chat, config = setup
    await activity.history(chat)
    for user in ("paul", "cora"):  # both readers now hold their own keys: the bot can open no entry sealed to them
        _private, public = keypair(tmp_path, user)
        await chat.say(user, public.read_text(encoding="utf-8").strip())
        chat.expect(user, r"Your key is registered")
    await chat.say("paul", "/log 2 letter sent to the ministry")
    await people.coordinator(chat, "dora")  # a coordinator whose key the bot keeps reads what is written next
    await chat.say("cora", "/log 2 an answer came this morning")
    org_private, org_public = keypair(tmp_path, "org")
    out = tmp_path / "case-2.txt"
    assert main(["export-case", "2", "--to-key", str(org_public), "--out", str(out), "--config", str(config)]) == 0
    assert "2 of 3 logbook entries could not be opened" in capsys.readouterr().out
    assert main(["decrypt", "--key", str(org_private), str(out)]) == 0
    logbook = capsys.readouterr().out.split("Logbook:")[1]
    assert "Cora (log): an answer came this morning" in logbook
    assert f"Cora (resolve): {SEALED}" in logbook and f"Paul (log): {SEALED}" in logbook  # the resolve note, the letter
    assert "ministry" not in logbook and activity.RESOLVED not in logbook


async def test_a_wrong_alert_or_key_file_is_named(setup: tuple[Chat, Path], tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    chat, config = setup
    await activity.history(chat)
    org_private, org_public = keypair(tmp_path, "org")
    out = tmp_path / "case.txt"
    assert main(["export-case", "99", "--to-key", str(org_public), "--out", str(out), "--config", str(config)]) == 1
    assert "there is no alert #99" in capsys.readouterr().err
    assert main(["export-case", "1", "--to-key", str(org_private), "--out", str(out), "--config", str(config)]) == 1
    assert "private key" in capsys.readouterr().err
    assert main(["export-case", "1", "--to-key", str(tmp_path / "none.pub"), "--out", str(out),
                 "--config", str(config)]) == 1
    assert "none.pub" in capsys.readouterr().err
    assert not out.exists()
