"""PostgreSQL's own tools for backups: ``pg_dump`` out, ``pg_restore`` in.

The tools are found like the test suite finds the server: the newest
``/usr/lib/postgresql/VERSION/bin`` (Debian, Ubuntu), else ``PATH``. The password never goes on
a command line (``ps`` shows those): the tool gets it in ``PGPASSWORD``, in its own environment.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from c2p_bot.ops import OpsError
from storage.engine import normalise_url

CHUNK = 64 * 1024


def tool(name: str) -> str:
    """The path of a PostgreSQL client program (``pg_dump``, ``pg_restore``)."""
    folders = glob.glob("/usr/lib/postgresql/*/bin")
    for folder in sorted(folders, key=_version, reverse=True):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise OpsError(f"{name} not found: install PostgreSQL's client programs (e.g. apt install postgresql-client)")


def _version(folder: str) -> tuple[int, ...]:
    name = Path(folder).parent.name
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries it."""
    parsed = make_url(normalise_url(url))
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _first_line(errors: IO[bytes], password: str | None) -> str:
    errors.seek(0)
    text = errors.read().decode("utf-8", "replace").strip()
    line = text.splitlines()[0] if text else "no message"
    if password:
        line = line.replace(password, "***")
    return line[:300]


def dump(url: str) -> Iterator[bytes]:
    """``pg_dump --format=custom`` of the database, as it comes: one consistent snapshot."""
    uri, env = libpq(url)
    command = [tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--dbname", uri]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, env=env)  # noqa: S603
        if process.stdout is None:
            raise OpsError("pg_dump: no output")
        try:
            while chunk := process.stdout.read(CHUNK):
                yield chunk
        finally:
            process.stdout.close()
            if process.poll() is None and process.returncode is None:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if process.returncode != 0:
            raise OpsError(f"pg_dump failed: {_first_line(errors, env.get('PGPASSWORD'))}")


def restore(url: str, archive: Path) -> None:
    """``pg_restore`` an archive into the database, in one transaction (all or nothing)."""
    uri, env = libpq(url)
    command = [tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction",
               "--exit-on-error", "--dbname", uri, str(archive)]
    with tempfile.TemporaryFile() as errors:
        result = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=errors, env=env, check=False)  # noqa: S603
        if result.returncode != 0:
            raise OpsError(f"pg_restore failed, nothing was restored: {_first_line(errors, env.get('PGPASSWORD'))}")
