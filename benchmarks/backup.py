"""Benchmark (not a test): how big is a backup, and how long do ``c2p-bot backup`` and
``c2p-bot restore`` take?

N registered HRDs (10,000 by default; N/20 partners with custodial keys, 3 coordinators), each
with a check-in clock; a share of them (``--noted``, 20 % by default) checked in with a sealed
note through the core (each note sealed to every reader). Then, as an operator runs them, in
subprocesses: ``c2p-bot backup --out FILE`` on the populated database, and ``c2p-bot restore FILE
--key KEY`` into a new, empty one (the restored people are counted). Times include the process
start (about a second of imports).

    .venv/bin/python benchmarks/backup.py [--hrds 10000] [--noted 0.2] [--postgres | --postgres-url URL]
        [--no-sqlite] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the repo root first: `matching` is the package, not benchmarks/matching.py
if str(HERE) not in sys.path:
    sys.path.append(str(HERE))

from _common import (  # noqa: E402
    ROOT,
    add_database_arguments,
    backends,
    checkin_through_core,
    clock_row,
    issue_reader_keys,
    new_key_file,
    note_text,
    populate_clocks,
    populate_people,
    settle,
    table,
    unique_name,
)
from sqlalchemy import text  # noqa: E402

from c2p_bot.core.crypto import encode_public_key, generate_keypair, write_private_key  # noqa: E402
from storage.engine import make_engine  # noqa: E402


def database_bytes(url: str) -> int:
    engine = make_engine(url)
    try:
        if engine.dialect.name == "sqlite":
            return os.path.getsize(str(engine.url.database))
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar() or 0)
    finally:
        engine.dispose()


def c2p_bot(*args: str) -> tuple[float, str]:
    began = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "c2p_bot", *args], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr.strip())
    return time.perf_counter() - began, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hrds", type=int, default=10_000)
    parser.add_argument("--noted", type=float, default=0.2, help="share of HRDs with a sealed check-in note")
    parser.add_argument("--seed", type=int, default=7)
    add_database_arguments(parser)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="c2p-bench-backup-") as folder:
        work = Path(folder)
        pair = generate_keypair()
        write_private_key(work / "backup.key", pair)
        for backend in backends(args, work):
            try:
                url = backend.create(unique_name("src"))
                engine = make_engine(url)
                now = datetime.now(UTC).replace(microsecond=0)
                people = populate_people(engine, hrds=args.hrds, partners=max(20, args.hrds // 20), coordinators=3,
                                         seed=args.seed, now=now)
                kek = new_key_file(work / f"{backend.name}.kek")
                issue_reader_keys(engine, kek, people.coordinators + people.partners)
                grace, remind = timedelta(hours=1), timedelta(minutes=30)
                populate_clocks(engine, [clock_row(pid, now + timedelta(hours=20), grace=grace, remind_before=remind,
                                                   now=now) for pid in people.hrds])
                engine.dispose()
                rng = random.Random(args.seed)
                noted = people.hrds[:int(len(people.hrds) * args.noted)]
                checkin_through_core(url, kek, [(pid, now + timedelta(minutes=1), note_text(pid, rng))
                                                for pid in noted])
                settle(make_engine(url))
                config = work / f"{backend.name}.toml"
                public = encode_public_key(pair.public)
                config.write_text(f'[database]\nurl = "{url}"\n[backup]\npublic_key = "{public}"\n')
                out = work / f"{backend.name}.backup"
                backup_s, _said = c2p_bot("backup", "--out", str(out), "--config", str(config))
                target = backend.create(unique_name("dst"))
                restored = work / f"{backend.name}-restored.toml"
                restored.write_text(f'[database]\nurl = "{target}"\n')
                restore_s, said = c2p_bot("restore", str(out), "--key", str(work / "backup.key"),
                                          "--config", str(restored))
                rows.append((backend.name, f"{args.hrds:,}", f"{len(noted):,}", f"{database_bytes(url) / 2**20:.1f}",
                             f"{out.stat().st_size / 2**20:.1f}", f"{backup_s:.2f}", f"{restore_s:.2f}",
                             said.split("(", 1)[1].split(")", 1)[0]))
            finally:
                backend.close()
    print(table(("database", "HRDs", "with a note", "database MiB", "backup MiB", "backup s", "restore s",
                 "restored"), rows))


if __name__ == "__main__":
    main()
