"""Key-encryption key (KEK): custody outside the database, and wrapping.

The KEK comes from a 0600 key file (``c2p-kek1:<base64url>``) or from a
passphrase via Argon2id. Wrapped format (version 1):
``0x01 || nonce (24) || XChaCha20-Poly1305(secret, AD = 0x01 || context)``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from nacl import bindings
from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.pwhash import argon2id
from nacl.utils import random

from .errors import CryptoError, KekError, KeyFormatError, TamperedError
from .securefile import create_secret_file, read_secret_file
from .textcodec import decode_tagged_exact, encode_tagged

KEK_SIZE = 32
KEY_FILE_TAG = "c2p-kek1"
VERSION = 1
_HEADER = bytes([VERSION])
_NONCE_SIZE = bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_MIN_LEN = 1 + _NONCE_SIZE + bindings.crypto_aead_xchacha20poly1305_ietf_ABYTES
_VERIFIER_CONTEXT = b"c2p:kek-verifier"
_VERIFIER_PLAINTEXT = b"c2p-kek-check-v1"
KDF_ALGORITHM = "argon2id13"


class Kek:
    """A 32-byte key-encryption key. Never printed, never pickled."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != KEK_SIZE:
            raise KekError(f"A KEK must be {KEK_SIZE} bytes", code="bad_key_size")
        self._key = key

    @classmethod
    def generate(cls) -> Kek:
        """Return a new random KEK."""
        return cls(random(KEK_SIZE))

    def wrap(self, secret: bytes, context: bytes) -> bytes:
        """Encrypt ``secret`` bound to ``context`` (non-empty)."""
        _check_context(context)
        nonce = random(_NONCE_SIZE)
        ciphertext: bytes = bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
            secret, _HEADER + context, nonce, self._key
        )
        return _HEADER + nonce + ciphertext

    def unwrap(self, blob: bytes, context: bytes) -> bytes:
        """Decrypt a :meth:`wrap` blob; :class:`TamperedError` on any mismatch."""
        _check_context(context)
        if len(blob) < _MIN_LEN or blob[:1] != _HEADER:
            raise TamperedError("Wrapped secret is truncated or of unknown version")
        nonce, ciphertext = blob[1 : 1 + _NONCE_SIZE], blob[1 + _NONCE_SIZE :]
        try:
            secret: bytes = bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                ciphertext, _HEADER + context, nonce, self._key
            )
        except NaclCryptoError:
            raise TamperedError(
                "Wrapped secret cannot be opened: altered, wrong key or wrong context"
            ) from None
        return secret

    def make_verifier(self) -> bytes:
        """Return a check value to store in the DB (reveals nothing of the key)."""
        return self.wrap(_VERIFIER_PLAINTEXT, _VERIFIER_CONTEXT)

    def verify(self, verifier: bytes) -> bool:
        """True if ``verifier`` was made by this same KEK (detects a wrong
        passphrase or key file at start-up). Never raises."""
        try:
            plaintext = self.unwrap(verifier, _VERIFIER_CONTEXT)
        except (CryptoError, ValueError, TypeError):
            return False
        return hmac.compare_digest(plaintext, _VERIFIER_PLAINTEXT)

    def __repr__(self) -> str:
        return "Kek(<redacted>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("Kek objects must not be pickled")


def _check_context(context: bytes) -> None:
    if not isinstance(context, bytes) or not context:
        raise ValueError("context must be non-empty bytes")


@dataclass(frozen=True)
class KdfParams:
    """Argon2id salt and cost, stored next to the data (not secret)."""

    salt: bytes
    opslimit: int = argon2id.OPSLIMIT_MODERATE
    memlimit: int = argon2id.MEMLIMIT_MODERATE

    def __post_init__(self) -> None:
        if not isinstance(self.salt, bytes) or len(self.salt) != argon2id.SALTBYTES:
            raise KekError("KDF salt must be 16 bytes", code="bad_kdf_params")
        if not argon2id.OPSLIMIT_MIN <= self.opslimit <= argon2id.OPSLIMIT_MAX:
            raise KekError("KDF opslimit out of range", code="bad_kdf_params")
        if not argon2id.MEMLIMIT_MIN <= self.memlimit <= argon2id.MEMLIMIT_MAX:
            raise KekError("KDF memlimit out of range", code="bad_kdf_params")

    @classmethod
    def generate(
        cls,
        opslimit: int = argon2id.OPSLIMIT_MODERATE,
        memlimit: int = argon2id.MEMLIMIT_MODERATE,
    ) -> KdfParams:
        """New parameters with a random salt."""
        return cls(salt=random(argon2id.SALTBYTES), opslimit=opslimit, memlimit=memlimit)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "alg": KDF_ALGORITHM,
            "salt": base64.urlsafe_b64encode(self.salt).decode("ascii"),
            "opslimit": self.opslimit,
            "memlimit": self.memlimit,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KdfParams:
        """Inverse of :meth:`to_dict`; :class:`KekError` on bad input."""
        try:
            if data["alg"] != KDF_ALGORITHM:
                raise KekError("Unknown KDF algorithm", code="bad_kdf_params")
            salt = base64.urlsafe_b64decode(str(data["salt"]).encode("ascii"))
            ops, mem = data["opslimit"], data["memlimit"]
        except (KeyError, TypeError, ValueError, binascii.Error):
            raise KekError("Stored KDF parameters are malformed", code="bad_kdf_params") from None
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (ops, mem)):
            raise KekError("Stored KDF parameters are malformed", code="bad_kdf_params")
        return cls(salt=salt, opslimit=ops, memlimit=mem)


def kek_from_passphrase(passphrase: str, params: KdfParams | None = None) -> tuple[Kek, KdfParams]:
    """Derive the KEK from a passphrase (NFC-normalised) with Argon2id.

    Pass the stored ``params`` to re-derive; ``None`` makes new ones (store
    them). Slow by design: run it off the event loop.
    """
    if not passphrase:
        raise KekError("The passphrase must not be empty", code="empty_passphrase")
    if params is None:
        params = KdfParams.generate()
    password = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    key: bytes = argon2id.kdf(
        KEK_SIZE, password, params.salt, opslimit=params.opslimit, memlimit=params.memlimit
    )
    return Kek(key), params


def load_or_create_key_file(path: str | os.PathLike[str], create: bool) -> Kek:
    """Load the KEK from ``path``; create it (0600, parents 0700) if missing
    and ``create`` is true. Refuses group/world-accessible or malformed files.

    Only create when the database holds no data yet: a new key cannot read
    data encrypted under a lost one (check with :meth:`Kek.verify`).
    """
    target = Path(path)
    text = read_secret_file(target, KekError, "Key file")
    if text is None:
        if not create:
            raise KekError(
                f"Key file {target} not found. Restore it from your backup; without "
                "it the encrypted data cannot be read. (A new installation may create it.)",
                code="key_file_missing",
            )
        kek = Kek.generate()
        try:
            create_secret_file(target, encode_tagged(KEY_FILE_TAG, kek._key) + "\n")
        except FileExistsError:
            return load_or_create_key_file(target, create=False)
        except OSError as exc:
            raise KekError(
                f"Cannot create key file {target}: {exc.strerror}", code="key_file_create"
            ) from None
        return kek
    try:
        return Kek(decode_tagged_exact(KEY_FILE_TAG, text, KEK_SIZE, "key file"))
    except KeyFormatError:
        raise KekError(
            f"Key file {target} is malformed (expected one line '{KEY_FILE_TAG}:...')",
            code="key_file_malformed",
        ) from None
