from __future__ import annotations

import pytest

from c2p_bot.core.crypto import (
    Kek,
    TamperedError,
    open_secret,
    random_secret,
    reseal_secret,
    seal_secret,
)


def test_vault_round_trip_and_binding() -> None:
    kek = Kek.generate()
    blob = seal_secret(kek, "matrix-pickle-key", b"p" * 32)
    assert open_secret(kek, "matrix-pickle-key", blob) == b"p" * 32
    with pytest.raises(TamperedError):
        open_secret(kek, "telegram-token", blob)
    assert kek.unwrap(blob, b"vault:matrix-pickle-key") == b"p" * 32


def test_reseal() -> None:
    old, new = Kek.generate(), Kek.generate()
    blob = reseal_secret(old, new, "t", seal_secret(old, "t", b"tok"))
    assert open_secret(new, "t", blob) == b"tok"


def test_random_secret() -> None:
    assert len(random_secret()) == 32
    assert len(random_secret(16)) == 16
    assert random_secret() != random_secret()
    with pytest.raises(ValueError):
        random_secret(0)
