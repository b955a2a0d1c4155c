"""Sealed box with associated data: encrypt to an X25519 public key.

Format (version 1): ``0x01 || ephemeral_pk (32) || nonce (24) || ciphertext``.
The key is BLAKE2b(key=X25519(eph, recipient), person="c2p-seal-v1",
data=ephemeral_pk || recipient_pk); the AEAD (XChaCha20-Poly1305) binds the
version byte and the caller's ``context`` (e.g. b"checkin:1234:recipient:56"),
so a blob copied to another row or person fails to open.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from nacl import bindings
from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.public import PrivateKey
from nacl.utils import random

from .errors import CryptoError, KeyFormatError, TamperedError

VERSION = 1
KEY_SIZE = 32
NONCE_SIZE = bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
TAG_SIZE = bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES
_PERSON = b"c2p-seal-v1"
_HEADER = bytes([VERSION])
_MIN_LEN = 1 + KEY_SIZE + NONCE_SIZE + TAG_SIZE
_P = 2**255 - 19
# libsodium's X25519 points of small order (x25519_ref10.c), canonical: whatever the private key,
# X25519 with one of them gives a result anyone can compute (0), and crypto_scalarmult refuses it.
_LOW_ORDER = frozenset({
    0,
    1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
    _P - 1,
})


@dataclass(frozen=True, repr=False)
class KeyPair:
    """An X25519 key pair (raw 32-byte keys)."""

    public: bytes
    private: bytes

    def __repr__(self) -> str:
        return f"KeyPair(public={self.public.hex()[:16]}..., private=<redacted>)"


def generate_keypair() -> KeyPair:
    """Return a fresh random X25519 key pair."""
    private = PrivateKey.generate()
    return KeyPair(public=bytes(private.public_key), private=bytes(private))


def public_from_private(private: bytes) -> bytes:
    """Return the X25519 public key of ``private``."""
    _check_size(private, "private key")
    public: bytes = bindings.crypto_scalarmult_base(private)
    return public


def _check_size(key: bytes, what: str) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_SIZE:
        raise CryptoError(f"A {what} must be {KEY_SIZE} bytes", code="bad_key_size")


def check_public_key(public: bytes) -> None:
    """Refuse (:class:`KeyFormatError`) a public key nobody can hold a private key for.

    A usable key is the canonical encoding of a point of Curve25519's prime-order group: what
    ``crypto_scalarmult_base`` gives for any private key. No test seal can prove that (only the
    private key could open it), so the point itself is checked: not one of the low-order points
    (codes ``key_low_order``), canonical (``key_not_canonical``: below p, top bit clear), and a
    point of the prime-order group, not of the twist or with a low-order part
    (``key_not_on_curve``) — checked on the birationally equivalent Edwards point.
    """
    if not isinstance(public, bytes) or len(public) != KEY_SIZE:
        raise KeyFormatError(f"A public key must be {KEY_SIZE} bytes", code="bad_key_size")
    _check_point(public)


@lru_cache(maxsize=8192)
def _check_point(public: bytes) -> None:
    """The checks of :func:`check_public_key` on 32 bytes; a key that passes is remembered (the
    same readers' keys are checked at every note), one that fails raises and is checked again."""
    u = int.from_bytes(public, "little")
    if (u & ((1 << 255) - 1)) % _P in _LOW_ORDER:
        raise KeyFormatError("The public key is a point of low order", code="key_low_order")
    if u >= _P:
        raise KeyFormatError("The public key is not canonically encoded", code="key_not_canonical")
    # Montgomery u -> Edwards y = (u - 1) / (u + 1); u + 1 != 0 here (u = p - 1 is low order).
    # The inverse by pow(x, -1, p) (extended Euclid, ~15 µs) equals Fermat's x^(p-2) (~150 µs).
    y = (u - 1) * pow(u + 1, -1, _P) % _P
    if not bindings.crypto_core_ed25519_is_valid_point(y.to_bytes(KEY_SIZE, "little")):
        raise KeyFormatError("The public key is not a point of the prime-order group",
                             code="key_not_on_curve")


def _check_context(context: bytes) -> None:
    if not isinstance(context, bytes) or not context:
        raise ValueError("context must be non-empty bytes")


def _derive(shared: bytes, ephemeral_pk: bytes, recipient_pk: bytes) -> bytes:
    # Keyed BLAKE2b with a personalisation, as libsodium's crypto_generichash_blake2b_salt_personal
    # computes it (tests/crypto/test_seal_kdf.py), by hashlib's C code: 1 µs instead of 7.
    return hashlib.blake2b(ephemeral_pk + recipient_pk, digest_size=KEY_SIZE, key=shared, person=_PERSON).digest()


def seal(plaintext: bytes, recipient_public: bytes, context: bytes) -> bytes:
    """Encrypt ``plaintext`` so only the holder of the matching private key
    can open it, and only under the same ``context``."""
    _check_size(recipient_public, "recipient public key")
    _check_context(context)
    try:
        check_public_key(recipient_public)
    except KeyFormatError as error:
        raise CryptoError("Invalid recipient public key", code="bad_public_key") from error
    # An ephemeral key pair, as PrivateKey.generate() makes it, without its wrapper objects.
    ephemeral = random(KEY_SIZE)
    ephemeral_pk: bytes = bindings.crypto_scalarmult_base(ephemeral)
    try:
        shared = bindings.crypto_scalarmult(ephemeral, recipient_public)
    except NaclCryptoError:
        raise CryptoError("Invalid recipient public key", code="bad_public_key") from None
    key = _derive(shared, ephemeral_pk, recipient_public)
    nonce = random(NONCE_SIZE)
    ciphertext: bytes = bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext, _HEADER + context, nonce, key
    )
    return _HEADER + ephemeral_pk + nonce + ciphertext


def open_sealed(blob: bytes, recipient_private: bytes, context: bytes) -> bytes:
    """Decrypt a :func:`seal` blob; raise :class:`TamperedError` if it was
    altered, sealed to someone else, or sealed under another context."""
    _check_size(recipient_private, "recipient private key")
    _check_context(context)
    if len(blob) < _MIN_LEN or blob[:1] != _HEADER:
        raise TamperedError("Sealed message is truncated or of unknown version")
    ephemeral_pk = blob[1 : 1 + KEY_SIZE]
    nonce = blob[1 + KEY_SIZE : 1 + KEY_SIZE + NONCE_SIZE]
    ciphertext = blob[1 + KEY_SIZE + NONCE_SIZE :]
    recipient_pk = public_from_private(recipient_private)
    try:
        shared = bindings.crypto_scalarmult(recipient_private, ephemeral_pk)
        key = _derive(shared, ephemeral_pk, recipient_pk)
        plaintext: bytes = bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            ciphertext, _HEADER + context, nonce, key
        )
    except NaclCryptoError:
        raise TamperedError(
            "Sealed message cannot be opened: altered, wrong key or wrong context"
        ) from None
    return plaintext
