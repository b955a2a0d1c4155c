"""A stream sealed to an X25519 public key, for payloads too large to seal in one piece (backups).

A random stream key is sealed to the recipient with :func:`.sealing.seal`, bound to the caller's
``context``; the payload follows as libsodium secretstream (XChaCha20-Poly1305) chunks, the last
one tagged FINAL, so a chunk altered, dropped, reordered, cut off or appended is detected.

Layout: ``sealed stream key (105 bytes) || secretstream header (24) || chunks``, each chunk
``length (4 bytes, big-endian) || ciphertext`` of at most :data:`CHUNK` plaintext bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from nacl import bindings
from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.utils import random

from .errors import TamperedError
from .sealing import KEY_SIZE, NONCE_SIZE, TAG_SIZE, open_sealed, seal

CHUNK = 64 * 1024
SEALED_KEY_SIZE = 1 + KEY_SIZE + NONCE_SIZE + bindings.crypto_secretstream_xchacha20poly1305_KEYBYTES + TAG_SIZE
_HEADER_SIZE = bindings.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_ABYTES = bindings.crypto_secretstream_xchacha20poly1305_ABYTES
_MESSAGE = bindings.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_FINAL = bindings.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_LENGTH = struct.Struct(">I")


class StreamTruncated(TamperedError):
    """The sealed stream ends before its final chunk."""

    code = "truncated"


def seal_stream(pieces: Iterable[bytes], recipient_public: bytes, context: bytes, out: BinaryIO) -> int:
    """Write ``pieces`` to ``out`` sealed to ``recipient_public`` under ``context``; returns the
    number of plaintext bytes."""
    key = random(bindings.crypto_secretstream_xchacha20poly1305_KEYBYTES)
    out.write(seal(key, recipient_public, context))
    state = bindings.crypto_secretstream_xchacha20poly1305_state()
    out.write(bindings.crypto_secretstream_xchacha20poly1305_init_push(state, key))
    total = 0
    for piece in pieces:
        for start in range(0, len(piece), CHUNK):
            chunk = piece[start:start + CHUNK]
            _write_chunk(out, bindings.crypto_secretstream_xchacha20poly1305_push(state, chunk, None, _MESSAGE))
            total += len(chunk)
    _write_chunk(out, bindings.crypto_secretstream_xchacha20poly1305_push(state, b"", None, _FINAL))
    return total


def _write_chunk(out: BinaryIO, ciphertext: bytes) -> None:
    out.write(_LENGTH.pack(len(ciphertext)))
    out.write(ciphertext)


class SealedStreamReader:
    """Opens a :func:`seal_stream` stream: the stream key at once (:class:`TamperedError` when the
    private key is not the recipient's or the context differs), then the chunks as iterated
    (:class:`StreamTruncated` when it ends early, :class:`TamperedError` when altered)."""

    def __init__(self, source: BinaryIO, recipient_private: bytes, context: bytes) -> None:
        self._source = source
        sealed_key = _read_exactly(source, SEALED_KEY_SIZE)
        key = open_sealed(sealed_key, recipient_private, context)
        self._state = bindings.crypto_secretstream_xchacha20poly1305_state()
        bindings.crypto_secretstream_xchacha20poly1305_init_pull(
            self._state, _read_exactly(source, _HEADER_SIZE), key)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            (length,) = _LENGTH.unpack(_read_exactly(self._source, _LENGTH.size))
            if not _ABYTES <= length <= CHUNK + _ABYTES:
                raise TamperedError("Sealed stream has a chunk of impossible length")
            try:
                plaintext, tag = bindings.crypto_secretstream_xchacha20poly1305_pull(
                    self._state, _read_exactly(self._source, length), None)
            except NaclCryptoError:
                raise TamperedError("Sealed stream chunk cannot be opened: altered or reordered") from None
            if tag == _FINAL:
                if self._source.read(1):
                    raise TamperedError("Sealed stream has data after its end")
                if plaintext:
                    yield plaintext
                return
            yield plaintext


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise StreamTruncated("Sealed stream ends too early")
    return data
