from __future__ import annotations

import pytest

from c2p_bot.core.crypto import (
    Kek,
    TamperedError,
    new_person_keys,
    open_sealed,
    public_from_private,
    rewrap,
    seal,
    unwrap_private,
)


def test_new_and_unwrap() -> None:
    kek = Kek.generate()
    pair = new_person_keys(kek, b"person:56")
    private = unwrap_private(kek, pair.wrapped_private, b"person:56")
    assert public_from_private(private) == pair.public
    assert pair.wrapped_private != private


def test_wrong_person_context() -> None:
    kek = Kek.generate()
    pair = new_person_keys(kek, b"person:56")
    with pytest.raises(TamperedError):
        unwrap_private(kek, pair.wrapped_private, b"person:57")


def test_rewrap_keeps_private_key() -> None:
    old, new = Kek.generate(), Kek.generate()
    pair = new_person_keys(old, b"person:56")
    blob = seal(b"check-in note", pair.public, b"checkin:1:recipient:56")
    rewrapped = rewrap(old, new, pair.wrapped_private, b"person:56")
    private = unwrap_private(new, rewrapped, b"person:56")
    assert private == unwrap_private(old, pair.wrapped_private, b"person:56")
    assert open_sealed(blob, private, b"checkin:1:recipient:56") == b"check-in note"
    with pytest.raises(TamperedError):
        unwrap_private(old, rewrapped, b"person:56")
    with pytest.raises(TamperedError):
        rewrap(new, old, pair.wrapped_private, b"person:56")
