"""Keys as text: public keys pasted in chat and the private key file.

* public key: ``c2p-pk1:<base64url>`` (with checksum, see :mod:`.textcodec`)
* private key file: ``c2p-sk1:<base64url>`` + newline, mode 0600
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import CryptoError, KeyFormatError
from .sealing import KEY_SIZE, KeyPair, public_from_private
from .securefile import create_secret_file, read_secret_file
from .textcodec import decode_tagged, decode_tagged_exact, encode_tagged

PUBLIC_TAG = "c2p-pk1"
PRIVATE_TAG = "c2p-sk1"


def encode_public_key(public: bytes) -> str:
    """Return the shareable text form of an X25519 public key."""
    if len(public) != KEY_SIZE:
        raise KeyFormatError(f"A public key must be {KEY_SIZE} bytes", code="bad_key_size")
    return encode_tagged(PUBLIC_TAG, public)


def decode_public_key(text: str) -> bytes:
    """Parse a public key pasted in chat (spaces, newlines, chat text allowed).

    Raises :class:`KeyFormatError` (a :class:`CryptoError`) with a clear
    message and a ``code`` on bad input.
    """
    return decode_tagged(PUBLIC_TAG, text, KEY_SIZE, "c2p public key")


def write_private_key(path: str | os.PathLike[str], keypair: KeyPair) -> None:
    """Write ``keypair``'s private key to a new 0600 file; never overwrite."""
    target = Path(path)
    try:
        create_secret_file(target, encode_tagged(PRIVATE_TAG, keypair.private) + "\n")
    except FileExistsError:
        raise CryptoError(
            f"{target} already exists; refusing to overwrite a private key",
            code="file_exists",
        ) from None


def read_private_key(path: str | os.PathLike[str]) -> KeyPair:
    """Read a private key file written by :func:`write_private_key`."""
    target = Path(path)
    text = read_secret_file(target, CryptoError, "Private key file")
    if text is None:
        raise CryptoError(f"Private key file {target} not found", code="file_missing")
    try:
        private = decode_tagged_exact(PRIVATE_TAG, text, KEY_SIZE, "private key file")
    except KeyFormatError as exc:
        raise KeyFormatError(f"{target}: {exc}", code=exc.code) from None
    return KeyPair(public=public_from_private(private), private=private)
