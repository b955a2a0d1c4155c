"""Cross-signing bootstrap against a real Synapse, checked from another account's view."""

from __future__ import annotations

import logging
from typing import Any

import nacl.exceptions
import nacl.signing
import pytest
from nio import AsyncClient, LoginResponse

from c2p_bot.transports.matrix.cross_signing import (
    CrossSigningError,
    CrossSigningSeeds,
    bootstrap_cross_signing,
    canonical_json,
    query_keys,
    unpadded_b64decode,
    unpadded_b64encode,
)
from tests.synapse.conftest import MatrixClientFactory
from tests.synapse.helpers import DEFAULT_PASSWORD, client_config, restore_client
from tests.synapse.homeserver import SynapseServer

pytestmark = pytest.mark.synapse


def single_public(key_object: dict[str, Any]) -> str:
    (public,) = key_object["keys"].values()
    return str(public)


def assert_signed(obj: dict[str, Any], user_id: str, signer_public: str, key_id: str) -> None:
    """Independent check with PyNaCl: the signature over canonical JSON verifies."""
    signature = unpadded_b64decode(obj["signatures"][user_id][key_id])
    stripped = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    verify_key = nacl.signing.VerifyKey(unpadded_b64decode(signer_public))
    try:
        verify_key.verify(canonical_json(stripped), signature)
    except nacl.exceptions.BadSignatureError:
        pytest.fail(f"signature {key_id} on {obj} does not verify")


def assert_cross_signed(
    view: dict[str, Any], bot: AsyncClient, seeds: CrossSigningSeeds, own: bool = False
) -> None:
    """``view`` is some account's /keys/query answer for the bot user.

    ``own``: the view is the bot's own. Synapse shows signatures *on
    cross-signing keys* only to the user who made them, so the device's
    signature of the master key is visible to the bot alone.
    """
    user_id, device_id = bot.user_id, bot.device_id
    master = view["master_keys"][user_id]
    ssk = view["self_signing_keys"][user_id]
    assert master["usage"] == ["master"]
    assert ssk["usage"] == ["self_signing"]
    master_public = single_public(master)
    ssk_public = single_public(ssk)
    assert master_public == seeds.master_public
    assert ssk_public == seeds.self_signing_public

    # The self-signing key is signed by the master key.
    assert_signed(ssk, user_id, master_public, f"ed25519:{master_public}")
    # The bot's device is signed by the self-signing key ...
    device = view["device_keys"][user_id][device_id]
    assert_signed(device, user_id, ssk_public, f"ed25519:{ssk_public}")
    # ... and still carries its own valid self-signature.
    device_public = device["keys"][f"ed25519:{device_id}"]
    assert_signed(device, user_id, device_public, f"ed25519:{device_id}")
    if own:
        # The master key is signed by the bot's device.
        assert_signed(master, user_id, device_public, f"ed25519:{device_id}")
    else:
        assert user_id not in view.get("user_signing_keys", {})  # private to the owner


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
