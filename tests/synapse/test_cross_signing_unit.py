"""Unit tests for the pure helpers of the cross-signing module (no server needed)."""

from __future__ import annotations

import nacl.signing
import pytest
import vodozemac

from c2p_bot.transports.matrix.cross_signing import (
    CrossSigningSeeds,
    build_cross_signing_keys,
    canonical_json,
    ed25519_key_id,
    key_object_public,
    public_key_b64,
    sign_json,
    signable_bytes,
    unpadded_b64decode,
    unpadded_b64encode,
    verify_signature,
)

# Test vector from the Matrix specification (appendices, "Signing details").
SPEC_SEED = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1"


def spec_key() -> nacl.signing.SigningKey:
    return nacl.signing.SigningKey(unpadded_b64decode(SPEC_SEED))


def test_canonical_json_sorts_and_strips_whitespace() -> None:
    value = {"b": [1, {"z": True, "a": None}], "a": "x"}
    assert canonical_json(value) == b'{"a":"x","b":[1,{"a":null,"z":true}]}'


def test_canonical_json_keeps_unicode_raw_and_sorts_by_code_point() -> None:
    # Spec examples: keys sort by code point, non-ASCII stays as UTF-8.
    assert canonical_json({"本": 2, "日": 1}) == '{"日":1,"本":2}'.encode()
    assert canonical_json({"a": "日本語"}) == '{"a":"日本語"}'.encode()
    assert canonical_json({"a": "\u0000"}) == b'{"a":"\\u0000"}'


def test_canonical_json_rejects_floats() -> None:
    with pytest.raises(ValueError):
        canonical_json({"a": 1.5})
    with pytest.raises(ValueError):
        canonical_json({"a": [{"b": 0.0}]})


def test_signable_bytes_ignores_signatures_and_unsigned() -> None:
    obj = {"a": 1, "signatures": {"u": {"k": "s"}}, "unsigned": {"age": 5}}
    assert signable_bytes(obj) == b'{"a":1}'


def test_unpadded_base64_roundtrip() -> None:
    for n in range(0, 40):
        data = bytes(range(n))
        text = unpadded_b64encode(data)
        assert "=" not in text
        assert unpadded_b64decode(text) == data


def test_sign_json_matches_spec_vectors() -> None:
    key = spec_key()
    assert sign_json({}, key, "domain", "ed25519:1")["signatures"] == {
        "domain": {
            "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/"
            "7Xg4ahLwYGYZzuHGZKM5ZAQ"
        }
    }
    signed = sign_json({"one": 1, "two": "Two"}, key, "domain", "ed25519:1")
    assert signed["signatures"]["domain"]["ed25519:1"] == (
        "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
    )


def test_sign_json_keeps_other_signatures_and_does_not_mutate() -> None:
    key = spec_key()
    original = {"x": "y", "signatures": {"@u:hs": {"ed25519:DEV": "old"}}, "unsigned": {"a": 1}}
    signed = sign_json(original, key, "@u:hs", "ed25519:new")
    assert signed["signatures"]["@u:hs"] == {
        "ed25519:DEV": "old",
        "ed25519:new": signed["signatures"]["@u:hs"]["ed25519:new"],
    }
    assert signed["unsigned"] == {"a": 1}
    assert original["signatures"] == {"@u:hs": {"ed25519:DEV": "old"}}


def test_verify_signature_accepts_valid_and_rejects_tampering() -> None:
    key = nacl.signing.SigningKey.generate()
    public = public_key_b64(key)
    key_id = ed25519_key_id(public)
    signed = sign_json({"keys": {"a": "b"}}, key, "@u:hs", key_id)
    assert verify_signature(signed, "@u:hs", key_id, public)
    assert not verify_signature({**signed, "keys": {"a": "c"}}, "@u:hs", key_id, public)
    assert not verify_signature(signed, "@other:hs", key_id, public)
    other = public_key_b64(nacl.signing.SigningKey.generate())
    assert not verify_signature(signed, "@u:hs", key_id, other)
    assert not verify_signature({"keys": {}}, "@u:hs", key_id, public)
    garbled = {**signed, "signatures": {"@u:hs": {key_id: "!!"}}}
    assert not verify_signature(garbled, "@u:hs", key_id, public)


def test_signature_verifies_with_vodozemac() -> None:
    """Cross-check with the Ed25519 implementation that nio's olm uses."""
    key = nacl.signing.SigningKey.generate()
    public = public_key_b64(key)
    obj = {"user_id": "@bot:hs", "note": "ünïcode", "n": 3}
    signed = sign_json(obj, key, "@bot:hs", ed25519_key_id(public))
    signature = signed["signatures"]["@bot:hs"][ed25519_key_id(public)]
    vodozemac.Ed25519PublicKey.from_base64(public).verify_signature(
        signable_bytes(signed), vodozemac.Ed25519Signature.from_base64(signature)
    )


def test_seeds_hide_secrets_and_roundtrip() -> None:
    seeds = CrossSigningSeeds.generate()
    text = repr(seeds) + str(seeds)
    for secret in (seeds.master, seeds.self_signing, seeds.user_signing):
        assert repr(secret) not in text
        assert secret.hex() not in text
    assert CrossSigningSeeds.from_bytes(seeds.to_bytes()) == seeds
    assert len({seeds.master_public, seeds.self_signing_public, seeds.user_signing_public}) == 3
    with pytest.raises(ValueError):
        CrossSigningSeeds(b"short", seeds.self_signing, seeds.user_signing)
    with pytest.raises(ValueError):
        CrossSigningSeeds.from_bytes(b"\0" * 95)


def test_build_cross_signing_keys_structure_and_signatures() -> None:
    seeds = CrossSigningSeeds.generate()
    keys = build_cross_signing_keys("@bot:hs", seeds)
    master_id = ed25519_key_id(seeds.master_public)
    assert keys["master_key"] == {
        "user_id": "@bot:hs",
        "usage": ["master"],
        "keys": {master_id: seeds.master_public},
    }
    for name, usage, public in (
        ("self_signing_key", "self_signing", seeds.self_signing_public),
        ("user_signing_key", "user_signing", seeds.user_signing_public),
    ):
        obj = keys[name]
        assert obj["usage"] == [usage]
        assert key_object_public(obj) == public
        assert verify_signature(obj, "@bot:hs", master_id, seeds.master_public)
    assert key_object_public(None) is None
