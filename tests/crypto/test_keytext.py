from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c2p_bot.core.crypto import (
    CryptoError,
    KeyFormatError,
    decode_public_key,
    encode_public_key,
    generate_keypair,
    read_private_key,
    write_private_key,
)


@settings(max_examples=50)
@given(key=st.binary(min_size=32, max_size=32))
def test_public_key_round_trip(key: bytes) -> None:
    text = encode_public_key(key)
    assert text.startswith("c2p-pk1:")
    assert decode_public_key(text) == key


def test_public_key_pasted_in_chat() -> None:
    key = generate_keypair().public
    text = encode_public_key(key)
    chopped = text[:20] + "\n " + text[20:35] + "\u200b " + text[35:]
    assert decode_public_key(f"Here is my key:\n  {chopped}  \nthanks!") == key
    assert decode_public_key("C" + text[1:]) == key  # phone auto-capitalisation


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda t: "hello", "not_a_key"),
        (lambda t: t.replace("c2p-pk1", "c2p-sk1"), "not_a_key"),
        (lambda t: t[:-5], "key_truncated"),
        (lambda t: t + "A", "key_too_long"),
        (lambda t: t + " " + t, "several_keys"),
        (lambda t: t[:20] + ("B" if t[20] != "B" else "C") + t[21:], "key_checksum"),
    ],
)
def test_public_key_errors(mutate: Callable[[str], str], code: str) -> None:
    text = encode_public_key(generate_keypair().public)
    with pytest.raises(KeyFormatError) as info:
        decode_public_key(mutate(text))
    assert info.value.code == code
    assert isinstance(info.value, CryptoError)
    assert str(info.value)


def test_encode_wrong_size() -> None:
    with pytest.raises(CryptoError):
        encode_public_key(b"123")


def test_private_key_file(tmp_path: Path) -> None:
    keys = generate_keypair()
    path = tmp_path / "sub" / "me.key"
    write_private_key(path, keys)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_text()
    assert content.startswith("c2p-sk1:") and content.endswith("\n")
    loaded = read_private_key(path)
    assert loaded.private == keys.private and loaded.public == keys.public


def test_private_key_file_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "me.key"
    write_private_key(path, generate_keypair())
    before = path.read_bytes()
    with pytest.raises(CryptoError):
        write_private_key(path, generate_keypair())
    assert path.read_bytes() == before


def test_private_key_file_refusals(tmp_path: Path) -> None:
    path = tmp_path / "me.key"
    with pytest.raises(CryptoError):
        read_private_key(path)
    write_private_key(path, generate_keypair())
    os.chmod(path, 0o644)
    with pytest.raises(CryptoError, match="chmod 600"):
        read_private_key(path)
    os.chmod(path, 0o600)
    path.write_text("c2p-sk1:garbage\n")
    with pytest.raises(KeyFormatError):
        read_private_key(path)


def test_public_key_after_case_changing_unicode() -> None:
    key = generate_keypair().public
    assert decode_public_key("\u0130\u0130 my key: " + encode_public_key(key) + " \u0130") == key
