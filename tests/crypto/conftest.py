"""Fast Argon2 parameters for the crypto tests."""

from __future__ import annotations

import pytest
from nacl.pwhash import argon2id

from c2p_bot.core.crypto import INTERACTIVE_PIN_PARAMS, KdfParams, PinHashParams


@pytest.fixture
def fast_kdf() -> KdfParams:
    return KdfParams.generate(
        opslimit=argon2id.OPSLIMIT_INTERACTIVE, memlimit=argon2id.MEMLIMIT_INTERACTIVE
    )


@pytest.fixture(scope="session")
def pin_params() -> PinHashParams:
    return INTERACTIVE_PIN_PARAMS
