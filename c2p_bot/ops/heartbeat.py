"""Heartbeat pings: an HTTP GET to ``[monitoring] heartbeat_url`` (healthchecks.io, Uptime
Kuma, a cron monitor...) that the outside monitor expects every period; it raises the alarm when
one does not come. The URL is as good as a password (anyone may ping it), so it is never logged:
only its host is."""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

from c2p_bot import __version__

log = logging.getLogger(__name__)

MAX_TIMEOUT = 10.0  # seconds: a hanging monitor delays only the next ping, nothing else


def ping(url: str, timeout: float) -> str | None:
    """GET ``url``; None when it answered 2xx, else a short reason (without the URL)."""
    request = urllib.request.Request(url, headers={"User-Agent": f"c2p-bot/{__version__}"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only (config)
            response.read(1024)
            return None if 200 <= response.status < 300 else f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", None)
        return type(reason).__name__ if isinstance(reason, BaseException) else type(error).__name__


def host_of(url: str) -> str:
    return urlsplit(url).hostname or "?"


class Every:
    """Runs ``action`` in a daemon thread of its own now and then every ``period`` seconds (on
    a fixed schedule, so a slow action does not drift it), until :meth:`stop`."""

    def __init__(self, name: str, period: float, action: Callable[[], None]) -> None:
        self.period = period
        self.action = action
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self, wait: float = 2.0) -> None:
        self._stop.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(wait)

    def _loop(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            try:
                self.action()
            except Exception:  # a bug here must never end the watching
                log.exception("%s failed", self.thread.name)
            due += self.period
            now = time.monotonic()
            if due < now:  # the action took longer than a period: skip, do not catch up
                due = now + self.period
            self._stop.wait(due - now)


class Heartbeat:
    """Pings ``url`` each period while ``healthy()`` says so."""

    def __init__(self, url: str, period: float, healthy: Callable[[], bool]) -> None:
        self.url = url
        self.healthy = healthy
        self.timeout = min(MAX_TIMEOUT, max(0.2, period))
        self.every = Every("c2p-heartbeat", period, self.beat)
        self._failing: str | None = None
        self.sent = 0

    def start(self) -> None:
        self.every.start()

    def stop(self) -> None:
        self.every.stop()

    def beat(self) -> None:
        if not self.healthy():
            return
        problem = ping(self.url, self.timeout)
        if problem is None:
            self.sent += 1
            if self._failing is not None:
                log.warning("heartbeat: %s answers again", host_of(self.url))
            self._failing = None
        elif problem != self._failing:  # once per kind of failure, not every period
            log.warning("heartbeat: the ping to %s failed (%s); trying again next period",
                        host_of(self.url), problem)
            self._failing = problem
