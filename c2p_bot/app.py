"""Assembling the core with its features; shared by the command line and the tests."""

from __future__ import annotations

from sqlalchemy.engine import Engine

import c2p_bot.core.commands  # noqa: F401  (registers every chat command)
from c2p_bot.config import Config
from c2p_bot.core.clock import Clock
from c2p_bot.core.keyring import Keyring
from c2p_bot.core.outbox import Outbox
from c2p_bot.core.runtime import Runtime
from c2p_bot.core.service import Core


def build_runtime(config: Config, engine: Engine, clock: Clock, keyring: Keyring) -> Runtime:
    """The core with every feature wired in, and a runtime without transports yet."""
    core = Core(engine, config, clock, Outbox(keyring), keyring)
    return Runtime(core)
