"""Email as the outbox carries it: platform ``email``, the address as the chat id, and the text
as a subject, a blank line and the body (:func:`letter`). Read by the email transport
(c2p_bot.transports.email); written by c2p_bot.core.email_alerts and c2p_bot.core.email_addresses.

Email is the least protected channel (c2p_bot.core.notes.PROTECTION): it never carries a note
or a plan, and no message ever fails over to it or from it to a chat.
"""

from __future__ import annotations

EMAIL = "email"  # the platform
ALERT_EMAIL = "alert_email"  # outbox kinds: an escalation step's email, a confirmation code
CODE_EMAIL = "email_code"
EMAIL_SERVICE = "email"  # core.services key, set by the email transport when it is attached


def letter(subject: str, body: str) -> str:
    """An email as one outbox text."""
    return " ".join(subject.split()) + "\n\n" + body


def open_letter(text: str) -> tuple[str, str]:
    """(subject, body) of :func:`letter`'s text."""
    subject, _sep, body = text.partition("\n\n")
    return subject, body
