"""The console transport's buttons: a typed number presses a button of the latest message that
had buttons, and the console says which one was pressed."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from c2p_bot.core.events import Button, Outgoing
from c2p_bot.transports.console import ConsoleTransport

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _now() -> datetime:
    return NOW


def _message(chat_id: str, text: str, *buttons: tuple[str, str]) -> Outgoing:
    return Outgoing(0, "console", chat_id, text, buttons=(tuple(Button(label, payload) for label, payload in buttons),)
                    if buttons else ())


async def test_a_number_presses_a_button_of_the_latest_message_that_had_buttons() -> None:
    out = io.StringIO()
    console = ConsoleTransport(out)
    await console.deliver(_message("you", "Reminder: your next check-in is due soon.",
                                   ("I'm safe", "/checkin"), ("Later", "/status")))
    await console.deliver(_message("you", "Your pause ends tomorrow."))  # no buttons of its own
    pressed = console.to_incoming("1", _now)
    assert pressed is not None and (pressed.text, pressed.is_button) == ("/checkin", True)
    assert "(pressed [1] I'm safe)" in out.getvalue()


async def test_buttons_are_pressed_once_and_only_in_their_own_chat() -> None:
    out = io.StringIO()
    console = ConsoleTransport(out)
    await console.deliver(_message("cora", "Alert", ("Acknowledge", "/ack 1")))
    typed = console.to_incoming("1", _now)  # "you" has no buttons: a plain 1
    assert typed is not None and (typed.text, typed.is_button) == ("1", False)
    console.to_incoming("/as cora", _now)
    pressed = console.to_incoming("1", _now)
    assert pressed is not None and (pressed.text, pressed.is_button) == ("/ack 1", True)
    again = console.to_incoming("1", _now)  # what came after the press had no buttons
    assert again is not None and (again.text, again.is_button) == ("1", False)


async def test_a_typed_message_ends_the_choice_so_a_number_answer_stays_a_number() -> None:
    out = io.StringIO()
    console = ConsoleTransport(out)
    await console.deliver(_message("you", "Which kind?", ("mp", "mp"), ("lawyer", "lawyer"), ("journalist", "j")))
    console.to_incoming("land-rights", _now)  # answered by typing
    await console.deliver(_message("you", "How many HRDs can you support?"))
    answer = console.to_incoming("3", _now)
    assert answer is not None and (answer.text, answer.is_button) == ("3", False)
    out_of_range = ConsoleTransport(io.StringIO())
    await out_of_range.deliver(_message("you", "Alert", ("Acknowledge", "/ack 1")))
    typed = out_of_range.to_incoming("2", _now)
    assert typed is not None and (typed.text, typed.is_button) == ("2", False)
