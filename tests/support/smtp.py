"""A real SMTP server on 127.0.0.1 for the email tests (aiosmtpd, in its own thread).

``SmtpServer()`` listens on a free port; it can refuse some recipients (``refuse``), ask for a
login (``auth``) and refuse it (``refuse_login``), be stopped (a server that is down) and started
again on the same port.
What it received is in ``received``; ``expect(address, pattern)`` takes the next email to an
address, strictly like the chat transcripts.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from c2p_bot.config import Config, parse_config
from tests.support.transcript import Chat


@dataclass
class Received:
    to: str
    subject: str
    body: str
    raw: bytes
    headers: dict[str, str]


@dataclass
class _Handler:
    refuse: set[str]
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_content().replace("\r\n", "\n")
        for to in envelope.rcpt_tos:
            self.received.append(Received(to, str(message["Subject"]), body, raw,
                                          {k: str(v) for k, v in message.items()}))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    def __init__(self, *, refuse: set[str] | None = None, auth: bool = False) -> None:
        self.port = _free_port()
        self.handler = _Handler(refuse or set())
        self.auth = auth  # ask for a login; it succeeds while refuse_login is false
        self.refuse_login = False
        self.logins: list[str] = []
        self.read: dict[str, int] = {}
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> SmtpServer:
        options: dict[str, Any] = {}
        if self.auth:
            options = {"authenticator": self._authenticate, "auth_required": True, "auth_require_tls": False}
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()
        return self

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        self.logins.append(mechanism)
        return AuthResult(success=not self.refuse_login, handled=False)

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        return [mail for mail in self.received if mail.to == address]

    def expect(self, address: str, subject: str, body: str = "") -> Received:
        """The next unread email to ``address`` has a subject matching ``subject`` and a body
        matching ``body`` (regexes, case-insensitive)."""
        mails = self.to(address)
        start = self.read.get(address, 0)
        assert len(mails) > start, f"no email to {address} (received: {[m.subject for m in self.received]})"
        mail = mails[start]
        assert re.search(subject, mail.subject, re.I), f"subject {mail.subject!r} does not match {subject!r}"
        assert re.search(body, mail.body, re.I | re.S), f"body does not match {body!r}:\n{mail.body}"
        self.read[address] = start + 1
        return mail

    def expect_nothing(self, address: str) -> None:
        unread = self.to(address)[self.read.get(address, 0):]
        assert not unread, f"unexpected emails to {address}: {[m.subject for m in unread]}"

    def code_for(self, address: str) -> str:
        """The confirmation code in the next unread email to ``address``."""
        mail = self.expect(address, r"code")
        found = re.search(r"/email confirm (\d{6})", mail.body)
        assert found, mail.body
        return found.group(1)


STEPS = ["partners", "partners by email after 10m", "coordinators"]
PASSWORD = "s3cret-smtp-pw"  # C2P_SMTP_PASSWORD in the tests that log in; never in a log


def email_config(smtp: SmtpServer, steps: list[str] | None = None, **email: object) -> Config:
    """Steps with email, and [email] pointing at ``smtp`` (a username makes the bot log in)."""
    return parse_config({"escalation": {"steps": steps or STEPS},
                         "email": {"host": "127.0.0.1", "port": smtp.port, "starttls": False,
                                   "from_address": "alerts@c2p.test", **email}},
                        env={"C2P_SMTP_PASSWORD": PASSWORD} if email.get("username") else {})


async def confirm_email(chat: Chat, smtp: SmtpServer, user: str, address: str) -> None:
    """``user`` adds ``address`` with /profile and confirms it with the code emailed to it."""
    await chat.say(user, f"/profile email={address}")
    chat.expect(user, rf"Saved: email\.\nI sent a code to {re.escape(address)}\. Send /email confirm CODE")
    code = smtp.code_for(address)
    await chat.say(user, f"/email confirm {code}")
    chat.expect(user, rf"Your email address {re.escape(address)} is confirmed")
