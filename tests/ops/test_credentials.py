"""Secrets as systemd credentials: ``LoadCredential=NAME:FILE`` puts each in
``$CREDENTIALS_DIRECTORY``, where the bot reads them (and the key-encryption key file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from c2p_bot.config import ConfigError, parse_config
from c2p_bot.core.clock import SystemClock
from c2p_bot.core.crypto import load_or_create_key_file
from c2p_bot.core.keyring import open_keyring
from storage.engine import make_engine
from storage.migrate import upgrade

TOKEN = "7000000001:AAFakeTelegramBotApiForTests_012345"


def _credential(folder: Path, name: str, text: str) -> Path:
    """A file as systemd leaves it there: readable by the service's user only."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    path.chmod(0o400)
    return path


def test_token_and_key_file_come_from_the_credentials_directory(tmp_path: Path) -> None:
    folder = tmp_path / "credentials"
    _credential(folder, "telegram-token", TOKEN + "\n")
    _credential(folder, "matrix-password", "correct horse\n")
    load_or_create_key_file(folder / "kek", create=True)
    (folder / "kek").chmod(0o400)
    raw = {"telegram": {"token": "from-the-file"}, "crypto": {"key_file": "/nowhere/kek"},
           "database": {"url": f"sqlite:///{tmp_path / 'c2p.db'}"}}
    config = parse_config(raw, env={"CREDENTIALS_DIRECTORY": str(folder)})
    assert config.telegram.token == TOKEN  # without the newline, over the config file's
    assert config.matrix.password == "correct horse"
    assert config.crypto.key_file == str(folder / "kek")
    engine = make_engine(config.database.url)
    upgrade(engine)
    keyring = open_keyring(config, engine, SystemClock().now(), env={})  # the key opens this database
    assert keyring.open("k", keyring.seal("k", "sealed")) == "sealed"
    engine.dispose()


def test_the_environment_wins_over_a_credential(tmp_path: Path) -> None:
    folder = tmp_path / "credentials"
    _credential(folder, "telegram-token", TOKEN)
    config = parse_config({}, env={"CREDENTIALS_DIRECTORY": str(folder), "C2P_TELEGRAM_TOKEN": "1:FROM_ENV"})
    assert config.telegram.token == "1:FROM_ENV"


def test_without_a_credentials_directory_nothing_changes(tmp_path: Path) -> None:
    _credential(tmp_path / "credentials", "telegram-token", TOKEN)
    assert parse_config({}, env={}).telegram.token is None
    assert parse_config({}, env={"CREDENTIALS_DIRECTORY": str(tmp_path / "none")}).crypto.key_file is None


def test_an_empty_credential_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "credentials"
    _credential(folder, "telegram-token", "\n")
    with pytest.raises(ConfigError, match=r"credential telegram-token is empty.*telegram\.token"):
        parse_config({}, env={"CREDENTIALS_DIRECTORY": str(folder)})
