"""The sealed box's key derivation is libsodium's keyed, personalised BLAKE2b, whichever code
computes it: blobs sealed before and after the switch to hashlib open alike."""

from __future__ import annotations

import os

from nacl.encoding import RawEncoder
from nacl.hash import blake2b

from c2p_bot.core.crypto.sealing import _PERSON, KEY_SIZE, _derive


def test_the_key_derivation_is_libsodiums_blake2b() -> None:
    for _ in range(500):
        shared, ephemeral, recipient = os.urandom(32), os.urandom(32), os.urandom(32)
        assert _derive(shared, ephemeral, recipient) == blake2b(
            ephemeral + recipient, digest_size=KEY_SIZE, key=shared, person=_PERSON, encoder=RawEncoder)
