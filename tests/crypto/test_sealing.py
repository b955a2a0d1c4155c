from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c2p_bot.core.crypto import (
    CryptoError,
    TamperedError,
    generate_keypair,
    open_sealed,
    public_from_private,
    seal,
)

ALICE = generate_keypair()
BOB = generate_keypair()
CTX = b"checkin:1234:recipient:56"


@settings(max_examples=50, deadline=None)
@given(plaintext=st.binary(max_size=2048), context=st.binary(min_size=1, max_size=64))
def test_round_trip(plaintext: bytes, context: bytes) -> None:
    blob = seal(plaintext, ALICE.public, context)
    assert blob[0] == 1
    assert open_sealed(blob, ALICE.private, context) == plaintext


def test_sealing_is_randomised() -> None:
    assert seal(b"note", ALICE.public, CTX) != seal(b"note", ALICE.public, CTX)


def test_public_matches_private() -> None:
    assert public_from_private(ALICE.private) == ALICE.public


@pytest.mark.parametrize(
    "other",
    [b"checkin:1235:recipient:56", b"checkin:1234:recipient:57", b"checkin:1234:recipient:5"],
)
def test_row_swap_detected(other: bytes) -> None:
    blob = seal(b"I am at the station", ALICE.public, CTX)
    with pytest.raises(TamperedError):
        open_sealed(blob, ALICE.private, other)


def test_wrong_recipient() -> None:
    blob = seal(b"note", ALICE.public, CTX)
    with pytest.raises(TamperedError):
        open_sealed(blob, BOB.private, CTX)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_bit_flip_detected(data: st.DataObject) -> None:
    blob = bytearray(seal(b"meeting at 5", ALICE.public, CTX))
    index = data.draw(st.integers(0, len(blob) - 1))
    bit = data.draw(st.integers(0, 7))
    blob[index] ^= 1 << bit
    with pytest.raises(TamperedError):
        open_sealed(bytes(blob), ALICE.private, CTX)


@pytest.mark.parametrize("cut", [0, 1, 33, 57, 72])
def test_truncated(cut: int) -> None:
    blob = seal(b"", ALICE.public, CTX)
    with pytest.raises(TamperedError):
        open_sealed(blob[:cut], ALICE.private, CTX)


def test_tampered_is_crypto_error() -> None:
    assert issubclass(TamperedError, CryptoError)


def test_low_order_public_key_refused() -> None:
    with pytest.raises(CryptoError):
        seal(b"x", bytes(32), CTX)


def test_bad_sizes_and_empty_context() -> None:
    with pytest.raises(CryptoError):
        seal(b"x", b"short", CTX)
    with pytest.raises(CryptoError):
        open_sealed(seal(b"x", ALICE.public, CTX), b"short", CTX)
    with pytest.raises(ValueError):
        seal(b"x", ALICE.public, b"")


def test_low_order_ephemeral_in_blob() -> None:
    blob = bytearray(seal(b"x", ALICE.public, CTX))
    blob[1:33] = bytes(32)
    with pytest.raises(TamperedError):
        open_sealed(bytes(blob), ALICE.private, CTX)
