"""Fake Telegram Bot API server for tests; see :mod:`tests.telegram_api.server`."""

from tests.telegram_api.limits import TELEGRAM_LIMITS, RateLimits
from tests.telegram_api.server import FakeBotApi, FakeChat, FakeUser, RecordedMessage

__all__ = ["TELEGRAM_LIMITS", "FakeBotApi", "FakeChat", "FakeUser", "RateLimits", "RecordedMessage"]
