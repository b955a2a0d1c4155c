"""Cryptographic building blocks of c2p-bot (PyNaCl only; no other c2p_bot imports).

* :mod:`.sealing` — seal to an X25519 public key, bound to a context
* :mod:`.armour` / :mod:`.keytext` — text forms for chat and key files
* :mod:`.kek` — key-encryption key custody (key file or passphrase)
* :mod:`.keys` — per-person key pairs wrapped by the KEK
* :mod:`.pins` — check-in / duress PIN hashing and matching
* :mod:`.vault` — transport secrets at rest
"""

from .armour import armour, dearmour
from .errors import ArmourError, CryptoError, KekError, KeyFormatError, TamperedError
from .kek import KdfParams, Kek, kek_from_passphrase, load_or_create_key_file
from .keys import WrappedKeyPair, new_person_keys, rewrap, unwrap_private
from .keytext import decode_public_key, encode_public_key, read_private_key, write_private_key
from .pins import (
    DEFAULT_PIN_PARAMS,
    INTERACTIVE_PIN_PARAMS,
    PinHashParams,
    PinMatch,
    PinProblem,
    hash_pin,
    match_pin,
    normalize_pin,
    validate_pin,
    verify_pin,
)
from .sealing import (
    KeyPair,
    check_public_key,
    generate_keypair,
    open_sealed,
    public_from_private,
    seal,
)
from .vault import open_secret, random_secret, reseal_secret, seal_secret

__all__ = [
    "DEFAULT_PIN_PARAMS",
    "INTERACTIVE_PIN_PARAMS",
    "ArmourError",
    "CryptoError",
    "KdfParams",
    "Kek",
    "KekError",
    "KeyFormatError",
    "KeyPair",
    "PinHashParams",
    "PinMatch",
    "PinProblem",
    "TamperedError",
    "WrappedKeyPair",
    "armour",
    "check_public_key",
    "dearmour",
    "decode_public_key",
    "encode_public_key",
    "generate_keypair",
    "hash_pin",
    "kek_from_passphrase",
    "load_or_create_key_file",
    "match_pin",
    "new_person_keys",
    "normalize_pin",
    "open_sealed",
    "open_secret",
    "public_from_private",
    "random_secret",
    "read_private_key",
    "reseal_secret",
    "rewrap",
    "seal",
    "seal_secret",
    "unwrap_private",
    "validate_pin",
    "verify_pin",
    "write_private_key",
]
