"""A bot process for multi-worker tests: the real runtime on a shared database, delivering into
a file (one JSON line per delivery: idempotency key, chat, wall-clock time, alert numbers), until SIGTERM or
SIGINT (or ``--seconds``, a safety limit). An orderly stop exits 0, as ``c2p-bot run`` does.
Run: python -m tests.reliability.worker."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import time
from pathlib import Path

from c2p_bot.app import build_runtime
from c2p_bot.config import parse_config
from c2p_bot.core.clock import SystemClock
from c2p_bot.core.events import Outgoing
from c2p_bot.core.keyring import open_keyring
from storage.engine import make_engine

ALERT_NUMBER = re.compile(r"🚨 (?:[A-Z]+ )?ALERT #(\d+):")  # each alert in a message (or a digest)


class FileTransport:
    platform = "memory"

    def __init__(self, path: Path) -> None:
        self.out = path.open("a", encoding="utf-8")

    async def deliver(self, message: Outgoing) -> str | None:
        self.out.write(json.dumps({"key": message.idempotency_key, "chat": message.chat_id, "t": time.time(),
                                   "alerts": ALERT_NUMBER.findall(message.text)}) + "\n")
        self.out.flush()
        return None


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    config = parse_config({"database": {"url": args.database}, "crypto": {"key_file": args.key_file},
                           "checkins": {"sweep_interval": "2s"}}, env={})
    engine = make_engine(config.database.url)
    clock = SystemClock()
    runtime = build_runtime(config, engine, clock, open_keyring(config, engine, clock.now(), env={}))
    runtime.add_transport(FileTransport(Path(args.out)))
    await runtime.start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=args.seconds)
    await runtime.stop()
    engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
