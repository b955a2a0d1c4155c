"""Chat commands; importing this package registers them all in :data:`c2p_bot.core.registry.registry`."""

from c2p_bot.core.commands import coordinator, general  # noqa: F401
