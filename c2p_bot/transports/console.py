"""Console transport: a terminal chat in which the operator plays any number of people.

``/as NAME`` switches who is typing (the prompt shows who); buttons appear as numbered
choices: typing a number presses that button of the latest message that had buttons, as long as
the person has not written anything since it came (then a number is just a number, such as an
answer to "how many?"); end of input (Ctrl-D) stops the bot.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import uuid
from collections.abc import Callable
from typing import TextIO

from c2p_bot.core.events import DELETE_MESSAGE, Button, Incoming, Outgoing, Priority
from c2p_bot.core.i18n import gettext_for
from c2p_bot.core.runtime import Runtime

DEFAULT_USER = "you"


class ConsoleTransport:
    """Prints outgoing messages; reads lines as incoming messages from the current user."""

    platform = "console"

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout
        self.user = DEFAULT_USER
        self._buttons: dict[str, list[Button]] = {}  # chat id -> the buttons one may press now
        self._ids = itertools.count(1)

    async def deliver(self, message: Outgoing) -> str | None:
        if message.kind == DELETE_MESSAGE:
            self.out.write(f"(the message {message.text} in {message.chat_id}'s chat would be deleted)\n")
            return None
        header = f"\n┌─ to {message.chat_id}"
        if message.priority <= Priority.ALERT_NOTICE:
            header += "  ‼ ALERT"
        lines = [header]
        lines += [f"│ {line}" for line in message.text.splitlines() or [""]]
        buttons = [button for row in message.buttons for button in row]
        lines += [f"│   [{number}] {button.label}" for number, button in enumerate(buttons, 1)]
        lines.append("└─")
        if buttons:  # a message without buttons leaves the earlier ones pressable
            self._buttons[message.chat_id] = buttons
        self.out.write("\n".join(lines) + "\n")
        self.out.flush()
        return str(next(self._ids))

    def prompt(self) -> str:
        return f"{self.user}> "

    def to_incoming(self, line: str, now: Callable[[], object]) -> Incoming | None:
        """Turn a typed line into an incoming message (or handle a console-only command)."""
        text = line.strip()
        if not text:
            return None
        if text.startswith("/as"):
            name = text[3:].strip()
            if name and name.replace("_", "").replace("-", "").isalnum():
                self.user = name
                self.out.write(f"(now typing as {name})\n")
            else:
                self.out.write("(usage: /as NAME — letters, digits, - and _)\n")
            return None
        is_button = False
        choices = self._buttons.pop(self.user, [])  # pressed or written over: they are done with
        if text.isdigit() and 1 <= int(text) <= len(choices):
            pressed = choices[int(text) - 1]
            self.out.write(f"(pressed [{text}] {pressed.label})\n")
            text, is_button = pressed.payload, True
        return Incoming(
            platform=self.platform,
            sender_id=self.user,
            chat_id=self.user,
            text=text,
            sent_at=now(),  # type: ignore[arg-type]
            event_id=f"console:{uuid.uuid4().hex}",
            is_button=is_button,
        )


async def run_console(runtime: Runtime, transport: ConsoleTransport, stdin: TextIO | None = None) -> None:
    """Read lines until end of input, handing each to the core and showing the replies."""
    source = stdin or sys.stdin
    loop = asyncio.get_running_loop()
    _ = gettext_for(None)
    transport.out.write(_("Console chat. You are typing as '{user}'. Switch person with /as NAME; "
                          "type a number to press a button; Ctrl-D to quit.").format(
        user=transport.user) + "\n")
    while True:
        await runtime.drain()
        transport.out.write(transport.prompt())
        transport.out.flush()
        line = await loop.run_in_executor(None, source.readline)
        if line == "":
            transport.out.write("\n")
            break
        incoming = transport.to_incoming(line, runtime.core.clock.now)
        if incoming is not None:
            await runtime.handle(incoming)
    await runtime.drain()
