"""Fake Telegram Bot API server for tests; see :mod:`tests.telegram_api.server`."""

from tests.telegram_api.server import FakeBotApi, FakeChat, FakeUser, RecordedMessage

__all__ = ["FakeBotApi", "FakeChat", "FakeUser", "RecordedMessage"]
