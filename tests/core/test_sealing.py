"""Sealed notes, PINs and duress, own keys, tamper detection, retention."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from storage.models import Alert, Note, NoteCopy, Person
from tests.support import people
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import pins, trio
from tests.support.queries import alerts
from tests.support.transcript import Chat

CANARY_CHECKIN = "CANARY-checkin-7f3a9"
CANARY_PANIC = "CANARY-panic-b21c4"
CANARY_LOG = "CANARY-logbook-e88d0"


def _database_bytes(db_url: str, postgres: object | None) -> bytes:
    if db_url.startswith("sqlite:///"):
        base = Path(db_url.removeprefix("sqlite:///"))
        return b"".join(p.read_bytes() for p in (base, Path(f"{base}-wal"), Path(f"{base}-shm")) if p.exists())
    from tests.support.postgres import PostgresServer

    assert isinstance(postgres, PostgresServer)
    dump = subprocess.run([str(postgres.bindir / "pg_dump"), "--data-only", db_url.replace("+psycopg", "")],
                          capture_output=True, check=True)
    return dump.stdout


async def test_canaries_reach_recipients_but_never_the_database_or_logs(
        chat: Chat, db_url: str, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest) -> None:
    caplog.set_level(logging.DEBUG)
    await trio(chat)
    await chat.say("amina", f"/checkin {CANARY_CHECKIN} at the market")
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    chat.expect("paul", rf"ALERT #1.*Latest note .*{CANARY_CHECKIN}")
    await chat.say("paul", f"/log 1 {CANARY_LOG}")
    await chat.say("cora", "/log 1")
    chat.expect("cora", CANARY_LOG)
    await chat.say("amina", f"/panic {CANARY_PANIC}")
    chat.expect("cora", rf"PANIC ALERT #2.*{CANARY_PANIC}")
    await chat.say("amina", "/pin")
    await chat.say("amina", "482916")
    await chat.say("amina", "731045")
    postgres = request.getfixturevalue("postgres") if "postgres" in db_url else None
    chat.core.engine.dispose()
    data = _database_bytes(db_url, postgres)
    assert len(data) > 10_000
    for canary in (CANARY_CHECKIN, CANARY_PANIC, CANARY_LOG, "482916", "731045"):
        assert canary.encode() not in data, f"{canary} found in the database"
        assert canary not in caplog.text
    with Session(chat.core.engine) as session:
        assert session.exec(select(NoteCopy)).first() is not None


async def test_a_ciphertext_moved_to_another_row_fails_to_open_and_is_reported(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/checkin first note")
    chat.clock.advance(HOUR)
    await chat.say("amina", "/checkin second note")
    with Session(chat.core.engine) as session:
        paul = session.exec(select(Person).where(Person.alias == "Paul")).one()
        paul_id = paul.id
        first, second = session.exec(select(NoteCopy).where(NoteCopy.reader_id == paul_id).order_by(NoteCopy.id)).all()
        second.ciphertext = first.ciphertext  # swap rows
        session.add(second)
        session.commit()
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    message = chat.expect("paul", r"ALERT #1")
    assert "integrity check" in message.text and "first note" not in message.text
    await chat.say("paul", "/log 1 entry")
    with Session(chat.core.engine) as session:
        copy = session.exec(select(NoteCopy).where(NoteCopy.reader_id == paul_id)
                            .join(Note).where(Note.kind == "log")).one()
        other = session.exec(select(NoteCopy).where(NoteCopy.reader_id != paul_id)
                             .join(Note).where(Note.kind == "log")).one()
        copy.ciphertext = other.ciphertext  # another person's copy
        session.add(copy)
        session.commit()
    await chat.say("paul", "/log 1")
    chat.expect("paul", r"Added to the logbook of alert #1\.")
    chat.expect("paul", r"failed its integrity check")


async def test_duress_checkin_looks_exactly_like_a_normal_one(chat: Chat) -> None:
    """Two HRDs on identical schedules at the same moment: one checks in, the other is coerced."""
    await trio(chat)
    await people.hrd(chat, "bibi", alias="Bibi")
    await chat.say("cora", "/match Bibi Paul")
    await chat.press("paul", "Accept")
    chat.expect("bibi", r"You are now matched with Paul")
    await pins(chat, "amina")
    await pins(chat, "bibi")
    chat.skip("paul")
    chat.skip("cora")
    chat.transport.deleted.clear()
    await chat.say("amina", "/checkin 2468 all good")
    await chat.say("bibi", "/checkin 1357 all good")
    normal, duress = chat.unread("amina"), chat.unread("bibi")
    assert [(m.text.encode(), m.buttons) for m in duress] == [(m.text.encode(), m.buttons) for m in normal]
    assert len(normal) == 1
    assert [chat_id for chat_id, _ in chat.transport.deleted] == ["amina", "bibi"]  # PIN messages deleted
    (alert,) = [a for a in alerts(chat) if a.kind == "duress"]
    chat.expect("paul", rf"DURESS ALERT #{alert.id}: Bibi checked in with their duress PIN.*all good")
    chat.expect("cora", rf"DURESS ALERT #{alert.id}")
    await chat.say("bibi", "/status")
    assert "duress" not in chat.expect("bibi", r"Next check-in").text


async def test_pin_is_required_and_wrong_pins_raise_an_alert(chat: Chat) -> None:
    await trio(chat)
    await pins(chat)
    await chat.say("amina", "/checkin")
    chat.expect("amina", r"need your PIN")
    for _ in range(2):
        await chat.say("amina", "/checkin 0000")
        chat.expect("amina", r"PIN is not right")
    assert alerts(chat) == []
    await chat.say("amina", "/checkin 9999")
    (alert,) = alerts(chat)
    assert alert.kind == "wrong_pin"
    chat.expect("paul", r"repeated wrong PINs on Amina's check-ins")


async def test_changing_pins_needs_the_current_one(chat: Chat) -> None:
    await trio(chat)
    await pins(chat)
    await chat.say("amina", "/pin")
    chat.expect("amina", r"current check-in PIN")
    await chat.say("amina", "1357")  # the duress PIN: plays along, raises the alarm
    chat.expect("amina", r"Choose a new check-in PIN")
    assert [a.kind for a in alerts(chat)] == ["duress"]


async def test_own_key_round_trip_keygen_key_escalation_decrypt(chat: Chat, tmp_path: Path) -> None:
    await trio(chat)
    keyfile = tmp_path / "paul.key"
    made = subprocess.run([sys.executable, "-m", "c2p_bot", "keygen", "--out", str(keyfile)],
                          capture_output=True, text=True, check=True)
    public_line = made.stdout.strip().splitlines()[-1]
    assert public_line.startswith("/key c2p-pk1:") and oct(keyfile.stat().st_mode)[-3:] == "600"
    await chat.say("paul", "/key not-a-key")
    chat.expect("paul", r"not a public key")
    await chat.say("paul", public_line)
    chat.expect("paul", r"Your key is registered")
    await chat.say("amina", "/checkin hiding at the cousin's place")
    chat.clock.advance(DAY + HOUR + MINUTE)
    await chat.tick()
    alert = chat.expect("paul", r"ALERT #1.*BEGIN C2P SEALED MESSAGE")
    assert "cousin" not in alert.text
    opened = subprocess.run([sys.executable, "-m", "c2p_bot", "decrypt", "--key", str(keyfile)],
                            input=alert.text, capture_output=True, text=True)
    assert opened.returncode == 0, opened.stderr
    header, plaintext = opened.stdout.strip().split("\n", 1)
    assert header.startswith("Sealed note #") and plaintext == "hiding at the cousin's place"
    chat.clock.advance(16 * MINUTE)
    await chat.tick()
    chat.expect("cora", r"hiding at the cousin's place")  # custodial readers still see it


async def test_retention_deletes_old_notes_and_closed_alerts(chat: Chat) -> None:
    await trio(chat)
    await chat.say("amina", "/checkin old note")
    await chat.say("amina", "/panic test")
    await chat.say("cora", "/resolve 1 drill")
    chat.clock.advance(DAY * 91)
    await chat.say("amina", "/checkin new note")
    await chat.tick()
    with Session(chat.core.engine) as session:
        assert session.exec(select(Alert)).all() == [] or all(a.id != 1 for a in session.exec(select(Alert)))
        kinds = [n.kind for n in session.exec(select(Note)).all()]
    assert kinds == ["checkin"]
