"""Secrets that transports keep at rest (pickle keys, tokens), KEK-wrapped."""

from __future__ import annotations

from nacl.utils import random

from .kek import Kek


def _context(name: str) -> bytes:
    if not name:
        raise ValueError("secret name must not be empty")
    return b"vault:" + name.encode("utf-8")


def seal_secret(kek: Kek, name: str, value: bytes) -> bytes:
    """Wrap ``value`` under the KEK, bound to ``name``."""
    return kek.wrap(value, _context(name))


def open_secret(kek: Kek, name: str, blob: bytes) -> bytes:
    """Unwrap a :func:`seal_secret` blob; :class:`TamperedError` on mismatch."""
    return kek.unwrap(blob, _context(name))


def reseal_secret(old_kek: Kek, new_kek: Kek, name: str, blob: bytes) -> bytes:
    """Re-wrap a vault secret under a new KEK (``rotate-key``)."""
    return seal_secret(new_kek, name, open_secret(old_kek, name, blob))


def random_secret(n: int = 32) -> bytes:
    """Return ``n`` random bytes from the OS CSPRNG."""
    if n <= 0:
        raise ValueError("n must be positive")
    return random(n)
