"""The email transport: sends the outbox's ``email`` rows over SMTP, in worker threads.

Standard-library ``smtplib`` in a small thread pool, not aiosmtplib: email here is a handful of
messages per alert step, one connection each; a worker thread keeps the event loop and the
core thread free just as well, with no new dependency, and ``smtplib``'s exceptions say exactly
which step failed (login, recipient, data), which decides whether to retry.

What a failure becomes (c2p_bot.core.delivery_failures applies the outbox's rules):

* the server refused the recipient, or refused the message for good (5xx at DATA): permanent —
  the row fails at once, the alert's chain may move on, the person is told in the chat;
* server down or unreachable, a timeout, a 4xx, a refused login, no STARTTLS: retried with
  backoff until the outbox gives up. A refused login or a missing STARTTLS is the operator's to
  fix: it is logged once as an error (``connected`` turns false for the health view and the
  metrics), and again when email works again.

The address and the text are never logged. The chat alert never waits for or depends on email.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import smtplib
import ssl
from concurrent.futures import ThreadPoolExecutor
from email import policy
from email.message import EmailMessage
from email.utils import formatdate

from c2p_bot.core.dispatcher import Pacing
from c2p_bot.core.email_addresses import undeliverable
from c2p_bot.core.events import DeliveryError, Outgoing
from c2p_bot.core.mail import EMAIL, EMAIL_SERVICE, open_letter
from c2p_bot.core.runtime import Runtime
from c2p_bot.transports.settings import EmailConfig

log = logging.getLogger(__name__)

EMAIL_PACING = Pacing(per_second=5, per_chat_interval=0.0, in_flight=2)
# Headers on one line up to RFC 5322's limit: a folded UTF-8 subject reads back with a leading space.
UNFOLDED = policy.default.clone(max_line_length=998)


class EmailTransport:
    """Sends one email per outbox row; see the module docstring for what failures become."""

    platform = EMAIL

    def __init__(self, config: EmailConfig) -> None:
        self.config = config
        self.connected = True  # False while the last try failed for a reason of the server's or ours
        self.problem: str | None = None  # what is wrong now, one phrase (logged once)
        self.sent = 0
        self.caught_up = asyncio.Event()  # nothing to catch up on: email only sends
        self.caught_up.set()
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="c2p-smtp")

    async def start(self) -> None:
        host = self.config.host or ""
        if not self.config.starttls and not _loopback(host):
            log.warning("email: STARTTLS is off: alert emails%s travel in the clear to %s",
                        " and the password" if self.config.username else "", host)

    async def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def deliver(self, message: Outgoing) -> str | None:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._send, message)

    # -- in a worker thread ------------------------------------------------------------------

    def _send(self, message: Outgoing) -> str:
        mail, message_id = self._compose(message)
        config = self.config
        try:
            with smtplib.SMTP(config.host or "", config.port, timeout=config.timeout.total_seconds()) as smtp:
                smtp.ehlo()
                if config.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if config.username:
                    smtp.login(config.username, config.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = sorted({code for code, _text in error.recipients.values()})
            temporary = all(400 <= code < 500 for code in codes)
            raise DeliveryError(f"email: the server refused the recipient ({', '.join(map(str, codes))})",
                                permanent=not temporary) from None
        except smtplib.SMTPAuthenticationError as error:
            raise self._trouble(f"the server refused the login as {config.username!r} ({error.smtp_code}); "
                                "check [email] username and C2P_SMTP_PASSWORD") from None
        except smtplib.SMTPNotSupportedError:
            raise self._trouble("the server does not offer STARTTLS or login; check [email] starttls "
                                "and port") from None
        except smtplib.SMTPSenderRefused as error:
            raise self._trouble(f"the server refused the sender address ({error.smtp_code}); check "
                                "[email] from_address") from None
        except smtplib.SMTPDataError as error:
            raise DeliveryError(f"email: the server refused the message ({error.smtp_code})",
                                permanent=error.smtp_code >= 500) from None
        except ssl.SSLError as error:
            raise self._trouble(f"STARTTLS failed ({type(error).__name__}: {error.reason})") from None
        except (OSError, smtplib.SMTPException) as error:
            raise self._trouble(f"cannot reach the server {config.host}:{config.port} "
                                f"({type(error).__name__})") from None
        self._working()
        self.sent += 1
        return message_id

    def _compose(self, message: Outgoing) -> tuple[EmailMessage, str]:
        subject, body = open_letter(message.text)
        sender = self.config.from_address or ""
        # The same outbox row always has the same Message-ID, so a resend after a crash can be
        # recognised as the same email by the receiving side.
        digest = hashlib.sha256(message.idempotency_key.encode()).hexdigest()[:32]
        message_id = f"<c2p.{digest}@{sender.rsplit('@', 1)[-1]}>"
        mail = EmailMessage(policy=UNFOLDED)
        mail["From"] = sender
        mail["To"] = message.chat_id
        mail["Subject"] = subject
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = message_id
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        mail.set_content(body)
        return mail, message_id

    def _trouble(self, problem: str) -> DeliveryError:
        """A problem on the server's side or in the settings: logged once, retried by the outbox."""
        if problem != self.problem:
            log.error("email: %s; emails wait and are retried", problem)
        self.problem, self.connected = problem, False
        return DeliveryError(f"email: {problem}")

    def _working(self) -> None:
        if self.problem is not None:
            log.warning("email: sending again (before: %s)", self.problem)
        self.problem, self.connected = None, True


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def attach_email(runtime: Runtime, config: EmailConfig) -> EmailTransport:
    """Create the email transport and wire it into the runtime: its dispatcher, the core's email
    features (``/profile email=…``, email steps) and the notice of undeliverable emails."""
    transport = EmailTransport(config)
    runtime.add_transport(transport, EMAIL_PACING)
    core = runtime.core
    core.services[EMAIL_SERVICE] = transport
    core.unreachable_hooks.append(undeliverable(core.outbox, core.clock.now))
    return transport
