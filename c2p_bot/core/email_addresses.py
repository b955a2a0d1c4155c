"""A partner's or coordinator's email address: added with ``/profile email=…``, confirmed with the
one-time code sent to it (``/email confirm CODE``), removed with ``/profile email=``.

Only a confirmed address receives alert emails (c2p_bot.core.email_alerts). The code has six
digits, is kept only as a salted hash, and works for an hour and ``MAX_TRIES`` tries. Changing or
removing the address drops the emails still queued for the old one and the record of those sent.
The address is personal data, like an alias: ``/forget`` erases it (c2p_bot.core.forgetting).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, delete

from c2p_bot.core.context import Context
from c2p_bot.core.email_field import address_of
from c2p_bot.core.events import Priority
from c2p_bot.core.i18n import N_, gettext_for
from c2p_bot.core.mail import ALERT_EMAIL, CODE_EMAIL, EMAIL, EMAIL_SERVICE, letter
from c2p_bot.core.outbox import Envelope, Outbox
from storage.models import EmailAddress, OutboxMessage, Person

log = logging.getLogger(__name__)

CODE_TTL = timedelta(hours=1)
MAX_TRIES = 5
UNDELIVERABLE = {
    CODE_EMAIL: N_("I could not deliver the code to {address}. Check the address and send /profile email=… "
                   "again."),
    ALERT_EMAIL: N_("An alert email to {address} could not be delivered (alert #{id}); the chat alert was not "
                    "affected. Check your address with /email."),
}


def email_on(ctx: Context) -> bool:
    """Whether this bot sends email (an email transport is attached)."""
    return ctx.core.services.get(EMAIL_SERVICE) is not None


def not_set_up(ctx: Context) -> str:
    return ctx._("Email is not set up on this bot, so alerts reach you only in the chat. Whoever runs the "
                 "bot can set it up.")


def _hash(code: str, salt: bytes | None = None) -> bytes:
    salt = salt if salt is not None else secrets.token_bytes(16)
    return salt + hashlib.sha256(salt + code.encode()).digest()


def _matches(code: str, stored: bytes) -> bool:
    return hmac.compare_digest(_hash(code, stored[:16]), stored)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def forget_address(session: Session, row: EmailAddress) -> None:
    """Delete the address and every outbox row to it (queued, sent or given up)."""
    session.execute(delete(OutboxMessage).where(col(OutboxMessage.platform) == EMAIL,
                                                col(OutboxMessage.chat_id) == row.address,
                                                col(OutboxMessage.person_id) == row.person_id))
    session.delete(row)
    session.flush()


def set_address(ctx: Context, person: Person, address: str) -> str:
    """Keep ``address`` (unconfirmed) and send it a code; "" removes the address. Returns the line
    for /profile's reply."""
    _ = ctx._
    row = address_of(person)
    if not address:
        if row is None:
            return _("You had no email address.")
        forget_address(ctx.session, row)
        ctx.audit("email_removed", f"person:{person.id}")
        return _("Your email address is removed: alerts reach you only in the chat.")
    if row is not None and row.address == address and row.confirmed:
        return _("That is already your confirmed email address.")
    if row is not None and row.address != address:
        forget_address(ctx.session, row)
        row = None
    if row is None:
        row = EmailAddress(person_id=person.id or 0, address=address, created_at=ctx.now)
    code = f"{secrets.randbelow(10**6):06d}"
    row.confirmed, row.confirmed_at = False, None
    row.code_hash, row.code_expires_at, row.code_tries = _hash(code), ctx.now + CODE_TTL, 0
    ctx.session.add(row)
    ctx.session.flush()
    ctx.core.outbox.send(ctx.session, Envelope(EMAIL, address, Priority.REPLY, CODE_EMAIL, person.id),
                         text=_code_letter(person, code), now=ctx.now,
                         key=f"email-code:{row.id}:{secrets.token_hex(4)}")
    ctx.audit("email_added", f"person:{person.id}")
    return _("I sent a code to {address}. Send /email confirm CODE with it within an hour. Until then, "
             "alerts do not use this address.").format(address=address)


def _code_letter(person: Person, code: str) -> str:
    _ = gettext_for(person.ui_language)
    return letter(
        _("Your confirmation code: {code}").format(code=code),
        "\n\n".join((
            _("This address was added to an account on a Connect2Protect chat bot, for alert emails."),
            _("To confirm it, send this in the chat with the bot within an hour:\n/email confirm {code}").format(
                code=code),
            _("If you did not ask for this, ignore this email: the address is not used until it is confirmed."),
        )))


def confirm(ctx: Context, person: Person, code: str) -> str:
    """Check a code typed in the chat; the reply."""
    _ = ctx._
    row = address_of(person)
    if row is None or row.confirmed or row.code_hash is None:
        return (_("Your email address {address} is already confirmed.").format(address=row.address)
                if row is not None and row.confirmed
                else _("No email address is waiting for a code. Add one with /profile email=name@example.org"))
    if row.code_expires_at is None or _aware(row.code_expires_at) <= ctx.now:
        return _("That code has expired. Send /profile email={address} again for a new one.").format(
            address=row.address)
    if not (len(code) == 6 and code.isdigit() and _matches(code, row.code_hash)):
        row.code_tries += 1
        if row.code_tries >= MAX_TRIES:
            address = row.address
            forget_address(ctx.session, row)
            ctx.audit("email_removed", f"person:{person.id}", "too many wrong codes")
            return _("Too many wrong codes: {address} is removed. Send /profile email={address} to start "
                     "again.").format(address=address)
        ctx.session.add(row)
        return _("That code is not right. Look for the six digits in the email sent to {address}, then send "
                 "/email confirm CODE").format(address=row.address)
    row.confirmed, row.confirmed_at, row.code_hash, row.code_expires_at = True, ctx.now, None, None
    ctx.session.add(row)
    ctx.audit("email_confirmed", f"person:{person.id}")
    return _("Your email address {address} is confirmed. When an alert is not acknowledged in time, the "
             "escalation steps may also email you there: only who, which alert and how to act in the chat, "
             "never notes or plans.").format(address=row.address)


def status(ctx: Context, person: Person) -> str:
    """What /email shows."""
    _ = ctx._
    row = address_of(person)
    if row is None:
        return _("You have no email address. Add one with /profile email=name@example.org")
    if row.confirmed:
        return _("Your email address: {address} (confirmed). Change it with /profile email=…, remove it "
                 "with /profile email=").format(address=row.address)
    return _("Your email address {address} is waiting for its code: send /email confirm CODE, or "
             "/profile email={address} for a new code.").format(address=row.address)


def undeliverable(outbox: Outbox, now: Callable[[], datetime]) -> Callable[[Session, OutboxMessage], None]:
    """An unreachable hook: an email refused for good (the server refused the address, or it was
    given up) is told to its person in the chat, once per email."""

    def hook(session: Session, row: OutboxMessage) -> None:
        if row.platform != EMAIL or row.failed_at is None or row.person_id is None:
            return
        person = session.get(Person, row.person_id)
        if person is None or person.status != "active":
            return
        msgid = UNDELIVERABLE.get(row.kind)
        if msgid is None:
            return
        address, alert_id = row.chat_id, row.alert_id
        outbox.to_person(session, person, lambda _: _(msgid).format(address=address, id=alert_id),
                         now=now(), key=f"email-failed:{row.id}",
                         priority=Priority.NOTICE, kind="notice")

    return hook
