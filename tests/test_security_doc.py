"""L — SECURITY.md states what the code does: its caps are the code's, its promises are kept."""

from __future__ import annotations

import re
from pathlib import Path

from c2p_bot.core.notes import MAX_NOTE
from c2p_bot.core.parsing import MAX_TEXT

DOC = (Path(__file__).resolve().parent.parent / "SECURITY.md").read_text(encoding="utf-8")


def _bullet(title: str) -> str:
    start = DOC.index(f"- **{title}**")
    end = DOC.find("\n- **", start + 1)
    return DOC[start:end if end != -1 else None]


def test_every_character_cap_in_the_document_is_the_codes() -> None:
    message_cap, note_cap = MAX_TEXT * 2, MAX_NOTE  # clean_text keeps text[:MAX_TEXT * 2]
    claimed = {int(n.replace(",", "")) for n in re.findall(r"(\d[\d,]*) characters", DOC)}
    assert claimed == {message_cap, note_cap}, claimed


def test_own_keys_do_not_claim_to_protect_against_a_compromised_server() -> None:
    own = " ".join(_bullet("Own keys.").split())
    assert not re.search(r"Protects against\*:[^*]*(compromised|operator)", own)
    assert "when it is written" in own  # the server sees every note as it arrives
    assert "coordinator" in own  # and seals it to coordinators' server-held keys too
