"""The ``email`` profile field: how an address is read and shown (``/profile email=…``).

The address lives in its own table (:class:`storage.email_models.EmailAddress`), not on the
person row: keeping it — and sending the code that confirms it — is
:func:`c2p_bot.core.email_addresses.set_address`, called by ``/profile``. Also the one place that
says what an email address looks like (the ``[email]`` settings use it too).
"""

from __future__ import annotations

import re

from sqlalchemy.orm import object_session
from sqlmodel import select

from c2p_bot.core.field_error import FieldError
from c2p_bot.core.i18n import Translate
from c2p_bot.core.settings import CoreSettings
from storage.models import EmailAddress, Person

# Deliberately plain: one @, no spaces or quotes, a dotted domain. Enough to catch typos; the
# confirmation code proves the rest.
EMAIL_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
MAX_ADDRESS = 254


def parse_email(raw: str, config: CoreSettings, _: Translate) -> str:
    """An address as typed (surrounding <> or mailto: dropped), or "" to remove it."""
    value = raw.strip().removeprefix("mailto:").strip("<>").strip()
    if value in ("", "-", "none"):
        return ""
    if len(value) > MAX_ADDRESS or not EMAIL_ADDRESS.fullmatch(value):
        raise FieldError(_("“{item}” is not an email address.").format(item=raw.strip()[:60]) + " "
                         + accepted_email(_, config))
    local, domain = value.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def accepted_email(_: Translate, config: CoreSettings) -> str:
    return _("Write it like /profile email=name@example.org (and /profile email= to remove it). "
             "Alert emails say only who and which alert, never notes or plans.")


def address_of(person: Person) -> EmailAddress | None:
    """The person's address row, through the session the person was loaded in."""
    session = object_session(person)
    if session is None or person.id is None:
        return None
    row = session.execute(select(EmailAddress).where(EmailAddress.person_id == person.id)).scalars().first()
    return row if row is not None and row.person_id == person.id else None  # not one refused by its MAC


def show_email(person: Person, _: Translate) -> str:
    row = address_of(person)
    if row is None:
        return ""
    if row.confirmed:
        return _("{address} (confirmed)").format(address=row.address)
    return _("{address} (waiting for its code: /email confirm CODE)").format(address=row.address)


def keep_elsewhere(person: Person, value: object) -> None:
    """The person row keeps nothing: /profile calls :func:`c2p_bot.core.email_addresses.set_address`."""
