"""``c2p-bot run --ask-passphrase``: the passphrase is typed at a terminal (or given to
systemd-ask-password), never read from a file or the environment, and asked twice when it is new."""

from __future__ import annotations

import contextlib
import io
import os
import pty
import re
import select
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from nacl.pwhash import argon2id
from sqlalchemy.engine import Engine
from sqlmodel import Session

from c2p_bot.config import Config, load_config
from c2p_bot.core.crypto import KdfParams
from c2p_bot.core.keyring import KDF_PARAMS
from c2p_bot.ops import OpsError
from c2p_bot.ops.passphrase import ask_passphrase, open_keyring_asking
from storage.engine import make_engine
from storage.migrate import upgrade
from storage.models import Secret
from tests.ops.support import cli, keyed_database, passphrase_database, write_config

PASSPHRASE = "violet lantern over the harbour"  # noqa: S105 - a test passphrase
ROOT = Path(__file__).resolve().parents[2]


class Terminal:
    """``python -m c2p_bot ARGS`` on a pseudo-terminal of its own (its controlling terminal)."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("C2P_")}
        env["XDG_CONFIG_HOME"] = str(cwd / ".config")
        env["PYTHONPATH"] = str(ROOT)
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: its terminal is the pty
            os.chdir(cwd)
            os.execve(sys.executable, [sys.executable, "-m", "c2p_bot", *args], env)
        self.seen = ""

    def expect(self, pattern: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.seen):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                raise AssertionError(f"no {pattern!r} in:\n{self.seen}")
            try:
                chunk = os.read(self.fd, 4096)
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"no {pattern!r} before the end:\n{self.seen}")
            self.seen += chunk.decode(errors="replace")
        return self.seen

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with_output = select.select([self.fd], [], [], 0.1)[0]
            if with_output:
                with contextlib.suppress(OSError):
                    self.seen += os.read(self.fd, 4096).decode(errors="replace")
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"still running:\n{self.seen}")


def _passphrase_mode(url: str) -> bool:
    engine = make_engine(url)
    with Session(engine) as session:
        found = session.get(Secret, KDF_PARAMS) is not None
    engine.dispose()
    return found


def _engine(config: Path) -> tuple[Config, Engine]:
    loaded = load_config(config, env={})
    return loaded, make_engine(loaded.database.url)


def test_the_passphrase_is_typed_at_the_terminal(tmp_path: Path) -> None:
    config = passphrase_database(tmp_path, PASSPHRASE)
    term = Terminal(["run", "--ask-passphrase", "--config", str(config)], tmp_path)
    term.expect(r"Passphrase for the key-encryption key: ")
    term.type(PASSPHRASE + "\n")
    term.expect(r"Become the first coordinator")  # the bot runs (console: no chat network configured)
    term.type("\x04")  # Ctrl-D: the console stops
    assert term.wait() == 0, term.seen
    assert PASSPHRASE not in term.seen  # never echoed


def test_a_new_database_asks_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = KdfParams.generate
    monkeypatch.setattr(KdfParams, "generate", classmethod(  # fast argon2: this tests the asking
        lambda cls: cheap(opslimit=argon2id.OPSLIMIT_MIN, memlimit=argon2id.MEMLIMIT_MIN)))
    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    loaded, engine = _engine(write_config(tmp_path / "bot.toml", {"database": {"url": url}}))
    upgrade(engine)
    asked: list[str] = []

    def typed(prompt: str) -> str:
        asked.append(prompt)
        return PASSPHRASE

    open_keyring_asking(loaded, engine, datetime.now(UTC), ask=typed)
    assert asked == ["Passphrase for the key-encryption key: ", "The same passphrase again: "]
    assert _passphrase_mode(url)
    assert "C2P_PASSPHRASE" not in os.environ
    asked.clear()
    open_keyring_asking(loaded, engine, datetime.now(UTC), ask=typed)
    assert asked == ["Passphrase for the key-encryption key: "]  # once it exists: once
    engine.dispose()


def test_a_wrong_passphrase(tmp_path: Path) -> None:
    loaded, engine = _engine(passphrase_database(tmp_path, PASSPHRASE))
    with pytest.raises(OpsError, match=r"^wrong passphrase: it does not open this database's data$"):
        open_keyring_asking(loaded, engine, datetime.now(UTC), ask=lambda prompt: "not it")
    engine.dispose()


def test_without_a_terminal_systemd_ask_password_is_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded, engine = _engine(passphrase_database(tmp_path, PASSPHRASE))
    tools = tmp_path / "bin"
    tools.mkdir()
    fake = tools / "systemd-ask-password"
    fake.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'asked'}\necho '{PASSPHRASE}'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal
    open_keyring_asking(loaded, engine, datetime.now(UTC))
    asked = (tmp_path / "asked").read_text().splitlines()
    assert asked == ["--id=c2p-bot --timeout=0 Passphrase for the key-encryption key:"]
    engine.dispose()


def test_what_cannot_be_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter(["first", "second"])
    with pytest.raises(OpsError, match=r"^the two passphrases differ: nothing was set up$"):
        ask_passphrase(new=True, ask=lambda prompt: next(answers))
    with pytest.raises(OpsError, match=r"^the passphrase is empty$"):
        ask_passphrase(new=False, ask=lambda prompt: "")
    assert ask_passphrase(new=False, ask=lambda prompt: PASSPHRASE) == PASSPHRASE
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(OpsError, match=r"^--ask-passphrase needs a terminal, or systemd-ask-password"):
        ask_passphrase(new=False)


def test_the_environment_and_a_key_file_database_are_refused(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'c2p.db'}"
    config = write_config(tmp_path / "bot.toml", {"database": {"url": url},
                                                   "crypto": {"key_file": str(tmp_path / "kek")}})
    monkeypatch.setenv("C2P_PASSPHRASE", PASSPHRASE)
    code, _out, err = cli("run", "--ask-passphrase", "--config", str(config))
    assert code == 1
    assert err.strip() == ("c2p-bot: error: --ask-passphrase and C2P_PASSPHRASE are both set: unset "
                           "C2P_PASSPHRASE (a passphrase in the environment is what --ask-passphrase avoids)")
    assert "C2P_PASSPHRASE" not in os.environ
    keyed_database(url, tmp_path / "kek").dispose()
    code, _out, err = cli("run", "--ask-passphrase", "--config", str(config))
    assert code == 1
    assert err.strip() == ("c2p-bot: error: --ask-passphrase: this database was set up with a key file, not "
                           "a passphrase; start it without --ask-passphrase")
