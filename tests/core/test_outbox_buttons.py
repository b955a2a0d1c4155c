"""Buttons stored with an outbox row come back exactly as they were queued."""

from __future__ import annotations

import json

import pytest

from c2p_bot.core.events import Button
from c2p_bot.core.outbox import decode_buttons, encode_buttons

LAYOUTS = [
    [],
    [[]],
    [[Button("Acknowledge", "/ack 12345")]],
    [[Button('Say "yes"\\now', "/a b")], [Button("Je suis en sécurité ✅", "/checkin"), Button("🚨\n\u2028\t", "/x")]],
]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_round_trip_and_standard_json(layout: list[list[Button]]) -> None:
    encoded = encode_buttons(layout)
    assert encoded == json.dumps([[[b.label, b.payload] for b in row] for row in layout], ensure_ascii=False)
    assert decode_buttons(encoded) == tuple(tuple(row) for row in layout)
