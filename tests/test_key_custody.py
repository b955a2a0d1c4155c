"""Key-encryption key custody: refusing to start without it or with a wrong one; rotation."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from c2p_bot.app import build_runtime
from c2p_bot.cli import main
from c2p_bot.config import load_config
from c2p_bot.core.crypto import INTERACTIVE_PIN_PARAMS
from c2p_bot.core.crypto.pins import PinVerifiers
from c2p_bot.core.keyring import open_keyring
from c2p_bot.core.notes import read_note
from c2p_bot.core.plans import open_plan, proof_matches
from c2p_bot.core.throttle import Throttle
from c2p_bot.transports.memory import MemoryTransport
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import Note, OutboxMessage, Person, Plan
from tests.core.test_plans import write_plan
from tests.support.cli import run
from tests.support.people import trio
from tests.support.transcript import Chat


def test_no_key_file_for_existing_data_refuses_to_start(tmp_path: Path) -> None:
    code = run(["invite", "--role", "coordinator"], tmp_path).stdout.strip().splitlines()[-1]
    first = run(["run"], tmp_path, stdin=f"/start {code}\nCora\nUTC\n")
    assert first.returncode == 0 and "all set" in first.stdout
    keys = list((tmp_path / ".config" / "c2p-bot" / "keys").glob("*.key"))
    assert len(keys) == 1 and oct(keys[0].stat().st_mode)[-3:] == "600"
    keys[0].rename(tmp_path / "elsewhere.key")
    refused = run(["run"], tmp_path, stdin="/help\n")
    assert refused.returncode == 1
    assert "Key file" in refused.stderr and "not found" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1


def test_passphrase_mode_refuses_a_wrong_passphrase(tmp_path: Path) -> None:
    good = {"C2P_PASSPHRASE": "correct horse battery staple"}
    code = run(["invite", "--role", "coordinator"], tmp_path).stdout.strip().splitlines()[-1]
    assert run(["run"], tmp_path, stdin=f"/start {code}\nCora\nUTC\n", env=good).returncode == 0
    wrong = run(["run"], tmp_path, stdin="/help\n", env={"C2P_PASSPHRASE": "incorrect horse"})
    assert wrong.returncode == 1 and "wrong passphrase" in wrong.stderr
    missing = run(["run"], tmp_path, stdin="/help\n")
    assert missing.returncode == 1 and "set C2P_PASSPHRASE" in missing.stderr
    again = run(["run"], tmp_path, stdin="/help\n", env=good)
    assert again.returncode == 0


async def test_rotate_key_keeps_every_note_pin_and_queued_message_readable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("C2P_PASSPHRASE", raising=False)
    config_file = tmp_path / "bot.toml"
    key_file = tmp_path / "kek.key"
    config_file.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "c2p.db"}"\n'
                           f'[crypto]\nkey_file = "{key_file}"\n')
    config = load_config(config_file, env={})
    engine = make_engine(config.database.url)
    upgrade(engine)
    from c2p_bot.core.clock import FakeClock

    clock = FakeClock()
    runtime = build_runtime(config, engine, clock, open_keyring(config, engine, clock.now(), env={}))
    runtime.core.services["pin_params"] = INTERACTIVE_PIN_PARAMS
    runtime.throttle = Throttle(rate=1e9, burst=10**9)  # the plan's answers come fast
    transport = MemoryTransport()
    runtime.add_transport(transport)
    chat = Chat(runtime, transport)
    await trio(chat)
    await write_plan(chat)  # an emergency plan and its proof-of-life answer, kept under the key
    await chat.say("amina", "/checkin rotating note")
    await chat.say("amina", "/pin")
    await chat.say("amina", "2468")
    await chat.say("amina", "1357")
    transport.failures["cora"] = __import__("c2p_bot.core.events", fromlist=["DeliveryError"]).DeliveryError("down")
    await chat.say("cora", "/people")  # stays queued, its body wrapped under the old key
    old_key = key_file.read_text()
    assert main(["rotate-key", "--config", str(config_file)]) == 0
    assert key_file.read_text() != old_key and oct(key_file.stat().st_mode)[-3:] == "600"
    keyring = open_keyring(config, engine, clock.now(), env={})
    with Session(engine) as session:
        note = session.exec(select(Note)).one()
        paul = session.exec(select(Person).where(Person.alias == "Paul")).one()
        assert read_note(session, keyring, note, paul) == "rotating note"
        amina = session.exec(select(Person).where(Person.alias == "Amina")).one()
        assert amina.pin_hash and not amina.duress_hash  # one sealed value: which is duress does not show
        verifiers = PinVerifiers.decode(keyring.kek.unwrap(amina.pin_hash, f"pin:checkin:{amina.id}".encode()))
        assert verifiers.match("1357") == "duress" and verifiers.match("2468") == "checkin"
        plan = session.exec(select(Plan)).one()
        assert open_plan(keyring.kek, plan)["actions"][0] == "Call my lawyer Grace"
        assert proof_matches(keyring, plan, "the blue door") and not proof_matches(keyring, plan, "red door")
        queued = session.exec(select(OutboxMessage).where(OutboxMessage.delivered_at.is_(None))).first()  # type: ignore[union-attr]
        assert queued is not None and "People registered" in keyring.open(queued.idempotency_key, queued.body)
