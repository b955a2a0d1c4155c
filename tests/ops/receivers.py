"""What an operator's monitoring sees: a heartbeat receiver (a local HTTP server, like a
healthchecks.io check), a systemd notify socket, and a live bot on the real clock to watch."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from c2p_bot.config import Config, parse_config
from c2p_bot.core.clock import SystemClock
from storage.engine import make_engine
from storage.migrate import upgrade
from tests.support.transcript import Chat, memory_chat


class HeartbeatReceiver:
    """Records the moment (``time.monotonic``) and path of every GET it receives."""

    def __init__(self) -> None:
        pings = self.pings = []  # type: list[tuple[float, str]]

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                pings.append((time.monotonic(), self.path))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/ping/{uuid.uuid4()}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def since(self, moment: float) -> list[float]:
        return [at for at, _path in list(self.pings) if at > moment]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class NotifySocket:
    """The datagram socket systemd gives a ``Type=notify`` service (``NOTIFY_SOCKET``); abstract
    (``@name``) by default, as systemd itself uses, or a path. A thread reads it, noting the
    moment (``time.monotonic``) each line arrived."""

    def __init__(self, path: Path | None = None) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if path is None:
            name = f"c2p-test-{uuid.uuid4().hex}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.sock.bind(str(path))
            self.address = str(path)
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, str]] = []
        self._closing = threading.Event()
        self.thread = threading.Thread(target=self._receive, daemon=True)
        self.thread.start()

    def _receive(self) -> None:
        while not self._closing.is_set():
            try:
                data = self.sock.recv(4096)
            except (TimeoutError, BlockingIOError):
                continue
            except OSError:
                return
            at = time.monotonic()
            self.messages += [(at, line) for line in data.decode().splitlines()]

    def read(self) -> list[tuple[float, str]]:
        """Every line received so far, with the moment it arrived (after a short settling wait)."""
        time.sleep(0.06)
        return list(self.messages)

    def lines(self, prefix: str = "") -> list[str]:
        return [line for _at, line in self.read() if line.startswith(prefix)]

    def close(self) -> None:
        self._closing.set()
        self.thread.join(1)
        self.sock.close()


def live_config(**monitoring: Any) -> Config:
    """A config with a 100 ms safety-net sweep and the given ``[monitoring]`` keys."""
    return parse_config({"checkins": {"sweep_interval": timedelta(milliseconds=100)},
                         "monitoring": monitoring}, env={})


@asynccontextmanager
async def live_bot(tmp_path: Path, config: Config) -> AsyncIterator[Chat]:
    """A bot on a SQLite database, the memory transport and the real clock, started (the alarm
    clock sweeps for real); stopped afterwards."""
    engine = make_engine(f"sqlite:///{tmp_path / 'c2p.db'}")
    upgrade(engine)
    chat = memory_chat(engine, config, SystemClock())
    await chat.runtime.start()
    try:
        yield chat
    finally:
        await chat.runtime.stop()
        engine.dispose()
