"""Tagged text form for 32-byte keys: ``<tag>:<base64url(key || checksum)>``.

The 4-byte checksum catches typos and truncation when a key is pasted in
chat, so we never seal to a key nobody holds.
"""

from __future__ import annotations

import base64
import hmac
import re
import string

from nacl.encoding import RawEncoder
from nacl.hash import blake2b

from .errors import KeyFormatError

CHECKSUM_SIZE = 4
_B64URL = frozenset(string.ascii_letters + string.digits + "-_")
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")


def _checksum(tag: str, raw: bytes) -> bytes:
    digest: bytes = blake2b(
        raw, digest_size=CHECKSUM_SIZE, person=tag.encode("ascii"), encoder=RawEncoder
    )
    return digest


def _encoded_len(size: int) -> int:
    return -(-(size + CHECKSUM_SIZE) * 4 // 3)


def encode_tagged(tag: str, raw: bytes) -> str:
    """Return ``tag:base64url`` (unpadded) of ``raw`` plus its checksum."""
    body = base64.urlsafe_b64encode(raw + _checksum(tag, raw)).rstrip(b"=")
    return f"{tag}:{body.decode('ascii')}"


def decode_tagged(tag: str, text: str, size: int, what: str) -> bytes:
    """Find one ``tag:`` key in ``text`` (chat noise, spaces, newlines allowed).

    Raises :class:`KeyFormatError` with a code: ``not_a_key``, ``several_keys``,
    ``key_truncated``, ``key_too_long`` or ``key_checksum``.
    """
    matches = list(re.finditer(re.escape(tag + ":"), text, re.IGNORECASE | re.ASCII))
    if not matches:
        raise KeyFormatError(
            f"Not a {what}: expected text starting with '{tag}:'", code="not_a_key"
        )
    if len(matches) > 1:
        raise KeyFormatError(f"More than one {what} found; paste exactly one", code="several_keys")
    need = _encoded_len(size)
    chars: list[str] = []
    i = matches[0].end()
    while i < len(text) and len(chars) < need:
        ch = text[i]
        if ch in _B64URL:
            chars.append(ch)
        elif not (ch.isspace() or ch in _ZERO_WIDTH):
            break
        i += 1
    if len(chars) < need:
        raise KeyFormatError(f"The {what} is incomplete; copy the whole key", code="key_truncated")
    if i < len(text) and text[i] in _B64URL:
        raise KeyFormatError(f"The {what} has extra characters at the end", code="key_too_long")
    encoded = "".join(chars)
    raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    key, check = raw[:size], raw[size:]
    if not hmac.compare_digest(check, _checksum(tag, key)):
        raise KeyFormatError(
            f"The {what} is mistyped or altered (checksum mismatch)", code="key_checksum"
        )
    return key


def decode_tagged_exact(tag: str, text: str, size: int, what: str) -> bytes:
    """Like :func:`decode_tagged` but the text must hold nothing else (files)."""
    key = decode_tagged(tag, text, size, what)
    if text.strip() != encode_tagged(tag, key):
        raise KeyFormatError(f"The {what} has unexpected content", code="key_malformed")
    return key
