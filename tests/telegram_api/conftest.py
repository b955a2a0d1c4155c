"""Fixtures for tests that talk to the fake Telegram Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.telegram_api.server import FakeBotApi


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


@pytest.fixture
async def unpaced_api() -> AsyncIterator[FakeBotApi]:
    """Without flood limits, for tests of the fake's *other* behaviour (faults, envelopes,
    deletions, formatting) that send several messages to one chat back to back: the limits
    would only make them wait a second per message. The limits have their own tests."""
    reason = "tests a feature of the fake other than flood limits with back-to-back sends"
    async with FakeBotApi(rate_limits=None, relaxed_because=reason) as api:
        yield api
