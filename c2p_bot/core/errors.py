"""The error for a state the code rules out (instead of ``assert``, which ``python -O`` removes)."""

from __future__ import annotations


class InvariantError(RuntimeError):
    """Something the code relies on does not hold: a bug, or a row changed behind the bot's back.

    A handler that raises it changes nothing (its transaction rolls back) and the sender gets the
    usual apology (c2p_bot.core.service)."""
