"""`c2p-bot decrypt` checks the message is for the key it was given, and shows what it opens
(which note, for whom, when, which alert) above the plaintext (issue 13 L)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from c2p_bot.cli import main
from c2p_bot.core.crypto import armour, generate_keypair, seal, write_private_key
from c2p_bot.core.notes import armour_headers, note_context
from storage.models import Note

WRITTEN = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)


def sealed_note(public: bytes, *, headers: bool = True) -> str:
    note = Note(id=12, subject_id=3, kind="checkin", alert_id=4, created_at=WRITTEN)
    blob = seal(b"safe at the office", public, note_context(12, 7))
    return "🚨 ALERT #4 …\n" + armour(blob, note_context(12, 7),
                                      armour_headers(note, public) if headers else ())


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for name in ("paul", "other"):
        files[name] = tmp_path / f"{name}.key"
        write_private_key(files[name], generate_keypair())
    return files


def public_of(path: Path) -> bytes:
    from c2p_bot.core.crypto import read_private_key
    return read_private_key(path).public


def run(keyfile: Path, text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    source = tmp_path / "message.txt"
    source.write_text(text, encoding="utf-8")
    code = main(["decrypt", "--key", str(keyfile), str(source)])
    out, err = capsys.readouterr()
    return code, out, err


def test_decrypt_shows_the_context_above_the_plaintext(keys: dict[str, Path], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(keys["paul"], sealed_note(public_of(keys["paul"])), tmp_path, capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[-1] == "safe at the office"
    head = "\n".join(lines[:-1])
    assert "note #12" in head and "reader #7" in head and "checkin" in head
    assert "alert #4" in head and "2026-03-02 05:00 UTC" in head


def test_decrypt_refuses_a_message_for_another_reader_clearly(keys: dict[str, Path], tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(keys["other"], sealed_note(public_of(keys["paul"])), tmp_path, capsys)
    assert code == 1 and out == ""
    assert "reader #7" in err and "not the key in" in err and str(keys["other"]) in err


def test_decrypt_without_key_mark_names_the_reader_when_it_cannot_open(
        keys: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(keys["other"], sealed_note(public_of(keys["paul"]), headers=False), tmp_path, capsys)
    assert code == 1 and out == ""
    assert "reader #7" in err and "note #12" in err
    code, out, err = run(keys["paul"], sealed_note(public_of(keys["paul"]), headers=False), tmp_path, capsys)
    assert code == 0 and out.strip().splitlines()[-1] == "safe at the office"
    assert "note #12" in out and "reader #7" in out
