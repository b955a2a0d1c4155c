"""Operating the bot: ``c2p-bot check``, ``backup`` and ``restore``, and ``--ask-passphrase``.

Part of the composition root (like :mod:`c2p_bot.cli`, which calls it): it may use the config,
storage, the core and the transports. Every problem is an :class:`OpsError`, shown as one line.
"""

from __future__ import annotations


class OpsError(Exception):
    """A problem shown to the operator as one line (never a secret), with a non-zero exit."""
