"""Pure helpers of the Matrix transport: message content, reply fallbacks, transaction ids.

Matrix has no inline buttons, so a message's buttons become a hint line listing the
commands they stand for. Escalations get a bold red first line.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Sequence
from typing import Any

from c2p_bot.core.events import Button, Priority

HTML_FORMAT = "org.matrix.custom.html"
ALERT_MARK = "🚨"
ALERT_COLOUR = "#d00000"
HINT_MARK = "↪"

_ACK = re.compile(r"(?<![\w/])/ack\s+(\d+)\b", re.IGNORECASE)
_REPLY_SENDER = re.compile(r"^> \*?\s?<(@[^>\s]+)>")
_MX_REPLY = re.compile(r"<mx-reply>.*?</mx-reply>", re.DOTALL | re.IGNORECASE)


def transaction_id(idempotency_key: str) -> str:
    """A transaction id derived from the outbox idempotency key.

    Synapse answers a repeated ``PUT /send/{type}/{txnId}`` from the same device with the
    first event's id instead of creating a second event, so a retried delivery never
    duplicates a message in the room.
    """
    if not idempotency_key:
        raise ValueError("an outbox message always has an idempotency key")
    return "c2p-" + hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]


def hint_line(buttons: Sequence[Sequence[Button]]) -> str:
    """``↪ Acknowledge: /ack 12 · I'm safe: /checkin`` (labels are already translated)."""
    items = [f"{button.label}: {button.payload}" for row in buttons for button in row]
    return f"{HINT_MARK} " + " · ".join(items) if items else ""


def _html_lines(text: str) -> str:
    return "<br>".join(html.escape(line, quote=False) for line in text.split("\n"))


def is_alert(priority: int) -> bool:
    """Duress, panic, escalation and what is said beside an alert (a possible shutdown) stand out;
    replies, notices and reminders do not.

    (``Priority.REPLY`` sorts first since the dispatcher sends replies ahead of alerts, so
    "urgent enough to look like an alert" is no longer ``priority <= ESCALATION`` alone.)
    """
    return priority != Priority.REPLY and priority <= Priority.ALERT_NOTICE


def render_content(text: str, buttons: Sequence[Sequence[Button]] = (), priority: int = Priority.REPLY,
                   ) -> dict[str, Any]:
    """The ``m.room.message`` content for one outgoing message: plain body plus HTML."""
    alert = is_alert(priority)
    first, _, rest = text.partition("\n")
    if alert and not first.startswith(ALERT_MARK):
        first = f"{ALERT_MARK} {first}"
    body_text = first + ("\n" + rest if rest else "")
    hint = hint_line(buttons)
    body = body_text + ("\n\n" + hint if hint else "")

    if alert:
        head = (f'<strong><font color="{ALERT_COLOUR}" data-mx-color="{ALERT_COLOUR}">'
                f"{html.escape(first, quote=False)}</font></strong>")
        formatted = head + ("<br>" + _html_lines(rest) if rest else "")
    else:
        formatted = _html_lines(body_text)
    if hint:
        commands = " · ".join(
            f"{html.escape(b.label, quote=False)}: <code>{html.escape(b.payload, quote=False)}</code>"
            for row in buttons for b in row
        )
        formatted += f"<br><br><em>{HINT_MARK} {commands}</em>"
    return {"msgtype": "m.text", "body": body, "format": HTML_FORMAT, "formatted_body": formatted}


def strip_reply_fallback(body: str) -> str:
    """Remove the quoted ``> ...`` lines a client puts in front of a reply's text."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith(">"):
        return body
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and lines[index] == "":
        index += 1
    return "\n".join(lines[index:])


def quoted_fallback(body: str) -> tuple[str | None, str]:
    """(quoted sender, quoted text) of a reply's fallback lines; (None, "") without them."""
    lines = body.split("\n")
    quoted: list[str] = []
    for line in lines:
        if not line.startswith(">"):
            break
        quoted.append(line)
    if not quoted:
        return None, ""
    match = _REPLY_SENDER.match(quoted[0])
    sender = match.group(1) if match else None
    text = "\n".join(line[1:].lstrip() for line in quoted)
    if match:
        text = text.replace(f"<{sender}>", "", 1)
    return sender, text


def ack_command_in(text: str) -> str | None:
    """``/ack N`` if ``text`` names exactly one alert to acknowledge, else ``None``."""
    numbers = {match.group(1) for match in _ACK.finditer(_MX_REPLY.sub("", text))}
    if len(numbers) != 1:
        return None
    return f"/ack {numbers.pop()}"


def is_command(text: str) -> bool:
    return text.lstrip().startswith("/")


def in_reply_to(content: dict[str, Any]) -> str | None:
    """The event id a message replies to, if any."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, dict):
        return None
    reply = relates.get("m.in_reply_to")
    if isinstance(reply, dict) and isinstance(reply.get("event_id"), str):
        return str(reply["event_id"])
    return None


def is_edit(content: dict[str, Any]) -> bool:
    relates = content.get("m.relates_to")
    return isinstance(relates, dict) and relates.get("rel_type") == "m.replace"
