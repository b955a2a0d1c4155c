"""Cross-signing bootstrap against a real Synapse, checked from another account's view."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from nio import AsyncClient, LoginResponse

from c2p_bot.transports.matrix.cross_signing import (
    CrossSigningError,
    bootstrap_cross_signing,
    query_keys,
    unpadded_b64encode,
)
from tests.support.cross_signing import assert_cross_signed, single_public
from tests.support.synapse import MatrixClientFactory
from tests.synapse.helpers import DEFAULT_PASSWORD, client_config, restore_client
from tests.synapse.homeserver import SynapseServer

pytestmark = pytest.mark.synapse


async def test_bootstrap_publishes_verifiable_cross_signing(
    synapse: SynapseServer, matrix_client: MatrixClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = await matrix_client("bot")
    observer = await matrix_client("observer")

    seeds = await bootstrap_cross_signing(bot, DEFAULT_PASSWORD, None)
    for seed in (seeds.master, seeds.self_signing, seeds.user_signing):
        assert seed.hex() not in caplog.text
        assert unpadded_b64encode(seed) not in caplog.text
    assert DEFAULT_PASSWORD not in caplog.text
    view = await query_keys(observer, bot.user_id)
    assert_cross_signed(view, bot, seeds)
    own_view = await query_keys(bot, bot.user_id)
    assert_cross_signed(own_view, bot, seeds, own=True)
    assert single_public(own_view["user_signing_keys"][bot.user_id]) == seeds.user_signing_public

    # After a restart: same device restored from the store, same seeds.
    await bot.close()
    restored = await restore_client(synapse, bot)
    try:
        # The server already holds these keys: no upload, so no password needed.
        again = await bootstrap_cross_signing(restored, "wrong password, never used", seeds)
        assert again == seeds
        view_after = await query_keys(observer, bot.user_id)
        assert view_after["master_keys"] == view["master_keys"]
        assert_cross_signed(view_after, restored, seeds)
        assert_cross_signed(await query_keys(restored, bot.user_id), restored, seeds, own=True)
    finally:
        await restored.close()


async def test_new_device_with_existing_seeds_gets_signed(
    synapse: SynapseServer, matrix_client: MatrixClientFactory, tmp_path: Any
) -> None:
    first = await matrix_client("bot")
    observer = await matrix_client("observer")
    seeds = await bootstrap_cross_signing(first, DEFAULT_PASSWORD, None)

    second = AsyncClient(
        synapse.base_url, first.user_id, store_path=str(tmp_path), config=client_config()
    )
    try:
        assert isinstance(await second.login(DEFAULT_PASSWORD), LoginResponse)
        assert second.device_id != first.device_id
        await second.keys_upload()
        assert await bootstrap_cross_signing(second, DEFAULT_PASSWORD, seeds) == seeds
        view = await query_keys(observer, first.user_id)
        assert_cross_signed(view, second, seeds)
        assert_cross_signed(view, first, seeds)
        own_view = await query_keys(second, first.user_id)
        assert_cross_signed(own_view, second, seeds, own=True)
        assert_cross_signed(own_view, first, seeds, own=True)
    finally:
        await second.close()


async def test_reset_needs_password_and_replaces_identity(
    matrix_client: MatrixClientFactory,
) -> None:
    bot = await matrix_client("bot")
    observer = await matrix_client("observer")
    old = await bootstrap_cross_signing(bot, DEFAULT_PASSWORD, None)

    # Replacing existing keys requires user-interactive auth (MSC3967).
    with pytest.raises(CrossSigningError, match=r"with password.*M_FORBIDDEN"):
        await bootstrap_cross_signing(bot, "not the password", None)
    assert_cross_signed(await query_keys(observer, bot.user_id), bot, old)

    new = await bootstrap_cross_signing(bot, DEFAULT_PASSWORD, None)
    assert new.master_public != old.master_public
    assert_cross_signed(await query_keys(observer, bot.user_id), bot, new)
    assert_cross_signed(await query_keys(bot, bot.user_id), bot, new, own=True)
