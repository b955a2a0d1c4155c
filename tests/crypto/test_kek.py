from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path

import pytest
from nacl.pwhash import argon2id

from c2p_bot.core.crypto import (
    KdfParams,
    Kek,
    KekError,
    TamperedError,
    kek_from_passphrase,
    load_or_create_key_file,
)


def same_key(a: Kek, b: Kek) -> bool:
    return b.verify(a.make_verifier())


def test_key_file_created_0600(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "deep" / "kek"
    kek = load_or_create_key_file(path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert text.startswith("c2p-kek1:") and text.endswith("\n") and text.count("\n") == 1
    again = load_or_create_key_file(path, create=False)
    assert same_key(kek, again)
    assert same_key(kek, load_or_create_key_file(path, create=True))


def test_missing_key_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    with pytest.raises(KekError, match="not found") as info:
        load_or_create_key_file(path, create=False)
    assert info.value.code == "key_file_missing"
    assert not path.exists()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_insecure_permissions_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "kek"
    load_or_create_key_file(path, create=True)
    os.chmod(path, mode)
    with pytest.raises(KekError, match="chmod 600") as info:
        load_or_create_key_file(path, create=False)
    assert info.value.code == "insecure_permissions"


def test_read_only_0400_accepted(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    kek = load_or_create_key_file(path, create=True)
    os.chmod(path, 0o400)
    assert same_key(kek, load_or_create_key_file(path, create=False))


@pytest.mark.parametrize(
    "content",
    ["", "hello\n", "c2p-kek1:AAAA\n", "c2p-kek1:" + "A" * 48 + "\n", "junk c2p-kek1:x\n"],
)
def test_malformed_key_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "kek"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(KekError, match="malformed"):
        load_or_create_key_file(path, create=True)
    assert path.read_text() == content


def test_key_file_with_extra_text_refused(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    load_or_create_key_file(path, create=True)
    path.write_text(path.read_text() + "extra\n")
    with pytest.raises(KekError, match="malformed"):
        load_or_create_key_file(path, create=False)


def test_passphrase(fast_kdf: KdfParams) -> None:
    kek, params = kek_from_passphrase("correct horse battery staple", fast_kdf)
    assert params == fast_kdf
    stored = json.loads(json.dumps(params.to_dict()))
    verifier = kek.make_verifier()
    again, _ = kek_from_passphrase("correct horse battery staple", KdfParams.from_dict(stored))
    assert again.verify(verifier)
    assert again.unwrap(kek.wrap(b"s", b"ctx"), b"ctx") == b"s"
    wrong, _ = kek_from_passphrase("correct horse battery stapler", KdfParams.from_dict(stored))
    assert not wrong.verify(verifier)
    other_salt, _ = kek_from_passphrase(
        "correct horse battery staple",
        KdfParams.generate(fast_kdf.opslimit, fast_kdf.memlimit),
    )
    assert not other_salt.verify(verifier)


def test_passphrase_unicode_normalised(fast_kdf: KdfParams) -> None:
    nfc, _ = kek_from_passphrase("caf\u00e9 \u00e0 Gaza", fast_kdf)
    nfd, _ = kek_from_passphrase("cafe\u0301 a\u0300 Gaza", fast_kdf)
    assert same_key(nfc, nfd)


def test_default_params_moderate() -> None:
    params = KdfParams.generate()
    assert params.opslimit == argon2id.OPSLIMIT_MODERATE
    assert params.memlimit == argon2id.MEMLIMIT_MODERATE


def test_empty_passphrase_refused(fast_kdf: KdfParams) -> None:
    with pytest.raises(KekError):
        kek_from_passphrase("", fast_kdf)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"alg": "scrypt", "salt": "AAAAAAAAAAAAAAAAAAAAAA==", "opslimit": 2, "memlimit": 8192},
        {"alg": "argon2id13", "salt": "AAAA", "opslimit": 2, "memlimit": 8192},
        {"alg": "argon2id13", "salt": "AAAAAAAAAAAAAAAAAAAAAA==", "opslimit": 0, "memlimit": 8192},
        {"alg": "argon2id13", "salt": "AAAAAAAAAAAAAAAAAAAAAA==", "opslimit": "2", "memlimit": 1},
        {"alg": "argon2id13", "salt": "!!", "opslimit": 2, "memlimit": 8192},
    ],
)
def test_bad_kdf_params(data: dict[str, object]) -> None:
    with pytest.raises(KekError):
        KdfParams.from_dict(data)


def test_wrap_unwrap() -> None:
    kek = Kek.generate()
    blob = kek.wrap(b"secret", b"person-key:1")
    assert blob[0] == 1
    assert kek.unwrap(blob, b"person-key:1") == b"secret"
    with pytest.raises(TamperedError):
        kek.unwrap(blob, b"person-key:2")
    with pytest.raises(TamperedError):
        Kek.generate().unwrap(blob, b"person-key:1")
    flipped = bytearray(blob)
    flipped[-1] ^= 1
    with pytest.raises(TamperedError):
        kek.unwrap(bytes(flipped), b"person-key:1")
    with pytest.raises(TamperedError):
        kek.unwrap(blob[:20], b"person-key:1")


def test_verifier_garbage_is_false() -> None:
    kek = Kek.generate()
    assert not kek.verify(b"")
    assert not kek.verify(b"\x01" * 80)
    assert not kek.verify(kek.wrap(b"other", b"c2p:kek-verifier"))


def test_kek_not_leaked(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    kek = load_or_create_key_file(path, create=True)
    encoded = path.read_text().strip().split(":", 1)[1]
    raw = kek._key
    for shown in (repr(kek), str(kek), f"{kek!r}"):
        assert raw.hex() not in shown and encoded[:20] not in shown and str(raw) not in shown
    with pytest.raises(TypeError):
        pickle.dumps(kek)
    with pytest.raises(KekError):
        Kek(b"short")
