"""Provision a throw-away PostgreSQL server for the test suite (as the postgres user when root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    if found:
        return Path(found[0])
    pg_config = shutil.which("pg_config")
    if pg_config:
        return Path(subprocess.check_output([pg_config, "--bindir"], text=True).strip())
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    datadir: Path
    port: int
    bindir: Path
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate",
             "stop"], capture_output=True, check=False,
        )
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def start_postgres() -> PostgresServer:
    """initdb + pg_ctl start on a free loopback port; runs as ``postgres`` when we are root."""
    bindir = _bindir()
    base = Path(tempfile.mkdtemp(prefix="c2p-pg-"))
    datadir = base / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres", "postgres")
        os.chmod(base, 0o700)
    port = free_port()
    init = subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "postgres",
         "-E", "UTF8", "--no-sync", "--locale=C"],
        capture_output=True, text=True, check=False,
    )
    if init.returncode != 0:
        raise PostgresUnavailable(f"initdb failed: {init.stderr.strip()[-300:]}")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off " \
              "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    start = subprocess.run(
        [*as_user, str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(base / "log"),
         "-o", options, "-w", "-t", "60", "start"],
        capture_output=True, text=True, check=False,
    )
    if start.returncode != 0:
        log = (base / "log").read_text() if (base / "log").exists() else ""
        raise PostgresUnavailable(f"pg_ctl start failed: {start.stderr.strip()} {log[-300:]}")
    server = PostgresServer(datadir, port, bindir, as_user)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready = subprocess.run([str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                               capture_output=True, check=False)
        if ready.returncode == 0:
            return server
        time.sleep(0.2)
    server.stop()
    raise PostgresUnavailable("PostgreSQL did not become ready")
