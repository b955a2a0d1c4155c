"""Checking a Matrix account's cross-signing from outside, independently of the bot's own code.

Signatures are verified with PyNaCl over ``canonicaljson``'s encoding, not with the transport's
signing helpers, so a bug there cannot vouch for itself.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import nacl.exceptions
import nacl.signing
import pytest
from canonicaljson import encode_canonical_json

if TYPE_CHECKING:
    from nio import AsyncClient

    from c2p_bot.transports.matrix.cross_signing import CrossSigningSeeds


def _unpadded_b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def single_public(key_object: dict[str, Any]) -> str:
    """The one public key of a cross-signing key object."""
    (public,) = key_object["keys"].values()
    return str(public)


def assert_signed(obj: dict[str, Any], user_id: str, signer_public: str, key_id: str) -> None:
    """The signature ``key_id`` by ``user_id`` on ``obj`` verifies over its canonical JSON."""
    signature = _unpadded_b64decode(obj["signatures"][user_id][key_id])
    stripped = {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}
    verify_key = nacl.signing.VerifyKey(_unpadded_b64decode(signer_public))
    try:
        verify_key.verify(encode_canonical_json(stripped), signature)
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
