"""Transcripts are strict: an unexpected message fails the test unless it is skipped on purpose."""

from __future__ import annotations

import pytest

from c2p_bot.transports.memory import Delivered, MemoryTransport
from tests.support.transcript import Chat


def chat_with(*texts: str, user: str = "paul") -> Chat:
    transport = MemoryTransport()
    for index, text in enumerate(texts):
        transport.inbox[user].append(Delivered(user, text, [], 0, f"k{index}", str(index)))
    return Chat(runtime=None, transport=transport)  # type: ignore[arg-type]  # expect needs no bot


def test_expect_takes_the_next_message_in_order() -> None:
    chat = chat_with("ALERT #1", "Reminder 1")
    assert chat.expect("paul", r"ALERT #1").text == "ALERT #1"
    assert chat.expect("paul", r"Reminder").text == "Reminder 1"
    chat.expect_nothing("paul")


def test_a_duplicated_message_before_the_expected_one_fails() -> None:
    chat = chat_with("ALERT #1", "ALERT #1", "Reminder 1")
    chat.expect("paul", r"ALERT #1")
    with pytest.raises(AssertionError, match=r"1 unexpected message\(s\) before the one matching 'Reminder'"):
        chat.expect("paul", r"Reminder")


def test_the_failure_shows_what_was_unexpected_and_how_to_skip_it() -> None:
    chat = chat_with("stray reply", "ALERT #1")
    with pytest.raises(AssertionError) as failure:
        chat.expect("paul", r"ALERT")
    assert "stray reply" in str(failure.value)
    assert "chat.skip('paul')" in str(failure.value) and "skipping=True" in str(failure.value)


def test_skipping_passes_over_messages_on_purpose() -> None:
    chat = chat_with("welcome", "question", "all set")
    assert chat.expect("paul", r"all set", skipping=True).text == "all set"
    chat.expect_nothing("paul")


def test_skip_marks_everything_so_far_read() -> None:
    chat = chat_with("one", "two")
    chat.skip("paul")
    chat.expect_nothing("paul")
    chat.transport.inbox["paul"].append(Delivered("paul", "three", [], 0, "k9", "9"))
    assert chat.expect("paul", r"three").text == "three"


def test_no_match_at_all_fails_even_when_skipping() -> None:
    chat = chat_with("one")
    with pytest.raises(AssertionError, match="no message matching 'two'"):
        chat.expect("paul", r"two", skipping=True)
