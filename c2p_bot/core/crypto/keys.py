"""Per-person X25519 key pairs whose private half is wrapped by the KEK."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import TamperedError
from .kek import Kek
from .sealing import KEY_SIZE, generate_keypair

_PREFIX = b"person-key:"


@dataclass(frozen=True)
class WrappedKeyPair:
    """Public key (plain) and private key wrapped by the KEK."""

    public: bytes
    wrapped_private: bytes


def _context(person_context: bytes) -> bytes:
    if not isinstance(person_context, bytes) or not person_context:
        raise ValueError("person_context must be non-empty bytes")
    return _PREFIX + person_context


def new_person_keys(kek: Kek, person_context: bytes) -> WrappedKeyPair:
    """Generate a key pair for one person (e.g. b"person:56")."""
    pair = generate_keypair()
    return WrappedKeyPair(pair.public, kek.wrap(pair.private, _context(person_context)))


def unwrap_private(kek: Kek, wrapped: bytes, person_context: bytes) -> bytes:
    """Return the raw private key; :class:`TamperedError` on any mismatch."""
    private = kek.unwrap(wrapped, _context(person_context))
    if len(private) != KEY_SIZE:
        raise TamperedError("Wrapped private key has the wrong size")
    return private


def rewrap(old_kek: Kek, new_kek: Kek, wrapped: bytes, context: bytes) -> bytes:
    """Re-wrap a person's private key under a new KEK (``rotate-key``)."""
    return new_kek.wrap(unwrap_private(old_kek, wrapped, context), _context(context))
