"""systemd's notify protocol, written directly: one datagram to ``$NOTIFY_SOCKET``.

``Type=notify`` services tell systemd ``READY=1`` once they serve, ``WATCHDOG=1`` at least every
half ``WatchdogSec`` (given to the service as ``WATCHDOG_USEC``) while they are healthy, and
``STOPPING=1`` when they shut down; ``STATUS=…`` shows in ``systemctl status``. Outside systemd
(no ``NOTIFY_SOCKET``) every call does nothing. See sd_notify(3).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def notify(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` (lines such as ``READY=1``); whether it was sent. Never raises."""
    address = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket, as systemd itself uses
    elif not address.startswith("/"):
        return False  # unset, or a kind of address we do not speak (vsock)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as error:
        log.warning("could not notify systemd (%s)", type(error).__name__)
        return False
    return True


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between two ``WATCHDOG=1``: half of ``WATCHDOG_USEC``, when it is meant for this
    process (``WATCHDOG_PID`` unset or ours); None when systemd watches nothing."""
    env = os.environ if env is None else env
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2 / 1_000_000 if usec > 0 else None
