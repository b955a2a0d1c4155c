"""``c2p-bot backup`` and ``restore``: an encrypted, consistent snapshot that a restored bot, with
the same key-encryption key, carries on from — on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, func, select

from c2p_bot.config import Config, load_config
from c2p_bot.core.clock import FakeClock
from c2p_bot.core.crypto import (
    Kek,
    encode_public_key,
    generate_keypair,
    load_or_create_key_file,
    read_private_key,
    write_private_key,
)
from c2p_bot.core.keyring import open_keyring
from c2p_bot.core.notes import key_mark
from c2p_bot.ops.backup import read_backup
from storage.engine import make_engine
from storage.models import Person
from tests.ops.support import HEAD, cli, write_config
from tests.support.durations import DAY, HOUR, MINUTE
from tests.support.people import trio
from tests.support.transcript import memory_chat

CANARY = "CANARY-note-4d1f9a safe house on Rue Ndiaye"


@pytest.fixture
def backup_key(tmp_path: Path) -> Path:
    """The backup key pair, made as an operator would: c2p-bot keygen (on another machine)."""
    code, out, _err = cli("keygen", "--out", str(tmp_path / "backup.key"))
    assert code == 0
    return tmp_path / "backup.key"


def config_for(path: Path, url: str, backup_key: Path | None = None) -> Path:
    sections: dict[str, dict[str, str]] = {"database": {"url": url}}
    if backup_key is not None:
        public = encode_public_key(read_private_key(backup_key).public)
        sections["backup"] = {"public_key": public}
    return write_config(path, sections)


async def test_a_restored_bot_raises_the_alert_that_was_due(db_url: str, second_url: str, tmp_path: Path,
                                                            config: Config, clock: FakeClock,
                                                            backup_key: Path) -> None:
    kek = Kek.generate()  # the key-encryption key: kept apart from the backups
    source = make_engine(db_url)
    chat = memory_chat(source, config, clock, kek=kek)
    await trio(chat)
    chat.clock.advance(HOUR)
    await chat.say("amina", f"/checkin {CANARY}")
    chat.expect("amina", r"Checked in")  # next check-in due in a day

    out = tmp_path / "c2p.backup"
    code, said, err = cli("backup", "--out", str(out), "--config", str(config_for(tmp_path / "a.toml", db_url,
                                                                                   backup_key)))
    assert code == 0, err
    kind = "SQLite" if db_url.startswith("sqlite") else "PostgreSQL"
    assert said.startswith(f"Backed up the {kind} database (schema {HEAD}, 3 people) to {out}")
    assert "does not contain the key-encryption key" in said
    assert os.stat(out).st_mode & 0o077 == 0

    data = out.read_bytes()
    assert CANARY.encode() not in data and b"Amina" not in data
    if db_url.startswith("sqlite"):
        database = Path(db_url.removeprefix("sqlite:///"))
        in_clear = database.read_bytes() + Path(f"{database}-wal").read_bytes()
        assert b"Amina" in in_clear  # the database holds it in clear (the write-ahead log, so far)

    code, said, err = cli("restore", str(out), "--key", str(backup_key),
                          "--config", str(config_for(tmp_path / "b.toml", second_url)))
    assert code == 0, err
    assert re.match(rf"Restored the {kind} backup taken \d{{4}}-\d\d-\d\d \d\d:\d\d UTC \(schema {HEAD}, 3 people\)",
                    said), said
    assert "same key-encryption key" in said

    restored = make_engine(second_url)
    later = memory_chat(restored, config, FakeClock(clock.now()), kek=kek)
    later.clock.advance(DAY + HOUR + MINUTE)  # the check-in due in the backup is missed
    await later.tick()
    later.expect("paul", rf"ALERT #1: Amina missed a check-in due .*Latest note \(.*\): {CANARY}")
    with pytest.raises(DBAPIError), restored.begin() as connection:  # the audit log is append-only still
        connection.execute(text("UPDATE audit_log SET action = 'x'"))
    source.dispose()
    restored.dispose()


def test_the_backup_holds_the_database_and_never_the_key(tmp_path: Path, backup_key: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    key_file = tmp_path / "kek"
    config = config_for(tmp_path / "bot.toml", url, backup_key)
    config.write_text(config.read_text() + f'[crypto]\nkey_file = "{key_file}"\n')
    code, _out, err = cli("invite", "--role", "coordinator", "--config", str(config))
    assert code == 0, err
    open_keyring(load_config(config), make_engine(url), datetime.now(UTC), env={})  # a first run
    kek_text = key_file.read_text().strip()
    raw = load_or_create_key_file(key_file, create=False)._key

    code, _out, err = cli("backup", "--out", str(tmp_path / "x.backup"), "--config", str(config))
    assert code == 0, err
    header, payload = read_backup(tmp_path / "x.backup", read_private_key(backup_key))
    assert header.database == "sqlite" and header.schema == HEAD
    assert payload.startswith(b"SQLite format 3\x00")
    assert raw not in payload and kek_text.encode() not in payload
    assert kek_text.split(":")[1].encode() not in (tmp_path / "x.backup").read_bytes()


def test_restoring_with_the_wrong_key_is_one_line(tmp_path: Path, backup_key: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    assert cli("migrate", "--config", str(config_for(tmp_path / "a.toml", url)))[0] == 0
    assert cli("backup", "--out", str(tmp_path / "x.backup"),
               "--config", str(config_for(tmp_path / "a.toml", url, backup_key)))[0] == 0
    other = tmp_path / "other.key"
    write_private_key(other, generate_keypair())
    target = f"sqlite:///{tmp_path / 'new.db'}"
    code, out, err = cli("restore", str(tmp_path / "x.backup"), "--key", str(other),
                         "--config", str(config_for(tmp_path / "b.toml", target)))
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        f"c2p-bot: error: {tmp_path / 'x.backup'} is sealed to the backup key "
        f"{_mark(backup_key)}, not to the key in {other} ({_mark(other)}): use the private key "
        "that matches [backup] public_key"]
    assert _people(target) is None  # nothing restored


def test_a_damaged_backup_is_refused_before_anything_is_restored(tmp_path: Path, backup_key: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    assert cli("migrate", "--config", str(config_for(tmp_path / "a.toml", url)))[0] == 0
    backup = tmp_path / "x.backup"
    config = config_for(tmp_path / "a.toml", url, backup_key)
    assert cli("backup", "--out", str(backup), "--config", str(config))[0] == 0
    backup.write_bytes(backup.read_bytes()[:-40])  # cut short
    target = f"sqlite:///{tmp_path / 'new.db'}"
    code, _out, err = cli("restore", str(backup), "--key", str(backup_key),
                          "--config", str(config_for(tmp_path / "b.toml", target)))
    assert code == 1
    assert err.strip().splitlines() == [
        f"c2p-bot: error: {backup} is damaged or incomplete (it ends too early): nothing was restored"]
    assert _people(target) is None


def test_restore_refuses_a_database_that_is_not_empty(tmp_path: Path, backup_key: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    config = config_for(tmp_path / "a.toml", url, backup_key)
    assert cli("invite", "--role", "coordinator", "--config", str(config))[0] == 0
    assert cli("backup", "--out", str(tmp_path / "x.backup"), "--config", str(config))[0] == 0
    code, _out, err = cli("restore", str(tmp_path / "x.backup"), "--key", str(backup_key), "--config", str(config))
    assert code == 1
    assert err.strip().splitlines() == [
        "c2p-bot: error: the database is not empty (table invite has rows): restore into a new, empty "
        "database"]


def test_backup_needs_a_backup_key_and_a_new_file(tmp_path: Path, backup_key: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    code, _out, err = cli("backup", "--out", str(tmp_path / "x.backup"),
                          "--config", str(config_for(tmp_path / "a.toml", url)))
    assert code == 1
    assert err.strip().splitlines() == [
        "c2p-bot: error: set [backup] public_key first: the public key printed by c2p-bot keygen on the "
        "machine that keeps the backup key"]
    (tmp_path / "x.backup").write_text("precious")
    code, _out, err = cli("backup", "--out", str(tmp_path / "x.backup"),
                          "--config", str(config_for(tmp_path / "a.toml", url, backup_key)))
    assert code == 1
    assert err.strip() == f"c2p-bot: error: {tmp_path / 'x.backup'} exists: choose a new file name"
    assert (tmp_path / "x.backup").read_text() == "precious"
    code, _out, err = cli("backup", "--out", str(tmp_path / "nowhere" / "x.backup"),
                          "--config", str(config_for(tmp_path / "a.toml", url, backup_key)))
    assert code == 1
    assert err.strip() == (f"c2p-bot: error: cannot write {tmp_path / 'nowhere' / 'x.backup'}: the folder "
                           f"{tmp_path / 'nowhere'} does not exist")


def _mark(key_file: Path) -> str:
    return key_mark(read_private_key(key_file).public)


def _people(url: str) -> int | None:
    """How many people the database holds; None when it has no schema."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return int(session.exec(select(func.count()).select_from(Person)).one())
    except Exception:
        return None
    finally:
        engine.dispose()


def test_unpacking_a_forged_payload_never_holds_more_than_a_chunk() -> None:
    import zlib

    from c2p_bot.core.crypto.sealedstream import CHUNK
    from c2p_bot.ops.backup import _unpacked

    bomb = zlib.compress(bytes(64 * 1024 * 1024), 9)  # 64 MiB of zeros in about 64 KiB
    sizes = [len(piece) for piece in _unpacked([bomb], "sqlite")]
    assert sum(sizes) == 64 * 1024 * 1024
    assert max(sizes) <= CHUNK
