"""Chat commands; importing this package registers them all, in the order /help lists them."""

from importlib import import_module

for _module in ("general", "language", "checkin", "keys", "alerts", "plans", "emergency", "matching", "coordinator",
                "partnership", "exchange", "overview", "sessions", "drills"):
    import_module(f"c2p_bot.core.commands.{_module}")
