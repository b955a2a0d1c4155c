"""``c2p-bot check``: is this installation ready to run? One line per check.

``ok``, ``FAIL`` (the exit code is 1 when any check fails) or ``--`` (not checked: not enabled, or
what it needs failed first). Reads only: it migrates nothing, creates no key file, logs in nowhere
(the Matrix login stored by the bot is checked with whoami). Never prints a secret: tokens,
passwords and keys appear nowhere in its lines, and URLs only with the password masked.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select

from c2p_bot.config import Config, ConfigError, load_config
from c2p_bot.core.crypto import KdfParams, Kek, KekError, kek_from_passphrase, load_or_create_key_file, open_secret
from c2p_bot.core.keyring import KDF_PARAMS, PASSPHRASE_ENV, VERIFIER, default_key_file, take_env_secret
from c2p_bot.core.notes import key_mark
from c2p_bot.ops import OpsError
from c2p_bot.ops.backup import KINDS
from c2p_bot.ops.passphrase import Ask, ask_passphrase
from storage.engine import StorageError, make_engine, normalise_url
from storage.migrate import current_revision, head_revision, known_revisions
from storage.models import Person, Secret

TIMEOUT = 10.0  # seconds for each network check


@dataclass
class Line:
    status: str  # "ok", "FAIL" or "--"
    name: str
    text: str

    def __str__(self) -> str:
        return f"{self.status:<4} {self.name}: {self.text}"


def run_checks(config_file: str | None, ask: bool = False, asker: Ask | None = None,
               say: Callable[[str], None] = print) -> int:
    """Run every check, printing each line as it is known; 0 when none failed."""
    lines: list[Line] = []

    def report(status: str, name: str, text: str) -> None:
        lines.append(Line(status, name, text))
        say(str(lines[-1]))

    try:
        config = load_config(config_file)
    except ConfigError as error:
        report("FAIL", "config", str(error))
        return 1
    report("ok", "config", config_file or "none (the defaults)")
    fresh = _new_sqlite(config.database.url)
    if fresh is not None:
        report("ok", "database", f"SQLite, no database yet (the first c2p-bot run creates {fresh} with schema "
                                 f"{head_revision()})")
        engine = None
    else:
        engine = _check_database(config, report)
    if engine is not None or fresh is not None:
        kek = _check_key(config, engine, report, asker if ask else None, ask)
    else:
        kek = None
        report("--", "key", "not checked (no database)")
    report(*_telegram(config))
    report(*_matrix(config, engine, kek))
    report(*_email(config))
    if config.backup.public is not None:
        report("ok", "backup", f"backups are sealed to the backup key {key_mark(config.backup.public)}")
    else:
        report("--", "backup", "no [backup] public_key: c2p-bot backup needs one")
    if engine is not None:
        engine.dispose()
    return 1 if any(line.status == "FAIL" for line in lines) else 0


def _new_sqlite(url: str) -> Path | None:
    """The path of a SQLite database that does not exist yet (a check must not create it)."""
    try:
        parsed = make_url(normalise_url(url))
    except Exception:  # noqa: BLE001 - make_engine reports a bad URL
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    path = Path(parsed.database).expanduser()
    return None if path.exists() else path


def _check_database(config: Config, report: Callable[[str, str, str], None]) -> Engine | None:
    try:
        engine = make_engine(config.database.url)
    except StorageError as error:
        report("FAIL", "database", str(error).removeprefix("database.url: "))
        return None
    kind = KINDS.get(engine.dialect.name, engine.dialect.name)
    try:
        current = current_revision(engine)
    except Exception as error:  # e.g. the connection dropped; one line, never a traceback
        report("FAIL", "database", f"{kind}, cannot read the schema version ({type(error).__name__})")
        return None
    head = head_revision()
    if current is None:
        report("ok", "database", f"{kind}, no schema yet (c2p-bot migrate or run creates {head})")
    elif current == head:
        report("ok", "database", f"{kind}, schema {current} (current)")
    elif current in known_revisions():
        report("ok", "database", f"{kind}, schema {current} (c2p-bot migrate or run upgrades it to {head})")
    else:
        report("FAIL", "database", f"{kind}, schema {current}, which this c2p-bot does not know (it knows up "
                                   f"to {head}): install the version that wrote it")
    return engine


def _check_key(config: Config, engine: Engine | None, report: Callable[[str, str, str], None],
               asker: Ask | None, ask: bool) -> Kek | None:
    """Does the key (key file, or passphrase) open the database's verifier? Creates nothing."""
    verifier = stored = None
    has_data = False
    if engine is not None:
        try:
            with Session(engine) as session:
                verifier = session.get(Secret, VERIFIER)
                stored = session.get(Secret, KDF_PARAMS)
                has_data = verifier is not None or session.exec(select(Person.id).limit(1)).first() is not None
        except Exception:  # noqa: BLE001 - no schema yet
            verifier = stored = None
    passphrase = take_env_secret(PASSPHRASE_ENV)
    try:
        if stored is not None or passphrase or ask:
            if stored is None and verifier is not None:
                raise KekError("a passphrase was given, but this database was set up with a key file")
            if stored is None:
                report("ok", "key", "no data yet; the first c2p-bot run sets up the passphrase")
                return None
            if not passphrase and ask:
                passphrase = ask_passphrase(new=False, ask=asker)
            if not passphrase:
                raise KekError("this database is protected by a passphrase: set C2P_PASSPHRASE or use "
                               "--ask-passphrase")
            kek, _params = kek_from_passphrase(passphrase, KdfParams.from_dict(json.loads(stored.blob)))
            what, wrong = "the passphrase", "wrong passphrase"
        else:
            path = Path(config.crypto.key_file or default_key_file(config.database.url))
            if not path.exists() and not has_data:
                report("ok", "key", f"no data yet; the first c2p-bot run creates the key file {path}")
                return None
            kek = load_or_create_key_file(path, create=False)
            what, wrong = f"the key file {path}", f"wrong key file {path}"
    except (KekError, OpsError) as error:
        report("FAIL", "key", str(error))
        return None
    if verifier is None:
        report("ok", "key", f"{what} is readable (no data yet)")
    elif kek.verify(verifier.blob):
        report("ok", "key", f"{what} opens this database's data")
    else:
        report("FAIL", "key", f"{wrong}: it does not open this database's data")
        return None
    return kek


def _telegram(config: Config) -> tuple[str, str, str]:
    if not config.telegram.enabled:
        return "--", "telegram", "not enabled"
    from c2p_bot.ops.check_transports import check_telegram

    return asyncio.run(check_telegram(config.telegram, TIMEOUT))


def _email(config: Config) -> tuple[str, str, str]:
    if not config.email.enabled:
        return "--", "email", "not enabled"
    from c2p_bot.ops.check_transports import check_email

    return check_email(config.email)


def _matrix(config: Config, engine: Engine | None, kek: Kek | None) -> tuple[str, str, str]:
    if not config.matrix.enabled:
        return "--", "matrix", "not enabled"
    if engine is None or kek is None:
        return "--", "matrix", "not checked (its stored login needs the database and the key)"
    from c2p_bot.ops.check_transports import check_matrix
    from c2p_bot.transports.matrix.session import ACCESS_TOKEN, DEVICE_ID

    stored: dict[str, str] = {}
    with Session(engine) as session:
        for name in (ACCESS_TOKEN, DEVICE_ID):
            row = session.get(Secret, name)
            if row is not None:
                stored[name] = open_secret(kek, name, row.blob).decode()
    return asyncio.run(check_matrix(config.matrix, stored.get(ACCESS_TOKEN), stored.get(DEVICE_ID), TIMEOUT))
