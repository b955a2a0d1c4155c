"""The key-encryption key in use, and everything kept at rest under it.

* transport secrets (Matrix store pickle key, cross-signing seeds, ...) in the ``secret`` table;
* outbox bodies (a queued message may carry a note): wrapped until delivered, then erased;
* people's private keys (see :mod:`c2p_bot.core.notes`).

The KEK comes from ``C2P_PASSPHRASE`` (argon2id, parameters stored in the database) or from
``[crypto] key_file``. A verifier in the database tells a wrong key from a right one. The
passphrase is removed from the process environment as soon as it is read (see
:func:`take_env_secret`), so child processes and later readers of ``os.environ`` never see it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from datetime import datetime
from functools import partial
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from c2p_bot.core.crypto import (
    KdfParams,
    Kek,
    KekError,
    kek_from_passphrase,
    load_or_create_key_file,
    open_secret,
    random_secret,
    seal_secret,
)
from c2p_bot.core.integrity import install
from c2p_bot.core.outbox import Outbox
from c2p_bot.core.refusals import tell_coordinators
from c2p_bot.core.settings import CoreSettings
from storage.models import Person, Secret

PASSPHRASE_ENV = "C2P_PASSPHRASE"  # noqa: S105 - the variable's name, not a secret
VERIFIER = "kek-verifier"
KDF_PARAMS = "kek-kdf-params"
LEASE_PREFIX = "bot-lease:"  # a running bot's lease (c2p_bot.rotation): plain JSON, not a secret
INTEGRITY_SEALED = "integrity-sealed"  # = c2p_bot.core.integrity.SEALED
INTERNAL_NAMES = frozenset({VERIFIER, KDF_PARAMS, INTEGRITY_SEALED})
_INTERNAL = INTERNAL_NAMES


def default_key_file(database_url: str) -> Path:
    """A key file per database, outside the database's folder: ``~/.config/c2p-bot/keys/``."""
    digest = hashlib.sha256(_absolute_url(database_url).encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "c2p-bot" / "keys" / f"{digest}.key"


def _absolute_url(url: str) -> str:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        return "sqlite:///" + str(Path(url.removeprefix("sqlite:///")).resolve())
    return url


class Keyring:
    """Secrets at rest under one KEK; also the outbox's body protector."""

    def __init__(self, engine: Engine, kek: Kek, now: datetime | None = None) -> None:
        self.engine = engine
        self.kek: Kek = kek
        self.retired: str | None = None
        self.integrity = install(engine, kek)  # row MACs keyed from this KEK
        self.integrity.tell = partial(tell_coordinators, Outbox(self))

    def retire(self, reason: str) -> None:
        """The key was rotated under this process: refuse every wrap and unwrap from now on."""
        self.retired = reason
        self.kek = _RetiredKek(reason)  # type: ignore[assignment]

    # -- outbox bodies (BodyProtector) ---------------------------------------------------

    def seal(self, key: str, text: str) -> bytes:
        return self.kek.wrap(text.encode("utf-8"), b"outbox:" + key.encode())

    def open(self, key: str, body: bytes) -> str:
        if not body:
            return ""
        return self.kek.unwrap(body, b"outbox:" + key.encode()).decode("utf-8")

    # -- named secrets ------------------------------------------------------------------

    def get_secret(self, name: str) -> bytes | None:
        with Session(self.engine) as session:
            row = session.get(Secret, name)
            return open_secret(self.kek, name, row.blob) if row else None

    def put_secret(self, name: str, value: bytes, now: datetime) -> None:
        if name in _INTERNAL:
            raise ValueError(f"{name} is reserved")
        with Session(self.engine) as session:
            row = session.get(Secret, name) or Secret(name=name, blob=b"", updated_at=now)
            row.blob, row.updated_at = seal_secret(self.kek, name, value), now
            session.add(row)
            session.commit()

    def secret(self, name: str, now: datetime, size: int = 32) -> bytes:
        """The named secret, created at random on first use."""
        value = self.get_secret(name)
        if value is None:
            value = random_secret(size)
            self.put_secret(name, value, now)
        return value


class _RetiredKek:
    """Stands in for a KEK that was rotated away: nothing is written under it any more."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def _refuse(self, *args: object) -> bytes:
        raise KekError(self.reason, code="rotated")

    wrap = unwrap = make_verifier = _refuse

    def verify(self, verifier: bytes) -> bool:
        return False


def take_env_secret(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """A secret from the environment, removed from it once read (``env`` given: only read it).

    ``os.environ.pop`` also unsets the variable for child processes; the copy the kernel keeps of
    the initial environment (``/proc/PID/environ``, readable by the same user and root) stays.
    """
    if env is not None:
        return env.get(name)
    return os.environ.pop(name, None)


def _has_data(session: Session) -> bool:
    return session.exec(select(Person.id)).first() is not None


def open_keyring(config: CoreSettings, engine: Engine, now: datetime, env: dict[str, str] | None = None) -> Keyring:
    """Load the KEK (passphrase or key file) and check it against the database's verifier.

    With ``env`` None the passphrase comes from the process environment and is removed from it.
    Raises :class:`KekError` with an operator-facing message when it is missing or wrong.
    """
    passphrase = take_env_secret(PASSPHRASE_ENV, env)
    with Session(engine) as session:
        verifier = session.get(Secret, VERIFIER)
        if passphrase:
            stored = session.get(Secret, KDF_PARAMS)
            params = KdfParams.from_dict(json.loads(stored.blob)) if stored else None
            if params is None and verifier is not None:
                raise KekError("C2P_PASSPHRASE is set, but this database was set up with a key file; "
                               "unset C2P_PASSPHRASE and configure [crypto] key_file",
                               code="mode_mismatch")
            kek, params = kek_from_passphrase(passphrase, params)
            if stored is None:
                session.add(Secret(name=KDF_PARAMS, blob=json.dumps(params.to_dict()).encode(),
                                   updated_at=now))
        else:
            if session.get(Secret, KDF_PARAMS) is not None:
                raise KekError("this database is protected by a passphrase: set C2P_PASSPHRASE",
                               code="passphrase_missing")
            path = Path(config.crypto.key_file) if config.crypto.key_file else default_key_file(
                config.database.url)
            fresh = verifier is None and not _has_data(session)
            kek = load_or_create_key_file(path, create=fresh)
        if verifier is None:
            session.add(Secret(name=VERIFIER, blob=kek.make_verifier(), updated_at=now))
        elif not kek.verify(verifier.blob):
            what = "passphrase (C2P_PASSPHRASE)" if passphrase else "key file"
            raise KekError(f"wrong {what}: it does not open this database's data", code="wrong_key")
        session.commit()
    return Keyring(engine, kek)
