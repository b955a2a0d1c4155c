"""L — secrets at rest and in the environment: key-file folders 0700, the passphrase not left behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from c2p_bot.config import parse_config
from c2p_bot.core.crypto import load_or_create_key_file
from c2p_bot.core.keyring import open_keyring
from storage.engine import make_engine
from storage.migrate import upgrade

PASSPHRASE = "correct horse battery staple CANARY-71c0"


@pytest.fixture
def loose_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_folder_made_for_a_key_file_is_private(tmp_path: Path, loose_umask: None) -> None:
    tmp_path.chmod(0o755)
    target = tmp_path / "config" / "c2p-bot" / "keys" / "db.key"
    load_or_create_key_file(target, create=True)
    assert _mode(target) == 0o600
    for folder in (target.parent, target.parent.parent, target.parent.parent.parent):
        assert _mode(folder) == 0o700, folder
    assert _mode(tmp_path) == 0o755  # it existed: left alone


def test_the_passphrase_is_removed_from_the_environment_once_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    engine = make_engine(url)
    upgrade(engine)
    config = parse_config({"database": {"url": url}}, env={})
    monkeypatch.setenv("C2P_PASSPHRASE", PASSPHRASE)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    first = open_keyring(config, engine, now)
    assert "C2P_PASSPHRASE" not in os.environ
    child = subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('C2P_PASSPHRASE'))"],
                           capture_output=True, text=True, check=True)
    assert PASSPHRASE not in child.stdout
    # The same passphrase opens it again (given explicitly, the caller's mapping is left alone).
    given = {"C2P_PASSPHRASE": PASSPHRASE}
    again = open_keyring(config, engine, now, env=given)
    assert given == {"C2P_PASSPHRASE": PASSPHRASE}
    assert again.kek.verify(first.kek.make_verifier())
    engine.dispose()
