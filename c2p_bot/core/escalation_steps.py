"""The escalation chain's steps, as written in ``[escalation] steps``.

A step is ``AUDIENCE [by email] [after DURATION]``:

* ``partners`` or ``coordinators``: who it reaches (the HRD's matched partners, every coordinator);
* ``by email``: an email to those of them the alert has already reached in the chat and who have a
  confirmed address (c2p_bot.core.email_alerts). Email only follows up a chat alert: it never
  carries a note or a plan, only who, which alert and how to act in the chat;
* ``after 10m``: how long after the previous step this one runs; ``[checkins] ack_timeout`` when
  not said. The first step runs when the alert is raised.

For example ``["partners", "partners by email after 10m", "coordinators"]``: the partners in the
chat at once, by email 10 minutes later, the coordinators ``ack_timeout`` after that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from c2p_bot.durations import DurationError, format_duration, parse_duration

AUDIENCES = ("partners", "coordinators")
EXAMPLE = '"partners by email after 10m"'
_STEP = re.compile(r"(?P<audience>\S+)(?:\s+by\s+(?P<channel>\S+))?(?:\s+after\s+(?P<after>\S+))?")


@dataclass(frozen=True)
class Step:
    """One step of the chain: who, whether by email, and how long after the previous step."""

    audience: str  # partners | coordinators
    email: bool = False
    after: timedelta | None = None  # None: [checkins] ack_timeout

    def __str__(self) -> str:
        return self.audience + (" by email" if self.email else "") + (
            f" after {format_duration(self.after)}" if self.after is not None else "")


def parse_step(text: str) -> Step:
    """A step as written (any case and spacing); ValueError names what is wrong, with an example."""
    words = " ".join(str(text).split()).lower()
    match = _STEP.fullmatch(words)
    if match is None or match["audience"] not in AUDIENCES or match["channel"] not in (None, "email", "chat"):
        raise ValueError(f'"{text}" is not a step: write "partners" or "coordinators", optionally followed '
                         f'by "by email" and "after" a duration, e.g. {EXAMPLE}')
    after = None
    if match["after"] is not None:
        try:
            after = parse_duration(match["after"])
        except DurationError as error:
            raise ValueError(f'"{text}": "{match["after"]}" is not a duration'
                             + (f" ({error.reason})" if error.reason else "")
                             + ': use e.g. "45s", "10m", "2h" or "1d"') from None
    return Step(match["audience"], match["channel"] == "email", after)


def check_chain(steps: Sequence[Step]) -> None:
    """Rules across steps; ValueError names the step. The first step runs at once and in the chat
    (an alert always reaches the chat first); an email step follows a chat step of its audience."""
    if not steps:
        return
    if steps[0].after is not None:
        raise ValueError(f'the first step runs as soon as the alert is raised: write "{steps[0].audience}'
                         f'{" by email" if steps[0].email else ""}" without "after"')
    in_chat: set[str] = set()
    for step in steps:
        if step.email and step.audience not in in_chat:
            raise ValueError(f'"{step}" needs a "{step.audience}" step before it: email only follows up an '
                             f'alert already sent to them in the chat')
        if not step.email:
            in_chat.add(step.audience)
