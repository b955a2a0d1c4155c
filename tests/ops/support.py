"""Helpers for the operator command tests: config files, keyed databases, running ``c2p-bot``."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from nacl.pwhash import argon2id
from sqlalchemy.engine import Engine
from sqlmodel import Session

from c2p_bot.cli import main
from c2p_bot.config import parse_config
from c2p_bot.core.crypto import KdfParams
from c2p_bot.core.keyring import KDF_PARAMS, PASSPHRASE_ENV, open_keyring
from storage.engine import make_engine
from storage.migrate import alembic_config, upgrade
from storage.models import Secret

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    """A TOML config file with these sections (string, number and boolean values)."""
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def keyed_database(url: str, key_file: Path) -> Engine:
    """A migrated database whose key-encryption key is a new key file (as a first run leaves it)."""
    engine = make_engine(url)
    upgrade(engine)
    config = parse_config({"database": {"url": url}, "crypto": {"key_file": str(key_file)}}, env={})
    open_keyring(config, engine, datetime.now(UTC), env={})
    return engine


def passphrase_database(folder: Path, passphrase: str) -> Path:
    """A config whose database is protected by ``passphrase`` (cheap argon2 parameters, so tests
    are fast)."""
    url = f"sqlite:///{folder / 'c2p.db'}"
    engine = make_engine(url)
    upgrade(engine)
    params = KdfParams.generate(opslimit=argon2id.OPSLIMIT_MIN, memlimit=argon2id.MEMLIMIT_MIN)
    now = datetime.now(UTC)
    with Session(engine) as session:
        session.add(Secret(name=KDF_PARAMS, blob=json.dumps(params.to_dict()).encode(), updated_at=now))
        session.commit()
    config = parse_config({"database": {"url": url}}, env={})
    open_keyring(config, engine, now, env={PASSPHRASE_ENV: passphrase})
    engine.dispose()
    return write_config(folder / "bot.toml", {"database": {"url": url}})


def cli(*args: str) -> tuple[int, str, str]:
    """``c2p-bot ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()
