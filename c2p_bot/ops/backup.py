"""``c2p-bot backup`` and ``c2p-bot restore``: the database, sealed to a backup key.

A backup is a consistent snapshot of the database — SQLite's online backup API, or ``pg_dump`` —
sealed to ``[backup] public_key`` (:mod:`c2p_bot.core.crypto.sealedstream`), so that the machine
that writes backups cannot read them, and whoever copies them learns nothing without the backup
private key. It never holds the key-encryption key (which is not in the database): a restored
database opens with the same key file or passphrase as before.

File layout: ``c2p-bot backup 1`` and a JSON header line in clear (the database kind, the schema
revision, when it was taken, the backup key's mark — no names, no counts), then the sealed
stream, whose stream key is bound to those two lines. The sealed payload is the SQLite database
file, zlib-compressed, or ``pg_dump``'s custom-format archive (compressed by ``pg_dump``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, func, select

from c2p_bot.config import Config
from c2p_bot.core.crypto import CryptoError, KeyPair, TamperedError, read_private_key
from c2p_bot.core.crypto.sealedstream import CHUNK, SealedStreamReader, StreamTruncated, seal_stream
from c2p_bot.core.keyring import KDF_PARAMS
from c2p_bot.core.notes import key_mark
from c2p_bot.ops import OpsError, postgres
from storage.engine import StorageError, make_engine, normalise_url, redact_url
from storage.migrate import current_revision
from storage.models import Person, Secret

FORMAT = b"c2p-bot backup 1\n"
CONTEXT = b"c2p-backup\n"
KINDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# Checked first when telling why a database is not empty: the tables an operator recognises.
TELLING_TABLES = ("person", "secret", "invite")
SQLITE_MAGIC = b"SQLite format 3\x00"
ZLIB_LEVEL = 1  # fast: a database's pages shrink about fivefold even so


@dataclass(frozen=True)
class BackupHeader:
    """What a backup says about itself, in clear."""

    database: str  # "sqlite" or "postgresql"
    schema: str
    taken: str  # "2026-03-01T10:00Z"
    key: str  # the mark of the backup public key it is sealed to

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode() + b"\n"

    @property
    def taken_text(self) -> str:
        return self.taken.replace("T", " ").removesuffix("Z") + " UTC"


def open_database(config: Config) -> Engine:
    """The configured database, as it is (never migrated here)."""
    try:
        return make_engine(config.database.url)
    except StorageError as error:
        raise OpsError(str(error)) from None


def _people(engine: Engine) -> str:
    with Session(engine) as session:
        count = int(session.exec(select(func.count()).select_from(Person)).one())
    return "1 person" if count == 1 else f"{count:,} people"


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n:.1f} GiB"


# -- backup -------------------------------------------------------------------------------


def write_backup(config: Config, out_path: str, now: datetime | None = None) -> str:
    """Write a sealed snapshot of the configured database to ``out_path``; returns the summary."""
    public = config.backup.public
    if public is None:
        raise OpsError("set [backup] public_key first: the public key printed by c2p-bot keygen on the "
                       "machine that keeps the backup key")
    out = Path(out_path)
    if out.exists():
        raise OpsError(f"{out} exists: choose a new file name")
    if not out.parent.is_dir():
        raise OpsError(f"cannot write {out}: the folder {out.parent} does not exist")
    engine = open_database(config)
    kind = engine.dialect.name
    schema = current_revision(engine)
    if schema is None:
        raise OpsError("the database has no schema yet: there is nothing to back up")
    people = _people(engine)
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    header = BackupHeader(kind, schema, moment.strftime("%Y-%m-%dT%H:%MZ"), key_mark(public))
    lines = FORMAT + header.encode()
    partial = out.with_name(f".{out.name}.partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        engine.dispose()
        raise OpsError(f"{partial} exists: another backup is being written, or one was interrupted "
                       "(then delete it)") from None
    except OSError as error:
        engine.dispose()
        raise OpsError(f"cannot write {out}: {error.strerror}") from None
    scratch: Path | None = None
    try:
        with os.fdopen(fd, "wb") as file:
            scratch = Path(tempfile.mkdtemp(prefix=".c2p-backup-", dir=out.parent))
            file.write(lines)
            if kind == "sqlite":
                pieces = _sqlite_snapshot(str(engine.url.database), scratch)
            else:
                pieces = postgres.dump(config.database.url)
            seal_stream(pieces, public, CONTEXT + lines, file)
            file.flush()
            os.fsync(file.fileno())
        if out.exists():
            raise OpsError(f"{out} appeared while the backup was written: it was left alone")
        os.rename(partial, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        engine.dispose()
    return (f"Backed up the {KINDS[kind]} database (schema {schema}, {people}) to {out}: "
            f"{_size(out.stat().st_size)}, sealed to the backup key {header.key}.\n"
            "It does not contain the key-encryption key: keep the key file or passphrase safe, "
            "apart from the backups.")


def _sqlite_snapshot(database: str, scratch: Path) -> Iterator[bytes]:
    """A consistent copy with SQLite's online backup API (the bot may keep running), read back."""
    snapshot = scratch / "snapshot.db"
    os.close(os.open(snapshot, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    source = sqlite3.connect(database, timeout=10)
    try:
        target = sqlite3.connect(snapshot)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # everything in the one file
        finally:
            target.close()
    finally:
        source.close()
    packer = zlib.compressobj(ZLIB_LEVEL)
    with open(snapshot, "rb") as file:
        while chunk := file.read(CHUNK):
            yield packer.compress(chunk)
    yield packer.flush()


def _unpacked(pieces: Iterable[bytes], database: str) -> Iterator[bytes]:
    """The payload as stored: SQLite's is zlib-compressed; pg_dump's archive compresses itself."""
    if database != "sqlite":
        yield from pieces
        return
    unpacker = zlib.decompressobj()
    try:
        for piece in pieces:  # at most CHUNK bytes out at a time: a forged file cannot fill memory
            out = unpacker.decompress(piece, CHUNK)
            while out:
                yield out
                out = unpacker.decompress(unpacker.unconsumed_tail, CHUNK)
        yield unpacker.flush()
    except zlib.error:
        raise OpsError("the backup's database cannot be unpacked: nothing was restored") from None


# -- restore ------------------------------------------------------------------------------


def read_header(source: BinaryIO, name: Path) -> tuple[BackupHeader, bytes]:
    """The header of a backup file open for reading; the two clear lines as they are."""
    first = source.readline(64)
    if first != FORMAT:
        if first.startswith(b"c2p-bot backup "):
            raise OpsError(f"{name} is a backup of a newer format ({first.decode(errors='replace').strip()}): "
                           "restore it with a newer c2p-bot")
        raise OpsError(f"{name} is not a c2p-bot backup")
    line = source.readline(4096)
    try:
        fields = json.loads(line)
        header = BackupHeader(**{key: str(fields[key]) for key in ("database", "schema", "taken", "key")})
    except (ValueError, KeyError, TypeError):
        raise OpsError(f"{name} is damaged (its header cannot be read)") from None
    if header.database not in KINDS:
        raise OpsError(f"{name} holds a database of a kind this c2p-bot does not know ({header.database[:20]})")
    return header, FORMAT + line


def read_backup(path: Path, pair: KeyPair) -> tuple[BackupHeader, bytes]:
    """A backup's header and whole payload, opened with the backup key pair (for tests and checks)."""
    with open(path, "rb") as source:
        header, lines = read_header(source, path)
        reader = SealedStreamReader(source, pair.private, CONTEXT + lines)
        return header, b"".join(_unpacked(reader, header.database))


def restore_backup(config: Config, backup_path: str, key_path: str) -> str:
    """Restore a backup into the configured database, which must be empty; returns the summary."""
    backup, key_file = Path(backup_path), Path(key_path)
    try:
        pair = read_private_key(key_file)
    except CryptoError as error:
        raise OpsError(f"cannot use the backup key: {error}") from None
    try:
        source = open(backup, "rb")  # noqa: SIM115 - closed below
    except OSError as error:
        raise OpsError(f"cannot read {backup}: {error.strerror}") from None
    with source:
        header, lines = read_header(source, backup)
        wanted = make_url(normalise_url(config.database.url)).get_backend_name()
        if wanted != header.database:
            raise OpsError(f"{backup} holds a {KINDS[header.database]} database, but database.url is "
                           f"{KINDS.get(wanted, wanted)}: restore it into a {KINDS[header.database]} database")
        mine = key_mark(pair.public)
        if header.key != mine:
            raise OpsError(f"{backup} is sealed to the backup key {header.key}, not to the key in {key_file} "
                           f"({mine}): use the private key that matches [backup] public_key")
        try:
            reader = SealedStreamReader(source, pair.private, CONTEXT + lines)
        except StreamTruncated:
            raise OpsError(f"{backup} is damaged or incomplete (it ends too early): nothing was restored") from None
        except TamperedError:
            raise OpsError(f"{backup} cannot be opened with the key in {key_file}: it was altered") from None
        engine = open_database(config)
        try:
            _refuse_unless_empty(engine)
            where = Path(str(engine.url.database)).parent if header.database == "sqlite" else None
            scratch = Path(tempfile.mkdtemp(prefix=".c2p-restore-", dir=where))
            try:
                payload = _decrypt(reader, header.database, scratch / "payload", backup)
                engine.dispose()
                if header.database == "sqlite":
                    _restore_sqlite(payload, str(engine.url.database))
                else:
                    _drop_empty_schema(engine)
                    engine.dispose()
                    postgres.restore(config.database.url, payload)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            return _restored(header, config)
        finally:
            engine.dispose()


def _decrypt(reader: SealedStreamReader, database: str, target: Path, backup: Path) -> Path:
    """The whole payload, checked to its final chunk before anything is restored."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        try:
            for chunk in _unpacked(reader, database):
                file.write(chunk)
        except StreamTruncated:
            raise OpsError(f"{backup} is damaged or incomplete (it ends too early): nothing was restored") from None
        except TamperedError:
            raise OpsError(f"{backup} is damaged or was altered: nothing was restored") from None
    return target


def _refuse_unless_empty(engine: Engine) -> None:
    """Refuse a database with any row (a schema without rows, as ``migrate`` leaves it, is empty)."""
    tables = inspect(engine).get_table_names()
    ordered = [t for t in TELLING_TABLES if t in tables] + sorted(set(tables) - set(TELLING_TABLES))
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect() as connection:
        for table in ordered:
            if table == "alembic_version":
                continue
            if connection.execute(text(f"SELECT 1 FROM {quote(table)} LIMIT 1")).first() is not None:  # noqa: S608
                raise OpsError(f"the database is not empty (table {table} has rows): restore into a new, "
                               "empty database")


def _restore_sqlite(payload: Path, database: str) -> None:
    with open(payload, "rb") as file:
        if file.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise OpsError("the backup does not hold a SQLite database: nothing was restored")
    source = sqlite3.connect(payload)
    try:
        target = sqlite3.connect(database, timeout=10)
        try:
            source.backup(target)  # replaces every page of the (empty) target, in one step
        finally:
            target.close()
    finally:
        source.close()


def _drop_empty_schema(engine: Engine) -> None:
    """PostgreSQL: drop c2p-bot's own (empty) tables and trigger function before ``pg_restore``."""
    from sqlmodel import SQLModel

    quote = engine.dialect.identifier_preparer.quote
    ours = set(SQLModel.metadata.tables) | {"alembic_version"}
    present = set(inspect(engine).get_table_names()) & ours
    with engine.begin() as connection:
        for table in sorted(present):
            connection.execute(text(f"DROP TABLE IF EXISTS {quote(table)} CASCADE"))
        connection.execute(text("DROP FUNCTION IF EXISTS audit_log_append_only() CASCADE"))


def _restored(header: BackupHeader, config: Config) -> str:
    restored = make_engine(config.database.url)
    try:
        people = _people(restored)
        with Session(restored) as session:
            passphrase = session.get(Secret, KDF_PARAMS) is not None
    finally:
        restored.dispose()
    where = redact_url(config.database.url)
    custody = ("a passphrase (C2P_PASSPHRASE, or run --ask-passphrase)" if passphrase
               else "a key file ([crypto] key_file)")
    return (f"Restored the {KINDS[header.database]} backup taken {header.taken_text} (schema {header.schema}, "
            f"{people}) into {where}.\n"
            f"It does not hold the key-encryption key: start the bot with the same key-encryption key as "
            f"the database that was backed up — it uses {custody}. c2p-bot check tells whether it opens.")
