"""A public key must be one somebody could hold: a canonical point of Curve25519's prime-order group.

Low-order points (all zeros among them) make every X25519 result predictable (libsodium refuses
them); a point on the twist or with a low-order component is not the public key of any private
key ``c2p-bot keygen`` makes. ``/key`` refuses them all, and sealing refuses them too.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl import bindings

from c2p_bot.core.crypto import (
    CryptoError,
    KeyFormatError,
    check_public_key,
    decode_public_key,
    encode_public_key,
    generate_keypair,
    seal,
)

P = 2**255 - 19


def _le(n: int) -> bytes:
    return n.to_bytes(32, "little")


# libsodium's list of X25519 points of small order (x25519_ref10.c), as canonical integers.
LOW_ORDER = [
    0,
    1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
    P - 1,
]
LOW_ORDER_BYTES = [_le(u) for u in LOW_ORDER] + [_le(P), _le(P + 1)] + [
    _le(u | 1 << 255) for u in LOW_ORDER]


@pytest.mark.parametrize("raw", LOW_ORDER_BYTES, ids=lambda raw: raw.hex()[:8] + raw.hex()[-4:])
def test_low_order_points_are_refused(raw: bytes) -> None:
    with pytest.raises(KeyFormatError) as refused:
        check_public_key(raw)
    assert refused.value.code in {"key_low_order", "key_not_canonical"}
    with pytest.raises(CryptoError):
        seal(b"note", raw, b"ctx")


def test_the_all_zero_key_is_refused_even_with_a_valid_checksum() -> None:
    text = encode_public_key(bytes(32))  # a well-formed c2p-pk1 line: only the point is wrong
    assert decode_public_key(text) == bytes(32)
    with pytest.raises(KeyFormatError) as refused:
        check_public_key(decode_public_key(text))
    assert refused.value.code == "key_low_order"


def test_non_canonical_encodings_are_refused() -> None:
    good = generate_keypair().public
    with_high_bit = good[:31] + bytes([good[31] | 0x80])
    for raw in (with_high_bit, _le(P + 9), _le(2**255 - 1)):
        with pytest.raises(KeyFormatError) as refused:
            check_public_key(raw)
        assert refused.value.code == "key_not_canonical"


def _mont_from_edwards(point: bytes) -> bytes:
    y = int.from_bytes(point, "little") & ((1 << 255) - 1)
    return _le((1 + y) * pow(1 - y, P - 2, P) % P)


def test_a_point_with_a_low_order_component_is_refused() -> None:
    # An Edwards point of the prime-order group plus one of order 8, mapped to its X25519 u.
    base = bindings.crypto_scalarmult_ed25519_base_noclamp(_le(123456789))
    order8 = bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
    assert not bindings.crypto_core_ed25519_is_valid_point(order8)
    mixed = bindings.crypto_core_ed25519_add(base, order8)
    assert check_public_key(_mont_from_edwards(base)) is None
    with pytest.raises(KeyFormatError) as refused:
        check_public_key(_mont_from_edwards(mixed))
    assert refused.value.code == "key_not_on_curve"


def test_a_point_on_the_twist_is_refused() -> None:
    u = 2  # u = 2 is on the quadratic twist of Curve25519, not on the curve
    with pytest.raises(KeyFormatError) as refused:
        check_public_key(_le(u))
    assert refused.value.code == "key_not_on_curve"


def test_wrong_sizes_are_refused() -> None:
    for raw in (b"", bytes(31), bytes(33)):
        with pytest.raises(KeyFormatError):
            check_public_key(raw)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_every_generated_key_is_accepted(_: int) -> None:
    check_public_key(generate_keypair().public)
