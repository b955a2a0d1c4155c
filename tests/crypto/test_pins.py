from __future__ import annotations

import pytest

from c2p_bot.core.crypto import PinHashParams, hash_pin, match_pin, validate_pin, verify_pin
from c2p_bot.core.crypto import pins as pins_module


@pytest.fixture(scope="module")
def hashes() -> tuple[bytes, bytes]:
    from c2p_bot.core.crypto import INTERACTIVE_PIN_PARAMS

    return hash_pin("2468", INTERACTIVE_PIN_PARAMS), hash_pin("1357", INTERACTIVE_PIN_PARAMS)


def test_hash_and_verify(hashes: tuple[bytes, bytes]) -> None:
    checkin, _ = hashes
    assert checkin.startswith(b"$argon2id$")
    assert b"2468" not in checkin
    assert verify_pin(checkin, "2468")
    assert verify_pin(checkin, " 2468\n")
    assert not verify_pin(checkin, "2469")
    assert not verify_pin(checkin, "")
    assert not verify_pin(b"garbage", "2468")
    assert not verify_pin(b"", "2468")


def test_unicode_digits(hashes: tuple[bytes, bytes]) -> None:
    checkin, _ = hashes
    assert verify_pin(checkin, "\u0662\u0664\u0666\u0668")  # Arabic-Indic
    assert verify_pin(checkin, "\u06f2\u06f4\u06f6\u06f8")  # Persian
    assert verify_pin(checkin, "\uff12\uff14\uff16\uff18")  # full-width


def test_hash_is_salted(pin_params: PinHashParams) -> None:
    assert hash_pin("2468", pin_params) != hash_pin("2468", pin_params)


def test_match_pin(hashes: tuple[bytes, bytes]) -> None:
    checkin, duress = hashes
    assert match_pin("2468", checkin, duress) == "checkin"
    assert match_pin("1357", checkin, duress) == "duress"
    assert match_pin("0000", checkin, duress) == "wrong"
    assert match_pin("abc", checkin, duress) == "wrong"
    assert match_pin("2468", checkin, None) == "checkin"
    assert match_pin("1357", checkin, None) == "wrong"


def test_duress_wins_when_both_match(hashes: tuple[bytes, bytes]) -> None:
    checkin, _ = hashes
    assert match_pin("2468", checkin, checkin) == "duress"


@pytest.mark.parametrize(
    ("pin", "duress_set"), [("2468", True), ("1357", True), ("9", True), ("2468", False)]
)
def test_match_pin_always_verifies_twice(
    hashes: tuple[bytes, bytes],
    monkeypatch: pytest.MonkeyPatch,
    pin: str,
    duress_set: bool,
) -> None:
    checkin, duress = hashes
    calls: list[bytes] = []
    real = pins_module.argon2id.verify

    def counting(hashed: bytes, password: bytes) -> bool:
        calls.append(hashed)
        return bool(real(hashed, password))

    monkeypatch.setattr(pins_module.argon2id, "verify", counting)
    match_pin(pin, checkin, duress if duress_set else None)
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("pin", "expected"),
    [
        ("1234", None),
        ("123456789012", None),
        (" 1234 ", None),
        ("\u0661\u0662\u0663\u0664", None),
        ("", "too_short"),
        ("   ", "too_short"),
        ("123", "too_short"),
        ("1234567890123", "too_long"),
        ("12a4", "not_digits"),
        ("12 34", "not_digits"),
        ("-1234", "not_digits"),
        ("\u00b2\u00b3\u00b9\u00b2", "not_digits"),  # superscripts are not decimal digits
    ],
)
def test_validate_pin(pin: str, expected: str | None) -> None:
    assert validate_pin(pin) == expected


def test_hash_invalid_pin_refused(pin_params: PinHashParams) -> None:
    with pytest.raises(ValueError, match="too_short"):
        hash_pin("12", pin_params)
