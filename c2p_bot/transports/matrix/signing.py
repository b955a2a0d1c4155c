"""Signed JSON for Matrix keys: canonical JSON, Ed25519 signatures, cross-signing key objects.

Canonical JSON and signing are matrix-org's own libraries (``canonicaljson``, ``signedjson``,
as Synapse uses them); this module adds what the Matrix spec asks on top (no floats, strict
base64 for what the server sends) and the three cross-signing seeds, which it never logs.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any

import nacl.signing
import signedjson.key
import signedjson.sign
from canonicaljson import encode_canonical_json
from signedjson.key import NACL_ED25519
from signedjson.sign import SignatureVerifyException

SEED_BYTES = 32

JsonDict = dict[str, Any]


def _reject_floats(value: Any) -> None:
    """The Matrix spec allows no floats in canonical JSON; ``canonicaljson`` 2 would encode them."""
    if isinstance(value, float):
        raise ValueError("canonical JSON does not allow floating-point numbers")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("canonical JSON object keys must be strings")
            _reject_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_floats(item)


def canonical_json(value: Any) -> bytes:
    """Matrix canonical JSON: sorted keys, no whitespace, raw UTF-8, no floats."""
    _reject_floats(value)
    return encode_canonical_json(value)


def signable_bytes(obj: JsonDict) -> bytes:
    """The bytes a signature covers: the object without ``signatures`` and ``unsigned``."""
    return canonical_json({k: v for k, v in obj.items() if k not in ("signatures", "unsigned")})


def unpadded_b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def unpadded_b64decode(text: str) -> bytes:
    """Strict (unlike ``unpaddedbase64``): what the server sends us is checked, not cleaned."""
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def public_key_b64(key: nacl.signing.SigningKey) -> str:
    return unpadded_b64encode(bytes(key.verify_key))


def ed25519_key_id(public_b64: str) -> str:
    return f"ed25519:{public_b64}"


def _algorithm_and_version(key_id: str) -> tuple[str, str]:
    algorithm, _, version = key_id.partition(":")
    if algorithm != NACL_ED25519 or not version:
        raise ValueError(f"not an ed25519 key id: {key_id!r}")
    return algorithm, version


def sign_json(
    obj: JsonDict, signing_key: nacl.signing.SigningKey, user_id: str, key_id: str
) -> JsonDict:
    """Return a copy of ``obj`` with a signature by ``signing_key`` added.

    Existing signatures are kept; ``unsigned`` is preserved but not signed.
    """
    _reject_floats(obj)
    algorithm, version = _algorithm_and_version(key_id)
    key = signedjson.key.decode_signing_key_base64(algorithm, version, unpadded_b64encode(bytes(signing_key)))
    copy = dict(obj)  # signedjson signs in place: sign a copy, with copies of the signature maps
    if "signatures" in obj:
        copy["signatures"] = {u: dict(s) for u, s in obj["signatures"].items()}
    return signedjson.sign.sign_json(copy, user_id, key)


def verify_signature(obj: JsonDict, user_id: str, key_id: str, public_b64: str) -> bool:
    """Whether ``obj`` carries a valid signature by ``public_b64`` under ``user_id``/``key_id``."""
    try:
        _reject_floats(obj)
        verify_key = signedjson.key.decode_verify_key_bytes(key_id, unpadded_b64decode(public_b64))
        signedjson.sign.verify_signed_json(obj, user_id, verify_key)
    except (SignatureVerifyException, KeyError, TypeError, ValueError):  # binascii and nacl errors are ValueErrors
        return False
    return True


@dataclass(frozen=True)
class CrossSigningSeeds:
    """The three private Ed25519 seeds (32 bytes each). Secret: never log these."""

    master: bytes = field(repr=False)
    self_signing: bytes = field(repr=False)
    user_signing: bytes = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("master", "self_signing", "user_signing"):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != SEED_BYTES:
                raise ValueError(f"{name} seed must be {SEED_BYTES} bytes")

    @classmethod
    def generate(cls) -> CrossSigningSeeds:
        return cls(
            secrets.token_bytes(SEED_BYTES),
            secrets.token_bytes(SEED_BYTES),
            secrets.token_bytes(SEED_BYTES),
        )

    def to_bytes(self) -> bytes:
        """The 96-byte concatenation master | self-signing | user-signing."""
        return self.master + self.self_signing + self.user_signing

    @classmethod
    def from_bytes(cls, data: bytes) -> CrossSigningSeeds:
        if len(data) != 3 * SEED_BYTES:
            raise ValueError(f"expected {3 * SEED_BYTES} bytes")
        return cls(data[:32], data[32:64], data[64:])

    @property
    def master_key(self) -> nacl.signing.SigningKey:
        return nacl.signing.SigningKey(self.master)

    @property
    def self_signing_key(self) -> nacl.signing.SigningKey:
        return nacl.signing.SigningKey(self.self_signing)

    @property
    def user_signing_key(self) -> nacl.signing.SigningKey:
        return nacl.signing.SigningKey(self.user_signing)

    @property
    def master_public(self) -> str:
        return public_key_b64(self.master_key)

    @property
    def self_signing_public(self) -> str:
        return public_key_b64(self.self_signing_key)

    @property
    def user_signing_public(self) -> str:
        return public_key_b64(self.user_signing_key)


def _key_object(user_id: str, usage: str, public_b64: str) -> JsonDict:
    return {"user_id": user_id, "usage": [usage], "keys": {ed25519_key_id(public_b64): public_b64}}


def build_cross_signing_keys(user_id: str, seeds: CrossSigningSeeds) -> JsonDict:
    """The body of ``/keys/device_signing/upload`` (without ``auth``).

    The self-signing and user-signing keys are signed by the master key.
    """
    master_id = ed25519_key_id(seeds.master_public)
    master_key = seeds.master_key
    return {
        "master_key": _key_object(user_id, "master", seeds.master_public),
        "self_signing_key": sign_json(
            _key_object(user_id, "self_signing", seeds.self_signing_public),
            master_key,
            user_id,
            master_id,
        ),
        "user_signing_key": sign_json(
            _key_object(user_id, "user_signing", seeds.user_signing_public),
            master_key,
            user_id,
            master_id,
        ),
    }


def key_object_public(key_object: JsonDict | None) -> str | None:
    """The single ed25519 public key of a cross-signing key object, if any."""
    if not key_object:
        return None
    keys = key_object.get("keys") or {}
    for key_id, public in keys.items():
        if key_id.startswith("ed25519:"):
            return str(public)
    return None
