"""``--ask-passphrase``: the key-encryption passphrase typed by a person, never stored.

At a terminal it is read with :func:`getpass.getpass` (no echo); without one — a service started
by systemd — ``systemd-ask-password`` asks for it (on the console, or ``systemd-tty-ask-password-agent``
on another terminal). It is handed to :func:`c2p_bot.core.keyring.open_keyring` directly: it never
goes into the environment, a file or a command line. A new database asks twice, since a mistyped
first passphrase would lock the data for good.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from c2p_bot.core.crypto import KekError
from c2p_bot.core.keyring import KDF_PARAMS, PASSPHRASE_ENV, VERIFIER, Keyring, open_keyring
from c2p_bot.core.settings import CoreSettings
from c2p_bot.ops import OpsError
from storage.models import Secret

PROMPT = "Passphrase for the key-encryption key: "
AGAIN = "The same passphrase again: "
SYSTEMD_ID = "c2p-bot"
ASK_TIMEOUT = "0"  # systemd-ask-password waits until answered (the unit's start timeout still applies)

Ask = Callable[[str], str]


def _systemd_ask_password(prompt: str) -> str:
    tool = shutil.which("systemd-ask-password")
    if tool is None:
        raise OpsError("--ask-passphrase needs a terminal, or systemd-ask-password (systemd) when there is none")
    result = subprocess.run([tool, f"--id={SYSTEMD_ID}", f"--timeout={ASK_TIMEOUT}", prompt.strip()],  # noqa: S603
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, check=False)
    if result.returncode != 0:
        raise OpsError("systemd-ask-password did not give a passphrase")
    return result.stdout.decode("utf-8").rstrip("\n")


def _default_ask() -> Ask:
    if sys.stdin is not None and sys.stdin.isatty():
        return getpass.getpass
    if shutil.which("systemd-ask-password") is None:
        raise OpsError("--ask-passphrase needs a terminal, or systemd-ask-password (systemd) when there is none")
    return _systemd_ask_password


def ask_passphrase(new: bool, ask: Ask | None = None) -> str:
    """The passphrase, asked once (twice for a ``new`` database, both the same)."""
    ask = ask or _default_ask()
    passphrase = ask(PROMPT)
    if not passphrase:
        raise OpsError("the passphrase is empty")
    if new and ask(AGAIN) != passphrase:
        raise OpsError("the two passphrases differ: nothing was set up")
    return passphrase


def passphrase_env(engine: Engine, ask: Ask | None = None) -> dict[str, str]:
    """``{C2P_PASSPHRASE: typed}`` for :func:`open_keyring`'s ``env`` (never ``os.environ``)."""
    if os.environ.pop(PASSPHRASE_ENV, None) is not None:
        raise OpsError(f"--ask-passphrase and {PASSPHRASE_ENV} are both set: unset {PASSPHRASE_ENV} "
                       "(a passphrase in the environment is what --ask-passphrase avoids)")
    with Session(engine) as session:
        has_params = session.get(Secret, KDF_PARAMS) is not None
        has_verifier = session.get(Secret, VERIFIER) is not None
    if has_verifier and not has_params:
        raise OpsError("--ask-passphrase: this database was set up with a key file, not a passphrase; "
                       "start it without --ask-passphrase")
    return {PASSPHRASE_ENV: ask_passphrase(new=not has_params, ask=ask)}


def open_keyring_asking(config: CoreSettings, engine: Engine, now: datetime, ask: Ask | None = None) -> Keyring:
    """:func:`open_keyring` with a passphrase typed now."""
    try:
        return open_keyring(config, engine, now, env=passphrase_env(engine, ask))
    except KekError as error:
        if error.code == "wrong_key":
            raise OpsError("wrong passphrase: it does not open this database's data") from None
        raise OpsError(str(error)) from None
