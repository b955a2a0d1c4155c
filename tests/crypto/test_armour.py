from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from c2p_bot.core.crypto import (
    ArmourError,
    CryptoError,
    armour,
    dearmour,
    generate_keypair,
    open_sealed,
    seal,
)
from c2p_bot.core.crypto.armour import BEGIN, END

CTX = b"checkin:1234:recipient:56"


@settings(max_examples=60, deadline=None)
@given(
    blob=st.binary(min_size=1, max_size=600),
    context=st.binary(min_size=1, max_size=80),
    before=st.text(max_size=40).filter(lambda t: "BEGIN" not in t.upper()),
    after=st.text(max_size=40),
)
def test_round_trip_with_chat_text(blob: bytes, context: bytes, before: str, after: str) -> None:
    text = before + "\n" + armour(blob, context) + after
    assert dearmour(text) == (blob, context)


def test_format() -> None:
    text = armour(bytes(range(256)), CTX)
    lines = text.strip().split("\n")
    assert lines[0] == BEGIN and lines[-1] == END
    assert lines[1] == "context: checkin:1234:recipient:56"
    assert all(len(line) <= 64 for line in lines[2:-1])
    assert max(len(line) for line in lines[2:-1]) == 64


def test_end_to_end_through_chat() -> None:
    keys = generate_keypair()
    blob = seal(b"I was stopped at the checkpoint", keys.public, CTX)
    mangled = (
        "Forwarded message:\r\n\r\n"
        + "\n".join("> " + "  " + line + "  " for line in armour(blob, CTX).splitlines())
        + "\n\nplease decrypt"
    )
    got_blob, got_ctx = dearmour(mangled)
    assert open_sealed(got_blob, keys.private, got_ctx) == b"I was stopped at the checkpoint"


def test_newlines_collapsed_to_spaces() -> None:
    text = "hi " + armour(b"\x01" * 200, CTX).replace("\n", " ") + " bye"
    assert dearmour(text) == (b"\x01" * 200, CTX)


def test_binary_context_uses_b64_header() -> None:
    text = armour(b"abc", b"with space\n\x00")
    assert "context-b64:" in text
    assert dearmour(text) == (b"abc", b"with space\n\x00")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("nothing here", "no_armour"),
        (BEGIN + "\ncontext: x\nAAAA\n", "armour_truncated"),
        (BEGIN + "\nAAAA\n" + END, "armour_no_context"),
        (BEGIN + "\ncontext: x\nAA*A\n" + END, "armour_corrupt"),
        (BEGIN + "\ncontext: x\nAAA\n" + END, "armour_corrupt"),
        (BEGIN + "\ncontext: x\n" + END, "armour_corrupt"),
    ],
)
def test_errors(text: str, code: str) -> None:
    with pytest.raises(ArmourError) as info:
        dearmour(text)
    assert info.value.code == code
    assert isinstance(info.value, CryptoError)
